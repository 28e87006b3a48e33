"""HTTP helpers shared by the API routes: language, envelope, bodies, request ids."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from server.api.errors import ApiError, ErrorCode


def preferred_language(accept_language: str | None) -> str:
    """``"en"`` when the client prefers English over Indonesian, else ``"id"``."""
    if not accept_language:
        return "id"
    best, best_q = "id", -1.0
    for part in accept_language.split(","):
        tag, _, params = part.strip().partition(";")
        lang = tag.strip().lower().split("-")[0]
        if lang not in ("en", "id"):
            continue
        q = _quality(params)
        if q > best_q:
            best, best_q = lang, q
    return best


def _quality(params: str) -> float:
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0


def request_id(request: Request) -> str:
    """The id given to this request by :class:`server.middleware.RequestIdMiddleware`."""
    return str(request.scope.get("kliqs.request_id", ""))


def dumps(payload: Any) -> bytes:
    """Compact UTF-8 JSON."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def json_response(
    payload: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A JSON response from an already-built payload."""
    return Response(dumps(payload), status, headers, media_type="application/json")


def success(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """``{"success": true, "data": ...}``."""
    return json_response({"success": True, "data": data}, status, headers)


def error_body(code: ErrorCode, message: str, req_id: str) -> dict[str, Any]:
    """The contract's error envelope."""
    return {"success": False, "error": code.value, "message": message, "request_id": req_id}


def error_response(err: ApiError, request: Request) -> Response:
    """The envelope for ``err`` in the caller's language, with its headers."""
    lang = preferred_language(request.headers.get("accept-language"))
    body = error_body(err.code, err.message(lang), request_id(request))
    return json_response(body, err.status, err.headers)


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refusing more than ``limit`` bytes without reading them all."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(ErrorCode.PAYLOAD_TOO_LARGE)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(ErrorCode.PAYLOAD_TOO_LARGE)
        chunks.append(chunk)
    return b"".join(chunks)
