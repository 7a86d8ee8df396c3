"""What every SQL repository shares: one engine, one transaction per method, and the database's
failures turned into the domain's errors."""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Iterator

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from tmr.errors import DatabaseUnavailable, DiskFull, InvalidInput
from tmr.serving.loop import WouldWait, may_wait
from tmr.storage.database import BUSY_TIMEOUT_MS


def unstorable(text: str) -> bool:
    """Text no row can hold on every backend (PostgreSQL refuses NUL): looking it up finds nothing
    the same way everywhere, instead of an error on one backend."""
    return "\0" in text


def _disk_full(exc: OperationalError | InterfaceError) -> bool:
    """SQLite's SQLITE_FULL ("database or disk is full"): the registry's own disk. (PostgreSQL's
    full disk is its server's, reported as the database.)"""
    return "database or disk is full" in str(exc.orig).lower()


@contextlib.contextmanager
def available() -> Iterator[None]:
    """A database that cannot be reached is a StorageUnavailable (503), not an unexpected 500."""
    try:
        yield
    except (OperationalError, InterfaceError) as exc:
        if _disk_full(exc):
            raise DiskFull(f"metadata store unavailable: {exc.orig}") from exc
        raise DatabaseUnavailable(f"metadata store unavailable: {exc.orig}") from exc
    except DataError as exc:  # a value the database cannot hold (PostgreSQL text refuses NUL)
        raise InvalidInput(f"the metadata store refused a value: {exc.orig}") from exc


_SQLITE_WRITERS: weakref.WeakKeyDictionary[Engine, threading.RLock] = weakref.WeakKeyDictionary()
_SQLITE_WRITERS_GUARD = threading.Lock()


def _sqlite_writer(engine: Engine) -> threading.RLock | None:
    """SQLite takes one writer at a time, and a second one waits in its busy handler, which polls
    by sleeping 1, 2, 5 … 100 ms. Under concurrent downloads (each spends a token use and records
    itself) those sleeps, not the writes, were the time (docs/performance.md). Writers of one
    process therefore queue on a lock of the engine's and enter SQLite one after another; other
    processes still meet the busy handler. PostgreSQL needs no such lock."""
    if engine.dialect.name != "sqlite":
        return None
    with _SQLITE_WRITERS_GUARD:
        lock = _SQLITE_WRITERS.get(engine)
        if lock is None:
            lock = _SQLITE_WRITERS[engine] = threading.RLock()  # reentrant: a write inside a write
    return lock


class SqlRepository:
    """Base of the repositories over the metadata store's engine (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._writer = _sqlite_writer(engine)

    @contextlib.contextmanager
    def _read(self) -> Iterator[Session]:
        with available(), self._sessions() as session:
            yield session

    @contextlib.contextmanager
    def _write(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with self._writer_turn(), available(), self._sessions.begin() as session:
            yield session

    @contextlib.contextmanager
    def _writer_turn(self) -> Iterator[None]:
        """This process's turn to write on SQLite (`_sqlite_writer`). On the event loop
        (`serving.loop`), a turn that is not free at once is `WouldWait`."""
        if self._writer is None:
            yield
        elif may_wait():
            with self._writer:
                yield
        elif self._writer.acquire(blocking=False):
            try:
                yield
            finally:
                self._writer.release()
        else:
            raise WouldWait("another write of this process is under way")

    # The hot path of every download (the token, the artifact, its monitor, the history) runs
    # statements built once, at import, on a Core connection: a Session's execution path and a
    # statement built per call were two thirds of those methods' time (docs/performance.md).
    @contextlib.contextmanager
    def _reading(self) -> Iterator[Connection]:
        with available(), self.engine.connect() as connection:
            yield connection

    @contextlib.contextmanager
    def _writing(self) -> Iterator[Connection]:
        """One transaction on a Core connection, like `_write`. On the event loop, SQLite's busy
        handler (another process writing) is `WouldWait` rather than a sleep."""
        with self._writer_turn(), available(), self.engine.begin() as connection:
            if self._writer is None or may_wait():
                yield connection
                return
            # On the raw connection: a statement through SQLAlchemy costs ten times as much.
            raw = connection.connection.driver_connection
            assert raw is not None
            raw.execute("PRAGMA busy_timeout=0")
            try:
                yield connection
            except OperationalError as exc:
                if "locked" in str(exc.orig) or "busy" in str(exc.orig):
                    raise WouldWait("another process is writing") from exc
                raise
            finally:
                raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
