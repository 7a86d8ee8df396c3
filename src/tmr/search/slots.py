"""Scan slots: how many regex scans run at once in this process, and how many may wait for one.

A scan reads every README, so it runs in a thread; *waiting* for a slot must not hold one. The
server's thread pool is shared by every synchronous route (`/health`, downloads, the pages), so
requests parked on a blocking semaphore inside that pool would starve them all. The API's async
route therefore waits here on the event loop (`acquire`), a bounded number at a time for a
bounded time, and only then hands its scan to a thread. A door that already runs in a worker
thread never waits: it takes a free slot or is told to retry (`try_acquire`).

Slots are handed over directly on release (first come, first served), under one lock, so the
sync and async doors share them safely whichever thread or loop they run on.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections import deque
from dataclasses import dataclass, field

from tmr.errors import Busy


@dataclass(eq=False, slots=True)
class _Waiter:
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[None]
    granted: bool = field(default=False)


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class ScanSlots:
    def __init__(self, slots: int, *, max_waiting: int, wait_s: float) -> None:
        self._lock = threading.Lock()
        self._free = max(1, slots)
        self._max_waiting = max(0, max_waiting)
        self._wait_s = max(0.0, wait_s)
        self._waiting: deque[_Waiter] = deque()

    @property
    def waiting(self) -> int:
        """Requests waiting for a slot now (for the operations view and the tests)."""
        with self._lock:
            return len(self._waiting)

    def _busy(self) -> Busy:
        retry = max(1, min(30, math.ceil(self._wait_s)))
        return Busy("too many regex searches in progress; retry shortly", retry_after=retry)

    def try_acquire(self) -> None:
        """Take a free slot now, or raise Busy; never waits (for doors already on a thread)."""
        with self._lock:
            if self._free > 0 and not self._waiting:
                self._free -= 1
                return
        raise self._busy()

    async def acquire(self) -> None:
        """Wait on the event loop for a slot: Busy at once when the queue is full, or when no
        slot came within the wait. Cancelling the wait gives back a slot granted meanwhile."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._free > 0 and not self._waiting:
                self._free -= 1
                return
            if len(self._waiting) >= self._max_waiting:
                raise self._busy()
            waiter = _Waiter(loop, loop.create_future())
            self._waiting.append(waiter)
        try:
            await asyncio.wait_for(waiter.future, self._wait_s)
        except BaseException as exc:
            with self._lock:
                granted = waiter.granted
                if not granted:
                    self._waiting.remove(waiter)
            if granted and isinstance(exc, TimeoutError):
                return  # the slot arrived as the wait ran out: it is ours
            if granted:
                self.release()
            if isinstance(exc, TimeoutError):
                raise self._busy() from None
            raise

    def release(self) -> None:
        """Give a slot back: to the longest waiter, else to the free pool."""
        with self._lock:
            while self._waiting:
                waiter = self._waiting.popleft()
                waiter.granted = True
                try:
                    waiter.loop.call_soon_threadsafe(_wake, waiter.future)
                except RuntimeError:  # its loop has closed: nobody is waiting there any more
                    continue
                return
            self._free += 1
