"""Work done on the event loop must never wait.

The busiest request, a download that is already settled, is cheaper on the event loop than the hop
to a worker thread and back (docs/performance.md). The route runs it there inside
`without_waiting()`; any step that would have to wait (a lock another thread holds, SQLite's
busy handler, an upstream, a monitor) raises `WouldWait` before anything is written instead, and
the route runs the plan again in a thread, where waiting is fine.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

_NO_WAITING: ContextVar[bool] = ContextVar("tmr_no_waiting", default=False)


class WouldWait(Exception):
    """The work reached a step that would wait; nothing it was to write has been written."""


@contextlib.contextmanager
def without_waiting() -> Iterator[None]:
    token = _NO_WAITING.set(True)
    try:
        yield
    finally:
        _NO_WAITING.reset(token)


def may_wait() -> bool:
    """False inside `without_waiting()`."""
    return not _NO_WAITING.get()
