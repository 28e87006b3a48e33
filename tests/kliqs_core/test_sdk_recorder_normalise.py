"""What the recorder does to a recording before it is committed (no server needed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from sdk_recorder import BASE_URL, dump_fixture, normalise

ORIGIN = "http://127.0.0.1:51234"
LINK_ID = "3f0c9a4e-1b2d-4c5e-8f7a-9b0c1d2e3f4a"
OTHER_ID = "aa0c9a4e-1b2d-4c5e-8f7a-9b0c1d2e3f4b"
REQUEST_ID = "0123456789abcdef0123456789abcdef"


def _entry(url: str, body: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {"response": {
        "method": "GET", "url": url, "status": 200, "content_type": "application/json",
        "body": json.dumps(body, separators=(",", ":")), "headers": headers or {},
        "auto_calculate_content_length": False,
    }}


def _link(link_id: str, code: str) -> dict[str, Any]:
    return {"id": link_id, "short_code": code, "short_url": f"{ORIGIN}/{code}"}


def _normalised(*entries: dict[str, Any]) -> list[dict[str, Any]]:
    result = normalise({"responses": list(entries)}, origin=ORIGIN)
    return [item["response"] for item in result["responses"]]


def test_the_origin_becomes_the_test_base_url_in_urls_and_bodies() -> None:
    (entry,) = _normalised(_entry(f"{ORIGIN}/api/v1/links/vps-murah", _link(LINK_ID, "vps-murah")))

    assert entry["url"] == f"{BASE_URL}/api/v1/links/vps-murah"
    assert json.loads(entry["body"])["short_url"] == f"{BASE_URL}/vps-murah"


def test_api_keys_are_removed_wherever_they_appear() -> None:
    key = "kliqs_sk_live_" + "Ab3" * 10 + "Zz"
    echoed = {"success": False, "error": "X", "message": f"bad key {key}"}

    (entry,) = _normalised(_entry(f"{ORIGIN}/api/v1/me?k={key}", echoed, {"x-echo": key}))

    assert "kliqs_sk_live_" not in yaml.safe_dump(entry)


def test_ids_and_request_ids_become_numbered_placeholders_everywhere() -> None:
    first = _entry(f"{ORIGIN}/api/v1/links/{LINK_ID}", _link(LINK_ID, "vps-murah"),
                   {"x-request-id": REQUEST_ID})
    second = _entry(f"{ORIGIN}/api/v1/links", {"items": [_link(OTHER_ID, "a-b"),
                                                           _link(LINK_ID, "vps-murah")]})

    one, two = _normalised(first, second)

    assert one["url"].endswith("/links/00000000-0000-4000-8000-000000000001")
    assert one["headers"]["x-request-id"] == "req_0001"
    ids = [item["id"] for item in json.loads(two["body"])["items"]]
    assert ids == ["00000000-0000-4000-8000-000000000002", "00000000-0000-4000-8000-000000000001"]


def test_generated_codes_and_cursors_get_placeholders_but_chosen_slugs_stay() -> None:
    page = {"items": [_link(LINK_ID, "x7k2mab"), _link(OTHER_ID, "kopi-gayo")],
            "next_cursor": "MjAyNi0xMS0yNFQwMzoxNTowMHw"}
    follow = _entry(f"{ORIGIN}/api/v1/links?cursor=MjAyNi0xMS0yNFQwMzoxNTowMHw", {"items": []})

    listed, followed = _normalised(_entry(f"{ORIGIN}/api/v1/links", page), follow)

    body = json.loads(listed["body"])
    assert [item["short_code"] for item in body["items"]] == ["gen0001", "kopi-gayo"]
    assert body["items"][0]["short_url"] == f"{BASE_URL}/gen0001"
    assert body["next_cursor"] == "cursor1"
    assert followed["url"] == f"{BASE_URL}/api/v1/links?cursor=cursor1"


def test_a_key_s_last4_is_fixed_and_the_compact_json_form_is_kept() -> None:
    me = {"key": {"name": "server-produksi", "last4": "Zq9X"}, "plan": "free"}

    (entry,) = _normalised(_entry(f"{ORIGIN}/api/v1/me", me))

    assert entry["body"] == '{"key":{"name":"server-produksi","last4":"XXXX"},"plan":"free"}'


def test_a_written_fixture_replays_in_the_recorder_schema(tmp_path: Path) -> None:
    recording = {"responses": [_entry(f"{ORIGIN}/api/v1/me", {"success": True, "data": {}})]}
    path = tmp_path / "me.yaml"

    dump_fixture(normalise(recording, origin=ORIGIN), path, note="RECORDED test\nsecond line")

    text = path.read_text()
    assert text.startswith("# RECORDED test\n# second line\nresponses:\n")
    (item,) = yaml.safe_load(text)["responses"]
    assert list(item["response"])[:3] == ["method", "url", "status"]
    assert "headers" not in item["response"]  # an empty header map is left out
