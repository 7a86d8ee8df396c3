"""What the operations dashboard needs from storage, and what the services it observes report."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from tmr.accounts.models import Principal
from tmr.observability.models import Activity, LogLine, MinuteRecord


class OperationsRepository(Protocol):
    """Bounded operational data shared by every worker and Lambda instance."""

    def save_minutes(self, records: Sequence[MinuteRecord], keep_since: datetime) -> None:
        """Insert or replace each record (by minute, instance and route), then drop every
        instance's minutes older than `keep_since`."""
        ...

    def minutes(self, since: datetime) -> list[MinuteRecord]:
        """Every instance's records of the minutes starting at or after `since`."""
        ...

    def append_logs(self, lines: Sequence[LogLine], keep: int) -> None:
        """Add the lines, then keep, of all instances' lines, the newest `keep` below WARNING and
        the newest `keep` at WARNING or above (a flood of INFO never pushes out the errors)."""
        ...

    def logs(self, min_level: int, text: str | None, limit: int) -> list[LogLine]:
        """The newest lines at `min_level` or above whose message, logger or fields contain
        `text` (case-insensitive), newest first."""
        ...


class OperationsFeed(Protocol):
    """The dashboard's use cases (`tmr.observability.operations.OperationsService`)."""

    def activity(self, principal: Principal, window_minutes: int = ...) -> Activity:
        """The last 5, 15 or 60 minutes of every instance, minute by minute (InvalidInput else)."""
        ...

    def status(self, window_minutes: int = ...) -> dict[str, Any]:
        """The components' status alone (public, like `/health/components`)."""
        ...

    def logs(self, principal: Principal, level: str | None, text: str | None, limit: int) -> list[LogLine]:
        """Recent log lines, newest first; administrators only (PermissionDenied else)."""
        ...
