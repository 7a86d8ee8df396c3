"""Starting, following and comparing download workload runs (administrators only).

Where the workload runs depends on the deployment (`TMR_WORKLOAD_INLINE`):
- a server process (`./run serve`): the start request stores the run, schedules it as an asyncio
  task in the serving process and answers at once; the page follows its progress in the store;
- AWS Lambda (inline): nothing may outlive the request, so the start request runs the workload to
  completion before answering, and its time limit is clamped to stay under the gateway's 29 s.

A run whose process died (a worker restarted, a Lambda instance reclaimed) would stay active in the
store forever. So an active run whose deadline has passed (start + time limit + a grace of 30 s,
stored with the run) is read as interrupted, and a new run may start. The deadline is compared
with this machine's wall clock: instances whose clocks disagree by more than the grace could call
a run interrupted early or late, which NTP-synchronised servers do not.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from tmr.accounts.models import Principal
from tmr.accounts.permissions import require_admin
from tmr.accounts.service import AccountService
from tmr.artifacts.packages import parse_parts
from tmr.artifacts.service import ArtifactService
from tmr.errors import InvalidInput, NotFound
from tmr.workload.interfaces import Runner, Target, WorkloadRepository
from tmr.workload.models import (
    INTERRUPTED_MESSAGE,
    Bounds,
    Comparison,
    RunStatus,
    WorkloadParams,
    WorkloadRun,
)
from tmr.workload.stats import compare, summarise

log = logging.getLogger("tmr.workload")

MAX_CLIENTS = 64
MAX_REQUESTS = 10_000
MAX_TIME_LIMIT_S = 120
# API Gateway cuts a request at 29-30 s; an inline run must answer before that, setup included.
INLINE_TIME_LIMIT_S = 25
GRACE_S = 30
KEEP_RUNS = 100


def new_run_id() -> str:
    """Time-ordered like artifact ids (microseconds, then random digits), never reused."""
    return f"{time.time_ns() // 1000:d}{secrets.randbelow(10_000):04d}"


class WorkloadService:
    def __init__(
        self,
        store: WorkloadRepository,
        artifacts: ArtifactService,
        accounts: AccountService,
        runner: Runner,
        *,
        inline: bool,
        keep: int = KEEP_RUNS,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._now = clock  # start times, deadlines and ends: one clock, which tests can set
        self._store = store
        self._artifacts = artifacts
        self._accounts = accounts
        self._runner = runner
        self._keep = keep
        self.bounds = Bounds(
            max_clients=MAX_CLIENTS,
            max_requests=MAX_REQUESTS,
            max_time_limit_s=INLINE_TIME_LIMIT_S if inline else MAX_TIME_LIMIT_S,
            inline=inline,
        )
        self._tasks: set[asyncio.Task[None]] = set()  # held so the loop does not drop them

    # -- starting ------------------------------------------------------------------------------
    async def start(
        self,
        principal: Principal,
        artifact_id: str,
        clients: int,
        requests: int,
        time_limit_s: int,
        base_url: str,
        parts: str | None = None,
    ) -> WorkloadRun:
        """Store a run and start it (inline: run it to its end first). 401 for non-admins, 400 for
        bounds (`details.fields` names each field's problem), 404 for an artifact `principal`
        cannot see, 409 while another run is active."""
        _admin(principal)
        self._check_bounds(clients, requests, time_limit_s)
        parts = (parts or "").strip() or None
        try:
            parse_parts(parts)
        except InvalidInput as exc:
            raise InvalidInput(exc.message, fields={"parts": exc.message}) from exc
        try:
            artifact = await asyncio.to_thread(self._artifacts.get_any, principal, artifact_id)
        except (InvalidInput, NotFound) as exc:
            raise type(exc)(exc.message, fields={"artifact_id": exc.message}) from exc
        limit = min(time_limit_s, self.bounds.max_time_limit_s)  # inline: clamped, as the page says
        now = self._now()
        run = WorkloadRun(
            id=new_run_id(),
            started_by=principal.name,
            started_at=now,
            deadline_at=now + timedelta(seconds=limit + GRACE_S),
            artifact_id=artifact.id,
            artifact_name=artifact.name,
            params=WorkloadParams(clients, requests, limit, parts),
            status=RunStatus.QUEUED,
        )
        await asyncio.to_thread(self._store.create, run, now, self._keep)
        url = base_url.rstrip("/") + f"/download/{artifact.id}"
        execution = self._execute(principal, run, url)
        if self.bounds.inline:
            await execution
            return await asyncio.to_thread(self.run, principal, run.id)
        task = asyncio.create_task(execution, name=f"workload-{run.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return run

    def _check_bounds(self, clients: int, requests: int, time_limit_s: int) -> None:
        problems: dict[str, str] = {}
        if not 1 <= clients <= MAX_CLIENTS:
            problems["clients"] = f"Clients must be between 1 and {MAX_CLIENTS}."
        if not 1 <= requests <= MAX_REQUESTS:
            problems["requests"] = f"Requests must be between 1 and {MAX_REQUESTS:,}."
        if not 1 <= time_limit_s <= MAX_TIME_LIMIT_S:
            problems["time_limit_s"] = f"The time limit must be between 1 and {MAX_TIME_LIMIT_S} seconds."
        if problems:
            raise InvalidInput(" ".join(problems.values()), fields=problems)

    async def _execute(self, principal: Principal, run: WorkloadRun, url: str) -> None:
        """Run to the end and record the outcome; never raises (the outcome is in the store)."""
        tokens: list[str] = []
        done = failed = 0
        try:
            params = run.params
            # One token per client, each with a budget of its own: the workload never spends the
            # session of the admin who started it. A client may do every request of the run.
            for _ in range(params.clients):
                tokens.append(await asyncio.to_thread(self._accounts.issue, principal, params.requests + 1))
            await asyncio.to_thread(self._store.mark_running, run.id)

            async def report(now_done: int, now_failed: int) -> None:
                try:
                    await asyncio.to_thread(self._store.progress, run.id, now_done, now_failed)
                except Exception as exc:  # progress is a courtesy: a lost write must not end the run
                    log.warning("workload %s: progress not recorded: %s", run.id, exc)

            target = Target(
                url=url,
                params={"parts": params.parts} if params.parts else {},
                tokens=tuple(tokens),
                requests=params.requests,
                time_limit_s=params.time_limit_s,
            )
            measurement = await self._runner.run(target, report)
            done, failed = measurement.done, measurement.errors
            results = summarise(measurement)
            await asyncio.to_thread(
                self._store.finish, run.id, RunStatus.FINISHED, done, failed, results, None, self._now()
            )
        except asyncio.CancelledError:
            # The serving process is stopping: say so now rather than when the deadline passes.
            self._end_quietly(
                run.id, RunStatus.INTERRUPTED, done, failed, "the server stopped during the run"
            )
            raise
        except Exception as exc:
            log.warning("workload %s failed: %s", run.id, exc, exc_info=True)
            message = f"{type(exc).__name__}: {exc}"[:1000]
            self._end_quietly(run.id, RunStatus.FAILED, done, failed, message)
        finally:
            for token in tokens:
                with contextlib.suppress(Exception):
                    self._accounts.revoke(token)

    def _end_quietly(self, run_id: str, status: RunStatus, done: int, failed: int, message: str) -> None:
        try:
            self._store.finish(run_id, status, done, failed, None, message, self._now())
        except Exception:
            log.warning("could not record the end of workload %s", run_id, exc_info=True)

    # -- reading -------------------------------------------------------------------------------
    def runs(self, principal: Principal) -> list[WorkloadRun]:
        """The kept runs, newest first."""
        _admin(principal)
        now = self._now()
        return [_as_of(run, now) for run in self._store.recent(self._keep)]

    def run(self, principal: Principal, run_id: str) -> WorkloadRun:
        _admin(principal)
        found = self._store.get(run_id) if run_id.isdigit() and len(run_id) <= 32 else None
        if found is None:
            raise NotFound(f"no workload run with id {run_id}")
        return _as_of(found, self._now())

    def compare(self, principal: Principal, first_id: str, second_id: str) -> Comparison:
        """`second` against `first` (the baseline), metric by metric."""
        return compare(self.run(principal, first_id), self.run(principal, second_id))


def _admin(principal: Principal) -> None:
    require_admin(principal, "run or read the download workload")


def _as_of(run: WorkloadRun, now: datetime) -> WorkloadRun:
    """The run as it stands at `now`: an active run past its deadline was interrupted."""
    if run.status.active and now > run.deadline_at:
        return replace(run, status=RunStatus.INTERRUPTED, error=run.error or INTERRUPTED_MESSAGE)
    return run
