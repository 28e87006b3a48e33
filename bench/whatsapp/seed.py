"""A fresh connector database for the WhatsApp benchmark: subscribers, a product, its deliveries."""

from __future__ import annotations

import os
import uuid
from datetime import datetime
from pathlib import Path

from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

from integrations.whatsapp_bot.broadcast import plan_broadcast
from integrations.whatsapp_bot.models import Subscriber
from kliqs_core.connector.db import Database, upgrade
from kliqs_core.connector.models import Product


def make_database(folder: Path) -> str:
    """A new PostgreSQL database when KLIQS_TEST_PG_URL is set (or BENCH_DATABASE=postgres),
    else a SQLite file in ``folder``; its URL."""
    kind = os.environ.get("BENCH_DATABASE") or (
        "postgres" if os.environ.get("KLIQS_TEST_PG_URL") else "sqlite"
    )
    if kind == "sqlite":
        return f"sqlite:///{folder / 'connector.sqlite'}"
    admin = os.environ["KLIQS_TEST_PG_URL"].replace("postgresql://", "postgresql+psycopg://", 1)
    name = f"kliqs_wa_bench_{uuid.uuid4().hex[:10]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return make_url(admin).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    """Drop a PostgreSQL database made by :func:`make_database` (SQLite goes with its folder)."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("postgresql"):
        return
    admin = os.environ["KLIQS_TEST_PG_URL"].replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    engine.dispose()


def seed(url: str, subscribers: int, *, now: datetime) -> list[int]:
    """Migrate, add ``subscribers`` active numbers and a shortened product; the delivery ids."""
    database = Database(url)
    try:
        upgrade(database)
        with database.transaction() as session:
            session.execute(insert(Subscriber), [
                {"phone": f"62899{n:08d}", "status": "active", "consent_at": now,
                 "consent_source": "bench", "created_at": now, "updated_at": now}
                for n in range(subscribers)
            ])  # fmt: skip
            product = Product(
                platform="bench", shop="toko.bench", product_id="1", title="VPS Murah",
                product_url="https://toko.bench/p/1", data={}, state="notified",
                short_url="https://kliqs.me/vps-murah", slug_attempt=0, attempts=0,
                sweep_count=0, created_at=now, updated_at=now,
            )  # fmt: skip
            session.add(product)
            session.flush()
            product_pk = product.id
        return plan_broadcast(database, product_pk, now=now, grace_seconds=600)
    finally:
        database.dispose()
