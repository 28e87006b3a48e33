"""Which host serves what, when ``api_host``, ``public_host`` or ``dash_host`` are set.

- links, Bio Pages and QR codes only on the public host;
- ``/api/...`` only on the API host;
- ``/dash...`` only on the dashboard host;
- everything else (``/healthz``, ``/docs``, ``/static``, ``/``) on every host.

A setting left unset does not restrict its area; with none set, everything is one origin.
"""

from __future__ import annotations

from starlette.types import Scope

from server.config import Settings


def _norm(host: str | None) -> str | None:
    return host.strip().lower() if host and host.strip() else None


class HostRules:
    """The host rules of the split deployment."""

    def __init__(self, settings: Settings) -> None:
        self.api = _norm(settings.api_host)
        self.public = _norm(settings.public_host)
        self.dash = _norm(settings.dash_host)

    @property
    def active(self) -> bool:
        """True when at least one host is configured."""
        return bool(self.api or self.public or self.dash)

    @staticmethod
    def host_of(scope: Scope) -> str:
        """The request's ``Host`` header, lower-case (empty when missing)."""
        for name, value in scope["headers"]:
            if name == b"host":
                return value.decode("latin-1").strip().lower()
        return ""

    @staticmethod
    def _is(host: str, wanted: str | None) -> bool:
        """``wanted`` without a port matches any port; with one, exactly."""
        if wanted is None:
            return True
        if ":" in wanted:
            return host == wanted
        name = host if host.startswith("[") else host.rsplit(":", 1)[0]
        return name == wanted

    def serves_public(self, scope: Scope) -> bool:
        """Links and Bio Pages answer on this request's host."""
        return self.public is None or self._is(self.host_of(scope), self.public)

    def refuses(self, scope: Scope, path: str) -> bool:
        """True when ``path`` belongs to an area (API, dashboard) of another host."""
        if path == "/api" or path.startswith("/api/"):
            return self.api is not None and not self._is(self.host_of(scope), self.api)
        if path == "/dash" or path.startswith("/dash/"):
            return self.dash is not None and not self._is(self.host_of(scope), self.dash)
        return False
