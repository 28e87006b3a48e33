"""Errors raised by the WhatsApp Cloud API client, one class per Graph error code that matters.

Codes and meanings: https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes

The hierarchy, with what the caller should do (:class:`Action`)::

    WhatsAppError                        (unknown code, 4xx: FAIL)
    ├── WhatsAppConnectionError          transport failure          RETRY_LATER (transient)
    ├── UnexpectedResponse               2xx without a wamid        FAIL
    ├── AuthorizationError               0, 10, 190, 200-299        STOP
    ├── IntegrityError                   368, 131031                STOP
    ├── ThrottlingError                  4, 80007, 130429, 131048,  RETRY_LATER (transient)
    │                                    131056
    │   └── RateLimitTimeout             our own limiter gave up    RETRY_LATER (transient)
    ├── ServerError                      131000, 131016, HTTP 5xx   RETRY_LATER (transient)
    ├── RequestError                     100, 131008, 131009        FAIL
    ├── TemplateError                    132000-132016              FAIL (fix the template)
    └── RecipientError
        ├── MessageUndeliverable         131026                     SKIP_RECIPIENT
        ├── MarketingMessageWithheld     131049                     SKIP_RECIPIENT
        ├── ReEngagementRequired         131047                     SEND_TEMPLATE
        └── UserStoppedMarketing         131050                     OPT_OUT

A class claims its codes in ``codes``; :func:`error_class_for` finds the class through a cached
map built from the subclasses, so adding a class is the only step to map a new code. Codes such as
131047 mostly arrive in status webhooks, not as HTTP errors: :func:`action_for_code` classifies
those.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import httpx

class Action(enum.StrEnum):
    """What a sender should do after an error."""

    RETRY_LATER = "retry_later"
    """Transient: back off and send the same message again."""
    SEND_TEMPLATE = "send_template"
    """The 24-hour window is closed: free-form text is refused, an approved template is not."""
    SKIP_RECIPIENT = "skip_recipient"
    """Permanent for this recipient: do not retry this message."""
    OPT_OUT = "opt_out"
    """The person stopped marketing messages: record an opt-out."""
    STOP = "stop"
    """The account or token is unusable: stop sending until an operator fixes it."""
    FAIL = "fail"
    """The request itself is wrong (parameters, template): retrying cannot help."""


class WhatsAppError(Exception):
    """Base of every WhatsApp error; ``code`` is the Graph error code (None when there is none)."""

    codes: ClassVar[Iterable[int]] = ()
    action: ClassVar[Action] = Action.FAIL

    def __init__(
        self,
        code: int | None,
        message: str,
        *,
        subcode: int | None = None,
        details: str | None = None,
        fbtrace_id: str | None = None,
        http_status: int | None = None,
        error_type: str | None = None,
    ) -> None:
        # args = (code, message) so that cls(*args) rebuilds it (pickle, Celery's result backends).
        super().__init__(code, message)
        self.code = code
        self.message = message
        self.subcode = subcode
        self.details = details
        self.fbtrace_id = fbtrace_id
        self.http_status = http_status
        self.error_type = error_type

    @property
    def is_transient(self) -> bool:
        """True when the same request may succeed later (throttling, server or network trouble)."""
        return self.action is Action.RETRY_LATER

    def __str__(self) -> str:
        parts = [f"code={self.code}", f"http_status={self.http_status}"]
        if self.details:
            parts.append(f"details={self.details!r}")
        if self.fbtrace_id:
            parts.append(f"fbtrace_id={self.fbtrace_id}")
        return f"{self.message} ({', '.join(parts)})"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class WhatsAppConnectionError(WhatsAppError):
    """The request never got an HTTP answer (DNS, connect, timeout, broken connection)."""

    action = Action.RETRY_LATER

    @classmethod
    def from_httpx(cls, exc: httpx.RequestError) -> WhatsAppConnectionError:
        """Wrap an httpx transport error; the caller chains it with ``raise ... from exc``."""
        return cls(None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)


class UnexpectedResponse(WhatsAppError):
    """A successful HTTP status with a body we cannot read; the message may have been sent."""


# ---- authorization and account integrity: stop sending -------------------------------------


class AuthorizationError(WhatsAppError):
    """The token or the app's permissions are wrong: nothing will work until fixed."""

    action = Action.STOP


class AuthException(AuthorizationError):
    """We were unable to authenticate the app user."""

    codes = (0,)


class PermissionDenied(AuthorizationError):
    """Permission is either not granted or has been removed."""

    codes = (10,)


class AccessTokenInvalid(AuthorizationError):
    """The access token expired or is invalid."""

    codes = (190,)


class APIPermission(AuthorizationError):
    """An API permission is missing."""

    codes: ClassVar[Iterable[int]] = range(200, 300)


class IntegrityError(WhatsAppError):
    """The business account is restricted: stop sending."""

    action = Action.STOP


class TemporarilyBlocked(IntegrityError):
    """Temporarily blocked for policy violations."""

    codes = (368,)


class AccountLocked(IntegrityError):
    """The business account is locked or restricted."""

    codes = (131031,)


# ---- throttling and server trouble: retry later --------------------------------------------


class ThrottlingError(WhatsAppError):
    """A rate limit was hit: back off and retry."""

    action = Action.RETRY_LATER


class RateLimitTimeout(ThrottlingError):
    """Our own throughput limiter did not grant a token in time; nothing was sent."""


class TooManyAPICalls(ThrottlingError):
    """The app reached its API call rate limit."""

    codes = (4,)


class AccountRateLimit(ThrottlingError):
    """The WhatsApp Business Account reached its rate limit."""

    codes = (80007,)


class ThroughputExceeded(ThrottlingError):
    """The number's messages-per-second throughput was exceeded."""

    codes = (130429,)


class SpamRateLimit(ThrottlingError):
    """Restricted because too many earlier messages were blocked or flagged as spam."""

    codes = (131048,)


class PairRateLimit(ThrottlingError):
    """Too many messages to the same recipient in a short time (about one per 6 s)."""

    codes = (131056,)


class ServerError(WhatsAppError):
    """Meta's side failed (unknown error, service unavailable, HTTP 5xx): retry a few times."""

    action = Action.RETRY_LATER


class UnknownError(ServerError):
    """The message failed for an unknown reason."""

    codes = (131000,)


class ServiceUnavailable(ServerError):
    """A service is temporarily unavailable."""

    codes = (131016,)


# ---- the request is wrong: fail visibly -----------------------------------------------------


class RequestError(WhatsAppError):
    """The request is invalid; also code 100 for a recipient that is not a WhatsApp number."""


class InvalidParameter(RequestError):
    """Invalid parameter."""

    codes = (100,)


class MissingRequiredParameter(RequestError):
    """A required parameter is missing."""

    codes = (131008,)


class ParameterValueInvalid(RequestError):
    """A parameter value is invalid."""

    codes = (131009,)


class TemplateError(WhatsAppError):
    """The template is missing, paused, disabled or got the wrong parameters: fix the template."""

    # The whole documented range; the leaves below claim the codes we name.
    codes: ClassVar[Iterable[int]] = range(132000, 132017)


class TemplateParamCountMismatch(TemplateError):
    """The number of parameters does not match the template."""

    codes = (132000,)


class TemplateNotFound(TemplateError):
    """The template does not exist in this language or is not approved."""

    codes = (132001,)


class TemplateTextTooLong(TemplateError):
    """The translated text is too long."""

    codes = (132005,)


class TemplateContentPolicyViolation(TemplateError):
    """The template's content violates a WhatsApp policy."""

    codes = (132007,)


class TemplateParamFormatInvalid(TemplateError):
    """Parameter values are formatted incorrectly."""

    codes = (132008, 132012)


class TemplatePaused(TemplateError):
    """The template is paused for low quality."""

    codes = (132015,)


class TemplateDisabled(TemplateError):
    """The template was paused too often and is disabled for good."""

    codes = (132016,)


# ---- about one recipient ------------------------------------------------------------------


class RecipientError(WhatsAppError):
    """The message cannot reach this recipient now; other recipients are unaffected."""

    action = Action.SKIP_RECIPIENT


class MessageUndeliverable(RecipientError):
    """Not on WhatsApp, an old client, or terms not accepted: permanent for this recipient."""

    codes = (131026,)


class MarketingMessageWithheld(RecipientError):
    """Withheld to keep a 'healthy ecosystem': Meta asks not to retry soon."""

    codes = (131049,)


class ReEngagementRequired(RecipientError):
    """More than 24 hours since the person last wrote: send an approved template instead."""

    codes = (131047,)
    action = Action.SEND_TEMPLATE


class UserStoppedMarketing(RecipientError):
    """The person stopped marketing messages from this business: treat it as an opt-out."""

    codes = (131050,)
    action = Action.OPT_OUT


# ---- lookup ---------------------------------------------------------------------------------


def _subclasses(cls: type[WhatsAppError]) -> Iterable[type[WhatsAppError]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


@functools.cache
def _code_map() -> tuple[Mapping[int, type[WhatsAppError]], tuple[type[WhatsAppError], ...]]:
    """Single codes to their class, plus the classes that claim ranges (checked after)."""
    singles: dict[int, type[WhatsAppError]] = {}
    ranged: list[type[WhatsAppError]] = []
    for cls in _subclasses(WhatsAppError):
        if isinstance(cls.codes, range):
            ranged.append(cls)
            continue
        for code in cls.codes:
            if code in singles:
                raise RuntimeError(f"code {code} claimed by {singles[code]} and {cls}")
            singles[code] = cls
    return singles, tuple(ranged)


@functools.cache
def error_class_for(code: int | None, http_status: int | None = None) -> type[WhatsAppError]:
    """The class for a Graph error code; unknown codes fall back on the HTTP status."""
    singles, ranged = _code_map()
    if code is not None:
        if code in singles:
            return singles[code]
        for cls in ranged:
            if code in cls.codes:
                return cls
    if http_status is not None and http_status >= 500:
        return ServerError
    if http_status == 429:
        return ThrottlingError
    if http_status == 401:
        return AuthorizationError
    return WhatsAppError


def action_for_code(code: int) -> Action:
    """What to do about a code, e.g. one found in a ``failed`` status webhook."""
    return error_class_for(code).action


def error_from_response(response: httpx.Response) -> WhatsAppError:
    """Build the typed error for a Graph API answer with HTTP status >= 400."""
    error = _error_object(response)
    code = error.get("code")
    code = code if isinstance(code, int) and not isinstance(code, bool) else None
    message = str(error.get("message") or f"HTTP {response.status_code}")
    error_data = error.get("error_data")
    details = error_data.get("details") if isinstance(error_data, dict) else None
    subcode = error.get("error_subcode")
    cls = error_class_for(code, response.status_code)
    return cls(
        code,
        message,
        subcode=subcode if isinstance(subcode, int) else None,
        details=str(details) if details is not None else None,
        fbtrace_id=error.get("fbtrace_id"),
        http_status=response.status_code,
        error_type=error.get("type"),
    )


def _error_object(response: httpx.Response) -> dict[str, Any]:
    # A proxy or load balancer may answer with HTML or nothing: keep a bit of the text.
    try:
        body = response.json()
    except ValueError:
        return {"message": f"HTTP {response.status_code}: {response.text[:200]}"}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {"message": f"HTTP {response.status_code}"}
