"""The requestor: headers and auth, the idempotency key, the envelope and error mapping."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import requests

from kliqs_core._http import HttpClient
from kliqs_core._version import __version__
from kliqs_core.errors import UnexpectedResponseError, error_from_response

__all__ = ["Requestor", "unwrap"]

T = TypeVar("T")

_USER_AGENT = f"kliqs-python/{__version__} requests/{requests.__version__}"


class Requestor:
    """Turns (method, path, body) into a parsed result or a typed :class:`KliqsError`."""

    def __init__(self, api_key: str, *, base_url: str, http: HttpClient) -> None:
        self._api_key = api_key
        self.base_url = base_url
        self.http = http

    def request(
        self,
        method: str,
        path: str,
        parse: Callable[[Any], T],
        *,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
        idempotency_key: str | None = None,
    ) -> T:
        """Send one logical request (retried below) and ``parse`` the envelope's ``data``."""
        headers = self._headers(method, idempotency_key)
        response = self.http.request(
            method, self.base_url + path, headers=headers, params=params, json=json
        )
        data = unwrap(response)
        try:
            return parse(data)
        except (KeyError, TypeError, ValueError) as exc:
            raise UnexpectedResponseError(
                response.status_code,
                f"The {method} {path} response does not have the expected shape: {exc!r}",
                response.headers.get("X-Request-Id"),
                headers=response.headers,
            ) from exc

    def _headers(self, method: str, idempotency_key: str | None) -> dict[str, str]:
        headers = {
            "Authorization": f"Bearer {self._api_key}",
            "Accept": "application/json",
            "User-Agent": _USER_AGENT,
        }
        if method.upper() == "POST":
            # Made once per logical call, before the retry loop: every attempt carries the
            # same key, so a retried POST whose first try did reach the server replays it.
            headers["Idempotency-Key"] = idempotency_key or str(uuid.uuid4())
        return headers


def unwrap(response: requests.Response) -> Any:
    """The ``data`` of a success envelope; raises the mapped error for anything else."""
    status = response.status_code
    body = _json_body(response)
    request_id = response.headers.get("X-Request-Id")
    if isinstance(body, dict) and isinstance(body.get("request_id"), str):
        request_id = body["request_id"]
    if 200 <= status < 300:
        if isinstance(body, dict) and body.get("success") is True and "data" in body:
            return body["data"]
        message = "The response is not a Kliqs success envelope."
        raise UnexpectedResponseError(status, message, request_id, headers=response.headers)
    code, message = _error_fields(response, body)
    raise error_from_response(status, code, message, request_id, response.headers)


def _json_body(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _error_fields(response: requests.Response, body: Any) -> tuple[str | None, str]:
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        code: str = body["error"]
        message = body.get("message")
        return code, message if isinstance(message, str) and message else code
    # Not our envelope (a proxy's HTML page, an empty 502): keep a short, readable excerpt.
    excerpt = " ".join(response.text.split())[:200]
    summary = f"HTTP {response.status_code} {response.reason or ''}".strip()
    return None, f"{summary}: {excerpt}" if excerpt else summary
