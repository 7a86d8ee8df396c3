"""Records every error message the code constructs during a test run, for scripts/error_messages.py.

Active only when `TMR_ERROR_CAPTURE` names a file. `TmrError.__init__` (and Starlette's
`HTTPException.__init__`, whose `detail` the API shows as is) is wrapped so each message is
appended to that file as one JSON line `{"cls": ..., "message": ...}`. Constructing, not raising,
is what counts: the script inventories constructions, and an error built and then answered is
still a message the user sees. Appends take an exclusive lock, so pytest processes and any
subprocess that loads this module may share one file without interleaving lines.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable
from typing import Any

import pytest
from starlette.exceptions import HTTPException

from tmr.errors import TmrError

ENV = "TMR_ERROR_CAPTURE"

_originals: list[tuple[type[BaseException], Callable[..., None]]] = []


def record(path: str, cls: str, message: object) -> None:
    """Append one line; a failure to record must never change the behaviour under test."""
    line = json.dumps({"cls": cls, "message": str(message)}, ensure_ascii=False) + "\n"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    except OSError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, line.encode("utf-8"))
    except OSError:
        pass
    finally:
        os.close(fd)  # closing releases the lock


def _wrap(cls: type[BaseException], field: str, path: str) -> None:
    original: Callable[..., None] = cls.__init__

    def __init__(self: BaseException, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        value = getattr(self, field, None)
        if isinstance(value, str):
            record(path, type(self).__name__, value)

    __init__.__wrapped__ = original  # type: ignore[attr-defined]
    _originals.append((cls, original))
    cls.__init__ = __init__  # type: ignore[method-assign]


def install(path: str) -> None:
    """Wrap the constructors once; a second call (pytest re-configuring) changes nothing."""
    if _originals:
        return
    _wrap(TmrError, "message", path)
    _wrap(HTTPException, "detail", path)


def uninstall() -> None:
    while _originals:
        cls, original = _originals.pop()
        cls.__init__ = original  # type: ignore[method-assign]


def pytest_configure(config: pytest.Config) -> None:
    path = os.environ.get(ENV)
    if path:
        install(os.path.abspath(path))


def pytest_unconfigure(config: pytest.Config) -> None:
    uninstall()
