"""A tiny HTTP/1.1 proxy on loopback that loses the first answers, the way a network does.

It forwards every request to the server byte for byte and reads the server's whole answer.
For the first ``faults`` requests it then fails the client instead of answering:

- ``"drop"``: reset the client's connection (RST) as soon as the server has answered, so the
  server did the work (created the link) but the client never learns it;
- ``"stall"``: say nothing until the client gives up (its read timeout), then close.

Every request and answer it saw is kept (``exchanges``) so a test can check what was sent.
Messages must carry a ``Content-Length`` (the SDK's requests and the server's answers do).
"""

from __future__ import annotations

import socket
import struct
import threading
from dataclasses import dataclass, field
from types import TracebackType
from typing import Literal

__all__ = ["Exchange", "FaultyProxy", "HttpMessage"]

Fault = Literal["drop", "stall"]


@dataclass(frozen=True)
class HttpMessage:
    """One HTTP/1.1 request or response: its first line, lower-cased headers and body."""

    start_line: str
    headers: dict[str, str]
    body: bytes
    raw: bytes


@dataclass(frozen=True)
class Exchange:
    """A request the proxy forwarded, the server's answer, and what the client got."""

    request: HttpMessage
    response: HttpMessage
    delivered: bool


@dataclass
class FaultyProxy:
    """Proxy ``127.0.0.1:<port>`` to ``upstream``; fails the first ``faults`` requests."""

    upstream: tuple[str, int]
    fault: Fault = "drop"
    faults: int = 1
    stall_limit: float = 10.0
    exchanges: list[Exchange] = field(default_factory=list)
    _listener: socket.socket | None = None
    _sockets: list[socket.socket] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _closed: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        """The proxy's base URL, to use as the client's ``base_url``."""
        assert self._listener is not None, "start the proxy first"
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def start(self) -> FaultyProxy:
        """Listen and serve connections on a daemon thread."""
        self._listener = socket.create_server(("127.0.0.1", 0))
        threading.Thread(target=self._accept, name="faulty-proxy", daemon=True).start()
        return self

    def stop(self) -> None:
        """Close the listener and every connection."""
        self._closed.set()
        with self._lock:
            sockets = [s for s in (self._listener, *self._sockets) if s is not None]
        for sock in sockets:
            # shutdown() wakes a thread blocked in accept() or recv(); close() alone may not.
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def __enter__(self) -> FaultyProxy:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _accept(self) -> None:
        assert self._listener is not None
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # the listener was closed
            self._track(client)
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)

    def _serve(self, client: socket.socket) -> None:
        server = socket.create_connection(self.upstream, timeout=30)
        self._track(server)
        client_reader, server_reader = _Reader(client), _Reader(server)
        try:
            while (request := client_reader.message()) is not None:
                server.sendall(request.raw)
                response = server_reader.message()
                if response is None:
                    return
                if self._take_fault():
                    self._fail(client, request, response)
                    return
                # Noted before sending: the client may act on the answer at once.
                self.exchanges.append(Exchange(request, response, delivered=True))
                client.sendall(response.raw)
        except OSError:
            return  # the test ended or the client went away
        finally:
            server.close()
            client.close()

    def _take_fault(self) -> bool:
        with self._lock:
            if self.faults <= 0:
                return False
            self.faults -= 1
            return True

    def _fail(self, client: socket.socket, request: HttpMessage, response: HttpMessage) -> None:
        self.exchanges.append(Exchange(request, response, delivered=False))
        if self.fault == "stall":
            # Wait for the client to give up and close its end (recv then returns b"").
            client.settimeout(self.stall_limit)
            try:
                client.recv(1)
            except OSError:
                pass
            return
        # SO_LINGER with a zero timeout makes close() send RST: "connection reset by peer".
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


class _Reader:
    """Reads whole HTTP/1.1 messages (head and Content-Length body) from a socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def message(self) -> HttpMessage | None:
        """The next message, or ``None`` when the peer closed before sending one."""
        while b"\r\n\r\n" not in self.buffer:
            if not self._fill():
                return None
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if "chunked" in headers.get("transfer-encoding", ""):
            raise ValueError("FaultyProxy handles Content-Length bodies only")
        length = int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            if not self._fill():
                return None
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return HttpMessage(lines[0], headers, body, head + b"\r\n\r\n" + body)

    def _fill(self) -> bool:
        chunk = self.sock.recv(65536)
        self.buffer += chunk
        return bool(chunk)
