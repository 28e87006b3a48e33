"""A dashboard user over real HTTP: forms with their CSRF tokens, as a browser sends them."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')
KEY_RE = re.compile(r"kliqs_sk_live_[0-9A-Za-z]{32}")
PASSWORD = "rahasia-123"


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a page."""
    found = CSRF_RE.search(html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def unique_email(tag: str = "dash") -> str:
    """An email no other test uses."""
    return f"{tag}-{time.monotonic_ns()}@example.com"


@dataclass
class DashUser:
    """One browser-like client with its cookies."""

    client: httpx.Client
    email: str
    password: str = PASSWORD
    headers: dict[str, str] = field(default_factory=dict)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        """A GET without following redirects."""
        return self.client.get(path, headers=self.headers, **kwargs)

    def token(self, path: str = "/dash") -> str:
        """The form token a page of this session carries."""
        page = self.get(path)
        assert page.status_code == 200, page.text[:300]
        return csrf_of(page.text)

    def post(self, path: str, data: dict[str, Any], *, token_from: str | None = None,
             csrf: str | None = "auto") -> httpx.Response:
        """Post a form; the token is read from ``token_from`` (default: the same path)."""
        body = dict(data)
        if csrf == "auto":
            body["csrf"] = self.token(token_from or path)
        elif csrf is not None:
            body["csrf"] = csrf
        return self.client.post(path, data=body, headers=self.headers)

    def signup(self) -> httpx.Response:
        """Create the account through the sign-up form (signed in afterwards)."""
        return self.post("/dash/signup", {"email": self.email, "password": self.password})

    def login(self, password: str | None = None, **extra: str) -> httpx.Response:
        """Post the log-in form."""
        data = {"email": self.email, "password": password or self.password, **extra}
        return self.post("/dash/login", data)

    def create_key(self, name: str = "server-produksi") -> str:
        """A new API key from Settings → API Keys (the one time it is shown)."""
        page = self.post("/dash/settings/api-keys", {"name": name})
        assert page.status_code == 201, page.text[:300]
        keys = KEY_RE.findall(page.text)
        assert len(set(keys)) == 1
        return keys[0]


class Users:
    """Makes dashboard users for one test and closes their connections afterwards."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self._clients: list[httpx.Client] = []

    def new(self, *, signup: bool = True, email: str | None = None) -> DashUser:
        """A fresh client, signed up (and so signed in) unless ``signup`` is False."""
        client = httpx.Client(base_url=self.base_url, timeout=30, follow_redirects=False)
        self._clients.append(client)
        user = DashUser(client, email or unique_email())
        if signup:
            answer = user.signup()
            assert answer.status_code == 303, answer.text[:300]
        return user

    def close(self) -> None:
        """Close every client made."""
        for client in self._clients:
            client.close()
