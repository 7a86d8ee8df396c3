"""This instance's activity, minute by minute, written to the metadata store in flushes.

Requests (from the request-log middleware), downloads and registrations (reported by their
services) are added to in-memory aggregates keyed by minute and route. The instance owns its rows
outright, so a flush upserts each changed minute with its whole value: a retried or repeated
flush is exact, and readers simply add every instance's rows.

Nothing may rely on a background thread (a Lambda instance is frozen between requests), so a
flush happens when a request ends and `flush_interval_s` has passed since the last one (in a
worker thread, by the middleware), before the dashboard reads, and when the registry closes. A
failed flush is logged and retried by the next one; it never fails a request.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from tmr.artifacts.models import ArtifactType
from tmr.observability import histogram
from tmr.observability.interfaces import OperationsRepository
from tmr.observability.models import EVENTS_ROUTE
from tmr.observability.oplog import LogCapture
from tmr.observability.series import Tally

log = logging.getLogger("tmr.observability")

RETENTION_MINUTES = 120  # twice the dashboard's longest window
LOG_ROWS = 5_000  # per band (INFO; WARNING and above) in the shared table
LOG_BUFFER = 2_000  # lines waiting for a flush in this instance


def minute_of(ts: float) -> int:
    """The start of ts's minute, in whole seconds since the epoch."""
    return int(ts // 60) * 60


def as_datetime(minute: int) -> datetime:
    return datetime.fromtimestamp(minute, UTC)


def new_instance_id() -> str:
    """Unique per process: host, pid and a random suffix (pids repeat across hosts and reboots)."""
    return f"{socket.gethostname()[:32]}-{os.getpid()}-{secrets.token_hex(4)}"


class ActivityRecorder:
    """Implements the download and registration services' event protocols and the middleware's
    request sink; `flush` writes what changed since the last flush."""

    def __init__(
        self,
        store: OperationsRepository,
        *,
        flush_interval_s: float,
        retention_minutes: int = RETENTION_MINUTES,
        log_rows: int = LOG_ROWS,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._interval = flush_interval_s
        self._retention = retention_minutes
        self._log_rows = log_rows
        self._clock = clock  # wall clock: minutes are shared with other instances
        self._monotonic = monotonic  # how long since the last flush: immune to clock steps
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._minutes: dict[tuple[int, str], Tally] = {}
        self._dirty: set[tuple[int, str]] = set()
        self._last_flush: float | None = None
        self._pid = os.getpid()
        self.instance = new_instance_id()
        self.logs = LogCapture(LOG_BUFFER)

    # -- recording -------------------------------------------------------------------------
    def _minute(self, route: str) -> Tally:
        """The current minute's aggregate of `route`; call with the lock held."""
        if os.getpid() != self._pid:
            # A forked worker inherited its parent's minutes and id: its own rows must not
            # replace the parent's, so it starts afresh under a new id.
            self._pid, self.instance = os.getpid(), new_instance_id()
            self._minutes.clear()
            self._dirty.clear()
        key = (minute_of(self._clock()), route[:256])
        self._dirty.add(key)
        aggregate = self._minutes.get(key)
        if aggregate is None:
            aggregate = self._minutes[key] = Tally()
        return aggregate

    def request(self, route: str, status: int, latency_s: float) -> None:
        latency_ms = max(0.0, latency_s * 1000)
        with self._lock:
            minute = self._minute(route)
            minute.requests += 1
            minute.errors += status >= 400
            minute.server_errors += status >= 500
            minute.latency_ms_sum += latency_ms
            bucket = histogram.bucket_of(latency_ms)
            minute.latency[bucket] = minute.latency.get(bucket, 0) + 1

    def downloaded(self, size: int, *, started: bool) -> None:
        """Bytes answered for a package or a file, whole or a range, streamed or redirected; a
        download is counted once, by the answer that starts at byte 0 (a resumed one is not new)."""
        with self._lock:
            minute = self._minute(EVENTS_ROUTE)
            minute.downloads += started
            minute.bytes_served += max(0, size)

    def registered(self, type_: ArtifactType) -> None:
        """An artifact committed by the registration service."""
        with self._lock:
            counts = self._minute(EVENTS_ROUTE).registrations
            counts[type_.value] = counts.get(type_.value, 0) + 1

    # -- flushing --------------------------------------------------------------------------
    def flush_due(self) -> bool:
        last = self._last_flush
        return last is None or self._monotonic() - last >= self._interval

    def flush(self, *, wait: bool = True) -> bool:
        """Write the changed minutes and the buffered log lines; True when both were written.
        With `wait=False` a flush already under way (another request's) is left to finish
        alone. Never raises: a failure is logged and the data is kept for the next flush."""
        if not self._flushing.acquire(blocking=wait):
            return False
        try:
            self._last_flush = self._monotonic()
            return self._write_minutes() & self._write_logs()
        finally:
            self._flushing.release()

    def _write_minutes(self) -> bool:
        cutoff = minute_of(self._clock()) - self._retention * 60
        with self._lock:
            for key in [k for k in self._minutes if k[0] < cutoff]:
                del self._minutes[key]
            dirty = [key for key in self._dirty if key in self._minutes]
            records = [self._minutes[key].record(as_datetime(key[0]), self.instance, key[1]) for key in dirty]
            self._dirty.clear()
        try:
            self._store.save_minutes(records, as_datetime(cutoff))
        except Exception as exc:  # any failure: keep the data, serve on
            with self._lock:
                self._dirty.update(key for key in dirty if key in self._minutes)
            log.warning("operations: saving %d minute records failed: %s", len(records), exc)
            return False
        return True

    def _write_logs(self) -> bool:
        lines = self.logs.drain()
        if not lines:
            return True
        try:
            self._store.append_logs([replace(line, instance=self.instance) for line in lines], self._log_rows)
        except Exception as exc:  # any failure: keep the lines, serve on
            self.logs.requeue(lines)
            log.warning("operations: saving %d log lines failed: %s", len(lines), exc)
            return False
        return True

    def close(self) -> None:
        """The last flush, then stop capturing logs."""
        self.flush()
        self.logs.detach()


def window_start(now: float, window_minutes: int) -> datetime:
    """The first minute of a window of `window_minutes` ending with the current minute."""
    return as_datetime(minute_of(now)) - timedelta(minutes=window_minutes - 1)
