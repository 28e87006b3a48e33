"""The public side at kliqs.me: redirects, password gate, clicks, QR codes, Bio Pages."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import ASGIApp

from server.state import Kliqs


def install(app: FastAPI, kliqs: Kliqs) -> None:
    """Add the public side's routes and start-up/shut-down work to ``app``."""


def wrap(app: ASGIApp, kliqs: Kliqs) -> ASGIApp:
    """The ASGI layer in front of everything (serves ``/{code}`` without FastAPI routing)."""
    return app
