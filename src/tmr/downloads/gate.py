"""How many download plans run their Python at once in one worker.

A plan that is already settled (its files stored, its digest known, no monitor) is a millisecond of
Python and a handful of queries. Under a hundred concurrent downloads, forty pool threads each
running one fought for the GIL, and the hand-offs, not the plans, were the time (docs/performance.md):
with at most two plans running, a worker served the same load with a fifth less CPU per download.
A plan that must wait (mirroring from upstream, hashing a package, running a monitor, asking S3)
steps aside while it waits, so that a slow download never holds up the settled ones behind it.

On SQLite (`inline`), the contract's download route first tries the plan on the event loop itself,
without a slot: there a step aside is `WouldWait` (serving/loop.py), and the plan runs in a thread.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from tmr.serving.loop import WouldWait, may_wait


class PlanGate:
    """At most `width` holders at a time (0: no limit). Holding is per thread and re-entrant.
    On the event loop (inside `without_waiting()`) nothing is held and nothing may wait."""

    def __init__(self, width: int, *, inline: bool = False) -> None:
        self.width = width
        self.inline = inline  # plans may first be tried on the event loop
        self._slots = threading.BoundedSemaphore(width) if width > 0 else None
        self._held = threading.local()

    def _depth(self) -> int:
        depth: int = getattr(self._held, "depth", 0)
        return depth

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Wait for a slot unless this thread already holds one; give it back at the end."""
        if not may_wait():
            yield
            return
        depth = self._depth()
        if self._slots is not None and depth == 0:
            self._slots.acquire()
        self._held.depth = depth + 1
        try:
            yield
        finally:
            self._held.depth = depth
            if self._slots is not None and depth == 0:
                self._slots.release()

    @contextlib.contextmanager
    def stepped_aside(self) -> Iterator[None]:
        """Let another plan run while this thread waits on something slow; take a slot again
        afterwards. Nothing happens on a thread that holds no slot. On the event loop: WouldWait."""
        if not may_wait():
            raise WouldWait("the plan has something slow to wait for")
        depth = self._depth()
        if self._slots is None or depth == 0:
            yield
            return
        self._held.depth = 0
        self._slots.release()
        try:
            yield
        finally:
            self._slots.acquire()
            self._held.depth = depth
