"""What a click says about its visitor: browser, OS, device, bot, referrer, country, hash.

User agents are parsed by ``ua-parser`` (the maintained uap-core rules) where clicks are
stored (the click ingester process under ``kliqs serve``), never on the redirect path;
parses are cached because a few agents make most traffic. ``ua_parser`` (and the YAML
loader it brings) is imported on first use, so the serving workers never load it. No raw
IP leaves this module: only a salted hash that changes every day.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from urllib.parse import urlsplit

from server.public.secret import derive

# OS families of phones and tablets, and of desktops (uap-core's names).
_HANDHELD_OS = frozenset({"iOS", "Android", "iPadOS", "Windows Phone", "BlackBerry OS",
                          "KaiOS", "Tizen", "HarmonyOS", "Firefox OS", "Symbian OS"})
_DESKTOP_OS = frozenset({"Windows", "Mac OS X", "Linux", "Ubuntu", "Chrome OS", "ChromeOS",
                         "Fedora", "Debian", "FreeBSD", "OpenBSD", "macOS"})
_SEEN_MAX = 50_000


@dataclass(frozen=True)
class Agent:
    """A user agent reduced to what the statistics show."""

    browser: str | None
    os: str | None
    device: str
    is_bot: bool


@lru_cache(maxsize=4096)
def classify(user_agent: str) -> Agent:
    """Browser, OS, device type (mobile, tablet, desktop, bot, other) and bot flag."""
    if not user_agent.strip():
        return Agent(None, None, "bot", True)  # real browsers always send one
    import ua_parser  # here, not at the top: a few MB the serving workers do without

    result = ua_parser.parse(user_agent)
    browser = result.user_agent.family[:64] if result.user_agent else None
    os_name = result.os.family[:64] if result.os else None
    device_family = result.device.family if result.device else None
    # uap-core files crawlers under the "Spider" device; an agent with neither an OS nor a
    # browser-style "Mozilla/" token is a program (curl, an HTTP library, a monitor).
    bot = device_family == "Spider" or (
        os_name is None and device_family is None and not user_agent.startswith("Mozilla/")
    )
    if bot:
        return Agent(browser, os_name, "bot", True)
    return Agent(browser, os_name, _device(user_agent, os_name, device_family), False)


def _device(user_agent: str, os_name: str | None, device_family: str | None) -> str:
    family = (device_family or "").lower()
    if "ipad" in family or "tablet" in family or "kindle" in family:
        return "tablet"
    if os_name == "Android" and "Mobile" not in user_agent:
        return "tablet"  # Android tablets leave "Mobile" out of their agent (Google's rule)
    if os_name in _HANDHELD_OS:
        return "mobile"
    if os_name in _DESKTOP_OS:
        return "desktop"
    return "other"


def referrer_host(referer: str | None) -> str | None:
    """The host of the ``Referer`` header, lower-case, or ``None``."""
    if not referer:
        return None
    try:
        host = urlsplit(referer).hostname
    except ValueError:
        return None
    return host[:255] if host else None


def country(value: str | None) -> str | None:
    """An ISO 3166 alpha-2 code from the trusted proxy header; unknown markers are dropped."""
    if value is None:
        return None
    code = value.strip().upper()
    if len(code) != 2 or not code.isascii() or not code.isalpha() or code == "XX":
        return None
    return code


def client_ip(header_value: str | None, peer: str | None) -> str:
    """The visitor's address: the trusted header's first entry, else the socket peer."""
    if header_value:
        first = header_value.split(",", 1)[0].strip()
        if first:
            return first
    return peer or ""


class VisitorHasher:
    """Salted hashes of (IP, user agent): daily ones for unique visitors, stable ones for
    the password lock-out. The salts derive from the server secret."""

    def __init__(self, secret: bytes) -> None:
        self._daily_root = derive(secret, "visitor-day")
        self._gate_key = derive(secret, "gate-visitor")
        self._day: date | None = None
        self._day_key = b""
        self._seen: dict[tuple[str, str], str] = {}  # today's hashes, most visitors return

    def daily(self, day: date, ip: str, user_agent: str) -> str:
        """32 hex characters, the same for one visitor on one UTC ``day``."""
        if day != self._day:
            self._day, self._seen = day, {}
            self._day_key = hmac.new(self._daily_root, day.isoformat().encode(),
                                     hashlib.sha256).digest()
        found = self._seen.get((ip, user_agent))
        if found is None:
            material = f"{ip}\x00{user_agent}".encode()
            found = hmac.new(self._day_key, material, hashlib.sha256).hexdigest()[:32]
            if len(self._seen) >= _SEEN_MAX:
                self._seen.clear()
            self._seen[(ip, user_agent)] = found
        return found

    def gate(self, ip: str) -> str:
        """32 hex characters per visitor address (password tries are limited per address)."""
        return hmac.new(self._gate_key, ip.encode(), hashlib.sha256).hexdigest()[:32]
