"""End to end: a signed WooCommerce webhook ends as WhatsApp messages at the Graph API stand-in.

Real processes over real HTTP: ``kliqs serve``, the connector web app and a Celery worker with
the woocommerce and whatsapp plug-ins, the WooCommerce stand-in, the Graph API stand-in. On the
embedded SQLite database and broker.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from wa_stack import TEMPLATE, WaStack, wa_stack

from kliqs_testing.databases import make_database
from kliqs_testing.servers import ProcessServer

pytestmark = pytest.mark.slow

IN_WINDOW = "6281211112222"
OUT_OF_WINDOW = "6281333334444"


@pytest.fixture(scope="module")
def kliqs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProcessServer]:
    folder = tmp_path_factory.mktemp("wa-kliqs")
    database = make_database("sqlite", folder)
    server = ProcessServer(database, folder).start()
    yield server
    server.stop()
    database.drop()


def _active(wa: WaStack, *phones: str) -> bool:
    subscribers = wa.subscribers()
    return all(p in subscribers and subscribers[p].status == "active" for p in phones)


def _settled(wa: WaStack, count: int) -> bool:
    rows = wa.deliveries()
    return len(rows) == count and all(row.state == "sent" for row in rows)


def test_woocommerce_product_reaches_subscribers_as_text_or_template(
    tmp_path: Path, kliqs_server: ProcessServer
) -> None:
    with wa_stack(tmp_path, kliqs_server) as wa:
        assert wa.inbound(IN_WINDOW, "DAFTAR").status_code == 200  # opens the 24-hour window
        two_days_ago = int(time.time()) - 2 * 86400  # subscribed, then silent since
        assert wa.inbound(OUT_OF_WINDOW, "DAFTAR", timestamp=two_days_ago).status_code == 200
        wa.wait_for(lambda: _active(wa, IN_WINDOW, OUT_OF_WINDOW), "both subscribed")

        assert wa.publish("VPS Murah").status_code == 200

        wa.wait_for(lambda: len(wa.product_messages("VPS Murah")) == 2, "both broadcasts")
        wa.wait_for(lambda: _settled(wa, 2), "deliveries stored as sent")
        short_url = f"{kliqs_server.url}/vps-murah"
        by_to = {m.to: m for m in wa.product_messages("VPS Murah")}
        assert by_to[IN_WINDOW].type == "text"
        assert by_to[IN_WINDOW].body["text"]["body"] == (
            f"Produk baru tersedia:\nVPS Murah\n{short_url}"
        )
        assert by_to[OUT_OF_WINDOW].type == "template"
        assert by_to[OUT_OF_WINDOW].body["template"] == {
            "name": TEMPLATE,
            "language": {"code": "id"},
            "components": [{"type": "body", "parameters": [
                {"type": "text", "text": "VPS Murah"}, {"type": "text", "text": short_url},
            ]}],
        }  # fmt: skip
        assert len(wa.product_messages("VPS Murah")) == 2  # once each
        replies = [m for m in wa.graph.messages if m.to == IN_WINDOW and m.type == "text"
                   and "berlangganan" in m.body["text"]["body"]]  # fmt: skip
        assert len(replies) == 1
        _statuses_are_stored_in_any_order(wa, by_to[IN_WINDOW].wamid)


def _statuses_are_stored_in_any_order(wa: WaStack, wamid: str) -> None:
    for status in ("read", "delivered", "sent"):  # Meta's order is not guaranteed
        assert wa.post(wa.graph.status_delivery(wamid, status)).status_code == 200
    wa.wait_for(
        lambda: {row.wamid: row.status for row in wa.deliveries()}.get(wamid) == "read",
        "the furthest status stored",
    )


def test_duplicate_stop_is_handled_once_and_honoured_by_the_next_broadcast(
    tmp_path: Path, kliqs_server: ProcessServer
) -> None:
    a, b = "6281500000001", "6281500000002"
    with wa_stack(tmp_path, kliqs_server) as wa:
        wa.inbound(a, "DAFTAR")
        wa.inbound(b, "JOIN")
        wa.wait_for(lambda: _active(wa, a, b), "both subscribed")
        wa.publish("Kopi Gayo")
        wa.wait_for(lambda: _settled(wa, 2), "first broadcast sent")

        stop = wa.graph.inbound_text_delivery(b, "STOP", wamid="wamid.STOP-B")
        first, again = wa.post(stop), wa.post(stop)
        assert first.json()["data"]["messages"] == 1
        assert again.json()["data"]["duplicates"] == 1
        wa.wait_for(lambda: wa.subscribers()[b].status == "unsubscribed", "STOP handled")
        wa.publish("Teh Tarik")
        wa.wait_for(lambda: _settled(wa, 3), "second broadcast sent")

        assert sorted(m.to for m in wa.product_messages("Kopi Gayo")) == [a, b]
        assert [m.to for m in wa.product_messages("Teh Tarik")] == [a]
        stop_replies = [m for m in wa.graph.messages
                        if m.to == b and "berhenti berlangganan" in str(m.body)]  # fmt: skip
        assert len(stop_replies) == 1
        row: Any = wa.subscribers()[b]
        assert (row.opt_out_source, row.consent_source) == ("whatsapp", "whatsapp")
