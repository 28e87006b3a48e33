"""The connector's first tables: products and webhook_inbox.

Revision ID: 0001_connector_initial
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_connector_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts(name: str, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "products",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("shop", sa.String(255), nullable=False),
        sa.Column("product_id", sa.String(255), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("product_url", sa.Text(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("short_url", sa.Text(), nullable=True),
        sa.Column("link_id", sa.String(64), nullable=True),
        sa.Column("short_code", sa.String(64), nullable=True),
        sa.Column("slug_attempt", sa.Integer(), nullable=False),
        sa.Column("shorten_request", sa.JSON(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error_code", sa.String(64), nullable=True),
        sa.Column("last_error_message", sa.Text(), nullable=True),
        _ts("parked_until"),
        sa.Column("claimed_by", sa.String(128), nullable=True),
        _ts("claim_until"),
        _ts("next_sweep_at"),
        sa.Column("sweep_count", sa.Integer(), nullable=False),
        _ts("created_at", nullable=False),
        _ts("updated_at", nullable=False),
        _ts("shortened_at"),
        _ts("written_back_at"),
        _ts("notified_at"),
        sa.PrimaryKeyConstraint("id", name="pk_products"),
        sa.UniqueConstraint(
            "platform", "shop", "product_id", name="uq_products_platform_shop_product_id"
        ),
    )
    op.create_index("ix_products_state_next_sweep_at", "products", ["state", "next_sweep_at"])
    op.create_table(
        "webhook_inbox",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("shop", sa.String(255), nullable=False),
        sa.Column("delivery_id", sa.String(255), nullable=True),
        sa.Column("topic", sa.String(128), nullable=False),
        _ts("received_at", nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(255), nullable=True),
        sa.Column("product_pk", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_inbox"),
        sa.ForeignKeyConstraint(
            ["product_pk"], ["products.id"], name="fk_webhook_inbox_product_pk_products"
        ),
        sa.UniqueConstraint(
            "platform", "shop", "delivery_id", name="uq_webhook_inbox_platform_shop_delivery_id"
        ),
    )
    op.create_index("ix_webhook_inbox_product_pk", "webhook_inbox", ["product_pk"])


def downgrade() -> None:
    op.drop_index("ix_webhook_inbox_product_pk", table_name="webhook_inbox")
    op.drop_table("webhook_inbox")
    op.drop_index("ix_products_state_next_sweep_at", table_name="products")
    op.drop_table("products")
