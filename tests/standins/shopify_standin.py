"""A stand-in for the Shopify Admin GraphQL API, plus helpers to send Shopify-style webhooks.

A real HTTP server (stdlib ``ThreadingHTTPServer``) that executes any document valid against
the bundled Admin schema subset (``integrations/shopify/graphql/schema.graphql``) with
graphql-core over seeded products: ``product``, ``products`` (cursor paging, ``status:``
filter), ``shop.primaryDomain`` and ``metafieldsSet`` (recorded, and applied). It can be told
to answer ``THROTTLED`` next (with realistic ``extensions.cost``), user errors, or an HTTP error.

In-process::

    with ShopifyAdminStandin() as shop:
        gid = shop.add_product(1001, "Sepatu Lari")
        admin = ShopifyAdmin(shop.shop, shop.access_token, admin_url=shop.url)

As a process: ``python tests/standins/shopify_standin.py --port 8701 [--demo]``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests
from graphql import GraphQLSchema, build_schema, graphql_sync

SCHEMA_PATH = (
    Path(__file__).resolve().parents[2] / "integrations" / "shopify" / "graphql" / "schema.graphql"
)
GID_PREFIX = "gid://shopify/Product/"
INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"


@dataclass(frozen=True)
class RecordedRequest:
    """One request the stand-in received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body decoded as JSON."""
        return json.loads(self.body)


@dataclass
class _Cost:
    requested: int = 752
    available: float = 666.0
    restore_rate: float = 50.0
    maximum: float = 1000.0
    http_status: int = 200


class ShopifyAdminStandin:
    """The Admin GraphQL endpoint of one shop, over real HTTP on localhost."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0,
                 shop: str = "kliqs-demo.myshopify.com", access_token: str = "shpat_standin_token",
                 api_version: str = "2026-07",
                 primary_domain: str = "https://toko-kliqs.example") -> None:
        self.shop = shop
        self.access_token = access_token
        self.api_version = api_version
        self.primary_domain = primary_domain
        self.products: dict[str, dict[str, Any]] = {}
        self.requests: list[RecordedRequest] = []
        self.mutations: list[dict[str, Any]] = []
        self._throttles: list[_Cost] = []
        self._user_errors: list[list[dict[str, Any]]] = []
        self._failures: list[tuple[int, str]] = []
        self._lock = threading.Lock()
        self._schema: GraphQLSchema = build_schema(SCHEMA_PATH.read_text(encoding="utf-8"))
        self._host = host
        self._server = ThreadingHTTPServer((host, port), _handler_for(self))
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """Base URL to use as ``admin_url`` (``http://127.0.0.1:<port>``)."""
        return f"http://{self._host}:{self._server.server_port}"

    @property
    def endpoint(self) -> str:
        """The full GraphQL endpoint for the configured API version."""
        return f"{self.url}/admin/api/{self.api_version}/graphql.json"

    def start(self) -> ShopifyAdminStandin:
        """Serve in a daemon thread."""
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (the ``--port`` process mode)."""
        try:
            self._server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            self._server.server_close()

    def __enter__(self) -> ShopifyAdminStandin:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- seeding and scripting -------------------------------------------------------------
    def add_product(self, product_id: int | str, title: str, *, handle: str | None = None,
                    status: str = "ACTIVE", online_store_url: str | None = None,
                    short_url: str | None = None) -> str:
        """Seed a product; returns its gid."""
        text = str(product_id)
        gid = text if text.startswith("gid://") else f"{GID_PREFIX}{text}"
        handle = handle or title.lower().replace(" ", "-")
        metafields = {}
        if short_url is not None:
            metafields[("kliqs", "short_url")] = {"type": "url", "value": short_url}
        with self._lock:
            self.products[gid] = {"id": gid, "title": title, "handle": handle,
                                  "status": status.upper(), "onlineStoreUrl": online_store_url,
                                  "metafields": metafields}
        return gid

    def short_url_of(self, gid: str) -> str | None:
        """The value of metafield ``kliqs.short_url`` on a product, if set."""
        metafield = self.products[gid]["metafields"].get(("kliqs", "short_url"))
        return metafield["value"] if metafield else None

    def throttle_next(self, times: int = 1, *, requested: int = 752, available: float = 666.0,
                      restore_rate: float = 50.0, maximum: float = 1000.0,
                      http_status: int = 200) -> None:
        """Answer the next ``times`` requests with ``THROTTLED`` and these cost figures."""
        cost = _Cost(requested, available, restore_rate, maximum, http_status)
        with self._lock:
            self._throttles.extend([cost] * times)

    def user_errors_next(self, errors: list[dict[str, Any]]) -> None:
        """Make the next ``metafieldsSet`` fail with these ``userErrors`` (nothing applied)."""
        with self._lock:
            self._user_errors.append(errors)

    def fail_next(self, status: int = 502, body: str = "Bad Gateway") -> None:
        """Answer the next request with a bare HTTP error."""
        with self._lock:
            self._failures.append((status, body))

    # -- request handling ------------------------------------------------------------------
    def handle(self, request: RecordedRequest) -> tuple[int, dict[str, str], bytes]:
        """Answer one request (called from the server threads)."""
        with self._lock:
            self.requests.append(request)
            failure = self._failures.pop(0) if self._failures else None
            throttle = self._throttles.pop(0) if self._throttles else None
        if failure:
            return failure[0], {"Content-Type": "text/plain"}, failure[1].encode()
        if not (request.path.startswith("/admin/api/") and request.path.endswith("/graphql.json")):
            return 404, {"Content-Type": "application/json"}, b'{"errors":"Not Found"}'
        if request.headers.get("x-shopify-access-token") != self.access_token:
            return _json(401, {"errors": INVALID_TOKEN})
        if throttle:
            return _json(throttle.http_status, _throttled(throttle))
        return _json(200, self._execute(request))

    def _execute(self, request: RecordedRequest) -> dict[str, Any]:
        try:
            body = request.json()
        except ValueError:
            return {"errors": [{"message": "Invalid JSON in request body"}]}
        result = graphql_sync(
            self._schema,
            body.get("query") or "",
            root_value=_Root(self),
            variable_values=body.get("variables") or {},
            operation_name=body.get("operationName"),
        )
        payload: dict[str, Any] = {}
        if result.errors:
            payload["errors"] = [err.formatted for err in result.errors]
        if result.data is not None:
            payload["data"] = result.data
        payload["extensions"] = {"cost": _cost_figures(requested=4, actual=3)}
        return payload

    def _set_metafields(self, metafields: list[dict[str, Any]]) -> dict[str, Any]:
        with self._lock:
            self.mutations.append({"metafieldsSet": metafields})
            planned = self._user_errors.pop(0) if self._user_errors else None
            if planned is not None:
                return {"metafields": None, "userErrors": planned}
            errors = [
                {"field": ["metafields", str(i), "ownerId"], "message": "Owner does not exist.",
                 "code": "INVALID", "elementIndex": i}
                for i, mf in enumerate(metafields) if mf["ownerId"] not in self.products
            ]
            if errors:  # atomic, like the real mutation
                return {"metafields": None, "userErrors": errors}
            return {"metafields": [self._apply(mf) for mf in metafields], "userErrors": []}

    def _apply(self, mf: dict[str, Any]) -> dict[str, Any]:
        namespace = mf.get("namespace") or "app--standin"
        stored = {"type": mf.get("type") or "single_line_text_field", "value": mf["value"]}
        self.products[mf["ownerId"]]["metafields"][(namespace, mf["key"])] = stored
        digest = hashlib.sha256(mf["value"].encode()).hexdigest()
        return {"id": f"gid://shopify/Metafield/{abs(hash((mf['ownerId'], mf['key']))) % 10**12}",
                "namespace": namespace, "key": mf["key"], "type": stored["type"],
                "value": stored["value"], "compareDigest": digest}


class _Root:
    """Root resolvers for graphql-core's default resolver (callables get ``info`` + args)."""

    def __init__(self, standin: ShopifyAdminStandin) -> None:
        self._s = standin
        self.shop = {
            "id": "gid://shopify/Shop/1",
            "name": standin.shop.split(".")[0],
            "myshopifyDomain": standin.shop,
            "primaryDomain": {
                "id": "gid://shopify/Domain/1",
                "url": standin.primary_domain,
                "host": standin.primary_domain.split("://")[-1],
                "sslEnabled": standin.primary_domain.startswith("https"),
            },
            "metafield": lambda info, key, namespace=None: None,
        }

    def product(self, info: Any, id: str) -> dict[str, Any] | None:
        product = self._s.products.get(id)
        return _view(product) if product else None

    def products(self, info: Any, first: int | None = None, after: str | None = None,
                 query: str | None = None, **_: Any) -> dict[str, Any]:
        rows = sorted(self._s.products.values(), key=lambda p: int(p["id"].rsplit("/", 1)[1]))
        if query and query.startswith("status:"):
            rows = [p for p in rows if p["status"] == query.split(":", 1)[1].upper()]
        start = int(base64.b64decode(after).decode()) if after else 0
        page = rows[start : start + (first or 50)]
        end = start + len(page)
        return {
            "nodes": [_view(p) for p in page],
            "edges": [{"cursor": _cursor(start + i + 1), "node": _view(p)}
                      for i, p in enumerate(page)],
            "pageInfo": {"hasNextPage": end < len(rows), "hasPreviousPage": start > 0,
                         "startCursor": _cursor(start + 1) if page else None,
                         "endCursor": _cursor(end) if page else None},
        }

    def metafieldsSet(self, info: Any, metafields: list[dict[str, Any]]) -> dict[str, Any]:
        return self._s._set_metafields(metafields)


def _view(product: dict[str, Any]) -> dict[str, Any]:
    def metafield(info: Any, key: str, namespace: str | None = None) -> dict[str, Any] | None:
        stored = product["metafields"].get((namespace or "app--standin", key))
        return dict(stored, key=key, namespace=namespace) if stored else None

    now = datetime(2026, 7, 1, tzinfo=timezone.utc).isoformat()
    return {**product, "metafield": metafield, "createdAt": now, "updatedAt": now,
            "publishedAt": now if product["status"] == "ACTIVE" else None,
            "onlineStorePreviewUrl": None, "vendor": "Kliqs Demo"}


def _cursor(position: int) -> str:
    return base64.b64encode(str(position).encode()).decode()


def _cost_figures(*, requested: int, actual: int | None, available: float = 1996.0,
                  restore_rate: float = 100.0, maximum: float = 2000.0) -> dict[str, Any]:
    return {"requestedQueryCost": requested, "actualQueryCost": actual,
            "throttleStatus": {"maximumAvailable": maximum, "currentlyAvailable": available,
                               "restoreRate": restore_rate}}


def _throttled(cost: _Cost) -> dict[str, Any]:
    return {
        "errors": [{"message": "Throttled", "extensions": {
            "code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}],
        "extensions": {"cost": _cost_figures(requested=cost.requested, actual=None,
                                             available=cost.available,
                                             restore_rate=cost.restore_rate, maximum=cost.maximum)},
    }


def _json(status: int, payload: Any) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps(payload).encode()


def _handler_for(standin: ShopifyAdminStandin) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 (stdlib naming)
            length = int(self.headers.get("Content-Length") or 0)
            recorded = RecordedRequest(
                method="POST",
                path=self.path.split("?", 1)[0],
                headers={k.lower(): v for k, v in self.headers.items()},
                body=self.rfile.read(length),
            )
            status, headers, body = standin.handle(recorded)
            self.send_response(status)
            for name, value in {**headers, "X-Shopify-API-Version": standin.api_version}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            return

    return Handler


# -- sending webhooks the way Shopify does ----------------------------------------------------
def product_payload(product_id: int, title: str, *, handle: str | None = None,
                    status: str = "active") -> dict[str, Any]:
    """A REST Product body like ``products/create`` carries (trimmed to common fields)."""
    stamp = "2026-07-01T10:00:00+07:00"
    return {
        "id": product_id, "admin_graphql_api_id": f"{GID_PREFIX}{product_id}", "title": title,
        "handle": handle or title.lower().replace(" ", "-"), "status": status,
        "body_html": "", "vendor": "Kliqs Demo", "product_type": "", "tags": "",
        "created_at": stamp, "updated_at": stamp,
        "published_at": stamp if status == "active" else None, "published_scope": "global",
        "variants": [], "options": [], "images": [], "image": None,
    }


def webhook_headers(body: bytes, *, secret: str, topic: str = "products/create",
                    shop_domain: str = "kliqs-demo.myshopify.com", api_version: str = "2026-07",
                    webhook_id: str | None = None, event_id: str | None = None) -> dict[str, str]:
    """Headers of a Shopify webhook delivery for ``body``, signed with ``secret``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return {
        "Content-Type": "application/json",
        "X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode(),
        "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": shop_domain,
        "X-Shopify-API-Version": api_version,
        "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
        "X-Shopify-Event-Id": event_id or str(uuid.uuid4()),
        "X-Shopify-Triggered-At": datetime.now(timezone.utc).isoformat(),
    }


def send_webhook(url: str, payload: Mapping[str, Any] | bytes, *, secret: str,
                 session: requests.Session | None = None, timeout: float = 5.0,
                 **header_options: Any) -> requests.Response:
    """POST a signed Shopify webhook to ``url`` (more options: :func:`webhook_headers`)."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = webhook_headers(body, secret=secret, **header_options)
    return (session or requests).post(url, data=body, headers=headers, timeout=timeout)


def main(argv: list[str] | None = None) -> None:
    """Run the stand-in until interrupted."""
    parser = argparse.ArgumentParser(description="Shopify Admin GraphQL stand-in")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8701)
    parser.add_argument("--token", default="shpat_standin_token")
    parser.add_argument("--demo", action="store_true", help="seed three demo products")
    args = parser.parse_args(argv)
    standin = ShopifyAdminStandin(host=args.host, port=args.port, access_token=args.token)
    if args.demo:
        standin.add_product(1001, "VPS Murah", handle="vps-murah")
        standin.add_product(1002, "Sepatu Lari", status="DRAFT")
        standin.add_product(1003, "Kaos Polos",
                            online_store_url="https://toko-kliqs.example/products/kaos-polos")
    print(f"Shopify Admin stand-in on {standin.endpoint}", flush=True)
    standin.serve_forever()


if __name__ == "__main__":
    main()
