"""The WhatsApp bot's tables: subscribers, inbound messages, statuses, deliveries.

Models: ``integrations/whatsapp_bot/models.py`` (on the connector's ``Base``).

Revision ID: 0002_whatsapp_bot
Revises: 0001_connector_initial
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_whatsapp_bot"
down_revision: str | None = "0001_connector_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts(name: str, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _id(table: str) -> tuple[sa.Column[int], sa.PrimaryKeyConstraint]:
    return (
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
    )


def upgrade() -> None:
    op.create_table(
        "wa_subscribers",
        *_id("wa_subscribers"),
        sa.Column("phone", sa.String(32), nullable=False),
        sa.Column("name", sa.String(255), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        _ts("consent_at"),
        sa.Column("consent_source", sa.String(64), nullable=True),
        _ts("opted_out_at"),
        sa.Column("opt_out_source", sa.String(64), nullable=True),
        _ts("undeliverable_at"),
        _ts("last_inbound_at"),
        _ts("created_at", nullable=False),
        _ts("updated_at", nullable=False),
        sa.UniqueConstraint("phone", name="uq_wa_subscribers_phone"),
    )
    op.create_index("ix_wa_subscribers_status", "wa_subscribers", ["status"])
    op.create_table(
        "wa_inbound_messages",
        *_id("wa_inbound_messages"),
        sa.Column("wamid", sa.String(255), nullable=False),
        sa.Column("sender", sa.String(32), nullable=False),
        sa.Column("contact_name", sa.String(255), nullable=True),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("payload", sa.Text(), nullable=True),
        _ts("sent_at", nullable=False),
        _ts("received_at", nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("command", sa.String(16), nullable=True),
        _ts("claim_until"),
        _ts("next_sweep_at"),
        sa.Column("reply_wamid", sa.String(255), nullable=True),
        _ts("handled_at"),
        sa.UniqueConstraint("wamid", name="uq_wa_inbound_messages_wamid"),
    )
    op.create_index(
        "ix_wa_inbound_messages_state_next_sweep_at",
        "wa_inbound_messages",
        ["state", "next_sweep_at"],
    )
    op.create_table(
        "wa_message_statuses",
        *_id("wa_message_statuses"),
        sa.Column("wamid", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("recipient", sa.String(32), nullable=True),
        sa.Column("error_code", sa.Integer(), nullable=True),
        sa.Column("error_title", sa.Text(), nullable=True),
        sa.Column("callback_data", sa.String(512), nullable=True),
        _ts("occurred_at", nullable=False),
        _ts("received_at", nullable=False),
        _ts("processed_at"),
        sa.UniqueConstraint("wamid", "status", name="uq_wa_message_statuses_wamid_status"),
    )
    op.create_index(
        "ix_wa_message_statuses_callback_data", "wa_message_statuses", ["callback_data"]
    )
    op.create_index(
        "ix_wa_message_statuses_processed_at", "wa_message_statuses", ["processed_at"]
    )
    op.create_table(
        "wa_deliveries",
        *_id("wa_deliveries"),
        sa.Column("product_pk", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=True),
        sa.Column("wamid", sa.String(255), nullable=True),
        sa.Column("status", sa.String(16), nullable=True),
        _ts("status_at"),
        sa.Column("error_code", sa.Integer(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("template_fallback", sa.Boolean(), nullable=False),
        sa.Column("token", sa.String(64), nullable=True),
        sa.Column("claimed_by", sa.String(128), nullable=True),
        _ts("claim_until"),
        _ts("next_sweep_at"),
        sa.Column("sweep_count", sa.Integer(), nullable=False),
        _ts("created_at", nullable=False),
        _ts("updated_at", nullable=False),
        _ts("sent_at"),
        sa.ForeignKeyConstraint(
            ["product_pk"], ["products.id"], name="fk_wa_deliveries_product_pk_products"
        ),
        sa.UniqueConstraint(
            "product_pk", "recipient", name="uq_wa_deliveries_product_pk_recipient"
        ),
        sa.UniqueConstraint("wamid", name="uq_wa_deliveries_wamid"),
    )
    op.create_index(
        "ix_wa_deliveries_state_next_sweep_at", "wa_deliveries", ["state", "next_sweep_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_wa_deliveries_state_next_sweep_at", table_name="wa_deliveries")
    op.drop_table("wa_deliveries")
    op.drop_index("ix_wa_message_statuses_processed_at", table_name="wa_message_statuses")
    op.drop_index("ix_wa_message_statuses_callback_data", table_name="wa_message_statuses")
    op.drop_table("wa_message_statuses")
    op.drop_index(
        "ix_wa_inbound_messages_state_next_sweep_at", table_name="wa_inbound_messages"
    )
    op.drop_table("wa_inbound_messages")
    op.drop_index("ix_wa_subscribers_status", table_name="wa_subscribers")
    op.drop_table("wa_subscribers")
