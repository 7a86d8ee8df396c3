"""JSON logs, one object per line. LOG_LEVEL: 0 silent, 1 info, 2 debug; LOG_FILE adds a file.

LOG_LEVEL governs the console and LOG_FILE only: the `tmr` logger itself always lets INFO through,
for the operations dashboard's capture (`observability.oplog`), whose handler survives a
reconfiguration (it belongs to the registry, not to the console).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESERVED_ATTRIBUTES = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in RESERVED_ATTRIBUTES})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(level: int, log_file: Path | None) -> None:
    """Route the `tmr` loggers to stderr (and LOG_FILE) as JSON lines."""
    root = logging.getLogger("tmr")
    for handler in list(root.handlers):
        if getattr(handler, "keep_on_configure", False):
            continue
        root.removeHandler(handler)
        handler.close()
    root.propagate = False
    console = logging.DEBUG if level >= 2 else logging.INFO
    root.setLevel(console)  # INFO at least, even when silent: see the module's docstring
    if level <= 0:
        root.addHandler(logging.NullHandler())
        return
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
    for handler in handlers:
        handler.setLevel(console)
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
