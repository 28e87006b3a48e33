"""Log-in attempts are limited per email and per client IP (here 3 per window)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from dash_support import PASSWORD, DashUser, Users, unique_email
from kliqs_testing.databases import Database
from kliqs_testing.servers import ProcessServer

LIMIT = 3


@pytest.fixture(scope="module")
def live_server(database: Database, module_dir: Path) -> Iterator[ProcessServer]:
    """A server with a small log-in limit, behind a "proxy" that sets X-Forwarded-For."""
    env = {"KLIQS_DASH_LOGIN_MAX_ATTEMPTS": str(LIMIT), "KLIQS_CLIENT_IP_HEADER": "X-Forwarded-For"}
    server = ProcessServer(database, module_dir, env=env).start()
    yield server
    server.stop()


@pytest.fixture
def account(live_server: ProcessServer) -> Callable[[], str]:
    """Makes an account with the test password (straight in the database: sign-ups are
    limited per IP too) and returns its email."""
    return lambda: live_server.new_account(password=PASSWORD).email


def _from(users: Users, ip: str, email: str) -> DashUser:
    user = users.new(signup=False, email=email)
    user.headers["X-Forwarded-For"] = ip
    return user


def test_wrong_passwords_lock_the_email_even_from_other_ips(
    users: Users, account: Callable[[], str]
) -> None:
    owner = account()
    for n in range(LIMIT):
        wrong = _from(users, f"10.1.0.{n}", owner).login(password="salah-salah")
        assert wrong.status_code == 401
    locked = _from(users, "10.1.0.99", owner).login()
    assert locked.status_code == 429
    assert "Terlalu banyak percobaan" in locked.text
    assert "kliqs_session=" not in locked.headers.get("set-cookie", "")
    assert _from(users, "10.1.0.99", account()).login().status_code == 303


def test_one_ip_trying_many_emails_is_locked_out(
    users: Users, account: Callable[[], str]
) -> None:
    victims = [account() for _ in range(LIMIT + 1)]
    for victim in victims[:LIMIT]:
        assert _from(users, "10.2.0.1", victim).login(password="tebak-tebak").status_code == 401
    assert _from(users, "10.2.0.1", victims[LIMIT]).login().status_code == 429
    assert _from(users, "10.2.0.2", victims[LIMIT]).login().status_code == 303


def test_successful_log_ins_use_up_nothing(users: Users, account: Callable[[], str]) -> None:
    owner = account()
    for _ in range(LIMIT + 2):
        assert _from(users, "10.3.0.1", owner).login().status_code == 303


def test_sign_ups_are_limited_per_ip(users: Users) -> None:
    for _ in range(LIMIT):
        assert _from(users, "10.5.0.1", unique_email()).signup().status_code == 303
    refused = _from(users, "10.5.0.1", unique_email())
    answer = refused.signup()
    assert answer.status_code == 429 and "kliqs_session=" not in answer.headers.get("set-cookie", "")
    assert refused.login().status_code == 401  # no account was made
    assert _from(users, "10.5.0.2", unique_email()).signup().status_code == 303


def test_the_limit_holds_when_tries_race(users: Users, account: Callable[[], str]) -> None:
    owner = account()
    racers = [_from(users, "10.4.0.1", owner) for _ in range(8)]
    tokens = [racer.token("/dash/login") for racer in racers]  # fetched first: only posts race
    form = {"email": owner, "password": "salah-salah"}

    def attempt(n: int) -> int:
        return racers[n].post("/dash/login", form, csrf=tokens[n]).status_code

    with ThreadPoolExecutor(len(racers)) as pool:
        answers = sorted(pool.map(attempt, range(len(racers))))
    assert answers == [401] * LIMIT + [429] * (len(racers) - LIMIT)
    assert _from(users, "10.4.0.2", owner).login(password=PASSWORD).status_code == 429
