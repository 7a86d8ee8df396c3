"""The audit as a use case: administrators only, inputs from the records, paging and the cache."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import pytest

from tmr.accounts.models import Principal
from tmr.confusion.interfaces import AuditedArtifact, Fingerprint, SearchHit
from tmr.confusion.names import Category
from tmr.confusion.service import ConfusionService
from tmr.downloads.history import DownloadEvent
from tmr.errors import InvalidInput, PermissionDenied

NOW = datetime(2026, 6, 1, tzinfo=UTC)
ADMIN = Principal("root", is_admin=True)
ANN = Principal("ann")
POPULAR = "google-bert/bert-base-uncased"


def _download(artifact_id: str, user: str, at: datetime, client: str = "10.0.0.1") -> DownloadEvent:
    return DownloadEvent(artifact_id, "model", "x", user, client, "api", None, True, None, None, None, at)


@dataclass
class FakeInputs:
    """The store's side of the audit (`AuditInputs`), counting how often it is read."""

    artifacts: list[AuditedArtifact] = field(default_factory=list)
    hits: list[SearchHit] = field(default_factory=list)
    downloads_seq: int = 0
    reads: int = 0

    def record_hits(self, hits: Sequence[SearchHit], *, keep: int, oldest: datetime) -> None:
        self.hits.extend(hits)

    def audited_artifacts(self, *, limit: int) -> Sequence[AuditedArtifact]:
        self.reads += 1
        return self.artifacts[:limit]

    def hits_since(self, since: datetime, *, limit: int) -> Sequence[SearchHit]:
        return [h for h in self.hits if h.at >= since][-limit:]

    def fingerprint(self) -> Fingerprint:
        return Fingerprint(len(self.artifacts), len(self.artifacts), None, self.downloads_seq, len(self.hits))


@dataclass
class FakeHistory:
    events: list[DownloadEvent] = field(default_factory=list)

    def record_download(self, event: DownloadEvent) -> None:
        self.events.append(event)

    def downloads_of(
        self, artifact_id: str, *, limit: int, before_seq: int | None = None
    ) -> Sequence[tuple[int, DownloadEvent]]:
        return []

    def downloads_since(self, since: datetime | None, *, limit: int) -> Sequence[DownloadEvent]:
        return [e for e in self.events if since is None or e.at >= since][:limit]


def _seeded() -> tuple[FakeInputs, FakeHistory]:
    inputs = FakeInputs(
        [
            AuditedArtifact("1", POPULAR, "model", "public", "root"),
            AuditedArtifact("2", "acme/bert-base-uncsed", "model", "private", "eve"),
            AuditedArtifact("3", "alice/sentiment-classifier", "model", "public", "ann"),
        ]
    )
    history = FakeHistory()
    for i in range(300):  # the popular model: many users, each searched first, over weeks
        at = NOW - timedelta(hours=2 + (i * 7919) % 1500)
        inputs.hits.append(SearchHit("1", f"u{i}", f"10.1.{i}", "name", at - timedelta(minutes=5)))
        history.events.append(_download("1", f"u{i}", at, f"10.1.{i}"))
    for i in range(40):  # the typo: one bot, every 10 s, never searched
        history.events.append(_download("2", "bot", NOW - timedelta(hours=1) + timedelta(seconds=10 * i)))
    inputs.downloads_seq = len(history.events)
    return inputs, history


def _service(inputs: FakeInputs, history: FakeHistory, ttl_s: float = 3600.0) -> ConfusionService:
    return ConfusionService(inputs, history, ttl_s=ttl_s, clock=lambda: NOW)


def test_the_typo_is_found_with_its_target_its_reasons_and_its_private_artifact() -> None:
    page = _service(*_seeded()).package_confusion(ADMIN)
    [finding] = page.findings
    assert (finding.name, finding.imitates) == ("acme/bert-base-uncsed", POPULAR)
    assert [(a.id, a.visibility) for a in finding.artifacts] == [("2", "private")]
    assert [a.id for a in finding.imitated_artifacts] == ["1"]
    assert finding.categories == (Category.TYPO,)
    assert (finding.downloads, finding.search_hits) == (40, 0)
    assert (finding.imitated_downloads, finding.imitated_search_hits) == (300, 300)
    assert finding.flagged
    assert finding.score >= page.threshold
    traffic = finding.components["traffic"]
    assert traffic.value > 0.9
    assert "40 of 40 downloads never preceded by a search" in traffic.why
    assert "1 distinct client(s) for 40 downloads" in traffic.why
    assert "popularity 600 vs 40" in finding.components["popularity_gap"].why
    assert (page.total, page.next_offset, page.cached, page.artifacts_audited) == (1, None, False, 3)
    assert page.computed_at == NOW
    assert not page.truncated


def test_only_administrators_may_audit() -> None:
    service = _service(*_seeded())
    with pytest.raises(PermissionDenied) as refused:
        service.package_confusion(ANN)
    assert refused.value.details == {"missing_permission": "admin"}
    assert "administrator" in refused.value.message
    assert refused.value.details == {"missing_permission": "admin"}


@pytest.mark.parametrize(
    ("min_score", "offset", "limit"), [(-0.1, 0, 10), (1.5, 0, 10), (0.5, -1, 10), (0.5, 0, 0), (0.5, 0, 101)]
)
def test_bad_paging_or_score_is_refused(min_score: float, offset: int, limit: int) -> None:
    with pytest.raises(InvalidInput):
        _service(*_seeded()).package_confusion(ADMIN, min_score=min_score, offset=offset, limit=limit)


def test_min_score_and_paging() -> None:
    inputs, history = _seeded()
    more = ["acme/bert-base-uncased-pro", "acme/bert_base_uncased", "acme/bret-base-uncased"]
    inputs.artifacts += [
        AuditedArtifact(str(10 + i), n, "model", "public", "eve") for i, n in enumerate(more)
    ]
    service = _service(inputs, history)
    everything = service.package_confusion(ADMIN, min_score=0.0, limit=100)
    names = [f.name for f in everything.findings]
    assert set(more) | {"acme/bert-base-uncsed"} <= set(names)
    assert [f.score for f in everything.findings] == sorted(
        (f.score for f in everything.findings), reverse=True
    )
    first = service.package_confusion(ADMIN, min_score=0.0, limit=2)
    assert ([f.name for f in first.findings], first.next_offset) == (names[:2], 2)
    second = service.package_confusion(ADMIN, min_score=0.0, offset=2, limit=2)
    assert [f.name for f in second.findings] == names[2:4]
    high = service.package_confusion(ADMIN, min_score=0.99)
    assert all(f.score >= 0.99 for f in high.findings)
    assert high.total < everything.total


def test_the_cache_holds_until_an_artifact_changes() -> None:
    inputs, history = _seeded()
    service = _service(inputs, history)
    assert not service.package_confusion(ADMIN).cached
    assert service.package_confusion(ADMIN).cached
    assert inputs.reads == 1
    # New traffic within the time to live: the cached findings still answer.
    history.events.append(_download("1", "late", NOW))
    inputs.downloads_seq += 1
    assert service.package_confusion(ADMIN).cached
    # A new artifact: recomputed at once, and it is found.
    inputs.artifacts.append(AuditedArtifact("9", "acme/bert-base-uncased-secure", "model", "public", "eve"))
    page = service.package_confusion(ADMIN, min_score=0.0)
    assert not page.cached
    assert inputs.reads == 2
    assert "acme/bert-base-uncased-secure" in [f.name for f in page.findings]


def test_new_traffic_recomputes_once_the_entry_is_old() -> None:
    inputs, history = _seeded()
    service = _service(inputs, history, ttl_s=0.0)
    service.package_confusion(ADMIN)
    assert service.package_confusion(ADMIN).cached  # same fingerprint: nothing to recompute
    history.events.append(_download("2", "bot", NOW))
    inputs.downloads_seq += 1
    page = service.package_confusion(ADMIN)
    assert not page.cached
    assert page.findings[0].downloads == 41


def test_searching_before_downloading_clears_the_unsearched_signal() -> None:
    inputs, history = _seeded()
    quiet = _service(inputs, history).package_confusion(ADMIN, min_score=0.0).findings[0]
    inputs.hits.append(SearchHit("2", "bot", "10.0.0.1", "name", NOW - timedelta(days=1)))
    searched = _service(inputs, history).package_confusion(ADMIN, min_score=0.0).findings[0]
    assert "0 of 40 downloads never preceded by a search" in searched.components["traffic"].why
    assert searched.components["traffic"].value < quiet.components["traffic"].value


def test_events_outside_the_window_are_not_read() -> None:
    inputs, history = _seeded()
    history.events = [replace(e, at=e.at - timedelta(days=400)) for e in history.events]
    inputs.hits = [replace(h, at=h.at - timedelta(days=400)) for h in inputs.hits]
    page = _service(inputs, history).package_confusion(ADMIN, min_score=0.0)
    assert page.findings == ()  # no popularity anywhere: nothing is more popular than the typo


def test_an_audit_beyond_its_artifact_limit_says_it_was_cut() -> None:
    inputs, history = _seeded()
    service = ConfusionService(inputs, history, clock=lambda: NOW, max_artifacts=2)
    page = service.package_confusion(ADMIN)
    assert page.truncated
    assert page.artifacts_audited == 2
