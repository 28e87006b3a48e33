"""A stand-in for a Saleor shop's GraphQL API and JWKS, plus Saleor-style webhook signing.

A real HTTP server (stdlib ``ThreadingHTTPServer``):

- ``POST /graphql/`` executes any document valid against the bundled Saleor schema subset
  (``integrations/saleor/graphql/schema.graphql``) over seeded products: ``product`` and
  ``updateMetadata`` (recorded, and applied); ``Authorization: Bearer <app token>`` required;
- ``GET /.well-known/jwks.json`` serves the public keys of its :class:`SaleorSigner` s.

:class:`SaleorSigner` signs a body the way Saleor does (``saleor/core/jwt_manager.py``):
``api_jws.encode(body, key, algorithm="RS256", headers={"kid": ...}, is_payload_detached=True)``.

As a process: ``python tests/standins/saleor_standin.py --port 8702 --private-key-out key.pem``
(the PEM lets another process sign deliveries with :meth:`SaleorSigner.from_pem`).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from graphql import GraphQLSchema, build_schema, graphql_sync
from jwt import api_jws
from jwt.algorithms import RSAAlgorithm

SCHEMA_PATH = (
    Path(__file__).resolve().parents[2] / "integrations" / "saleor" / "graphql" / "schema.graphql"
)
JWKS_PATH = "/.well-known/jwks.json"
GRAPHQL_PATH = "/graphql/"


class SaleorSigner:
    """An RSA key that signs bodies as Saleor does: detached RS256 JWS with a ``kid``."""

    def __init__(self, kid: str = "1", private_key: rsa.RSAPrivateKey | None = None) -> None:
        self.kid = kid
        self.private_key = private_key or rsa.generate_private_key(
            public_exponent=65537, key_size=2048
        )

    @classmethod
    def from_pem(cls, pem: bytes, kid: str = "1") -> SaleorSigner:
        """Load a signer from a PEM private key (as written by ``--private-key-out``)."""
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("not an RSA private key")
        return cls(kid, key)

    def sign(self, body: bytes) -> str:
        """The ``Saleor-Signature`` value for ``body``: ``header..signature``."""
        return api_jws.encode(
            body, self.private_key, algorithm="RS256", headers={"kid": self.kid},
            is_payload_detached=True,
        )

    def jwk(self) -> dict[str, Any]:
        """The public key as Saleor publishes it (``use: sig``, ``kid``)."""
        jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self.private_key.public_key()))
        jwk.update({"use": "sig", "kid": self.kid})
        return jwk

    def pem(self) -> bytes:
        """The private key as unencrypted PKCS#8 PEM."""
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


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


class SaleorStandin:
    """One Saleor shop: GraphQL API and JWKS, over real HTTP on localhost."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        app_token: str = "saleor-app-token",
        signer: SaleorSigner | None = None,
    ) -> None:
        self.app_token = app_token
        self.signers: list[SaleorSigner] = [signer or SaleorSigner("1")]
        self.products: dict[str, dict[str, Any]] = {}
        self.requests: list[RecordedRequest] = []
        self.mutations: list[dict[str, Any]] = []
        self.jwks_requests = 0
        self._lock = threading.Lock()
        self._schema: GraphQLSchema = build_schema(SCHEMA_PATH.read_text(encoding="utf-8"))
        self._host = host
        self._server = ThreadingHTTPServer((host, port), _handler_for(self))
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL, ``http://127.0.0.1:<port>``."""
        return f"http://{self._host}:{self._server.server_port}"

    @property
    def api_url(self) -> str:
        """The GraphQL endpoint (``SALEOR_API_URL``)."""
        return f"{self.url}{GRAPHQL_PATH}"

    @property
    def jwks_url(self) -> str:
        """The JWKS endpoint (``SALEOR_JWKS_URL``)."""
        return f"{self.url}{JWKS_PATH}"

    @property
    def signer(self) -> SaleorSigner:
        """The newest signing key."""
        return self.signers[-1]

    def start(self) -> SaleorStandin:
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

    def __enter__(self) -> SaleorStandin:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def rotate_key(self, kid: str) -> SaleorSigner:
        """Publish a new key with ``kid`` (the old ones stay published) and return its signer."""
        signer = SaleorSigner(kid)
        with self._lock:
            self.signers.append(signer)
        return signer

    def add_product(self, pk: int, name: str, *, slug: str | None = None,
                    published_in: tuple[str, ...] = ("default-channel",),
                    metadata: Mapping[str, str] | None = None) -> str:
        """Seed a product; returns its Relay global ID (``base64("Product:<pk>")``)."""
        product_id = relay_id("Product", pk)
        with self._lock:
            self.products[product_id] = {
                "id": product_id, "name": name, "slug": slug or name.lower().replace(" ", "-"),
                "published_in": tuple(published_in), "metadata": dict(metadata or {}),
            }
        return product_id

    def handle(self, request: RecordedRequest) -> tuple[int, bytes]:
        """Answer one request (called from the server threads)."""
        with self._lock:
            self.requests.append(request)
        if request.method == "GET" and request.path == JWKS_PATH:
            with self._lock:
                self.jwks_requests += 1
                keys = [signer.jwk() for signer in self.signers]
            return 200, json.dumps({"keys": keys}).encode()
        if request.method != "POST" or request.path != GRAPHQL_PATH:
            return 404, b'{"errors": [{"message": "Not found"}]}'
        if request.headers.get("authorization") != f"Bearer {self.app_token}":
            body = {"errors": [{"message": "Invalid token.",
                                "extensions": {"exception": {"code": "InvalidTokenError"}}}]}
            return 401, json.dumps(body).encode()
        return 200, json.dumps(self._execute(request)).encode()

    def _execute(self, request: RecordedRequest) -> dict[str, Any]:
        body = request.json()
        result = graphql_sync(
            self._schema, body.get("query") or "", root_value=_Root(self),
            variable_values=body.get("variables") or {}, operation_name=body.get("operationName"),
        )
        payload: dict[str, Any] = {"data": result.data}
        if result.errors:
            payload["errors"] = [err.formatted for err in result.errors]
        return payload

    def _update_metadata(self, id: str, items: list[dict[str, str]]) -> dict[str, Any]:
        with self._lock:
            self.mutations.append({"updateMetadata": {"id": id, "input": items}})
            product = self.products.get(id)
            if product is None:
                error = {"field": "id", "code": "NOT_FOUND",
                         "message": f"Couldn't resolve to a node: {id}"}
                return {"errors": [error], "metadataErrors": [error], "item": None}
            product["metadata"].update({item["key"]: item["value"] for item in items})
            return {"errors": [], "metadataErrors": [], "item": _view(product)}


class _Root:
    def __init__(self, standin: SaleorStandin) -> None:
        self._s = standin

    def product(self, info: Any, id: str | None = None, slug: str | None = None,
                **_: Any) -> dict[str, Any] | None:
        for product in self._s.products.values():
            if product["id"] == id or (slug and product["slug"] == slug):
                return _view(product)
        return None

    def updateMetadata(self, info: Any, id: str, input: list[dict[str, str]]) -> dict[str, Any]:
        return self._s._update_metadata(id, input)


def _view(product: dict[str, Any]) -> dict[str, Any]:
    items = [{"key": k, "value": v} for k, v in product["metadata"].items()]
    stamp = "2026-07-01T03:00:00+00:00"
    listings = [{"id": relay_id("ProductChannelListing", i + 1), "isPublished": True,
                 "visibleInListings": True, "publishedAt": stamp,
                 "channel": {"id": relay_id("Channel", i + 1), "slug": slug, "name": slug,
                             "isActive": True}}
                for i, slug in enumerate(product["published_in"])]
    return {
        "__typename": "Product", "id": product["id"], "name": product["name"],
        "slug": product["slug"], "created": stamp, "updatedAt": stamp,
        "metadata": items, "privateMetadata": [], "channelListings": listings,
        "metafield": lambda info, key: product["metadata"].get(key),
        "metafields": lambda info, keys=None: dict(product["metadata"]),
        "privateMetafield": lambda info, key: None,
        "privateMetafields": lambda info, keys=None: {},
    }


def relay_id(type_name: str, pk: int) -> str:
    """Saleor's global ID: ``base64("<Type>:<pk>")``."""
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


def _handler_for(standin: SaleorStandin) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            recorded = RecordedRequest(
                method=method, path=self.path.split("?", 1)[0],
                headers={k.lower(): v for k, v in self.headers.items()},
                body=self.rfile.read(length) if length else b"",
            )
            status, body = standin.handle(recorded)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 (stdlib naming)
            self._serve("GET")

        def do_POST(self) -> None:  # noqa: N802 (stdlib naming)
            self._serve("POST")

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            return

    return Handler


# -- sending webhooks the way Saleor does -----------------------------------------------------
def product_event_payload(product_id: str, name: str, *, slug: str | None = None,
                          published: bool = True, short_url: str | None = None,
                          channel: str = "default-channel") -> dict[str, Any]:
    """A PRODUCT_CREATED/UPDATED body for the ``ProductEvents`` subscription query."""
    metadata = [{"key": "kliqs_short_url", "value": short_url}] if short_url else []
    return {
        "issuedAt": "2026-07-01T03:00:00.000000+00:00", "version": "3.21.0",
        "product": {
            "id": product_id, "name": name, "slug": slug or name.lower().replace(" ", "-"),
            "updatedAt": "2026-07-01T03:00:00.000000+00:00", "metadata": metadata,
            "channelListings": [{"isPublished": published, "channel": {"slug": channel}}],
        },
    }


def webhook_headers(body: bytes, *, signer: SaleorSigner | None = None,
                    legacy_secret: str | None = None, event: str = "product_created",
                    domain: str = "saleor.example",
                    api_url: str = "https://saleor.example/graphql/",
                    deprecated_names: bool = False) -> dict[str, str]:
    """Headers of a Saleor delivery: JWS by ``signer``, or hex HMAC with ``legacy_secret``."""
    if legacy_secret is not None:
        signature = hmac.new(legacy_secret.encode(), body, hashlib.sha256).hexdigest()
    elif signer is not None:
        signature = signer.sign(body)
    else:
        raise ValueError("give a signer or a legacy_secret")
    prefix = "X-" if deprecated_names else ""
    return {
        "Content-Type": "application/json",
        f"{prefix}Saleor-Event": event,
        f"{prefix}Saleor-Domain": domain,
        f"{prefix}Saleor-Signature": signature,
        "Saleor-Api-Url": api_url,
    }


def send_webhook(url: str, payload: Mapping[str, Any] | bytes, *,
                 session: requests.Session | None = None, timeout: float = 5.0,
                 **header_options: Any) -> requests.Response:
    """POST a signed Saleor webhook to ``url``; ``header_options`` go to :func:`webhook_headers`."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = webhook_headers(body, **header_options)
    return (session or requests).post(url, data=body, headers=headers, timeout=timeout)


def main(argv: list[str] | None = None) -> None:
    """Run the stand-in until interrupted."""
    parser = argparse.ArgumentParser(description="Saleor GraphQL + JWKS stand-in")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8702)
    parser.add_argument("--token", default="saleor-app-token")
    parser.add_argument("--private-key-out", type=Path, help="write the signing key (PEM) here")
    parser.add_argument("--demo", action="store_true", help="seed two demo products")
    args = parser.parse_args(argv)
    standin = SaleorStandin(host=args.host, port=args.port, app_token=args.token)
    if args.private_key_out:
        args.private_key_out.write_bytes(standin.signer.pem())
    if args.demo:
        standin.add_product(1, "VPS Murah", slug="vps-murah")
        standin.add_product(2, "Sepatu Lari", published_in=())
    print(f"Saleor stand-in: API {standin.api_url} JWKS {standin.jwks_url}", flush=True)
    standin.serve_forever()


if __name__ == "__main__":
    main()
