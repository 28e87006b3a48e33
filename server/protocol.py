"""uvicorn's HTTP protocol, answering malformed requests in the API's envelope.

A request that is not valid HTTP (a bare newline inside a header, a broken request line)
never reaches the app: uvicorn answers it with a plain-text 400 of its own. This protocol
answers the same 400 as ``{"success": false, "error": "VALIDATION_ERROR", ...}`` with an
``X-Request-Id``, like every other answer of the service. ``kliqs serve`` runs with it
(``server.worker``).
"""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from server.api.errors import ErrorCode
from server.api.http import dumps, error_body
from server.middleware import next_request_id

__all__ = ["EnvelopeHttpToolsProtocol", "PROTOCOL"]

#: The import string uvicorn takes as its ``http`` setting (works with ``--workers N`` too).
PROTOCOL = "server.protocol:EnvelopeHttpToolsProtocol"

# Both languages: a request that cannot be parsed has no Accept-Language to go by.
_MESSAGE = "Permintaan HTTP tidak valid. / The HTTP request is malformed."


class EnvelopeHttpToolsProtocol(HttpToolsProtocol):
    """``HttpToolsProtocol`` whose answer to a request it cannot parse is the envelope."""

    def send_400_response(self, msg: str) -> None:
        """Answer 400 ``VALIDATION_ERROR`` and close (what uvicorn does, in our shape)."""
        rid = next_request_id()
        body = dumps(error_body(ErrorCode.VALIDATION_ERROR, _MESSAGE, rid))
        content = [b"HTTP/1.1 400 Bad Request\r\n"]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend(
            [
                b"content-type: application/json\r\n",
                b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
                b"x-request-id: " + rid.encode("ascii") + b"\r\n",
                b"connection: close\r\n",
                b"\r\n",
                body,
            ]
        )
        self.transport.write(b"".join(content))
        self.transport.close()
