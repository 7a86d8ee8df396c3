"""A finding's score: name similarity * (name + popularity gap + anomalous traffic)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.confusion_cases import build_cases
from tmr.confusion import scoring
from tmr.confusion.names import Category
from tmr.confusion.scoring import ArtifactStats, DownloadEvent, SearchEvent, audit, traffic_signals

T0 = datetime(2026, 3, 1, tzinfo=UTC)
BERT = ArtifactStats("google-bert/bert-base-uncased", downloads=2_000_000, search_hits=50_000)


def _scripted(n: int = 60) -> list[DownloadEvent]:
    return [DownloadEvent(T0 + timedelta(seconds=10 * i), "bot", "10.0.0.9") for i in range(n)]


def _organic(n: int = 60) -> tuple[list[DownloadEvent], list[SearchEvent]]:
    offsets = [(i * 7919) % 1000 for i in range(n)]  # spread, irregular, deterministic
    downloads = [DownloadEvent(T0 + timedelta(hours=h), f"u{i}", f"c{i}") for i, h in enumerate(offsets)]
    searches = [SearchEvent(T0 - timedelta(hours=1), f"u{i}") for i in range(n)]
    return downloads, searches


def test_a_typo_of_a_popular_model_is_flagged_with_its_reasons() -> None:
    suspect = ArtifactStats("acme/bert-base-uncsed", downloads=12)
    [finding] = audit([BERT, suspect])
    assert finding.suspect == suspect.name
    assert finding.imitates == BERT.name
    assert finding.categories == (Category.TYPO,)
    assert any("'a' missing" in e for e in finding.evidence)
    assert set(finding.components) == {"name", "popularity_gap", "traffic"}
    assert finding.score == pytest.approx(sum(c.contribution for c in finding.components.values()), abs=1e-3)
    assert finding.components["popularity_gap"].value > 0.9
    assert "popularity 2050000 vs 12" in finding.components["popularity_gap"].why
    assert finding.flagged
    assert finding.score >= scoring.THRESHOLD


def test_the_more_popular_artifact_is_never_the_imitator() -> None:
    popular_typo = ArtifactStats("acme/bert-base-uncsed", downloads=9_000_000)
    findings = audit([BERT, popular_typo], include_unflagged=True)
    assert [(f.suspect, f.imitates) for f in findings] == [(BERT.name, popular_typo.name)]
    assert findings[0].components["popularity_gap"].value < 0.3  # 9M vs 2M: a small gap
    assert not findings[0].flagged


def test_hard_negatives_are_not_flagged() -> None:
    family = [
        BERT,
        ArtifactStats("google-bert/bert-base-cased", downloads=40),
        ArtifactStats("meta-llama/Llama-2-7b-hf", downloads=3_000_000),
        ArtifactStats("meta-llama/Llama-2-13b-hf", downloads=10),
        ArtifactStats("google/gemma-2b", downloads=900_000),
        ArtifactStats("google/gemma-7b", downloads=5),
    ]
    assert audit(family) == []


def test_traffic_anomalies_raise_the_score() -> None:
    artifacts = [BERT, ArtifactStats("acme/bert-base-uncased-pro", downloads=60)]
    organic, searches = _organic()
    calm = audit(artifacts, {"acme/bert-base-uncased-pro": organic}, searches, include_unflagged=True)
    boosted = audit(artifacts, {"acme/bert-base-uncased-pro": _scripted()}, searches, include_unflagged=True)
    assert boosted[0].score > calm[0].score
    assert boosted[0].components["traffic"].value > 0.8
    assert calm[0].components["traffic"].value < 0.2


def test_a_boosted_look_alike_is_flagged_where_a_calm_one_is_not() -> None:
    # Popular enough itself that the gap alone does not flag it.
    artifacts = [BERT, ArtifactStats("acme/bert-base-uncased-v2", downloads=400_000)]
    organic, searches = _organic()
    calm = audit(artifacts, {"acme/bert-base-uncased-v2": organic}, searches)
    boosted = audit(artifacts, {"acme/bert-base-uncased-v2": _scripted()}, searches)
    assert calm == []
    assert [f.suspect for f in boosted] == ["acme/bert-base-uncased-v2"]


def test_each_traffic_signal() -> None:
    scripted = traffic_signals(_scripted(), [])
    assert scripted.burst == 1.0  # all within an hour
    assert scripted.periodic == 1.0  # every 10 seconds exactly
    assert scripted.few_clients > 0.95  # one client
    assert scripted.unsearched == 1.0  # the bot never searched
    organic, searches = _organic()
    calm = traffic_signals(organic, searches)
    assert (calm.burst, calm.few_clients, calm.unsearched) == (0.0, 0.0, 0.0)
    assert calm.periodic < 0.2


def test_a_search_after_the_download_does_not_count() -> None:
    downloads = _scripted(10)
    late = [SearchEvent(T0 + timedelta(days=1), "bot")]
    early = [SearchEvent(T0 - timedelta(days=1), "bot")]
    assert traffic_signals(downloads, late).unsearched == 1.0
    assert traffic_signals(downloads, early).unsearched == 0.0


def test_too_few_downloads_say_nothing() -> None:
    signals = traffic_signals(_scripted(scoring.MIN_EVENTS - 1), [])
    assert signals.value == 0.0
    assert traffic_signals([], []).value == 0.0


def test_simultaneous_downloads_do_not_divide_by_zero() -> None:
    same = [DownloadEvent(T0, "bot", "c") for _ in range(20)]
    signals = traffic_signals(same, [])
    assert signals.burst == 1.0
    assert 0.0 <= signals.value <= 1.0


def test_the_audit_is_deterministic_and_finds_the_seeded_look_alikes() -> None:
    cases, searches = build_cases()
    stats = [c.stats for c in cases]
    events = {c.name: c.downloads for c in cases}
    first = audit(stats, events, searches)
    assert first == audit(list(reversed(stats)), events, searches)
    labels = {c.name: c.imitates for c in cases}
    right = sum(1 for f in first if labels[f.suspect] == f.imitates)
    positives = sum(1 for c in cases if c.imitates)
    assert right / len(first) >= 0.95  # precision
    assert right / positives >= 0.9  # recall
    found = {c for f in first for c in f.categories}
    assert found == set(Category)


def test_odd_names_in_the_audit() -> None:
    artifacts = [
        BERT,
        ArtifactStats(""),
        ArtifactStats("/"),
        ArtifactStats("\u202e\u200b/🦙", downloads=3),
        ArtifactStats("x/" + "b" * 50_000, downloads=1),
    ]
    assert audit(artifacts) == []


def test_searches_per_name_count_only_for_that_name() -> None:
    suspect = "acme/bert-base-uncased-pro"
    artifacts = [BERT, ArtifactStats(suspect, downloads=60)]
    downloads = {suspect: _scripted()}
    found_it = {suspect: [SearchEvent(T0 - timedelta(hours=1), "bot")]}
    found_other = {BERT.name: [SearchEvent(T0 - timedelta(hours=1), "bot")]}
    [searched] = audit(artifacts, downloads, found_it, include_unflagged=True)
    [unsearched] = audit(artifacts, downloads, found_other, include_unflagged=True)
    assert "0 of 60 downloads never preceded by a search" in searched.components["traffic"].why
    assert "60 of 60 downloads never preceded by a search" in unsearched.components["traffic"].why
    assert unsearched.components["traffic"].value > searched.components["traffic"].value
