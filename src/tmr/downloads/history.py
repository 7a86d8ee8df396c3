"""The download history: every download asked for, allowed or refused.

A sensitive model's owner must know who took it, through which door, which parts, and what the
monitor said; the package-confusion audit reads the same history for traffic anomalies (bursts,
few clients, downloads never preceded by a search). Events outlive the artifact they name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from tmr.artifacts.models import AuditEntry

Door = Literal["api", "hub", "ui", "cli"]


@dataclass(frozen=True, slots=True)
class DownloadEvent:
    artifact_id: str
    artifact_type: str
    artifact_name: str
    user_name: str
    client: str | None
    """The client's address as the server saw it (or the forwarded one a trusted proxy gave)."""
    door: Door
    parts: str | None
    """The parts asked for (`weights,tokenizer`), the file's path for a single file, or None for
    the whole package."""
    allowed: bool
    monitor_exit: int | None
    """The monitor's exit status; None when no monitor ran (not sensitive, or refused before)."""
    monitor_output: str | None
    reason: str | None
    """Why a download was refused, in the words its error carried."""
    at: datetime


class DownloadHistory(Protocol):
    def record_download(self, event: DownloadEvent, audit: AuditEntry | None = None) -> None:
        """Keep the event, and the artifact's `audit` entry for it in the same transaction (one
        write per download instead of two)."""
        ...

    def downloads_of(
        self, artifact_id: str, *, limit: int, before_seq: int | None = None
    ) -> Sequence[tuple[int, DownloadEvent]]:
        """Newest first, keyset-paged by the event's sequence number."""
        ...

    def downloads_since(self, since: datetime | None, *, limit: int) -> Sequence[DownloadEvent]:
        """Every artifact's downloads at or after `since`, oldest first (the audit's input)."""
        ...

    def reset(self) -> None:
        """Forget every download (the registry's reset to its default state)."""
        ...
