"""In-memory doubles of what the operations recorder and service depend on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tmr.observability.models import LogLine, MinuteRecord


class MemoryOperations:
    """`OperationsRepository` with the store's semantics: records replace by key, bounded logs."""

    def __init__(self) -> None:
        self.rows: dict[tuple[datetime, str, str], MinuteRecord] = {}
        self.lines: list[LogLine] = []
        self.saves: list[tuple[list[MinuteRecord], datetime]] = []
        self.failing = False

    def save_minutes(self, records: Sequence[MinuteRecord], keep_since: datetime) -> None:
        if self.failing:
            raise ConnectionError("database is down")
        self.saves.append((list(records), keep_since))
        for record in records:
            self.rows[(record.minute, record.instance, record.route)] = record
        self.rows = {key: r for key, r in self.rows.items() if r.minute >= keep_since}

    def minutes(self, since: datetime) -> list[MinuteRecord]:
        return [r for r in self.rows.values() if r.minute >= since]

    def append_logs(self, lines: Sequence[LogLine], keep: int) -> None:
        if self.failing:
            raise ConnectionError("database is down")
        self.lines.extend(lines)

    def logs(self, min_level: int, text: str | None, limit: int) -> list[LogLine]:
        found = [
            line
            for line in reversed(self.lines)
            if line.levelno >= min_level and (text is None or text.lower() in line.message.lower())
        ]
        return found[:limit]


@dataclass
class Clock:
    """A settable clock: wall time for minutes, a separate monotonic one for flush intervals."""

    now: float
    ticks: float = 1000.0  # any origin: only differences are read

    def wall(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.ticks


@dataclass
class Health:
    asked: list[tuple[int, bool]] = field(default_factory=list)

    def components(self, window_minutes: int, include_timeline: bool) -> dict[str, Any]:
        self.asked.append((window_minutes, include_timeline))
        return {"status": "ok", "generated_at": "2027-01-15T08:00:00Z", "components": []}
