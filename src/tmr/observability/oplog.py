"""Log lines kept for the operations dashboard: a handler on the `tmr` logger buffers INFO and
above in memory until the next flush writes them to the metadata store.

The capture does not follow LOG_LEVEL, which governs only what reaches stderr and LOG_FILE: an
operator who silenced the console (LOG_LEVEL=0, as on a quiet host) still finds the registry's
recent lines on the dashboard, and debug chatter never fills the bounded table.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from tmr.observability.logs import RESERVED_ATTRIBUTES
from tmr.observability.models import LogLine

CAPTURED_LOGGER = "tmr"
CAPTURE_LEVEL = logging.INFO
LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}
_formatter = logging.Formatter()


class LogCapture(logging.Handler):
    """Buffers records as `LogLine`s (instance left blank: the flush that writes them knows it).
    Bounded: when more than `capacity` lines wait for a flush, the oldest are dropped and
    counted, so a flood of logs can cost memory only up to the bound."""

    keep_on_configure = True  # `configure_logging` replaces the console handlers, never this one

    def __init__(self, capacity: int) -> None:
        super().__init__(CAPTURE_LEVEL)
        self._lines: deque[LogLine] = deque(maxlen=capacity)
        self._guard = threading.Lock()
        self.dropped = 0

    def emit(self, record: logging.LogRecord) -> None:
        try:
            fields: dict[str, Any] = {k: v for k, v in vars(record).items() if k not in RESERVED_ATTRIBUTES}
            if record.exc_info:
                fields["exc"] = _formatter.formatException(record.exc_info)
            line = LogLine(
                at=datetime.fromtimestamp(record.created, UTC),
                instance="",
                levelno=record.levelno,
                level=record.levelname.lower(),
                logger=record.name,
                message=record.getMessage(),
                fields=fields,
            )
        except Exception:  # a bad format string must not break the code that logged it
            self.handleError(record)
            return
        with self._guard:
            if len(self._lines) == self._lines.maxlen:
                self.dropped += 1
            self._lines.append(line)

    def drain(self) -> list[LogLine]:
        with self._guard:
            lines = list(self._lines)
            self._lines.clear()
            return lines

    def requeue(self, lines: Iterable[LogLine]) -> None:
        """Put back lines a failed flush could not write, before any that arrived since (the
        bound still holds: the oldest are the ones dropped)."""
        with self._guard:
            newer = list(self._lines)
            self._lines.clear()
            for line in [*lines, *newer]:
                if len(self._lines) == self._lines.maxlen:
                    self.dropped += 1
                self._lines.append(line)

    def attach(self) -> None:
        """Start capturing the `tmr` loggers. The logger must let INFO through even when the
        console is silent (`configure_logging` keeps it so, and keeps this handler)."""
        logger = logging.getLogger(CAPTURED_LOGGER)
        if logger.getEffectiveLevel() > CAPTURE_LEVEL:
            logger.setLevel(CAPTURE_LEVEL)
        if self not in logger.handlers:
            logger.addHandler(self)

    def detach(self) -> None:
        logging.getLogger(CAPTURED_LOGGER).removeHandler(self)
