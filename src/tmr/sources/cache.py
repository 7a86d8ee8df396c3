"""A small time-bounded, single-flight cache for upstream answers.

Thirteen models rated at once often share a dataset or a code repository: the first request
fetches, the others wait for its answer instead of asking the upstream again. Failures are not
cached, so a transient upstream error does not stick.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class TTLCache(Generic[T]):
    def __init__(
        self, ttl_s: float = 600.0, max_entries: int = 1024, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl = ttl_s
        self._clock = clock  # seconds from any origin: only differences are used
        self._max = max_entries
        self._values: OrderedDict[str, tuple[float, T]] = OrderedDict()
        self._inflight: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def get_or_compute(self, key: str, compute: Callable[[], T]) -> T:
        with self._guard:
            hit = self._fresh(key)
            if hit is not None:
                return hit[1]
            lock = self._inflight.setdefault(key, threading.Lock())
        with lock:
            with self._guard:
                hit = self._fresh(key)
                if hit is not None:
                    return hit[1]
            value = compute()
            with self._guard:
                self._values[key] = (self._clock(), value)
                self._values.move_to_end(key)
                while len(self._values) > self._max:
                    self._values.popitem(last=False)
                self._inflight.pop(key, None)
            return value

    def _fresh(self, key: str) -> tuple[float, T] | None:
        hit = self._values.get(key)
        if hit is not None and self._clock() - hit[0] <= self._ttl:
            return hit
        return None

    def clear(self) -> None:
        with self._guard:
            self._values.clear()
