"""A do-nothing webhook endpoint served like the connector (Starlette on uvicorn, no access
log, a thread-pool hop): the floor any Python web app starts from on this machine.

    python bench/pipeline/floor_app.py PORT
"""

from __future__ import annotations

import sys

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


async def webhook(request: Request) -> Response:
    """Read the body, hop to a thread as the connector's sync handlers do, answer 200."""
    await request.body()
    await run_in_threadpool(lambda: None)
    return JSONResponse({"success": True, "data": None})


async def healthz(_: Request) -> Response:
    return JSONResponse({"success": True})


app = Starlette(routes=[Route("/webhooks/woocommerce", webhook, methods=["POST"]),
                        Route("/healthz", healthz)])  # fmt: skip

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
                access_log=False)  # fmt: skip
