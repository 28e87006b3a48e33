"""All ``/api/v1`` routes."""

from __future__ import annotations

from fastapi import APIRouter

from server.api.routes import links, me

api_router = APIRouter(prefix="/api/v1")
api_router.include_router(links.router)
api_router.include_router(me.router)
