"""SearchService over an in-memory registry: queries and their version filters, paging cursors,
exact names, regex scans, visibility, and the search hits the confusion audit counts."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from tests.unit.memory_repo import MemoryArtifacts
from tmr.accounts.models import SYSTEM, Permission, Principal
from tmr.artifacts.models import Artifact, ArtifactSummary, ArtifactType, Visibility
from tmr.confusion.interfaces import SearchHit
from tmr.errors import InvalidInput, NotFound, PermissionDenied
from tmr.search.service import (
    HITS_MAX_AGE,
    HITS_PER_SEARCH,
    Query,
    SearchService,
    decode_cursor,
    version_query,
)

NOW = datetime(2026, 5, 1, tzinfo=UTC)
READER = Principal("reader", permissions=frozenset({Permission.SEARCH}))
M, D = ArtifactType.MODEL, ArtifactType.DATASET


class Hits:
    def __init__(self, failing: bool = False) -> None:
        self.saved: list[tuple[list[SearchHit], int, datetime]] = []
        self.failing = failing

    def record_hits(self, hits: Sequence[SearchHit], *, keep: int, oldest: datetime) -> None:
        if self.failing:
            raise ConnectionError("down")
        self.saved.append((list(hits), keep, oldest))


def _a(ident: str, name: str, type_: ArtifactType = M, version: str | None = None, **kw: object) -> Artifact:
    return Artifact(id=ident, type=type_, name=name, url=f"u{ident}", source="hf", version=version, **kw)  # type: ignore[arg-type]


def _registry() -> MemoryArtifacts:
    return MemoryArtifacts(
        _a("1", "bert", version="1.2.3", readme="a BERT model"),
        _a("2", "bert", version="2.0.0"),
        _a("3", "squad", D, readme="questions"),
        _a("4", "gpt", version="1.2.9"),
        _a("5", "secret-bert", visibility=Visibility.PRIVATE, created_by="alice"),
    )


def _service(page_size: int = 10, hits: Hits | None = None) -> SearchService:
    return SearchService(_registry(), page_size=page_size, hits=hits, clock=lambda: NOW)


def _ids(items: Sequence[ArtifactSummary]) -> list[str]:
    return [i.id for i in items]


def test_decode_cursor() -> None:
    assert decode_cursor(None) is None
    assert decode_cursor("  ") is None
    assert decode_cursor(" 17 ") == 17
    with pytest.raises(
        InvalidInput, match=r"^offset must be a value returned in a previous `offset` header$"
    ):
        decode_cursor("-1")


def test_version_query_is_optional() -> None:
    assert version_query(None) is None
    query = version_query("~1.2.0")
    assert query is not None
    assert query.low == "1.2.0"


def test_query_admits_by_name_type_and_version() -> None:
    item = ArtifactSummary("1", "bert", M, "1.2.3")
    assert Query("*").admits(item)
    assert Query("bert", frozenset({M})).admits(item)
    assert not Query("bert", frozenset({D})).admits(item)
    assert not Query("gpt").admits(item)
    assert Query("bert", version=version_query("^1.0.0")).admits(item)
    assert not Query("bert", version=version_query("2.0.0")).admits(item)
    assert not Query("*", version=version_query("1.2.3")).admits(ArtifactSummary("9", "x", M))


def test_enumerate_everything_visible_in_pages() -> None:
    service = _service(page_size=2)
    first, cursor = service.enumerate(READER, [Query("*")], None)
    assert _ids(first) == ["1", "2"]
    assert cursor == "1"
    second, cursor = service.enumerate(READER, [Query("*")], cursor)
    assert _ids(second) == ["3", "4"]
    assert cursor is None
    assert _ids(
        service.enumerate(Principal("alice", permissions=frozenset({Permission.SEARCH})), [Query("*")], "3")[
            0
        ]
    ) == ["5"]


def test_enumerate_limit_shrinks_pages_but_never_below_one() -> None:
    service = _service(page_size=3)
    assert len(service.enumerate(READER, [Query("*")], None, limit=0)[0]) == 1
    assert len(service.enumerate(READER, [Query("*")], None, limit=50)[0]) == 3


def test_enumerate_union_of_queries_with_types_and_versions() -> None:
    service = _service()
    items, _ = service.enumerate(READER, [Query("squad", frozenset({D})), Query("gpt")], None)
    assert _ids(items) == ["3", "4"]
    versioned, _ = service.enumerate(READER, [Query("*", version=version_query("1.2.0-1.2.5"))], None)
    assert _ids(versioned) == ["1"]


def test_enumerate_needs_a_query_and_the_permission() -> None:
    service = _service()
    with pytest.raises(InvalidInput, match=r"^at least one artifact query is required$"):
        service.enumerate(READER, [], None)
    with pytest.raises(PermissionDenied):
        service.enumerate(Principal("nobody"), [Query("*")], None)


def test_named_queries_record_hits_but_star_listings_do_not() -> None:
    hits = Hits()
    service = _service(hits=hits)
    service.enumerate(READER, [Query("*")], None)
    assert hits.saved == []
    service.enumerate(READER, [Query("gpt"), Query("*")], None, client="10.1.1.1")
    [(saved, keep, oldest)] = hits.saved
    assert saved == [SearchHit("4", "reader", "10.1.1.1", "enumerate", NOW)]
    assert keep == 500_000
    assert oldest == NOW - HITS_MAX_AGE


def test_by_name_filters_by_version_and_scope() -> None:
    service = _service()
    assert _ids(service.by_name(READER, "bert")) == ["1", "2"]
    assert _ids(service.by_name(READER, "bert", version_query("^2"))) == ["2"]
    with pytest.raises(NotFound, match=r"^no artifact is named 'bert' with that version$"):
        service.by_name(READER, "bert", version_query("3.0.0"))
    with pytest.raises(NotFound, match=r"^no artifact is named 'secret-bert'$"):
        service.by_name(READER, "secret-bert")
    with pytest.raises(InvalidInput, match=r"^name must be non-empty$"):
        service.by_name(READER, "  ")


def test_by_name_records_hits_only_when_a_person_searched() -> None:
    hits = Hits()
    service = _service(hits=hits)
    service.by_name(READER, "bert", searched=False)
    service.by_name(SYSTEM, "bert")
    assert hits.saved == []
    service.by_name(READER, "bert")
    assert [h.kind for h in hits.saved[0][0]] == ["name", "name"]


def test_a_failing_hit_log_does_not_fail_the_search() -> None:
    service = _service(hits=Hits(failing=True))
    assert _ids(service.by_name(READER, "gpt")) == ["4"]


def test_hits_are_capped_per_search() -> None:
    many = MemoryArtifacts(*[_a(str(i), "same") for i in range(HITS_PER_SEARCH + 5)])
    hits = Hits()
    SearchService(many, page_size=100, hits=hits, clock=lambda: NOW).by_name(READER, "same")
    assert len(hits.saved[0][0]) == HITS_PER_SEARCH


def test_regex_matches_names_and_readmes() -> None:
    service = _service()
    assert _ids(service.by_regex(READER, "BERT")) == ["1"]
    assert _ids(service.by_regex(READER, "^(bert|gpt)$")) == ["1", "2", "4"]
    assert _ids(service.by_regex(READER, "b.rt", version_query("2.0.0"))) == ["2"]
    with pytest.raises(NotFound, match=r"^no artifact matches this regex$"):
        service.by_regex(READER, "^zzz")
    with pytest.raises(NotFound, match=r"^no artifact matches this regex with that version$"):
        service.by_regex(READER, "gpt", version_query("9.9.9"))


def test_regex_scan_releases_its_slot_after_a_miss() -> None:
    service = SearchService(
        _registry(), page_size=10, regex_concurrency=1, regex_waiting=0, clock=lambda: NOW
    )
    with pytest.raises(NotFound):
        service.by_regex(READER, "^zzz")
    assert _ids(service.by_regex(READER, "^gpt$")) == ["4"]


def test_regex_waiting_door_scans_in_a_thread() -> None:
    hits = Hits()
    service = _service(hits=hits)
    found = asyncio.run(service.by_regex_waiting(READER, "squad", client="c"))
    assert _ids(found) == ["3"]
    assert hits.saved[0][0] == [SearchHit("3", "reader", "c", "regex", NOW)]
