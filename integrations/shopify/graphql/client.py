"""A small GraphQL-over-HTTP client on ``requests``, shared by Shopify and Saleor.

It sends one validated :class:`GraphQLDocument` with its variables and sorts every failure into
the typed errors of :mod:`.errors`. The only retry it does itself is Shopify's throttling:
waiting for the cost bucket is part of talking to Shopify, while retrying 5xx and connection
errors belongs to the caller's task queue (``is_transient`` says when that is worth it).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import requests

from kliqs_core.sessions import new_session

from .documents import GraphQLDocument
from .errors import (
    GraphQLConnectionError,
    GraphQLHTTPError,
    GraphQLResponseError,
    GraphQLThrottledError,
    GraphQLUserError,
    UserErrorDetail,
)
from .throttle import QueryCost, is_throttled

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 10.0
# A THROTTLED answer without usable cost figures (or a bare 429) waits this long.
DEFAULT_THROTTLE_WAIT = 1.0
_BODY_EXCERPT = 2000
# Payload keys that hold a mutation's input errors: Shopify ``userErrors``, Saleor ``errors``.
USER_ERROR_KEYS = ("userErrors", "errors")


@dataclass(frozen=True)
class _Reply:
    status: int
    payload: Any
    text: str
    retry_after: float | None


class GraphQLClient:
    """Executes named GraphQL documents against one endpoint.

    ``sleep`` is injectable so tests can pin the throttle waits; ``max_throttle_retries``
    bounds how many times a ``THROTTLED`` answer is waited out before giving up with
    :class:`GraphQLThrottledError`, and ``max_throttle_wait`` caps a single wait. With
    ``defer_throttle_over`` set, a wait longer than that is not slept at all: the error is
    raised at once with its ``retry_after``, so a queue worker is not held for it.
    """

    def __init__(
        self,
        endpoint: str,
        headers: Mapping[str, str],
        *,
        session: requests.Session | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        sleep: Callable[[float], None] = time.sleep,
        max_throttle_retries: int = 5,
        max_throttle_wait: float = 60.0,
        defer_throttle_over: float | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            **headers,
        }
        self.timeout = timeout
        self.max_throttle_retries = max_throttle_retries
        self.max_throttle_wait = max_throttle_wait
        self.defer_throttle_over = defer_throttle_over
        self.last_cost: QueryCost | None = None
        self._sleep = sleep
        self._owns_session = session is None
        self._session = session or new_session()

    def execute(
        self, document: GraphQLDocument, variables: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Run ``document`` and return its ``data``; raise a typed error otherwise."""
        waits = 0
        while True:
            reply = self._post(document, variables)
            self.last_cost = QueryCost.from_payload(reply.payload)
            if not (reply.status == 429 or is_throttled(reply.payload)):
                return self._interpret(document, reply)
            wait = self._throttle_wait(reply)
            deferred = self.defer_throttle_over is not None and wait > self.defer_throttle_over
            if deferred or waits >= self.max_throttle_retries:
                why = f"needs {wait:.2f}s" if deferred else f"still throttled after {waits} waits"
                raise GraphQLThrottledError(
                    f"{document.name}: throttled, {why}",
                    errors=_errors_of(reply.payload),
                    operation=document.name,
                    retry_after=wait,
                )
            waits += 1
            wait = min(wait, self.max_throttle_wait)
            logger.info("%s throttled; waiting %.2fs (try %d)", document.name, wait, waits)
            self._sleep(wait)

    def close(self) -> None:
        """Close the HTTP session if this client created it."""
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> GraphQLClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _post(
        self, document: GraphQLDocument, variables: Mapping[str, Any] | None
    ) -> _Reply:
        body = {
            "query": document.source,
            "operationName": document.name,
            "variables": dict(variables or {}),
        }
        try:
            response = self._session.post(
                self.endpoint, json=body, headers=self.headers, timeout=self.timeout
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise GraphQLConnectionError(
                f"{document.name}: cannot reach {self.endpoint}: {exc}",
                operation=document.name,
            ) from exc
        except requests.RequestException as exc:
            raise GraphQLHTTPError(
                f"{document.name}: request to {self.endpoint} failed: {exc}",
                status=None,
                operation=document.name,
            ) from exc
        return _Reply(
            status=response.status_code,
            payload=_json_or_none(response),
            text=response.text[:_BODY_EXCERPT],
            retry_after=_seconds(response.headers.get("Retry-After")),
        )

    def _throttle_wait(self, reply: _Reply) -> float:
        cost = QueryCost.from_payload(reply.payload)
        wait = cost.wait_seconds() if cost else None
        if wait is None:
            wait = reply.retry_after if reply.retry_after is not None else DEFAULT_THROTTLE_WAIT
        return wait

    def _interpret(self, document: GraphQLDocument, reply: _Reply) -> dict[str, Any]:
        name = document.name
        if not 200 <= reply.status < 300:
            raise GraphQLHTTPError(
                f"{name}: HTTP {reply.status} from {self.endpoint}: {reply.text[:200]}",
                status=reply.status,
                body=reply.text,
                operation=name,
            )
        if not isinstance(reply.payload, Mapping):
            raise GraphQLHTTPError(
                f"{name}: HTTP {reply.status} body is not a GraphQL JSON object",
                status=reply.status,
                body=reply.text,
                operation=name,
            )
        errors = _errors_of(reply.payload)
        if errors:
            messages = "; ".join(str(err.get("message", err)) for err in errors)
            raise GraphQLResponseError(f"{name}: {messages}", errors=errors, operation=name)
        data = reply.payload.get("data")
        if not isinstance(data, dict):
            raise GraphQLResponseError(f"{name}: response has no data", errors=[], operation=name)
        if document.is_mutation:
            _raise_user_errors(name, data)
        return data


def _raise_user_errors(name: str, data: Mapping[str, Any]) -> None:
    details: list[UserErrorDetail] = []
    for payload in data.values():
        if not isinstance(payload, Mapping):
            continue
        for key in USER_ERROR_KEYS:
            entries = payload.get(key)
            if isinstance(entries, list):
                details.extend(
                    UserErrorDetail.from_json(e) for e in entries if isinstance(e, Mapping)
                )
    if details:
        raise GraphQLUserError(details, operation=name)


def _errors_of(payload: Any) -> list[Mapping[str, Any]]:
    if not isinstance(payload, Mapping):
        return []
    errors = payload.get("errors")
    if isinstance(errors, str):  # Shopify REST-style ``{"errors": "..."}``
        return [{"message": errors}]
    if isinstance(errors, list):
        return [e if isinstance(e, Mapping) else {"message": str(e)} for e in errors]
    return []


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
