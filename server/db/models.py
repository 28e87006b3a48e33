"""The server's tables (SQLAlchemy 2 declarative). Migrations live in ``server/migrations``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from server.db.types import UTCDateTime


class Base(DeclarativeBase):
    """Declarative base of every server table."""


class Account(Base):
    """A customer account; plans and limits apply per account."""

    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    plan: Mapped[str] = mapped_column(String(20), default="free")
    # Links currently held; kept exact by a conditional UPDATE in the creating transaction.
    links_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ApiKey(Base):
    """An API key; only its SHA-256 is stored."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    last4: Mapped[str] = mapped_column(String(4))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Usage(Base):
    """Successful API requests of one account in one month (``YYYY-MM``)."""

    __tablename__ = "usage"

    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    requests_used: Mapped[int] = mapped_column(Integer, default=0)


class Name(Base):
    """One row per taken name: link codes and Bio Page handles share this namespace."""

    __tablename__ = "names"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # "link" or "bio"


class Link(Base):
    """A short link. Deleted links keep their code so an old printed link is never reissued."""

    __tablename__ = "links"
    __table_args__ = (Index("ix_links_account_created", "account_id", "created_at", "id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(64), unique=True)
    destination_url: Mapped[str] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    clicks: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class IdempotencyRecord(Base):
    """The first answer to a POST with an ``Idempotency-Key``, replayed for 24 hours."""

    __tablename__ = "idempotency_keys"

    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Click(Base):
    """One visit of a short link; no raw IP, only a salted daily visitor hash."""

    __tablename__ = "clicks"
    __table_args__ = (Index("ix_clicks_link_ts", "link_id", "ts"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    link_id: Mapped[str] = mapped_column(ForeignKey("links.id", ondelete="CASCADE"))
    ts: Mapped[datetime] = mapped_column(UTCDateTime)
    referrer_host: Mapped[str | None] = mapped_column(String(255))
    browser: Mapped[str | None] = mapped_column(String(64))
    os: Mapped[str | None] = mapped_column(String(64))
    device: Mapped[str | None] = mapped_column(String(16))
    is_bot: Mapped[bool] = mapped_column(Boolean, default=False)
    country: Mapped[str | None] = mapped_column(String(2))
    visitor_hash: Mapped[str | None] = mapped_column(String(32))


class ClickBatch(Base):
    """A click spool file already stored: written in the same transaction as its clicks, so
    a file found again after a crash (stored, not yet removed) is never counted twice."""

    __tablename__ = "click_batches"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LinkChange(Base):
    """A code (or Bio Page handle) whose redirect changed: the feed that keeps every worker's
    redirect cache current. Filled by database triggers (migration 0004), never by hand."""

    __tablename__ = "link_changes"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    code: Mapped[str] = mapped_column(String(64))


class BioPage(Base):
    """An account's Bio Page at ``/{handle}``."""

    __tablename__ = "bio_pages"

    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    handle: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text, default="")
    links: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class GateFailure(Base):
    """A wrong (or still checking) password try on a protected link, per hashed visitor.

    Rows older than the lock-out window are deleted as new tries come in.
    """

    __tablename__ = "gate_failures"
    __table_args__ = (Index("ix_gate_failures_link_visitor_ts", "link_id", "visitor", "ts"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    link_id: Mapped[str] = mapped_column(ForeignKey("links.id", ondelete="CASCADE"))
    visitor: Mapped[str] = mapped_column(String(32))
    ts: Mapped[datetime] = mapped_column(UTCDateTime)


class ServerSecret(Base):
    """Secrets the server makes itself when ``KLIQS_SECRET_KEY`` is unset, shared by every
    worker through the database (cookie signing, visitor-hash salt)."""

    __tablename__ = "server_secrets"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(String(128))
