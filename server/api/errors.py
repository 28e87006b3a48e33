"""The API's error codes: the one table of the wire contract.

Every error the API answers is an :class:`ApiError` carrying one of these codes. The SDK
(``kliqs_core.errors``) maps each code to a class, and a test fails when a code here has no
SDK class, so this table is the single source of truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


@dataclass(frozen=True)
class _Spec:
    status: int
    id: str
    en: str


class ErrorCode(str, Enum):
    """Contract error codes, in the order the create-link checks run."""

    UNAUTHORIZED = "UNAUTHORIZED"
    INVALID_API_KEY = "INVALID_API_KEY"
    REVOKED_API_KEY = "REVOKED_API_KEY"
    API_LIMIT_REACHED = "API_LIMIT_REACHED"
    RATE_LIMITED = "RATE_LIMITED"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    VALIDATION_ERROR = "VALIDATION_ERROR"
    INVALID_URL = "INVALID_URL"
    INVALID_SLUG = "INVALID_SLUG"
    RESERVED_SLUG = "RESERVED_SLUG"
    INVALID_EXPIRES_AT = "INVALID_EXPIRES_AT"
    SHORTLINK_LIMIT_REACHED = "SHORTLINK_LIMIT_REACHED"
    SLUG_ALREADY_EXISTS = "SLUG_ALREADY_EXISTS"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    NOT_FOUND = "NOT_FOUND"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    INTERNAL_ERROR = "INTERNAL_ERROR"

    @property
    def status(self) -> int:
        """The HTTP status this code is always answered with."""
        return _SPECS[self].status

    def message(self, lang: str = "id") -> str:
        """The default human message, Indonesian unless ``lang`` is ``"en"``."""
        spec = _SPECS[self]
        return spec.en if lang == "en" else spec.id


_SPECS: dict[ErrorCode, _Spec] = {
    ErrorCode.UNAUTHORIZED: _Spec(
        401,
        "Header Authorization tidak ada atau bukan skema Bearer.",
        "The Authorization header is missing or not the Bearer scheme.",
    ),
    ErrorCode.INVALID_API_KEY: _Spec(401, "API key tidak valid.", "The API key is not valid."),
    ErrorCode.REVOKED_API_KEY: _Spec(401, "API key sudah dicabut.", "The API key has been revoked."),
    ErrorCode.API_LIMIT_REACHED: _Spec(
        429, "Batas request bulanan tercapai.", "The monthly request limit has been reached."
    ),
    ErrorCode.RATE_LIMITED: _Spec(
        429, "Terlalu banyak request. Coba lagi sebentar.", "Too many requests. Try again shortly."
    ),
    ErrorCode.PAYLOAD_TOO_LARGE: _Spec(
        413, "Body request terlalu besar (maks. 64 KB).", "The request body is too large (64 KB at most)."
    ),
    ErrorCode.VALIDATION_ERROR: _Spec(400, "Data request tidak valid.", "The request data is not valid."),
    ErrorCode.INVALID_URL: _Spec(400, "URL tidak valid.", "The URL is not valid."),
    ErrorCode.INVALID_SLUG: _Spec(
        400,
        "Slug harus 3–64 karakter huruf, angka, - atau _, diawali dan diakhiri huruf atau angka.",
        "The slug must be 3–64 letters, digits, - or _, starting and ending with a letter or digit.",
    ),
    ErrorCode.RESERVED_SLUG: _Spec(400, "Slug termasuk daftar terlarang.", "The slug is reserved."),
    ErrorCode.INVALID_EXPIRES_AT: _Spec(
        400,
        "expires_at harus tanggal ISO 8601 di masa depan.",
        "expires_at must be an ISO 8601 datetime in the future.",
    ),
    ErrorCode.SHORTLINK_LIMIT_REACHED: _Spec(
        403, "Batas shortlink paket tercapai.", "The plan's shortlink limit has been reached."
    ),
    ErrorCode.SLUG_ALREADY_EXISTS: _Spec(409, "Slug sudah dipakai.", "The slug is already taken."),
    ErrorCode.IDEMPOTENCY_KEY_REUSED: _Spec(
        422,
        "Idempotency-Key sudah dipakai untuk request lain.",
        "The Idempotency-Key was already used with a different request.",
    ),
    ErrorCode.NOT_FOUND: _Spec(404, "Tidak ditemukan.", "Not found."),
    ErrorCode.METHOD_NOT_ALLOWED: _Spec(405, "Metode tidak diizinkan.", "Method not allowed."),
    ErrorCode.INTERNAL_ERROR: _Spec(
        500, "Terjadi kesalahan pada server.", "Something went wrong on the server."
    ),
}


class ApiError(Exception):
    """An error answered to the client in the contract's envelope.

    ``detail`` is an (Indonesian, English) pair that replaces the default message;
    ``headers`` are added to the response (``Retry-After`` for the 429s).
    """

    def __init__(
        self,
        code: ErrorCode,
        *,
        detail: tuple[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(code.value)
        self.code = code
        self.detail = detail
        self.headers = headers or {}

    @property
    def status(self) -> int:
        """The HTTP status of the response."""
        return self.code.status

    def message(self, lang: str = "id") -> str:
        """The message in ``lang`` (``"id"`` or ``"en"``)."""
        if self.detail is None:
            return self.code.message(lang)
        return self.detail[1] if lang == "en" else self.detail[0]
