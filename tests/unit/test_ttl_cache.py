"""The upstream answer cache: one fetch for concurrent askers, answers kept for their TTL only,
the oldest dropped past the bound, and failures never cached."""

from __future__ import annotations

import threading
import time

import pytest

from tmr.sources.cache import TTLCache


def test_a_fresh_answer_is_reused() -> None:
    cache: TTLCache[int] = TTLCache(ttl_s=60)
    calls: list[str] = []
    assert cache.get_or_compute("a", lambda: calls.append("a") or 1) == 1
    assert cache.get_or_compute("a", lambda: calls.append("a") or 2) == 1
    assert calls == ["a"]


def test_an_answer_is_kept_for_its_ttl_and_fetched_again_after() -> None:
    now = [5_000.0]  # any origin: the cache only subtracts
    cache: TTLCache[int] = TTLCache(ttl_s=60, clock=lambda: now[0])
    cache.get_or_compute("a", lambda: 1)
    now[0] += 60
    assert cache.get_or_compute("a", lambda: 2) == 1
    now[0] += 0.001
    assert cache.get_or_compute("a", lambda: 3) == 3


def test_the_oldest_entries_go_past_the_bound() -> None:
    cache: TTLCache[str] = TTLCache(max_entries=2)
    for key in ("a", "b", "c"):
        cache.get_or_compute(key, lambda key=key: key.upper())
    assert cache.get_or_compute("b", lambda: "fresh") == "B"
    assert cache.get_or_compute("a", lambda: "again") == "again"


def test_clear_forgets_everything() -> None:
    cache: TTLCache[int] = TTLCache()
    cache.get_or_compute("a", lambda: 1)
    cache.clear()
    assert cache.get_or_compute("a", lambda: 2) == 2


def test_failures_are_not_cached() -> None:
    cache: TTLCache[int] = TTLCache()

    def fail() -> int:
        raise ConnectionError("upstream down")

    with pytest.raises(ConnectionError, match=r"^upstream down$"):
        cache.get_or_compute("a", fail)
    assert cache.get_or_compute("a", lambda: 3) == 3


def test_concurrent_askers_share_one_fetch() -> None:
    cache: TTLCache[int] = TTLCache()
    started = threading.Event()
    release = threading.Event()
    calls: list[int] = []

    def slow() -> int:
        calls.append(1)
        started.set()
        release.wait(5)
        return 42

    results: list[int] = []
    first = threading.Thread(target=lambda: results.append(cache.get_or_compute("k", slow)))
    first.start()
    started.wait(5)
    second = threading.Thread(target=lambda: results.append(cache.get_or_compute("k", slow)))
    second.start()
    time.sleep(0.02)
    release.set()
    first.join(5)
    second.join(5)
    assert results == [42, 42]
    assert calls == [1]
