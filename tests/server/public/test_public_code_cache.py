"""The code cache: kept until discarded, bounded, the oldest eighth dropped when full."""

from __future__ import annotations

from server.public.cache import CodeCache


def test_get_put_discard_and_clear() -> None:
    cache: CodeCache[tuple[str, bytes]] = CodeCache(100)
    assert cache.get("kaos") is None and len(cache) == 0
    cache.put("kaos", ("id-1", b"https://toko.id/kaos"))
    cache.put("topi", ("id-2", b"https://toko.id/topi"))
    assert cache.get("kaos") == ("id-1", b"https://toko.id/kaos") and len(cache) == 2
    cache.put("kaos", ("id-1", b"https://toko.id/baru"))  # a fresh answer replaces the old
    assert cache.get("kaos") == ("id-1", b"https://toko.id/baru") and len(cache) == 2
    cache.discard("kaos")
    cache.discard("never-cached")  # not there: fine
    assert cache.get("kaos") is None and cache.get("topi") is not None and len(cache) == 1
    cache.clear()
    assert cache.get("topi") is None and len(cache) == 0
    cache.put("sepatu", ("id-3", b"https://toko.id/sepatu"))  # still usable after clear
    assert cache.get("sepatu") == ("id-3", b"https://toko.id/sepatu")


def test_a_full_cache_drops_its_oldest_eighth() -> None:
    cache: CodeCache[int] = CodeCache(16)
    for i in range(16):
        cache.put(f"c{i}", i)
    assert len(cache) == 16  # up to the size, nothing dropped
    cache.put("c16", 16)
    assert len(cache) == 15  # 16 // 8 = 2 oldest went, then the new one came
    assert cache.get("c0") is None and cache.get("c1") is None
    assert [cache.get(f"c{i}") for i in range(2, 17)] == list(range(2, 17))
    cache.put("c5", 50)  # a code already there takes no room
    assert len(cache) == 15 and cache.get("c5") == 50 and cache.get("c2") == 2


def test_a_large_cache_stays_within_its_size() -> None:
    cache: CodeCache[int] = CodeCache(1_000)
    for i in range(10_000):
        cache.put(f"c{i}", i)
        assert len(cache) <= 1_000
    assert cache.get("c9999") == 9999 and cache.get("c0") is None
    assert len(cache) > 1_000 - 1_000 // 8 - 1  # each drop takes an eighth, not everything


def test_a_tiny_cache_drops_one_at_a_time() -> None:
    cache: CodeCache[int] = CodeCache(3)  # 3 // 8 is 0: still one goes
    for i in range(5):
        cache.put(f"c{i}", i)
        assert len(cache) <= 3
    assert [cache.get(f"c{i}") for i in range(5)] == [None, None, 2, 3, 4]
