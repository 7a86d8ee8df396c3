"""The download history's store, run against SQLite and PostgreSQL: events round-trip, pages run
newest first by sequence, `downloads_since` reads every artifact oldest first, and values too long
for their columns are fitted rather than refused."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from tests.support import fresh_engine
from tmr.downloads.history import DownloadEvent
from tmr.storage.downloads import SqlDownloadHistory

T0 = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


@pytest.fixture
def history(database_url: str) -> Iterator[SqlDownloadHistory]:
    engine = fresh_engine(database_url)
    yield SqlDownloadHistory(engine)
    engine.dispose()


def event(artifact_id: str = "17", at: datetime = T0, **changes: object) -> DownloadEvent:
    base = DownloadEvent(
        artifact_id=artifact_id,
        artifact_type="model",
        artifact_name="bert-base-uncased",
        user_name="alice",
        client="203.0.113.9",
        door="api",
        parts=None,
        allowed=True,
        monitor_exit=None,
        monitor_output=None,
        reason=None,
        at=at,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_an_event_round_trips(history: SqlDownloadHistory) -> None:
    refused = event(
        door="hub",
        parts="weights,tokenizer",
        allowed=False,
        monitor_exit=3,
        monitor_output="no downloads on Sundays\n",
        reason="The monitor refused the download.",
    )
    history.record_download(refused)
    [(seq, got)] = history.downloads_of("17", limit=10)
    assert got == refused
    assert got.at.tzinfo is not None
    assert isinstance(seq, int)


def test_pages_run_newest_first_and_only_for_the_artifact_asked(history: SqlDownloadHistory) -> None:
    for minute in range(5):
        history.record_download(event("17", T0 + timedelta(minutes=minute), user_name=f"u{minute}"))
        history.record_download(event("18", T0 + timedelta(minutes=minute)))
    first = history.downloads_of("17", limit=2)
    assert [e.user_name for _, e in first] == ["u4", "u3"]
    second = history.downloads_of("17", limit=2, before_seq=first[-1][0])
    assert [e.user_name for _, e in second] == ["u2", "u1"]
    last = history.downloads_of("17", limit=2, before_seq=second[-1][0])
    assert [e.user_name for _, e in last] == ["u0"]
    assert history.downloads_of("17", limit=2, before_seq=last[-1][0]) == []
    assert history.downloads_of("nope", limit=10) == []


def test_downloads_since_reads_every_artifact_oldest_first(history: SqlDownloadHistory) -> None:
    history.record_download(event("18", T0 + timedelta(minutes=2), user_name="late"))
    history.record_download(event("17", T0, user_name="early"))
    history.record_download(event("19", T0 + timedelta(minutes=1), user_name="middle"))
    assert [e.user_name for e in history.downloads_since(None, limit=10)] == ["early", "middle", "late"]
    assert [e.user_name for e in history.downloads_since(T0 + timedelta(minutes=1), limit=10)] == [
        "middle",
        "late",
    ]
    assert [e.user_name for e in history.downloads_since(None, limit=1)] == ["early"]


def test_over_long_values_are_fitted_not_refused(history: SqlDownloadHistory) -> None:
    history.record_download(
        event(
            client="x" * 500,
            parts="p" * 5000,
            user_name="u" * 300,
            artifact_name="n" * 600,
            monitor_output="a\0b" + "o" * 100_000,
            allowed=False,
        )
    )
    [(_, got)] = history.downloads_of("17", limit=1)
    assert got.client == "x" * 64
    assert got.parts == "p" * 1024
    assert got.user_name == "u" * 256
    assert got.artifact_name == "n" * 512
    assert got.monitor_output is not None
    assert got.monitor_output.startswith("a\ufffdb")
    assert 1000 < len(got.monitor_output) <= 16_000


def test_reset_forgets_every_download(history: SqlDownloadHistory) -> None:
    history.record_download(event())
    history.reset()
    assert history.downloads_since(None, limit=10) == []


def test_a_download_and_its_audit_entry_are_written_together(history: SqlDownloadHistory) -> None:
    from tmr.artifacts.models import ArtifactSummary, ArtifactType, AuditEntry
    from tmr.storage.metadata import SqlMetadataStore

    audit = SqlMetadataStore(history.engine)
    entry = AuditEntry(
        "alice", False, T0, ArtifactSummary("17", "bert-base-uncased", ArtifactType.MODEL), "DOWNLOAD"
    )
    history.record_download(event(), audit=entry)
    assert [got for _, got in history.downloads_of("17", limit=10)] == [event()]
    assert audit.audit_for("17") == [entry]
    # One transaction: an event that cannot be written (here one without a type) takes its
    # audit entry, written first, with it.
    with pytest.raises(Exception):  # noqa: B017 (where it fails is the store's business)
        history.record_download(event(artifact_type=None), audit=replace(entry, user_name="bob"))  # type: ignore[arg-type]
    assert audit.audit_for("17") == [entry]
