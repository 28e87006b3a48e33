"""dashboard sessions and log-in attempts

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import server.db.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dash_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", server.db.types.UTCDateTime(), nullable=False),
        sa.Column("expires_at", server.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    with op.batch_alter_table("dash_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dash_sessions_account_id"), ["account_id"])
        batch_op.create_index(batch_op.f("ix_dash_sessions_expires_at"), ["expires_at"])

    op.create_table(
        "dash_login_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("email_hash", sa.String(length=64), nullable=False),
        sa.Column("ip_hash", sa.String(length=64), nullable=False),
        sa.Column("ts", server.db.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("dash_login_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_dash_login_attempts_email_ts", ["email_hash", "ts"])
        batch_op.create_index("ix_dash_login_attempts_ip_ts", ["ip_hash", "ts"])
        batch_op.create_index(batch_op.f("ix_dash_login_attempts_ts"), ["ts"])


def downgrade() -> None:
    op.drop_table("dash_login_attempts")
    op.drop_table("dash_sessions")
