"""A fast stand-in of the Kliqs API's ``POST /api/v1/links`` for the pipeline benchmark.

It keeps the contract the connector relies on (the success envelope, ``Idempotency-Key``
replays, ``409 SLUG_ALREADY_EXISTS`` on a taken slug, Bearer auth) and nothing else, on
asyncio with keep-alive, so it costs the benchmark little CPU next to the connector under
test. ``GET /__standin/stats`` answers ``{"links": N, "requests": M}``.

    python bench/pipeline/kliqs_standin.py --port 8500
"""

from __future__ import annotations

import argparse
import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Any

_links: dict[str, dict[str, Any]] = {}  # by code
_replays: dict[str, tuple[str, bytes]] = {}  # idempotency key -> (body, answer)
_stats = {"links": 0, "requests": 0}
_REASONS = {200: "OK", 201: "Created", 401: "Unauthorized", 404: "Not Found", 409: "Conflict"}


def _envelope(status: int, payload: dict[str, Any]) -> tuple[int, bytes]:
    return status, json.dumps(payload).encode()


def _create(body: bytes, key: str | None, public: str) -> tuple[int, bytes]:
    if key is not None and key in _replays:
        first, answer = _replays[key]
        return (201, answer) if first == body.decode() else _envelope(
            422, {"success": False, "error": "IDEMPOTENCY_KEY_REUSED", "message": "reused"})
    fields = json.loads(body)
    code = (fields.get("slug") or uuid.uuid4().hex[:7]).lower()
    if code in _links:
        return _envelope(409, {"success": False, "error": "SLUG_ALREADY_EXISTS",
                               "message": f"{code} is taken"})
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    link = {"id": str(uuid.uuid4()), "short_code": code, "short_url": f"{public}/{code}",
            "destination_url": fields["url"], "title": fields.get("title"), "description": None,
            "expires_at": None, "has_password": False, "clicks": 0, "created_at": now}
    _links[code] = link
    _stats["links"] += 1
    status, answer = _envelope(201, {"success": True, "data": link})
    if key is not None:
        _replays[key] = (body.decode(), answer)
    return status, answer


def _route(method: str, path: str, headers: dict[str, str], body: bytes,
           public: str) -> tuple[int, bytes]:
    if path == "/__standin/stats":
        return _envelope(200, dict(_stats))
    if path == "/healthz":
        return _envelope(200, {"success": True, "data": "ok"})
    _stats["requests"] += 1
    if not headers.get("authorization", "").startswith("Bearer "):
        return _envelope(401, {"success": False, "error": "UNAUTHORIZED", "message": "no key"})
    if (method, path) == ("POST", "/api/v1/links"):
        return _create(body, headers.get("idempotency-key"), public)
    return _envelope(404, {"success": False, "error": "NOT_FOUND", "message": path})


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, public: str) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0") or 0))
            status, answer = _route(method, path.split("?", 1)[0], headers, body, public)
            writer.write(
                f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\nContent-Type: "
                f"application/json\r\nContent-Length: {len(answer)}\r\n\r\n".encode() + answer
            )
            await writer.drain()
            if headers.get("connection", "").lower() == "close":
                break
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def _main(host: str, port: int, public: str) -> None:
    server = await asyncio.start_server(lambda r, w: _serve(r, w, public), host, port, backlog=512)
    print(f"Kliqs stand-in at http://{host}:{port}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    """Serve until killed."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8500)
    parser.add_argument("--public", default="https://kliqs.me", help="short URL base")
    args = parser.parse_args()
    try:
        asyncio.run(_main(args.host, args.port, args.public))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
