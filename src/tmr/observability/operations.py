"""The operations dashboard's use cases: the recent activity of every instance, and the recent
log lines (administrators only).

Both read the metadata store, where every instance flushes its own rows, so the answer is the
same whichever worker or Lambda instance serves it; this instance flushes first, so what it has
just seen is included.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from tmr.accounts.models import Principal
from tmr.accounts.permissions import require_admin
from tmr.errors import InvalidInput
from tmr.observability.activity import window_start
from tmr.observability.interfaces import OperationsRepository
from tmr.observability.models import Activity, LogLine
from tmr.observability.oplog import LEVELS
from tmr.observability.series import minute_series, route_totals, total

WINDOWS = (5, 15, 60)
DEFAULT_WINDOW = 60
MAX_LOG_LINES = 10_000  # both bands of the shared table: a download may ask for all of them
MAX_TEXT = 200


class Flusher(Protocol):
    def flush(self, *, wait: bool = True) -> bool: ...


class ComponentHealth(Protocol):
    def components(self, window_minutes: int, include_timeline: bool) -> dict[str, Any]: ...


def check_window(window_minutes: int) -> int:
    if window_minutes not in WINDOWS:
        allowed = ", ".join(str(w) for w in WINDOWS)
        raise InvalidInput(f"window must be one of {allowed} minutes; got {window_minutes}", allowed=WINDOWS)
    return window_minutes


def min_level(level: str | None) -> int:
    """The lowest level shown for a level filter (`warning` shows warnings and worse)."""
    if level is None or not level.strip():
        return 0
    try:
        return LEVELS[level.strip().lower()]
    except KeyError:
        raise InvalidInput(
            f"level must be one of {', '.join(LEVELS)}; got {level!r}", allowed=list(LEVELS)
        ) from None


class OperationsService:
    def __init__(
        self,
        store: OperationsRepository,
        recorder: Flusher,
        health: ComponentHealth,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._recorder = recorder
        self._health = health
        self._clock = clock

    def activity(self, principal: Principal, window_minutes: int = DEFAULT_WINDOW) -> Activity:
        """The last `window_minutes` (5, 15 or 60) minute by minute, the current one included.
        Any signed-in principal may see it: it names routes, never artifacts or users."""
        check_window(window_minutes)
        self._recorder.flush()
        now = self._clock()
        first = window_start(now, window_minutes)
        records = self._store.minutes(first)
        return Activity(
            window_minutes=window_minutes,
            generated_at=datetime.fromtimestamp(now, UTC),
            minutes=minute_series(records, first, window_minutes),
            totals=total(records),
            routes=route_totals(records),
            instances=len({r.instance for r in records}),
            components=self._health.components(window_minutes, False),
        )

    def status(self, window_minutes: int = DEFAULT_WINDOW) -> dict[str, Any]:
        """The components' status alone, for a visitor who has not signed in: as public as
        `/health/components`, which reports the same checks."""
        return self._health.components(check_window(window_minutes), False)

    def logs(self, principal: Principal, level: str | None, text: str | None, limit: int) -> list[LogLine]:
        """The newest log lines of every instance at `level` or above containing `text`, newest
        first. Only administrators may read them: lines name users, paths and errors."""
        require_admin(principal, "read the registry's log lines")
        floor = min_level(level)
        needle = (text or "").strip()
        if len(needle) > MAX_TEXT:
            raise InvalidInput(f"the text filter is limited to {MAX_TEXT} characters")
        if not 1 <= limit <= MAX_LOG_LINES:
            raise InvalidInput(f"limit must be between 1 and {MAX_LOG_LINES}; got {limit}")
        self._recorder.flush()
        return self._store.logs(floor, needle or None, limit)
