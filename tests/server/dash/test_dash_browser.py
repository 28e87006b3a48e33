"""The dashboard in Debian's Chromium (Playwright): the journey the seed doc sends users on.

Sign up, create an API key and see it once, run the Self-Test, find an API-made link in
Links, see its clicks, revoke the key, edit the Bio Page. The tests share one browser page
and run in order. Each page is saved at phone and desktop widths in
``test-artifacts/screenshots/`` for people to look at.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from kliqs_testing.servers import ProcessServer
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}
KEY_RE = re.compile(r"^kliqs_sk_live_[0-9A-Za-z]{32}$")
ANDROID = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/126.0 Mobile Safari/537.36")


@dataclass
class Journey:
    """What the steps hand on to each other."""

    server: ProcessServer
    page: Page
    shots: Path
    email: str = ""
    key: str = ""
    code: str = ""
    problems: list[str] = field(default_factory=list)

    def shoot(self, name: str) -> None:
        """Save the current page at phone and desktop widths, and check it fits a phone."""
        for size, viewport in SIZES.items():
            self.page.set_viewport_size(viewport)
            self.page.screenshot(path=str(self.shots / f"{name}-{size}.png"), full_page=True)
            if size == "phone":
                width = self.page.evaluate("document.documentElement.scrollWidth")
                assert width <= viewport["width"], f"{name} scrolls sideways on a phone ({width}px)"
        self.page.set_viewport_size(SIZES["desktop"])

    def api(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        """A request to the API with the journey's key."""
        with httpx.Client(base_url=self.server.url, timeout=30) as client:
            return client.request(method, path, headers={"Authorization": f"Bearer {self.key}"},
                                  **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium for the module."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def journey(
    browser: Browser, sqlite_server: ProcessServer, pytestconfig: pytest.Config
) -> Iterator[Journey]:
    """A desktop-sized page on the server, with console errors collected."""
    shots = Path(pytestconfig.rootpath) / "test-artifacts" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(base_url=sqlite_server.url, viewport=SIZES["desktop"],
                                  locale="id-ID")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=sqlite_server.url)
    page = context.new_page()
    page.set_default_timeout(20_000)  # the machine is shared: be patient, not flaky
    state = Journey(sqlite_server, page, shots)

    def on_console(message: ConsoleMessage) -> None:
        # CSP refusals and script errors land here; only the dashboard's own pages are ours.
        if message.type == "error" and "/dash" in page.url:
            state.problems.append(f"{page.url}: {message.text} {message.location}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: state.problems.append(f"{page.url}: {error}"))
    yield state
    context.close()


def test_sign_up_lands_on_the_overview_with_the_free_plan(journey: Journey) -> None:
    page = journey.page
    page.goto("/dash/login")
    journey.shoot("01-login")
    page.get_by_role("link", name="Daftar").click()
    expect(page.get_by_role("heading", name="Daftar")).to_be_visible()
    journey.shoot("02-signup")
    journey.email = f"toko-{time.monotonic_ns()}@example.com"
    page.get_by_label("Email").fill(journey.email)
    page.get_by_label("Password").fill("rahasia-123")
    page.get_by_role("button", name="Buat akun").click()
    expect(page).to_have_url(re.compile(r"/dash\?msg=welcome$"))
    expect(page.get_by_test_id("plan")).to_have_text("Free")
    expect(page.get_by_test_id("requests")).to_have_text("0 / 30")
    expect(page.get_by_test_id("links")).to_have_text("0 / 5")
    expect(page.get_by_test_id("resets")).to_contain_text("1 ")
    journey.shoot("03-overview")


def test_a_new_key_is_shown_once_with_a_copy_button(journey: Journey) -> None:
    page = journey.page
    page.get_by_role("link", name="Pengaturan").click()
    expect(page.get_by_role("heading", name="API Keys")).to_be_visible()
    page.get_by_label("Nama key").fill("server-produksi")
    page.get_by_role("button", name="Buat API Key").click()
    shown = page.get_by_test_id("new-key")
    expect(shown).to_contain_text("tidak akan bisa kamu lihat lagi")
    journey.key = page.locator("#new-key-value").input_value()
    assert KEY_RE.fullmatch(journey.key)
    shown.get_by_role("button", name="Salin").click()
    expect(shown.get_by_role("button", name="Tersalin!")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == journey.key
    journey.shoot("04-key-created")
    page.goto("/dash/settings/api-keys")
    assert journey.key not in page.content()  # never again
    row = page.get_by_test_id("keys-list").locator("tbody tr").first
    expect(row).to_contain_text("server-produksi")
    expect(row).to_contain_text(journey.key[-4:])
    expect(row.get_by_test_id("key-status")).to_have_text("Aktif")


def test_the_self_test_shows_plan_and_usage_for_the_key(journey: Journey) -> None:
    page = journey.page
    page.get_by_label("API key", exact=True).fill(journey.key)
    page.get_by_role("button", name="Tes key").click()
    result = page.get_by_test_id("self-test-result")
    expect(result).to_contain_text("Key berfungsi.")
    expect(page.get_by_test_id("self-test-plan")).to_have_text("Free")
    expect(page.get_by_test_id("self-test-requests")).to_have_text("0 / 30")
    expect(result).to_contain_text("server-produksi")
    assert journey.key not in page.content()  # typed, used, not echoed back
    page.locator("#self-test").scroll_into_view_if_needed()
    journey.shoot("05-self-test")


def test_a_link_made_through_the_api_is_in_the_links_list(journey: Journey) -> None:
    answer = journey.api("POST", "/api/v1/links", json={
        "url": "https://marketku.id/products/8f3f4f3f-1231-1231-1231", "slug": "vps-murah",
        "title": "VPS Murah"})
    assert answer.status_code == 201, answer.text
    journey.code = answer.json()["data"]["short_code"]
    page = journey.page
    page.get_by_role("link", name="Links", exact=True).click()
    item = page.locator(f'li[data-code="{journey.code}"]')
    expect(item).to_contain_text("VPS Murah")
    expect(item).to_contain_text("marketku.id/products")
    page.get_by_label("Cari").fill("murah")
    page.get_by_role("button", name="Cari").click()
    expect(page.locator("li.item")).to_have_count(1)
    page.goto("/dash/links")
    page.get_by_text("Buat shortlink").first.click()  # open the form (there are links now)
    page.get_by_label("URL tujuan").fill("https://marketku.id/products/sepatu")
    page.get_by_label("Judul").fill("Sepatu Lari")
    page.get_by_role("button", name="Buat shortlink").click()
    expect(page.get_by_test_id("notice")).to_contain_text("Shortlink dibuat")
    expect(page.locator("li.item")).to_have_count(2)
    journey.shoot("06-links")


def test_a_visit_shows_up_as_a_click_with_its_referrer(journey: Journey) -> None:
    with httpx.Client(base_url=journey.server.url) as visitor:
        visit = visitor.get(f"/{journey.code}", headers={
            "Referer": "https://wa.me/6281234567890", "User-Agent": ANDROID})
    assert visit.status_code == 302
    page = journey.page
    page.locator(f'li[data-code="{journey.code}"]').get_by_role("link", name="Detail").click()
    total = page.get_by_test_id("total-clicks")
    deadline = time.monotonic() + 20  # clicks are written in batches, off the redirect path
    while total.inner_text() != "1" and time.monotonic() < deadline:
        time.sleep(0.3)
        page.reload()
    expect(total).to_have_text("1")
    expect(page.locator("svg.chart rect.bar:not(.empty)")).to_have_count(1)
    expect(page.get_by_test_id("top-referrers")).to_contain_text("wa.me")
    expect(page.get_by_test_id("top-devices")).to_contain_text("mobile")
    qr = page.get_by_test_id("qr")
    expect(qr).to_be_visible()
    assert page.evaluate("el => el.naturalWidth", qr.element_handle()) > 0  # the SVG loaded
    journey.shoot("07-link-detail")


def test_a_revoked_key_is_refused_by_the_api(journey: Journey) -> None:
    page = journey.page
    page.goto("/dash/settings/api-keys")
    page.get_by_role("link", name="Cabut").click()
    expect(page.get_by_role("heading", name="Cabut API key ini?")).to_be_visible()
    journey.shoot("08-revoke-confirm")
    page.get_by_role("button", name="Ya, cabut key").click()
    expect(page.get_by_test_id("notice")).to_contain_text("REVOKED_API_KEY")
    expect(page.get_by_test_id("key-status")).to_have_text("Dicabut")
    answer = journey.api("GET", "/api/v1/me")
    assert answer.status_code == 401 and answer.json()["error"] == "REVOKED_API_KEY"
    page.get_by_label("API key", exact=True).fill(journey.key)
    page.get_by_role("button", name="Tes key").click()
    expect(page.get_by_test_id("self-test-error")).to_have_text("REVOKED_API_KEY")
    expect(page.get_by_test_id("self-test-result")).to_contain_text("sudah dicabut")
    journey.shoot("09-self-test-revoked")


def test_the_bio_page_editor_previews_live_and_publishes(journey: Journey) -> None:
    page = journey.page
    page.get_by_role("link", name="Bio Page").click()
    handle = f"toko-{journey.email.split('-')[1].split('@')[0]}"
    form = page.get_by_test_id("bio-form")
    form.locator("input[name=handle]").fill(handle)
    form.locator("input[name=display_name]").fill("Toko Sepatu Budi")
    form.locator("textarea[name=text]").fill("Sepatu lokal, kirim dari Bandung.")
    preview = page.get_by_test_id("bio-preview")
    expect(preview).to_contain_text("Toko Sepatu Budi")  # before saving: the live preview
    expect(preview).to_contain_text("kirim dari Bandung")
    rows = page.locator("#bio-rows li")
    rows.nth(0).get_by_label("Judul link").fill("Shopee")
    rows.nth(0).get_by_label("URL link").fill("https://shopee.co.id/budi")
    rows.nth(1).get_by_label("Judul link").fill("WhatsApp")
    rows.nth(1).get_by_label("URL link").fill("https://wa.me/6281234567890")
    rows.nth(1).get_by_role("button", name="Naikkan").click()
    expect(preview.locator("li")).to_have_text(["WhatsApp", "Shopee"])
    page.get_by_role("button", name="Tambah link").click()
    expect(rows).to_have_count(3)
    journey.shoot("10-bio-editor")
    page.get_by_role("button", name="Simpan Bio Page").click()
    expect(page.get_by_test_id("notice")).to_contain_text("Bio Page disimpan")
    expect(page.get_by_test_id("bio-public-link")).to_have_text(f"{journey.server.url}/{handle}")
    page.goto(f"/{handle}")
    expect(page.get_by_text("Toko Sepatu Budi").first).to_be_visible()
    expect(page.get_by_role("link", name="WhatsApp")).to_be_visible()
    links = page.get_by_role("link").all_inner_texts()
    assert links.index("WhatsApp") < links.index("Shopee")
    journey.shoot("11-bio-public")


def test_english_by_choice(journey: Journey) -> None:
    page = journey.page
    page.goto("/dash")
    page.get_by_role("link", name="EN", exact=True).click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(page.get_by_test_id("links")).to_have_text("2 / 5")
    # One API request (the link made with the key); the Self-Tests and every dashboard
    # action on the way were not counted.
    expect(page.get_by_test_id("requests")).to_have_text("1 / 30")
    journey.shoot("12-overview-en")
    page.goto("/dash/settings/api-keys")
    expect(page.get_by_test_id("key-status")).to_have_text("Revoked")
    page.get_by_role("link", name="ID", exact=True).click()
    expect(page.get_by_role("heading", name="API Keys")).to_be_visible()
    expect(page.get_by_test_id("key-status")).to_have_text("Dicabut")


def test_log_out_and_no_browser_errors_on_the_way(journey: Journey) -> None:
    page = journey.page
    page.get_by_test_id("logout").click()
    expect(page).to_have_url(re.compile(r"/dash/login\?msg=logged_out$"))
    page.goto("/dash/links")
    expect(page).to_have_url(re.compile(r"/dash/login\?next="))
    assert journey.problems == []
