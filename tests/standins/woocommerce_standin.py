"""A small WooCommerce stand-in: the REST v3 product routes over real HTTP, plus webhook sending.

In-process::

    with WooStandin() as shop:
        shop.add_product(name="VPS Murah")
        client = WooCommerceClient(shop.url, "ck_test", "cs_test")   # http -> OAuth1 query auth

From a shell: ``python tests/standins/woocommerce_standin.py --port 8089 [--seed products.json]``.

Routes: ``GET /wp-json/wc/v3/products`` (page, per_page, status, modified_after, dates_are_gmt;
X-WP-Total / X-WP-TotalPages) and ``GET|PUT|POST /wp-json/wc/v3/products/{id}`` (meta_data upserted
by key like WC_Data::update_meta_data). Controls: ``GET /__standin/requests``, ``POST
/__standin/products`` (seed), ``POST /__standin/fail?count=N&status=500``, ``POST /__standin/reset``.
Independent of `integrations.woocommerce` on purpose: it plays WooCommerce, not our code.
Webhook deliveries (signed, like WooCommerce's "Hookshot") are sent by `woocommerce_hookshot`.
"""

from __future__ import annotations

import argparse
import base64
import copy
import json
import re
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

PRODUCTS_PATH = "/wp-json/wc/v3/products"
_ITEM_PATH = re.compile(r"/wp-json/wc/v3/products/(\d+)/?")
_HIDDEN_FROM_ANY = {"trash", "auto-draft"}
_CRITICAL_ERROR = (
    "<p>There has been a critical error on this website.</p><p><a href=\"https://wordpress.org/"
    "documentation/article/faq-troubleshooting/\">Learn more about troubleshooting WordPress.</a></p>"
)


def wp_json_encode(data: Any) -> bytes:
    """Encode like PHP's json_encode() without flags: compact, \\uXXXX escapes, ``/`` as ``\\/``."""
    # "/" can only occur inside JSON strings, so a plain replace is exact.
    return json.dumps(data, separators=(",", ":")).replace("/", "\\/").encode("ascii")


def _wc_date(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def make_product(product_id: int, *, shop_url: str, utc_offset_hours: int = 7,
                 **fields: Any) -> dict[str, Any]:
    """A product in the REST v3 shape (the common fields), overridden by `fields`."""
    now = datetime.now(timezone.utc).replace(microsecond=0, tzinfo=None)
    local = now + timedelta(hours=utc_offset_hours)
    name = fields.get("name", f"Produk {product_id}")
    product: dict[str, Any] = {
        "id": product_id, "name": name, "slug": "", "permalink": "",
        "date_created": _wc_date(local), "date_created_gmt": _wc_date(now),
        "date_modified": _wc_date(local), "date_modified_gmt": _wc_date(now),
        "type": "simple", "status": "publish", "featured": False, "catalog_visibility": "visible",
        "description": "", "short_description": "", "sku": "", "price": "150000",
        "regular_price": "150000", "sale_price": "", "on_sale": False, "purchasable": True,
        "total_sales": 0, "virtual": False, "downloadable": False, "tax_status": "taxable",
        "manage_stock": False, "stock_quantity": None, "stock_status": "instock",
        "categories": [{"id": 15, "name": "Uncategorized", "slug": "uncategorized"}],
        "tags": [], "images": [], "attributes": [], "variations": [], "parent_id": 0,
        "menu_order": 0, "meta_data": [],
    }
    product.update(copy.deepcopy(fields))
    if not fields.get("slug") and product["status"] in ("publish", "private", "future"):
        product["slug"] = _slugify(name)
    product["permalink"] = _permalink(product, shop_url)
    return product


def _slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _permalink(product: dict[str, Any], shop_url: str) -> str:
    # WordPress gives unpublished posts no pretty URL, only the query form.
    if product["status"] == "publish" and product["slug"]:
        return f"{shop_url}/product/{product['slug']}/"
    return f"{shop_url}/?post_type=product&p={product['id']}"


class _State:
    """Everything the stand-in knows, behind one lock (the server is threaded)."""

    def __init__(self, consumer_key: str | None, utc_offset_hours: int) -> None:
        self.lock = threading.Lock()
        self.consumer_key = consumer_key
        self.utc_offset_hours = utc_offset_hours
        self.shop_url = ""
        self.products: dict[int, dict[str, Any]] = {}
        self.requests: list[dict[str, Any]] = []
        self.failures: list[int] = []
        self.next_meta_id = 1000

    def add(self, fields: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            product_id = int(fields.pop("id", 0) or max(self.products, default=100) + 1)
            product = make_product(product_id, shop_url=self.shop_url,
                                   utc_offset_hours=self.utc_offset_hours, **fields)
            for row in product["meta_data"]:
                row.setdefault("id", self._meta_id())
            self.products[product_id] = product
            return copy.deepcopy(product)

    def update(self, product_id: int, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            product = self.products[product_id]
            for key, value in body.items():
                if key == "meta_data" and isinstance(value, list):
                    for row in value:
                        self._upsert_meta(product["meta_data"], row)
                elif key not in ("id", "permalink", "date_modified", "date_modified_gmt"):
                    product[key] = value
            if product["status"] == "publish" and not product["slug"]:
                product["slug"] = _slugify(product["name"])
            product["permalink"] = _permalink(product, self.shop_url)
            now = datetime.now(timezone.utc).replace(microsecond=0, tzinfo=None)
            product["date_modified_gmt"] = _wc_date(now)
            product["date_modified"] = _wc_date(now + timedelta(hours=self.utc_offset_hours))
            return copy.deepcopy(product)

    def _upsert_meta(self, rows: list[dict[str, Any]], row: dict[str, Any]) -> None:
        """WC_Data::update_meta_data: by id if given, else first row of the key; drop duplicates."""
        if row.get("id"):
            matches = [r for r in rows if r["id"] == row["id"]]
        else:
            matches = [r for r in rows if r["key"] == row.get("key")]
        if matches:
            matches[0]["value"] = row.get("value")
            duplicates = {id(r) for r in matches[1:]}
            rows[:] = [r for r in rows if id(r) not in duplicates]
        else:
            rows.append({"id": self._meta_id(), "key": row.get("key"), "value": row.get("value")})

    def _meta_id(self) -> int:
        self.next_meta_id += 1
        return self.next_meta_id

    def get(self, product_id: int) -> dict[str, Any] | None:
        with self.lock:
            return copy.deepcopy(self.products.get(product_id))

    def take_failure(self) -> int | None:
        with self.lock:
            return self.failures.pop(0) if self.failures else None

    def reset(self) -> None:
        with self.lock:
            self.products.clear()
            self.requests.clear()
            self.failures.clear()


class _Handler(BaseHTTPRequestHandler):
    # Keep-alive, as WordPress behind any common web server answers (every answer has a
    # Content-Length), so a client's connection reuse is observable (``peer_port``).
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes: with Nagle's algorithm on a kept-alive
    # connection the body would wait for the client's delayed ACK (40 ms per answer).
    disable_nagle_algorithm = True
    server_version = "Apache"
    sys_version = ""
    state: _State  # set on the subclass made per server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Silence the per-request stderr line."""

    def _dispatch(self) -> None:
        method, parts = self.command, urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if parts.path.startswith("/__standin/"):
            return self._control(method, parts.path, query, raw)
        body, auth = _loads(raw), self._auth_kind(query)
        with self.state.lock:
            self.state.requests.append({"method": method, "path": parts.path, "query": query,
                                        "json": body, "auth": auth[0] if auth else None,
                                        "peer_port": self.client_address[1]})
        forced = self.state.take_failure()
        if forced is not None:
            return self._forced_error(forced)
        if auth is None:
            return self._error(401, *_unauthenticated(method, parts.path))
        if self.state.consumer_key is not None and auth[1] != self.state.consumer_key:
            return self._error(401, "woocommerce_rest_authentication_error", "Consumer key is invalid.")
        try:
            self._route(method, parts.path, query, raw, body)
        except ValueError as exc:  # unparsable page, per_page or modified_after
            self._error(400, "rest_invalid_param", f"Invalid parameter(s): {exc}")

    do_GET = do_PUT = do_POST = _dispatch

    def _route(self, method: str, path: str, query: dict[str, str], raw: bytes, body: Any) -> None:
        item = _ITEM_PATH.fullmatch(path)
        if path.rstrip("/") == PRODUCTS_PATH and method == "GET":
            return self._list(query)
        if item is None:
            return self._error(404, "rest_no_route", "No route was found matching the URL and request method.")
        product = self.state.get(int(item.group(1)))
        if product is None:
            return self._error(404, "woocommerce_rest_product_invalid_id", "Invalid ID.")
        if method == "GET":
            return self._json(200, product)
        if raw and not isinstance(body, dict):
            return self._error(400, "rest_invalid_json", "Invalid JSON body passed.")
        self._json(200, self.state.update(product["id"], body or {}))

    def _list(self, query: dict[str, str]) -> None:
        page, per_page = int(query.get("page", 1)), int(query.get("per_page", 10))
        if not 1 <= per_page <= 100 or page < 1:
            raise ValueError("per_page must be between 1 (inclusive) and 100 (inclusive)")
        with self.state.lock:
            items = sorted(self.state.products.values(), key=lambda p: p["id"],
                           reverse=query.get("order") == "desc")
        items = [p for p in items if _matches(p, query)]
        chunk = items[(page - 1) * per_page: page * per_page]
        pages = -(-len(items) // per_page)
        self._json(200, chunk, {"X-WP-Total": str(len(items)), "X-WP-TotalPages": str(pages)})

    def _auth_kind(self, query: dict[str, str]) -> tuple[str, str] | None:
        """('oauth1'|'query'|'basic', consumer key), or None without credentials."""
        if query.get("oauth_consumer_key") and query.get("oauth_signature"):
            return "oauth1", query["oauth_consumer_key"]
        if query.get("consumer_key") and query.get("consumer_secret"):
            return "query", query["consumer_key"]
        header = self.headers.get("Authorization", "")
        if header.lower().startswith("basic "):
            try:
                user = base64.b64decode(header[6:].strip()).decode("utf-8").partition(":")[0]
            except ValueError:
                return None
            return ("basic", user) if user else None
        return None

    def _control(self, method: str, path: str, query: dict[str, str], raw: bytes) -> None:
        route = (method, path)
        if route == ("GET", "/__standin/requests"):
            with self.state.lock:
                return self._json(200, self.state.requests)
        if route == ("POST", "/__standin/products") and isinstance(fields := _loads(raw), dict):
            return self._json(201, self.state.add(fields))
        if route == ("POST", "/__standin/fail"):
            count, status = int(query.get("count", 1)), int(query.get("status", 500))
            with self.state.lock:
                self.state.failures.extend([status] * count)
            return self._json(200, {"failing_next": count})
        if route == ("POST", "/__standin/reset"):
            self.state.reset()
            return self._json(200, {"reset": True})
        self._error(404, "rest_no_route", "No stand-in control route (or body) matches.")

    def _forced_error(self, status: int) -> None:
        body: dict[str, Any] = {"code": "standin_forced_error", "message": "Forced failure.",
                                "data": {"status": status}}
        if status == 500:  # what WordPress answers after a PHP fatal error
            body.update(code="internal_server_error", message=_CRITICAL_ERROR, additional_errors=[])
        self._json(status, body, {"Retry-After": "1"} if status == 429 else {})

    def _error(self, status: int, code: str, message: str) -> None:
        self._json(status, {"code": code, "message": message, "data": {"status": status}})

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        body = wp_json_encode(payload)
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


def _loads(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw.decode("utf-8", "replace")


def _unauthenticated(method: str, path: str) -> tuple[str, str]:
    if method != "GET":
        return "woocommerce_rest_cannot_edit", "Sorry, you are not allowed to edit this resource."
    if _ITEM_PATH.fullmatch(path):
        return "woocommerce_rest_cannot_view", "Sorry, you cannot view this resource."
    return "woocommerce_rest_cannot_view", "Sorry, you cannot list resources."


def _matches(product: dict[str, Any], query: dict[str, str]) -> bool:
    status = query.get("status", "any")
    if status == "any" and product["status"] in _HIDDEN_FROM_ANY:
        return False
    if status != "any" and product["status"] != status:
        return False
    after = query.get("modified_after")
    if after:
        # Like WooCommerce, compare with the site-local date unless dates_are_gmt is true.
        column = "date_modified_gmt" if query.get("dates_are_gmt") in ("true", "1") else "date_modified"
        cutoff = datetime.fromisoformat(after.replace("Z", "")).replace(tzinfo=None)
        return datetime.fromisoformat(product[column]) > cutoff
    return True


class WooStandin:
    """The stand-in server on a background thread; `port=0` picks a free port.

    `consumer_key`, when given, is the only key accepted (others get 401
    ``woocommerce_rest_authentication_error``); by default any credentials pass.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, consumer_key: str | None = None,
                 shop_url: str | None = None, utc_offset_hours: int = 7) -> None:
        self._state = _State(consumer_key, utc_offset_hours)
        handler = type("WooStandinHandler", (_Handler,), {"state": self._state})
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None
        # Permalinks point at `shop_url` (e.g. a public-looking host for recorded fixtures).
        self._state.shop_url = (shop_url or self.url).rstrip("/")

    @property
    def url(self) -> str:
        """Base URL of the shop, e.g. ``http://127.0.0.1:54321``."""
        host, port = self._server.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else host
        return f"http://{host}:{port}"

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Every REST request received: method, path, query (last value per key), json, auth."""
        with self._state.lock:
            return copy.deepcopy(self._state.requests)

    @property
    def products(self) -> dict[int, dict[str, Any]]:
        """A copy of the stored products by id."""
        with self._state.lock:
            return copy.deepcopy(self._state.products)

    def add_product(self, product: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
        """Seed a product (WooCommerce shape, defaults filled in) and return it."""
        return self._state.add({**(product or {}), **fields})

    def fail_next(self, count: int = 1, status: int = 500) -> None:
        """Make the next `count` REST requests answer `status`."""
        with self._state.lock:
            self._state.failures.extend([status] * count)

    def reset(self) -> None:
        """Forget products, recorded requests and pending failures."""
        self._state.reset()

    def start(self) -> WooStandin:
        """Serve on a daemon thread."""
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> WooStandin:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    """Run the stand-in in the foreground until interrupted."""
    parser = argparse.ArgumentParser(description="WooCommerce REST v3 stand-in")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--consumer-key", default=None, help="accept only this key")
    parser.add_argument("--seed", action="append", default=[], help="product JSON file")
    args = parser.parse_args(argv)
    shop = WooStandin(args.host, args.port, consumer_key=args.consumer_key)
    for path in args.seed:
        with open(path, "rb") as seed:
            shop.add_product(json.load(seed))
    print(f"WooCommerce stand-in at {shop.url}", flush=True)
    try:
        shop._server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        shop.stop()


if __name__ == "__main__":
    main()
