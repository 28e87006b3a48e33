"""The dashboard's own tables: log-in sessions and log-in attempts (migration 0003)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db.models import Base
from server.db.types import UTCDateTime


class DashSession(Base):
    """A signed-in browser. Only the SHA-256 of the cookie's token is stored."""

    __tablename__ = "dash_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class LoginAttempt(Base):
    """One log-in or sign-up try, kept for the rate-limit window only.

    Email and client IP are stored as SHA-256 digests: the table answers "how many tries
    lately", never "who tried".
    """

    __tablename__ = "dash_login_attempts"
    __table_args__ = (
        Index("ix_dash_login_attempts_email_ts", "email_hash", "ts"),
        Index("ix_dash_login_attempts_ip_ts", "ip_hash", "ts"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(8))  # "login" or "signup"
    email_hash: Mapped[str] = mapped_column(String(64))
    ip_hash: Mapped[str] = mapped_column(String(64))
    ts: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
