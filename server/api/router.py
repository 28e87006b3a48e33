"""All ``/api/v1`` routes."""

from __future__ import annotations

from fastapi import APIRouter

from server.api.routes import bio, links, me, stats

api_router = APIRouter(prefix="/api/v1")
api_router.include_router(links.router)
api_router.include_router(me.router)
api_router.include_router(stats.router)
api_router.include_router(bio.router)
