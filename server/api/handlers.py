"""Exception handlers: every error leaves in the contract's envelope, never a trace."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from server.api.errors import ApiError, ErrorCode
from server.api.http import error_response, request_id

log = logging.getLogger("kliqs.api")

_HTTP_CODES = {404: ErrorCode.NOT_FOUND, 405: ErrorCode.METHOD_NOT_ALLOWED,
               413: ErrorCode.PAYLOAD_TOO_LARGE}


async def on_api_error(request: Request, exc: Exception) -> Response:
    """An :class:`ApiError` as its envelope."""
    assert isinstance(exc, ApiError)
    return error_response(exc, request)


async def on_http_error(request: Request, exc: Exception) -> Response:
    """Starlette's 404/405 (unknown routes, wrong methods) in the envelope."""
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, ErrorCode.NOT_FOUND)
    headers = dict(exc.headers or {})
    return error_response(ApiError(code, headers=headers), request)


async def on_unexpected(request: Request, exc: Exception) -> Response:
    """Anything else: logged with the request id, answered ``INTERNAL_ERROR``."""
    log.error("unhandled error, request_id=%s", request_id(request), exc_info=exc)
    return error_response(ApiError(ErrorCode.INTERNAL_ERROR), request)


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)
