"""WorkloadService with an in-memory run store and a scripted runner: bounds, the stored run's life
(queued, running, finished or failed), per-client tokens revoked afterwards, and runs past their
deadline read as interrupted."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.unit.memory_repo import MemoryArtifacts, MemoryBlobs
from tmr.accounts.models import Principal
from tmr.artifacts.models import Artifact, ArtifactType, Visibility
from tmr.artifacts.service import ArtifactService
from tmr.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from tmr.workload.interfaces import ProgressReport, Target
from tmr.workload.models import (
    INTERRUPTED_MESSAGE,
    Measurement,
    RunStatus,
    WorkloadParams,
    WorkloadResults,
    WorkloadRun,
)
from tmr.workload.service import GRACE_S, INLINE_TIME_LIMIT_S, WorkloadService, new_run_id

ADMIN = Principal("root", is_admin=True)


@dataclass
class MemoryRuns:
    rows: dict[str, WorkloadRun] = field(default_factory=dict)
    events: list[tuple[Any, ...]] = field(default_factory=list)
    failing_progress: bool = False

    def create(self, run: WorkloadRun, now: datetime, keep: int) -> None:
        if any(r.status.active and r.deadline_at >= now for r in self.rows.values()):
            raise Conflict("a workload is already running")
        self.rows[run.id] = run
        self.events.append(("create", keep))

    def mark_running(self, run_id: str) -> None:
        self.rows[run_id] = replace(self.rows[run_id], status=RunStatus.RUNNING)
        self.events.append(("running",))

    def progress(self, run_id: str, done: int, failed: int) -> None:
        if self.failing_progress:
            raise ConnectionError("store down")
        self.rows[run_id] = replace(self.rows[run_id], done=done, failed=failed)
        self.events.append(("progress", done, failed))

    def finish(
        self,
        run_id: str,
        status: RunStatus,
        done: int,
        failed: int,
        results: WorkloadResults | None,
        error: str | None,
        at: datetime,
    ) -> None:
        self.rows[run_id] = replace(
            self.rows[run_id], status=status, done=done, failed=failed, results=results, error=error
        )
        self.events.append(("finish", status))

    def get(self, run_id: str) -> WorkloadRun | None:
        return self.rows.get(run_id)

    def recent(self, limit: int) -> list[WorkloadRun]:
        return sorted(self.rows.values(), key=lambda r: r.started_at, reverse=True)[:limit]


@dataclass
class Accounts:
    """The two calls the workload makes of AccountService."""

    issued: list[tuple[str, int]] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)

    def issue(self, principal: Principal, max_uses: int) -> str:
        self.issued.append((principal.name, max_uses))
        return f"token-{len(self.issued)}"

    def revoke(self, token: str) -> None:
        self.revoked.append(token)


@dataclass
class ScriptedRunner:
    measurement: Measurement | None = None
    error: BaseException | None = None
    targets: list[Target] = field(default_factory=list)

    async def run(self, target: Target, report: ProgressReport) -> Measurement:
        self.targets.append(target)
        await report(1, 0)
        if self.error is not None:
            raise self.error
        assert self.measurement is not None
        return self.measurement


MEASURED = Measurement(latencies_s=(0.1, 0.3), bytes=4_000_000, elapsed_s=2.0, errors=1, first_error="503")


# The service's clock in these tests: a fixed instant, so deadlines are compared with it, never
# with the wall clock.
NOW = datetime(2026, 5, 6, 7, 8, 9, tzinfo=UTC)


def _service(runner: ScriptedRunner, *, inline: bool = True) -> tuple[WorkloadService, MemoryRuns, Accounts]:
    model = Artifact(id="42", type=ArtifactType.MODEL, name="bert", url="u", source="hf")
    private = Artifact(
        id="43",
        type=ArtifactType.MODEL,
        name="secret",
        url="v",
        source="upload",
        visibility=Visibility.PRIVATE,
        created_by="alice",
    )
    artifacts = ArtifactService(MemoryArtifacts(model, private), MemoryBlobs())
    runs = MemoryRuns()
    accounts = Accounts()
    service = WorkloadService(
        runs,
        artifacts,  # type: ignore[arg-type]
        accounts,  # type: ignore[arg-type]
        runner,
        inline=inline,
        keep=7,
        clock=lambda: NOW,
    )
    return service, runs, accounts


def _start(service: WorkloadService, **kwargs: Any) -> WorkloadRun:
    args: dict[str, Any] = {
        "principal": ADMIN,
        "artifact_id": "42",
        "clients": 2,
        "requests": 5,
        "time_limit_s": 60,
        "base_url": "http://tmr.test/",
    }
    args.update(kwargs)
    return asyncio.run(service.start(**args))


def test_new_run_ids_are_digits_and_distinct() -> None:
    ids = {new_run_id() for _ in range(50)}
    assert len(ids) == 50
    assert all(i.isdigit() for i in ids)


def test_inline_run_goes_to_the_end_before_answering() -> None:
    runner = ScriptedRunner(measurement=MEASURED)
    service, runs, accounts = _service(runner)
    run = _start(service, parts=" weights ")
    assert run.status is RunStatus.FINISHED
    assert (run.done, run.failed, run.artifact_name, run.started_by) == (3, 1, "bert", "root")
    assert run.params == WorkloadParams(2, 5, INLINE_TIME_LIMIT_S, "weights")
    assert run.deadline_at - run.started_at == timedelta(seconds=INLINE_TIME_LIMIT_S + GRACE_S)
    assert run.results is not None
    assert run.results.throughput_mb_s == 2.0
    assert run.results.mean_ms == 200.0
    [target] = runner.targets
    assert target.url == "http://tmr.test/download/42"
    assert target.params == {"parts": "weights"}
    assert target.tokens == ("token-1", "token-2")
    assert accounts.issued == [("root", 6), ("root", 6)]
    assert accounts.revoked == ["token-1", "token-2"]
    assert runs.events == [
        ("create", 7),
        ("running",),
        ("progress", 1, 0),
        ("finish", RunStatus.FINISHED),
    ]


def test_a_broken_run_is_recorded_as_failed() -> None:
    runner = ScriptedRunner(error=RuntimeError("connection refused"))
    service, _, accounts = _service(runner)
    run = _start(service, parts="")
    assert run.status is RunStatus.FAILED
    assert run.error == "RuntimeError: connection refused"
    assert run.results is None
    assert runner.targets[0].params == {}
    assert accounts.revoked == ["token-1", "token-2"]


def test_a_lost_progress_write_does_not_end_the_run() -> None:
    service, runs, _ = _service(ScriptedRunner(measurement=MEASURED))
    runs.failing_progress = True
    assert _start(service).status is RunStatus.FINISHED


def test_bounds_name_each_field() -> None:
    service, _, _ = _service(ScriptedRunner(measurement=MEASURED))
    with pytest.raises(InvalidInput) as refused:
        _start(service, clients=0, requests=10_001, time_limit_s=121)
    assert refused.value.details == {
        "fields": {
            "clients": "Clients must be between 1 and 64.",
            "requests": "Requests must be between 1 and 10,000.",
            "time_limit_s": "The time limit must be between 1 and 120 seconds.",
        }
    }
    assert refused.value.message.startswith("Clients must be between 1 and 64. Requests")


def test_unknown_parts_are_a_field_error() -> None:
    service, _, _ = _service(ScriptedRunner(measurement=MEASURED))
    with pytest.raises(InvalidInput, match=r"^unknown part\(s\) bogus;") as refused:
        _start(service, parts="bogus")
    assert list(refused.value.details["fields"]) == ["parts"]


def test_an_invisible_or_malformed_artifact_is_a_field_error() -> None:
    service, _, _ = _service(ScriptedRunner(measurement=MEASURED))
    with pytest.raises(NotFound) as missing:
        _start(service, artifact_id="999")
    assert missing.value.details == {"fields": {"artifact_id": "no artifact with id 999"}}
    with pytest.raises(InvalidInput) as malformed:
        _start(service, artifact_id="a/b")
    assert set(malformed.value.details["fields"]) == {"artifact_id"}


def test_only_admins_may_run_or_read() -> None:
    service, _, _ = _service(ScriptedRunner(measurement=MEASURED))
    bob = Principal("bob")
    with pytest.raises(
        PermissionDenied, match=r"^only an administrator may run or read the download workload; user 'bob'"
    ):
        _start(service, principal=bob)
    with pytest.raises(PermissionDenied):
        service.runs(bob)


def test_background_run_answers_queued_and_finishes_in_the_loop() -> None:
    runner = ScriptedRunner(measurement=MEASURED)
    service, _, _ = _service(runner, inline=False)

    async def scenario() -> tuple[WorkloadRun, WorkloadRun]:
        first = await service.start(ADMIN, "42", 1, 1, 120, "http://x")
        await asyncio.wait_for(asyncio.gather(*service._tasks), 60)  # the run's own task, to its end
        return first, service.run(ADMIN, first.id)

    first, later = asyncio.run(scenario())
    assert first.status is RunStatus.QUEUED
    assert first.params.time_limit_s == 120
    assert later.status is RunStatus.FINISHED


def test_a_cancelled_run_is_interrupted() -> None:
    running = asyncio.Event()

    class Hanging(ScriptedRunner):
        async def run(self, target: Target, report: ProgressReport) -> Measurement:
            running.set()
            await asyncio.Event().wait()  # never set: only the cancellation ends it
            raise AssertionError("not reached")

    service, runs, accounts = _service(Hanging(), inline=False)

    async def scenario() -> str:
        run = await service.start(ADMIN, "42", 1, 1, 10, "http://x")
        await asyncio.wait_for(running.wait(), 60)  # tokens issued, the clients under way
        tasks = list(service._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)  # its cancellation handled to the end
        return run.id

    run_id = asyncio.run(scenario())
    assert runs.rows[run_id].status is RunStatus.INTERRUPTED
    assert runs.rows[run_id].error == "the server stopped during the run"
    assert accounts.revoked == ["token-1"]


def _stored(ident: str, status: RunStatus, deadline: datetime, started: datetime) -> WorkloadRun:
    return WorkloadRun(
        id=ident,
        started_by="root",
        started_at=started,
        deadline_at=deadline,
        artifact_id="42",
        artifact_name="bert",
        params=WorkloadParams(1, 1, 1),
        status=status,
    )


def test_active_runs_past_their_deadline_read_as_interrupted() -> None:
    service, runs, _ = _service(ScriptedRunner())
    now = NOW
    runs.rows = {
        "1": _stored("1", RunStatus.RUNNING, now - timedelta(seconds=1), now - timedelta(minutes=3)),
        "2": _stored("2", RunStatus.QUEUED, now + timedelta(minutes=1), now - timedelta(minutes=2)),
        "3": _stored("3", RunStatus.FINISHED, now - timedelta(minutes=5), now - timedelta(minutes=1)),
    }
    listed = service.runs(ADMIN)
    assert [(r.id, r.status) for r in listed] == [
        ("3", RunStatus.FINISHED),
        ("2", RunStatus.QUEUED),
        ("1", RunStatus.INTERRUPTED),
    ]
    assert listed[2].error == INTERRUPTED_MESSAGE
    assert service.run(ADMIN, "1").status is RunStatus.INTERRUPTED


def test_run_ids_that_cannot_exist_are_not_found() -> None:
    service, _, _ = _service(ScriptedRunner())
    for bad in ("abc", "1" * 33, "7"):
        with pytest.raises(NotFound, match=rf"^no workload run with id {bad}$"):
            service.run(ADMIN, bad)


def test_compare_puts_the_second_against_the_first() -> None:
    service, runs, _ = _service(ScriptedRunner())
    now = NOW
    fast = WorkloadResults(8_000_000, 1.0, 8.0, 10.0, 100.0, 100.0, 150.0, 0)
    slow = WorkloadResults(8_000_000, 2.0, 4.0, 5.0, 200.0, 200.0, 300.0, 0)
    runs.rows = {
        "1": replace(_stored("1", RunStatus.FINISHED, now, now), results=fast),
        "2": replace(_stored("2", RunStatus.FINISHED, now, now), results=slow),
    }
    comparison = service.compare(ADMIN, "1", "2")
    throughput = comparison.changes[0]
    assert (throughput.name, throughput.change_pct, throughput.verdict) == ("Throughput", -50.0, "worse")
    mean = comparison.changes[2]
    assert (mean.name, mean.change_pct, mean.verdict) == ("Mean latency", 100.0, "worse")
