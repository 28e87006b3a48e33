"""Sessions and log-in attempts in the database (SQLite and PostgreSQL), with a moved clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from kliqs_testing.databases import Database
from sqlalchemy import Engine, func, select

from server.config import Settings
from server.dash.attempts import AttemptLimit, forget_attempt, record_attempt
from server.dash.models import DashSession, LoginAttempt
from server.dash.sessions import create_session, end_session, find_session, token_hash
from server.db.engine import make_engine
from server.db.migrate import upgrade
from server.services.accounts import create_account

NOW = datetime(2026, 6, 7, 12, 0, tzinfo=UTC)
LIMIT = AttemptLimit(3, timedelta(minutes=15))


@pytest.fixture(scope="module")
def engine(database: Database, module_dir: Path) -> Iterator[Engine]:
    built = make_engine(Settings(data_dir=module_dir, database_url=database.url))
    upgrade(built)
    yield built
    built.dispose()


def _account(engine: Engine) -> str:
    with engine.begin() as conn:
        return create_account(conn, f"s-{datetime.now().timestamp()}@example.com")


def test_a_session_works_until_it_expires_or_ends(engine: Engine) -> None:
    account_id = _account(engine)
    with engine.begin() as conn:
        token = create_session(conn, account_id, now=NOW, lifetime=timedelta(days=14))
        stored = conn.execute(select(DashSession.token_hash)).scalars().all()
        assert token_hash(token) in stored and token not in stored
        user = find_session(conn, token, now=NOW + timedelta(days=13))
        assert user is not None and user.account_id == account_id and user.plan.name == "free"
        assert find_session(conn, token, now=NOW + timedelta(days=14, seconds=1)) is None
        assert find_session(conn, token + "x", now=NOW) is None
        end_session(conn, token)
        assert find_session(conn, token, now=NOW) is None


def test_signing_in_sweeps_expired_sessions(engine: Engine) -> None:
    account_id = _account(engine)
    with engine.begin() as conn:
        old = create_session(conn, account_id, now=NOW - timedelta(days=30),
                             lifetime=timedelta(days=14))
        create_session(conn, account_id, now=NOW, lifetime=timedelta(days=14))
        left = conn.execute(select(DashSession.token_hash).where(
            DashSession.token_hash == token_hash(old))).first()
    assert left is None


def test_attempts_count_per_email_and_per_ip_within_the_window_only(engine: Engine) -> None:
    def attempt(email: str, ip: str, at: datetime) -> bool:
        with engine.begin() as conn:
            return record_attempt(conn, "login", email, ip, limit=LIMIT, now=at).allowed

    assert all(attempt("a@x.id", f"10.0.0.{n}", NOW) for n in range(3))
    assert not attempt("A@X.id", "10.0.0.9", NOW)  # the email, case aside, is used up
    assert attempt("b@x.id", "10.0.0.9", NOW)
    later = NOW + timedelta(minutes=15, seconds=1)
    assert attempt("a@x.id", "10.0.0.1", later)  # the window has moved on
    with engine.begin() as conn:
        old = conn.execute(select(func.count()).select_from(LoginAttempt)
                           .where(LoginAttempt.ts < later - LIMIT.window)).scalar_one()
    assert old == 0  # pruned as new tries came in


def test_a_forgotten_attempt_frees_its_place(engine: Engine) -> None:
    with engine.begin() as conn:
        ids = [record_attempt(conn, "login", "c@x.id", "10.9.0.1", limit=LIMIT, now=NOW).id
               for _ in range(3)]
        forget_attempt(conn, ids[0])
        assert record_attempt(conn, "login", "c@x.id", "10.9.0.1", limit=LIMIT, now=NOW).allowed
