"""Values of the sensitive-model monitor: its limits, its verdict, and the runner interface."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

MAX_PROGRAM_BYTES = 64 * 1024
"""Largest monitor program (UTF-8 bytes): a check, not a bundle of libraries."""
MAX_OUTPUT_BYTES = 64 * 1024
"""Bytes kept of each of stdout and stderr; the rest is read and dropped, so a chatty program
cannot grow the server's memory nor stall on a full pipe."""


@dataclass(frozen=True)
class MonitorLimits:
    """How long and how much memory one run may take.

    `memory_mib` is V8's old-space cap (`--max-old-space-size`); the address-space limit the
    kernel enforces is this plus `address_space_base_mib`, the virtual memory Node 24 reserves
    before running a line (about 1.2 GiB measured on x86-64: V8's code range, pointer tables,
    thread stacks and malloc arenas), so the kernel limit bounds buffers outside V8's heap too.
    """

    time_s: float = 10.0
    memory_mib: int = 256
    address_space_base_mib: int = 2048
    max_output_bytes: int = MAX_OUTPUT_BYTES

    def __post_init__(self) -> None:
        if not self.time_s > 0:
            raise ValueError("time_s must be positive")
        if self.memory_mib < 16 or self.address_space_base_mib < 0 or self.max_output_bytes < 0:
            raise ValueError("memory_mib must be at least 16; the others not negative")

    @property
    def address_space_bytes(self) -> int:
        return (self.address_space_base_mib + self.memory_mib) * 1024 * 1024


@dataclass(frozen=True)
class MonitorVerdict:
    """What one run of a monitor decided.

    `exit_code` is the process's status: 0..255 when it exited, `-N` when signal N ended it
    (V8 aborts on heap exhaustion), `None` when it was killed at the time limit.
    """

    allowed: bool
    exit_code: int | None
    timed_out: bool
    stdout: str
    stderr: str
    duration_s: float


class MonitorRunner(Protocol):
    """Runs a monitor program before a download; the download service depends on this only."""

    def run(
        self,
        program: str,
        *,
        model_name: str,
        uploader: str,
        downloader: str,
        zip_path: Path,
    ) -> MonitorVerdict: ...

    def syntax_error(self, program: str) -> str | None:
        """Why `program` does not parse (Node's own words), or None when it does."""
        ...


@dataclass(frozen=True)
class Monitor:
    """A sensitive model's monitor as stored: the program, its digest, who set it and when."""

    artifact_id: str
    program: str
    sha256: str
    set_by: str
    set_at: datetime


class MonitorRepository(Protocol):
    """Where monitors are kept (one per model; removed with the model)."""

    def get_monitor(self, artifact_id: str) -> Monitor | None: ...

    def put_monitor(self, monitor: Monitor) -> bool:
        """Store `monitor`, replacing the model's previous one; True when there was none. Raises
        NotFound when the artifact no longer exists."""
        ...

    def delete_monitor(self, artifact_id: str) -> bool:
        """Remove the model's monitor; False when it had none."""
        ...
