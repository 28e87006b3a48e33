"""Fixtures for the WhatsApp bot tests: recorded payloads, a fake clock and the Graph stand-in."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.standins.whatsapp_standin import WhatsAppStandin

FIXTURES = Path(__file__).parent / "fixtures"
PHONE_NUMBER_ID = "106540352242922"
TOKEN = "test-token-not-real"


def fixture_bytes(name: str) -> bytes:
    """The raw bytes of one recorded webhook delivery."""
    return (FIXTURES / name).read_bytes()


class FakeClock:
    """A monotonic clock that moves only when told to, or when someone sleeps on it."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Recorder:
    """A MockTransport handler that records requests and answers from a queue (or a default)."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.answers: list[httpx.Response | Exception] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.answers:
            answer = self.answers.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer
        return httpx.Response(200, json=sent_answer(json.loads(request.content).get("to", "")))

    def body(self, index: int = -1) -> Any:
        return json.loads(self.requests[index].content)


DEFAULT_WAMID = "wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABEYEjQ0RDU4QjI3MjFFRjQ2NUY3QgA="


def sent_answer(to: str, wamid: str = DEFAULT_WAMID) -> dict[str, Any]:
    """Meta's documented answer to an accepted message."""
    return {
        "messaging_product": "whatsapp",
        "contacts": [{"input": to, "wa_id": to.lstrip("+")}],
        "messages": [{"id": wamid, "message_status": "accepted"}],
    }


@pytest.fixture
def load_fixture() -> Callable[[str], bytes]:
    """Read a recorded delivery from fixtures/ by file name."""
    return fixture_bytes


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def make_client(recorder: Recorder) -> Iterator[Callable[..., Any]]:
    """Build WhatsAppClients on a MockTransport that records every request."""
    from integrations.whatsapp_bot.client import WhatsAppClient

    clients: list[httpx.Client] = []

    def build(**kwargs: Any) -> WhatsAppClient:
        http = httpx.Client(transport=httpx.MockTransport(recorder))
        clients.append(http)
        return WhatsAppClient(PHONE_NUMBER_ID, TOKEN, http=http, **kwargs)

    yield build
    for http in clients:
        http.close()


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def standin() -> Iterator[WhatsAppStandin]:
    server = WhatsAppStandin(
        access_token=TOKEN, phone_number_id=PHONE_NUMBER_ID, app_secret="s3cret"
    )
    with server:
        yield server


# ---- the bot on the connector runtime ---------------------------------------------------------


@pytest.fixture
def rt(tmp_path: Path) -> Iterator[Any]:
    """The connector runtime on a fresh SQLite database (migrated, bot tables included)."""
    from kliqs_core.connector.testing import FakePlatform, connector_runtime

    with connector_runtime(tmp_path, platform=FakePlatform()) as runtime:
        yield runtime


@pytest.fixture
def harness(rt: Any) -> Any:
    """A bot on ``rt``'s database with a recording Graph mock (see wa_testkit.Harness)."""
    from wa_testkit import make_harness

    return make_harness(rt.database)


@pytest.fixture(autouse=True)
def _clean_bot_state() -> Iterator[None]:
    yield
    from integrations.whatsapp_bot import context
    from kliqs_core.connector.notify import registered_notifiers, unregister_notifier
    from kliqs_core.connector.web import registered_webhook_routes, unregister_webhook_route

    context.reset()
    for name, _ in registered_notifiers():
        unregister_notifier(name)
    for platform in registered_webhook_routes():
        unregister_webhook_route(platform)
