"""Download-traffic statistics and the audit's inputs gathered from the registry's records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tmr.confusion.interfaces import AuditedArtifact, SearchHit
from tmr.confusion.traffic import (
    DownloadEvent,
    SearchEvent,
    densest_window,
    distinct_clients,
    first_search_by_user,
    gather,
    inter_arrival_cv,
    unsearched,
)
from tmr.downloads.history import DownloadEvent as HistoryEvent

T0 = datetime(2026, 5, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _at(*seconds: float) -> list[datetime]:
    return [T0 + timedelta(seconds=s) for s in seconds]


def test_densest_window_counts_the_biggest_burst() -> None:
    assert densest_window([], HOUR) == 0
    assert densest_window(_at(0), HOUR) == 1
    # Three within an hour, then two a day later: the burst is three.
    assert densest_window(_at(0, 60, 3599, 86_400, 86_401), HOUR) == 3
    # The window's end is included: an event exactly one hour later is in it.
    assert densest_window(_at(0, 3600), HOUR) == 2
    assert densest_window(_at(0, 3601), HOUR) == 1


def test_inter_arrival_cv_tells_a_timer_from_a_crowd() -> None:
    assert inter_arrival_cv(_at(*(10 * i for i in range(50)))) == pytest.approx(0.0)
    # Alternating short and long gaps: mean 50, deviation 40.
    assert inter_arrival_cv(_at(0, 10, 100, 110, 200, 210, 300)) == pytest.approx(0.8)
    assert inter_arrival_cv(_at(0, 10)) is None  # one gap says nothing
    assert inter_arrival_cv(_at(5, 5, 5, 5)) is None  # all at once: no interval at all


def test_distinct_clients_are_user_and_address_pairs() -> None:
    events = [
        DownloadEvent(T0, "bot", "10.0.0.9"),
        DownloadEvent(T0, "bot", "10.0.0.9"),
        DownloadEvent(T0, "bot", "10.0.0.8"),
        DownloadEvent(T0, "ann", "10.0.0.9"),
    ]
    assert distinct_clients(events) == 3
    assert distinct_clients([]) == 0


def test_unsearched_counts_downloads_without_an_earlier_search_by_the_same_user() -> None:
    downloads = [
        DownloadEvent(T0 + HOUR, "ann", "a"),  # ann searched before: found
        DownloadEvent(T0 + HOUR, "bob", "b"),  # bob searched only after
        DownloadEvent(T0 + HOUR, "eve", "e"),  # eve never searched
        DownloadEvent(T0, "cat", "c"),  # cat searched at the same instant: found
    ]
    searches = [
        SearchEvent(T0, "ann"),
        SearchEvent(T0 + 2 * HOUR, "bob"),
        SearchEvent(T0, "cat"),
        SearchEvent(T0 - HOUR, "zed"),  # another user's search finds nothing for eve
    ]
    assert unsearched(downloads, searches) == 2
    assert unsearched([], searches) == 0
    assert first_search_by_user([SearchEvent(T0 + HOUR, "ann"), SearchEvent(T0, "ann")]) == {"ann": T0}


def _download(
    artifact_id: str, user: str, at: datetime, *, allowed: bool = True, client: str | None = "c"
) -> HistoryEvent:
    return HistoryEvent(
        artifact_id=artifact_id,
        artifact_type="model",
        artifact_name="whatever it was called then",
        user_name=user,
        client=client,
        door="api",
        parts=None,
        allowed=allowed,
        monitor_exit=None,
        monitor_output=None,
        reason=None,
        at=at,
    )


def test_gather_groups_by_name_and_drops_what_is_not_traffic() -> None:
    artifacts = [
        AuditedArtifact("1", "acme/bert", "model", "public", "ann"),
        AuditedArtifact("2", "acme/bert", "code", "private", "ann"),  # same name, another type
        AuditedArtifact("3", "evil/bert", "model", "private", "eve"),
    ]
    downloads = [
        _download("1", "ann", T0 + HOUR),
        _download("2", "bob", T0),
        _download("3", "eve", T0, allowed=False),  # refused: not a download
        _download("gone", "eve", T0),  # its artifact was deleted
        _download("3", "eve", T0 + HOUR, client=None),
    ]
    hits = [
        SearchHit("1", "ann", "c", "name", T0),
        SearchHit("gone", "ann", "c", "name", T0),
        SearchHit("3", "bob", None, "regex", T0 + HOUR),
    ]
    got = gather(artifacts, downloads, hits)
    assert {k: [a.id for a in v] for k, v in got.artifacts.items()} == {
        "acme/bert": ["1", "2"],
        "evil/bert": ["3"],
    }
    assert got.downloads["acme/bert"] == [
        DownloadEvent(T0, "bob", "c"),
        DownloadEvent(T0 + HOUR, "ann", "c"),
    ]  # sorted by time, both artifacts of the name
    assert got.downloads["evil/bert"] == [DownloadEvent(T0 + HOUR, "eve", "?")]
    assert got.searches == {
        "acme/bert": [SearchEvent(T0, "ann")],
        "evil/bert": [SearchEvent(T0 + HOUR, "bob")],
    }
    empty = gather([], downloads, hits)
    assert (dict(empty.artifacts), dict(empty.downloads), dict(empty.searches)) == ({}, {}, {})
