"""End-to-end set-up for the bot: everything a real process talking real HTTP.

``kliqs serve`` (the Kliqs server), the WooCommerce stand-in, the Graph API stand-in, and the
connector web app and Celery worker processes with ``KLIQS_CONNECTOR_PLUGINS=woocommerce,whatsapp``
(the WooCommerce engineer's ``ConnectorStack`` runs and watches those processes).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import select

from integrations.whatsapp_bot.models import Delivery, Subscriber
from kliqs_testing.servers import ApiAccount, ProcessServer
from tests.integrations.woocommerce.woo_faultproxy import FaultProxy
from tests.integrations.woocommerce.woo_stack import ConnectorStack
from tests.standins.whatsapp_standin import RecordedMessage, WhatsAppStandin
from tests.standins.woocommerce_hookshot import sign_and_post
from tests.standins.woocommerce_standin import WooStandin

WOO_SECRET = "wc-wa-e2e-secret_(not-a-real-shop)"
PHONE_ID = "109876543210987"
TOKEN = "e2e-token-not-real"
APP_SECRET = "e2e-app-secret"
TEMPLATE = "produk_baru"
HEADLINE = "Produk baru tersedia:"
#: Permalinks on a public-looking host: Kliqs refuses to shorten its own (loopback) URLs.
PUBLIC_SHOP = "https://toko-wa.example"


@dataclass
class WaStack:
    """One end-to-end set-up; ``stack`` has the connector and worker processes."""

    server: ProcessServer
    account: ApiAccount
    shop: WooStandin
    graph: WhatsAppStandin
    #: Between the worker and the Graph stand-in: can hold an answer the stand-in already gave.
    graph_proxy: FaultProxy
    stack: ConnectorStack

    @property
    def whatsapp_url(self) -> str:
        return f"http://127.0.0.1:{self.stack.port}/webhooks/whatsapp"

    def post(self, delivery: tuple[bytes, dict[str, str]]) -> requests.Response:
        """POST a signed notification (from the Graph stand-in's builders) to the connector."""
        body, headers = delivery
        return requests.post(self.whatsapp_url, data=body, headers=headers, timeout=30)

    def inbound(self, phone: str, text: str, **kwargs: Any) -> requests.Response:
        """A person writes to the bot."""
        return self.post(self.graph.inbound_text_delivery(phone, text, **kwargs))

    def report_sent(self) -> int:
        """Play Meta: a ``sent`` status, with our callback data, for every message received."""
        messages = self.graph.messages
        for message in messages:
            callback = message.body.get("biz_opaque_callback_data")
            delivery = self.graph.status_delivery(
                message.wamid, "sent", recipient_id=message.to, callback_data=callback
            )
            assert self.post(delivery).status_code == 200
        return len(messages)

    def publish(self, name: str) -> requests.Response:
        """A product is created in the shop, and WooCommerce sends its signed webhook."""
        product = self.shop.add_product(name=name)
        return sign_and_post(
            self.stack.webhook_url, WOO_SECRET, product, "product.created",
            f"wa-e2e-{product['id']}", source=PUBLIC_SHOP + "/", timeout=30,
        )  # fmt: skip

    def product_messages(self, title: str) -> list[RecordedMessage]:
        """The broadcasts of ``title`` the Graph API received (text or template)."""
        return [m for m in self.graph.messages if _title_of(m) == title]

    def subscribers(self) -> dict[str, Subscriber]:
        with self.stack.database.transaction() as session:
            rows = list(session.scalars(select(Subscriber)))
            session.expunge_all()
            return {row.phone: row for row in rows}

    def deliveries(self) -> list[Delivery]:
        with self.stack.database.transaction() as session:
            rows = list(session.scalars(select(Delivery).order_by(Delivery.id)))
            session.expunge_all()
            return rows

    def wait_for(self, condition: Callable[[], Any], what: str, timeout: float = 25) -> Any:
        """Poll until ``condition()`` is truthy; fail with the process logs."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = condition()
            if result:
                return result
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}\n{self.stack.logs()}")


def _title_of(message: RecordedMessage) -> str | None:
    if message.type == "text":
        lines = str(message.body["text"]["body"]).split("\n")
        return lines[1] if len(lines) == 3 and lines[0] == HEADLINE else None
    if message.type == "template":
        params = message.body["template"]["components"][0]["parameters"]
        return str(params[0]["text"])
    return None


def whatsapp_env(graph_url: str, **overrides: str) -> dict[str, str]:
    """The bot's settings for the connector processes."""
    return {
        "KLIQS_CONNECTOR_PLUGINS": "woocommerce,whatsapp",
        "WHATSAPP_PHONE_NUMBER_ID": PHONE_ID,
        "WHATSAPP_ACCESS_TOKEN": TOKEN,
        "WHATSAPP_APP_SECRET": APP_SECRET,
        "WHATSAPP_VERIFY_TOKEN": "e2e-verify",
        "WHATSAPP_GRAPH_URL": graph_url,
        "WHATSAPP_API_VERSION": "v23.0",
        "WHATSAPP_TEMPLATE_NAME": TEMPLATE,
        "WHATSAPP_TEMPLATE_LANGUAGE": "id",
        "WHATSAPP_RETRY_BASE": "0.5",
        "WHATSAPP_CLAIM_SECONDS": "3",
        "WHATSAPP_TIMEOUT": "2",
        "WHATSAPP_RESEND_GRACE": "1",
        **overrides,
    }


@contextmanager
def wa_stack(
    folder: Path,
    server: ProcessServer,
    *,
    broker_url: str | None = None,
    database_url: str | None = None,
    workers: int = 1,
    **env: str,
) -> Iterator[WaStack]:
    """Stand-ins, a fresh Kliqs account, a worker and the connector; all stopped afterwards."""
    account = server.new_account("business")
    graph = WhatsAppStandin(access_token=TOKEN, app_secret=APP_SECRET, phone_number_id=PHONE_ID)
    with WooStandin(shop_url=PUBLIC_SHOP) as shop, graph, FaultProxy(graph.url) as graph_proxy:
        stack = ConnectorStack(
            folder / "stack", server.url, account.key, shop.url, WOO_SECRET,
            broker_url=broker_url, database_url=database_url,
            extra_env=whatsapp_env(graph_proxy.url, **env),
        )  # fmt: skip
        try:
            for _ in range(workers):
                stack.start_worker(concurrency=2)
            stack.start_connector()
            yield WaStack(server, account, shop, graph, graph_proxy, stack)
        finally:
            stack.stop()
