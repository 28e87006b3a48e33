"""Fill a fresh Kliqs database with many links, fast (one transaction, plain SQL).

Usage: python bench/redirect/seed.py COUNT CODES_FILE  (database from the KLIQS_* environment)
"""

from __future__ import annotations

import random
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert

from server.config import get_settings
from server.db.engine import make_engine
from server.db.migrate import upgrade
from server.db.models import Account
from server.services.links import CODE_ALPHABET, CODE_LENGTH


def _codes(count: int) -> list[str]:
    rng = random.Random(20261124)
    codes: set[str] = set()
    while len(codes) < count:
        codes.add("".join(rng.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH)))
    return sorted(codes)


def seed(count: int, codes_file: Path) -> None:
    """Migrate, then insert one account holding ``count`` links; write their codes."""
    settings = get_settings()
    if not settings.sqlalchemy_url.startswith("sqlite"):
        raise SystemExit("the benchmark runs on SQLite, as `kliqs serve` does by default")
    engine = make_engine(settings, pool=False)
    upgrade(engine)
    # SQLAlchemy's SQLite text format for datetimes, so the server reads them back.
    now = datetime.now(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    codes = _codes(count)
    account_id = str(uuid.uuid4())
    with engine.begin() as conn:
        conn.execute(insert(Account).values(id=account_id, email=f"bench-{account_id}@kliqs.test",
                                            plan="business", links_count=count,
                                            created_at=datetime.now(UTC)))
        conn.exec_driver_sql("INSERT INTO names (name, kind) VALUES (?, 'link')",
                             [(code,) for code in codes])
        conn.exec_driver_sql(
            "INSERT INTO links (id, account_id, code, destination_url, clicks, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, 0, ?, ?)",
            [(str(uuid.uuid4()), account_id, code, f"https://example.com/produk/{i}", now, now)
             for i, code in enumerate(codes)],
        )
    engine.dispose()
    codes_file.write_text("\n".join(codes) + "\n")


if __name__ == "__main__":
    seed(int(sys.argv[1]), Path(sys.argv[2]))
