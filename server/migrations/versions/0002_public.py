"""public side: password-gate failures and server-made secrets

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import server.db.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gate_failures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("link_id", sa.String(length=36), nullable=False),
        sa.Column("visitor", sa.String(length=32), nullable=False),
        sa.Column("ts", server.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["link_id"], ["links.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("gate_failures", schema=None) as batch_op:
        batch_op.create_index(
            "ix_gate_failures_link_visitor_ts", ["link_id", "visitor", "ts"], unique=False
        )
    op.create_table(
        "server_secrets",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("server_secrets")
    with op.batch_alter_table("gate_failures", schema=None) as batch_op:
        batch_op.drop_index("ix_gate_failures_link_visitor_ts")
    op.drop_table("gate_failures")
