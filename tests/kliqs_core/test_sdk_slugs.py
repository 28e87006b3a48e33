"""slugify for product titles and the -2, -3... suffixes after a conflict."""

from __future__ import annotations

import pytest

from kliqs_core import is_valid_slug, slugify, with_suffix


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Produk Sepatu", "produk-sepatu"),
        ("VPS Murah!!", "vps-murah"),
        ("Kopi Gayo Arabika – 250 g", "kopi-gayo-arabika-250-g"),
        ("Café Crème Brûlée", "cafe-creme-brulee"),
        ("  --Kaos_Polos  (XL) ", "kaos-polos-xl"),
        ("お茶", ""),
    ],
)
def test_slugify_makes_ascii_lower_case_hyphenated_slugs(title: str, slug: str) -> None:
    assert slugify(title) == slug


def test_slugify_leaves_room_for_a_suffix_and_never_ends_with_a_hyphen() -> None:
    assert slugify("a" * 70) == "a" * 60  # 64 minus room for "-999"
    # The cut falls right after the hyphen of "-bcdef": the hyphen goes too.
    slug = slugify("a" * 59 + " bcdef")

    assert slug == "a" * 59
    assert is_valid_slug(with_suffix(slug, 999))


def test_slugify_honours_a_custom_max_length() -> None:
    assert slugify("Sepatu Lari Pria", max_length=10) == "sepatu-lar"


def test_with_suffix_counts_from_the_plain_slug() -> None:
    assert [with_suffix("vps-murah", n) for n in (1, 2, 3, 10)] == [
        "vps-murah",
        "vps-murah-2",
        "vps-murah-3",
        "vps-murah-10",
    ]


def test_with_suffix_shortens_the_base_to_stay_within_64_characters() -> None:
    candidate = with_suffix("x" * 64, 12)

    assert candidate == "x" * 61 + "-12"
    assert len(candidate) == 64


def test_with_suffix_drops_a_separator_left_at_the_cut() -> None:
    assert with_suffix("a" * 61 + "-bc", 2) == "a" * 61 + "-2"


def test_with_suffix_refuses_zero() -> None:
    with pytest.raises(ValueError):
        with_suffix("vps-murah", 0)


@pytest.mark.parametrize(
    ("slug", "valid"),
    [("vps", True), ("VPS_murah-1", True), ("ab", False), ("-abc", False), ("abc_", False),
     ("a" * 64, True), ("a" * 65, False), ("vps murah", False)],
)
def test_is_valid_slug_follows_the_contract(slug: str, valid: bool) -> None:
    assert is_valid_slug(slug) is valid
