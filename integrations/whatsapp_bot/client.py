"""A small WhatsApp Cloud API client on one long-lived ``httpx.Client``.

Only what the bot needs: text, template, image and reply-button messages, and read receipts. Every
send is ``POST {graph_url}/{api_version}/{phone_number_id}/messages``; errors become the typed
exceptions of :mod:`integrations.whatsapp_bot.errors`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from integrations.whatsapp_bot.errors import (
    RateLimitTimeout,
    UnexpectedResponse,
    WhatsAppConnectionError,
    error_from_response,
)

if TYPE_CHECKING:
    from integrations.whatsapp_bot.settings import WhatsAppSettings

DEFAULT_API_VERSION = "v23.0"
DEFAULT_GRAPH_URL = "https://graph.facebook.com"
USER_AGENT = "kliqs-whatsapp-bot/0.1"

MAX_TEXT_CHARS = 4096
MAX_CAPTION_CHARS = 1024
MAX_CALLBACK_DATA_CHARS = 512
MAX_BUTTONS = 3
MAX_BUTTON_TITLE_CHARS = 20
MAX_BUTTON_ID_CHARS = 256
_VERSION_RE = re.compile(r"^v?(\d+\.\d+)$")


class RateLimiter(Protocol):
    """Anything with ``acquire(timeout) -> bool``, such as :class:`~.ratelimit.TokenBucket`."""

    def acquire(self, timeout: float | None = None) -> bool:
        """Wait for permission to send one message; False when ``timeout`` passed first."""
        ...


@dataclass(frozen=True)
class SentMessage:
    """What the Graph API answers for an accepted message."""

    wamid: str
    wa_id: str | None
    message_status: str | None
    """``accepted`` or ``held_for_quality_assessment``; Meta may leave it out."""


def normalize_api_version(version: str) -> str:
    """``"23.0"`` or ``"v23.0"`` -> ``"v23.0"``."""
    match = _VERSION_RE.match(version.strip())
    if not match:
        raise ValueError(f"invalid Graph API version {version!r}, expected e.g. 'v23.0'")
    return f"v{match.group(1)}"


class WhatsAppClient:
    """Sends messages from one business phone number.

    Pass ``http`` to supply your own ``httpx.Client`` (proxies, a mock transport in tests); its
    ``base_url`` and ``Authorization`` are set here, once, and it stays yours to close. Without
    it the client makes and owns one with ``timeout`` seconds. ``limiter``, when given, is asked
    for a token before each message, so all senders of a number share its throughput.
    """

    def __init__(
        self,
        phone_number_id: str,
        access_token: str,
        *,
        api_version: str = DEFAULT_API_VERSION,
        graph_url: str = DEFAULT_GRAPH_URL,
        http: httpx.Client | None = None,
        timeout: float = 10,
        limiter: RateLimiter | None = None,
        limiter_timeout: float | None = 30.0,
    ) -> None:
        if not phone_number_id:
            raise ValueError("phone_number_id is required (WHATSAPP_PHONE_NUMBER_ID)")
        if not access_token:
            raise ValueError("access_token is required (WHATSAPP_ACCESS_TOKEN)")
        self.phone_number_id = phone_number_id
        self.api_version = normalize_api_version(api_version)
        self.graph_url = graph_url.rstrip("/")
        self._owns_http = http is None
        self._http = http if http is not None else httpx.Client(timeout=timeout)
        self._configure(self._http, access_token)
        self._limiter = limiter
        self._limiter_timeout = limiter_timeout

    @classmethod
    def from_settings(
        cls,
        settings: WhatsAppSettings,
        *,
        http: httpx.Client | None = None,
        limiter: RateLimiter | None = None,
    ) -> WhatsAppClient:
        """Build a client from :class:`~.settings.WhatsAppSettings` (``WHATSAPP_*``)."""
        return cls(
            settings.phone_number_id,
            settings.access_token.get_secret_value(),
            api_version=settings.api_version,
            graph_url=settings.graph_url,
            http=http,
            limiter=limiter,
        )

    @classmethod
    def from_env(cls, *, http: httpx.Client | None = None) -> WhatsAppClient:
        """Build a client from the environment; raises naming any missing ``WHATSAPP_*`` setting."""
        from integrations.whatsapp_bot.settings import load_settings

        return cls.from_settings(load_settings(), http=http)

    def _configure(self, http: httpx.Client, access_token: str) -> None:
        existing = http.headers.get("Authorization")
        if existing is not None and existing != f"Bearer {access_token}":
            # Two tokens on one client would send messages from the wrong account.
            raise ValueError("the given httpx.Client already carries another Authorization header")
        http.base_url = httpx.URL(f"{self.graph_url}/{self.api_version}/")
        http.headers["Authorization"] = f"Bearer {access_token}"
        http.headers["User-Agent"] = USER_AGENT

    # ---- sending ---------------------------------------------------------------------------

    def send_text(
        self, to: str, body: str, *, preview_url: bool = True, callback_data: str | None = None
    ) -> SentMessage:
        """Send free-form text (allowed only inside the 24-hour window)."""
        _check_length("body", body, MAX_TEXT_CHARS, required=True)
        text = {"preview_url": preview_url, "body": body}
        return self._send(to, "text", text, callback_data=callback_data)

    def send_template(
        self,
        to: str,
        name: str,
        language: str,
        body_params: list[str],
        *,
        callback_data: str | None = None,
    ) -> SentMessage:
        """Send an approved template, filling its body variables ``{{1}}``, ``{{2}}``..."""
        _check_length("name", name, 512, required=True)
        template: dict[str, Any] = {"name": name, "language": {"code": language}}
        if body_params:
            parameters = [{"type": "text", "text": str(param)} for param in body_params]
            template["components"] = [{"type": "body", "parameters": parameters}]
        return self._send(to, "template", template, callback_data=callback_data)

    def send_image(self, to: str, link: str, caption: str | None = None) -> SentMessage:
        """Send an image by its public https link."""
        _check_length("link", link, 2048, required=True)
        image = {"link": link}
        if caption is not None:
            _check_length("caption", caption, MAX_CAPTION_CHARS)
            image["caption"] = caption
        return self._send(to, "image", image)

    def send_buttons(self, to: str, body: str, buttons: list[tuple[str, str]]) -> SentMessage:
        """Send text with up to three reply buttons, each ``(id, title)``."""
        _check_length("body", body, 1024, required=True)
        _check_buttons(buttons)
        action = {"buttons": [_reply_button(id_, title) for id_, title in buttons]}
        interactive = {"type": "button", "body": {"text": body}, "action": action}
        return self._send(to, "interactive", interactive)

    def mark_read(self, message_id: str) -> bool:
        """Mark an inbound message (by wamid) as read; True when Meta says ``success``."""
        payload = {"messaging_product": "whatsapp", "status": "read", "message_id": message_id}
        answer = self._post_messages(payload)
        return answer.get("success") is True

    # ---- plumbing --------------------------------------------------------------------------

    def _send(
        self, to: str, type_: str, content: dict[str, Any], *, callback_data: str | None = None
    ) -> SentMessage:
        if not to:
            raise ValueError("recipient 'to' is required")
        payload: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": type_,
            type_: content,
        }
        if callback_data is not None:
            _check_length("callback_data", callback_data, MAX_CALLBACK_DATA_CHARS)
            payload["biz_opaque_callback_data"] = callback_data
        self._wait_for_token()
        return _sent_message(self._post_messages(payload))

    def _wait_for_token(self) -> None:
        if self._limiter is not None and not self._limiter.acquire(self._limiter_timeout):
            raise RateLimitTimeout(None, "local throughput limit: no send token in time")

    def _post_messages(self, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            response = self._http.post(f"{self.phone_number_id}/messages", json=payload)
        except httpx.RequestError as exc:
            raise WhatsAppConnectionError.from_httpx(exc) from exc
        if response.status_code >= 400:
            raise error_from_response(response)
        try:
            answer = response.json()
        except ValueError as exc:
            raise UnexpectedResponse(
                None, "answer is not JSON", http_status=response.status_code
            ) from exc
        if not isinstance(answer, dict):
            raise UnexpectedResponse(
                None, "answer is not an object", http_status=response.status_code
            )
        return answer

    def close(self) -> None:
        """Close the HTTP client if this object made it."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> WhatsAppClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _sent_message(answer: dict[str, Any]) -> SentMessage:
    messages = answer.get("messages")
    first = messages[0] if isinstance(messages, list) and messages else None
    if not isinstance(first, dict) or not isinstance(first.get("id"), str):
        raise UnexpectedResponse(None, f"answer carries no message id: {answer!r:.200}")
    contacts = answer.get("contacts")
    contact = contacts[0] if isinstance(contacts, list) and contacts else {}
    wa_id = contact.get("wa_id") if isinstance(contact, dict) else None
    return SentMessage(wamid=first["id"], wa_id=wa_id, message_status=first.get("message_status"))


def _reply_button(id_: str, title: str) -> dict[str, Any]:
    _check_length("button id", id_, MAX_BUTTON_ID_CHARS, required=True)
    _check_length("button title", title, MAX_BUTTON_TITLE_CHARS, required=True)
    return {"type": "reply", "reply": {"id": id_, "title": title}}


def _check_buttons(buttons: list[tuple[str, str]]) -> None:
    if not 1 <= len(buttons) <= MAX_BUTTONS:
        raise ValueError(f"between 1 and {MAX_BUTTONS} buttons are allowed, got {len(buttons)}")
    if len({id_ for id_, _ in buttons}) != len(buttons):
        raise ValueError("button ids must be unique")
    if len({title for _, title in buttons}) != len(buttons):
        raise ValueError("button titles must be unique")


def _check_length(name: str, value: str, limit: int, *, required: bool = False) -> None:
    if required and not value:
        raise ValueError(f"{name} must not be empty")
    if len(value) > limit:
        raise ValueError(f"{name} is {len(value)} characters, the limit is {limit}")
