"""``KliqsClient``: one method per API endpoint, each a single requestor call."""

from __future__ import annotations

import enum
import logging
import os
from collections.abc import Iterator, Mapping
from datetime import datetime
from types import TracebackType
from typing import Any, Final
from urllib.parse import quote

import requests

from kliqs_core._http import HttpClient
from kliqs_core._requestor import Requestor
from kliqs_core._retry import RetryPolicy
from kliqs_core._time import format_datetime
from kliqs_core.errors import SlugAlreadyExistsError
from kliqs_core.models import Link, LinkPage, LinkStats, Me
from kliqs_core.sessions import new_session
from kliqs_core.slugs import with_suffix

__all__ = ["DEFAULT_BASE_URL", "UNSET", "KliqsClient"]

logger = logging.getLogger("kliqs_core")

DEFAULT_BASE_URL = "https://api.kliqs.me"
_LINKS = "/api/v1/links"

_MISSING_KEY = (
    "A Kliqs API key is required: pass KliqsClient(api_key=...) or set KLIQS_API_KEY for "
    "KliqsClient.from_env(). Create one in the dashboard under Settings -> API Keys "
    "(it is shown once)."
)


class _Unset(enum.Enum):
    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"


#: "Not given" for :meth:`KliqsClient.update_link`, where ``None`` means "remove".
UNSET: Final = _Unset.UNSET


class KliqsClient:
    """A client of the Kliqs API on one long-lived ``requests.Session``.

    ``max_retries`` retries connection failures, timeouts, 5xx and ``RATE_LIMITED`` (see
    :class:`~kliqs_core.RetryPolicy`, which ``retry_policy`` replaces to tune or pin waits).
    A session passed in stays the caller's to close; one made here is closed by :meth:`close`.
    """

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 10.0,
        max_retries: int = 2,
        session: requests.Session | None = None,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        api_key = (api_key or "").strip()
        if not api_key:
            raise ValueError(_MISSING_KEY)
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {base_url!r}")
        if timeout <= 0 or max_retries < 0:
            raise ValueError("timeout must be positive and max_retries at least 0")
        self._owns_session = session is None
        http = HttpClient(
            session or new_session(),
            timeout=timeout,
            max_retries=max_retries,
            policy=retry_policy or RetryPolicy(),
        )
        self._key_hint = api_key[-4:]
        self._requestor = Requestor(api_key, base_url=base_url.rstrip("/"), http=http)

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        timeout: float = 10.0,
        max_retries: int = 2,
        session: requests.Session | None = None,
        retry_policy: RetryPolicy | None = None,
    ) -> KliqsClient:
        """A client from ``KLIQS_API_KEY`` and ``KLIQS_API_URL`` (default ``https://api.kliqs.me``).

        ``environ`` defaults to ``os.environ``; this is the only place the SDK reads it.
        """
        env = os.environ if environ is None else environ
        return cls(
            env.get("KLIQS_API_KEY", ""),
            base_url=env.get("KLIQS_API_URL") or DEFAULT_BASE_URL,
            timeout=timeout,
            max_retries=max_retries,
            session=session,
            retry_policy=retry_policy,
        )

    @property
    def base_url(self) -> str:
        """The API origin requests go to."""
        return self._requestor.base_url

    def __repr__(self) -> str:
        return f"KliqsClient(base_url={self.base_url!r}, api_key='...{self._key_hint}')"

    def close(self) -> None:
        """Close the session if this client made it."""
        if self._owns_session:
            self._requestor.http.session.close()

    def __enter__(self) -> KliqsClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def create_link(
        self,
        url: str,
        *,
        slug: str | None = None,
        title: str | None = None,
        description: str | None = None,
        expires_at: datetime | str | None = None,
        password: str | None = None,
        idempotency_key: str | None = None,
    ) -> Link:
        """``POST /api/v1/links``: create a short link; ``None`` fields are left out.

        Without ``idempotency_key`` a fresh uuid4 is used for this call (and all its retries).
        A naive ``expires_at`` is taken as UTC.
        """
        body = _without(
            None,
            url=url,
            slug=slug,
            title=title,
            description=description,
            expires_at=None if expires_at is None else format_datetime(expires_at),
            password=password,
        )
        return self._requestor.request(
            "POST", _LINKS, Link.from_dict, json=body, idempotency_key=idempotency_key
        )

    def create_link_with_unique_slug(
        self,
        url: str,
        *,
        slug: str,
        max_attempts: int = 10,
        title: str | None = None,
        description: str | None = None,
        expires_at: datetime | str | None = None,
        password: str | None = None,
        idempotency_key: str | None = None,
    ) -> Link:
        """Create a link under ``slug``, else ``slug-2``, ``slug-3``..., at most ``max_attempts``.

        Only ``SLUG_ALREADY_EXISTS`` moves on to the next candidate; the last conflict is
        raised when all are taken. With an ``idempotency_key``, try ``n`` uses a key derived
        from it (the key itself for the first), so re-running the same call never duplicates.
        """
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        fields: dict[str, Any] = {
            "title": title,
            "description": description,
            "expires_at": expires_at,
            "password": password,
        }
        for n in range(1, max_attempts):
            try:
                return self.create_link(
                    url,
                    slug=with_suffix(slug, n),
                    idempotency_key=_nth_key(idempotency_key, n),
                    **fields,
                )
            except SlugAlreadyExistsError:
                logger.debug("Kliqs slug %r is taken; trying the next suffix", with_suffix(slug, n))
        return self.create_link(
            url,
            slug=with_suffix(slug, max_attempts),
            idempotency_key=_nth_key(idempotency_key, max_attempts),
            **fields,
        )

    def get_link(self, id_or_code: str) -> Link:
        """``GET /api/v1/links/{id or code}``."""
        return self._requestor.request("GET", _link_path(id_or_code), Link.from_dict)

    def list_links_page(
        self, *, q: str | None = None, limit: int = 20, cursor: str | None = None
    ) -> LinkPage:
        """``GET /api/v1/links``: one page (``limit`` 1-100), newest first, filtered by ``q``."""
        params = _without(None, limit=limit, q=q, cursor=cursor)
        return self._requestor.request("GET", _LINKS, LinkPage.from_dict, params=params)

    def list_links(self, q: str | None = None, *, limit: int = 20) -> Iterator[Link]:
        """Every link (matching ``q``), newest first, fetching pages of ``limit`` lazily."""
        cursor: str | None = None
        while True:
            page = self.list_links_page(q=q, limit=limit, cursor=cursor)
            yield from page.items
            if page.next_cursor is None:
                return
            if page.next_cursor == cursor:
                raise RuntimeError(f"The API repeated the cursor {cursor!r}; stopping here.")
            cursor = page.next_cursor

    def update_link(
        self,
        link_id: str,
        *,
        url: str | _Unset = UNSET,
        slug: str | _Unset = UNSET,
        title: str | None | _Unset = UNSET,
        description: str | None | _Unset = UNSET,
        expires_at: datetime | str | None | _Unset = UNSET,
        password: str | None | _Unset = UNSET,
    ) -> Link:
        """``PATCH /api/v1/links/{id}``: change the given fields; ``None`` clears one.

        ``password=None`` removes the password; leaving it out keeps it.
        """
        if isinstance(expires_at, datetime):
            expires_at = format_datetime(expires_at)
        body = _without(
            UNSET,
            url=url,
            slug=slug,
            title=title,
            description=description,
            expires_at=expires_at,
            password=password,
        )
        if not body:
            raise ValueError("update_link needs at least one field to change")
        return self._requestor.request("PATCH", _link_path(link_id), Link.from_dict, json=body)

    def delete_link(self, link_id: str) -> None:
        """``DELETE /api/v1/links/{id}``."""
        self._requestor.request("DELETE", _link_path(link_id), _ignore)

    def link_stats(self, link_id: str, days: int = 30) -> LinkStats:
        """``GET /api/v1/links/{id}/stats``: clicks over the last ``days`` days."""
        path = _link_path(link_id) + "/stats"
        return self._requestor.request("GET", path, LinkStats.from_dict, params={"days": days})

    def me(self) -> Me:
        """``GET /api/v1/me``: account, plan, key and usage (never counted against the limit)."""
        return self._requestor.request("GET", "/api/v1/me", Me.from_dict)


def _without(missing: object, **fields: Any) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not missing}


def _link_path(id_or_code: str) -> str:
    if not id_or_code:
        raise ValueError("a link id or code is required")
    # Quote everything, "/" included, so a code can never reach another route.
    return f"{_LINKS}/{quote(id_or_code, safe='')}"


def _nth_key(base: str | None, n: int) -> str | None:
    if base is None:
        return None
    return base if n == 1 else f"{base}:slug-{n}"


def _ignore(data: Any) -> None:
    return None
