"""``kliqs whatsapp subscribers`` and ``kliqs whatsapp broadcast``."""

from __future__ import annotations

from typing import Any

import pytest
import typer
from typer.testing import CliRunner
from wa_testkit import add_product, add_subscriber, deliveries, subscriber

from integrations.whatsapp_bot import context
from integrations.whatsapp_bot.broadcast import plan_broadcast
from integrations.whatsapp_bot.cli import register
from kliqs_core.connector.models import utcnow


@pytest.fixture
def kliqs() -> Any:
    app = typer.Typer()
    app.command("version")(lambda: None)  # a second command keeps "whatsapp" a sub-command
    register(app)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


def test_add_list_and_remove_subscribers(rt: Any, kliqs: Any) -> None:
    added = kliqs("whatsapp", "subscribers", "add", "+62 812-3456-7890", "--source", "paper",
                  "--name", "Siti")
    local = kliqs("whatsapp", "subscribers", "add", "0813 1111 2222", "--source", "web")

    assert added.exit_code == 0, added.output
    assert "6281234567890 subscribed (source: paper)" in added.output
    assert local.exit_code == 0 and "6281311112222" in local.output
    row = subscriber(rt.database, "6281234567890")
    assert (row.status, row.consent_source, row.name) == ("active", "paper", "Siti")

    removed = kliqs("whatsapp", "subscribers", "remove", "6281234567890")
    listing = kliqs("whatsapp", "subscribers")
    only_active = kliqs("whatsapp", "subscribers", "list", "--status", "active")

    assert removed.exit_code == 0
    row = subscriber(rt.database, "6281234567890")
    assert (row.status, row.opt_out_source) == ("unsubscribed", "operator")
    assert "2 number(s), 1 active" in listing.output
    assert "6281311112222" in only_active.output and "6281234567890" not in only_active.output


def test_a_bad_phone_number_is_refused(rt: Any, kliqs: Any) -> None:
    result = kliqs("whatsapp", "subscribers", "add", "12ab", "--source", "web")

    assert result.exit_code == 2
    assert "not a phone number" in result.output


def test_broadcast_queues_those_who_did_not_get_it(rt: Any, kliqs: Any) -> None:
    add_subscriber(rt.database, "6281000000001")
    product = add_product(rt.database, "Kopi", "https://kliqs.me/kopi")
    [first] = plan_broadcast(rt.database, product, now=utcnow(), grace_seconds=5)
    with rt.database.transaction() as session:
        from integrations.whatsapp_bot.models import Delivery

        row = session.get(Delivery, first)
        assert row is not None
        row.state, row.wamid = "sent", "wamid.X"
    add_subscriber(rt.database, "6281000000002")
    queued: list[tuple[str, int, float]] = []
    context.set_enqueuer(lambda task, pk, countdown: queued.append((task, pk, countdown)))

    result = kliqs("whatsapp", "broadcast", str(product))

    assert result.exit_code == 0, result.output
    assert "queued 1 message(s); 1 already sent earlier" in result.output
    new = [r for r in deliveries(rt.database) if r.recipient == "6281000000002"]
    assert queued == [("send", new[0].id, 0.0)]


def test_broadcast_of_an_unknown_or_unshortened_product_fails(rt: Any, kliqs: Any) -> None:
    draft = add_product(rt.database, "Draft", None, state="received")

    assert kliqs("whatsapp", "broadcast", "999").exit_code == 1
    unshortened = kliqs("whatsapp", "broadcast", str(draft))
    assert unshortened.exit_code == 1 and "no short URL" in unshortened.output
