"""The dashboard at dash.kliqs.me (``/dash`` on one origin)."""

from __future__ import annotations

from fastapi import FastAPI

from server.state import Kliqs


def install(app: FastAPI, kliqs: Kliqs) -> None:
    """Add the dashboard's routes to ``app``."""
