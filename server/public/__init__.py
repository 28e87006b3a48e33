"""The public side at kliqs.me: redirects, password gate, clicks, QR codes, Bio Pages.

``install`` builds the worker's :class:`~server.public.side.PublicSide` and registers the
``on_link_changed`` hook the API calls after an edit; ``wrap`` puts the
:class:`~server.public.layer.PublicLayer` in front of the app, which answers ``/{code}``
without FastAPI's routing and runs the click flusher's start-up and shut-down.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import ASGIApp

from server.state import Kliqs

_SIDE = "public"


def install(app: FastAPI, kliqs: Kliqs) -> None:
    """Build the public side of ``kliqs`` and hook link changes to its cache."""
    from server.public.side import PublicSide

    side = PublicSide(kliqs)
    kliqs.extras[_SIDE] = side
    kliqs.extras["on_link_changed"] = side.changed


def wrap(app: ASGIApp, kliqs: Kliqs) -> ASGIApp:
    """The ASGI layer in front of everything (serves ``/{code}`` without FastAPI routing)."""
    from server.public.layer import PublicLayer

    if _SIDE not in kliqs.extras:
        install(app, kliqs)  # type: ignore[arg-type]
    return PublicLayer(app, kliqs.extras[_SIDE])

