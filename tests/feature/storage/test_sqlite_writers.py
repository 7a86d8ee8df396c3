"""SQLite writers of one process queue on a lock of the engine's instead of polling SQLite's busy
handler (storage/sessions.py): every concurrent write lands, a write inside a write still works,
PostgreSQL engines take no lock, and on the event loop (serving/loop.py) a write that would wait
is WouldWait with nothing written."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, func, insert, select

from tmr.serving.loop import WouldWait, without_waiting
from tmr.storage.database import BUSY_TIMEOUT_MS, make_engine
from tmr.storage.sessions import SqlRepository

COUNTS = Table("counts", MetaData(), Column("n", Integer, nullable=False))


def _repository(tmp_path: Path) -> SqlRepository:
    engine = make_engine(f"sqlite:///{tmp_path / 'writers.sqlite3'}")
    COUNTS.metadata.create_all(engine)
    return SqlRepository(engine)


def test_concurrent_writers_all_land_and_the_lock_is_the_engines(tmp_path: Path) -> None:
    one = _repository(tmp_path)
    other = SqlRepository(one.engine)
    assert one._writer is other._writer  # every repository of an engine queues on one lock

    def write(repository: SqlRepository) -> None:
        for _ in range(50):
            with repository._write() as session:
                session.execute(insert(COUNTS).values(n=1))

    threads = [threading.Thread(target=write, args=(r,)) for r in (one, other) * 4]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with one._read() as session:
        assert session.scalar(select(func.count()).select_from(COUNTS)) == 400


def test_a_write_inside_a_write_of_the_same_thread_goes_on(tmp_path: Path) -> None:
    repository = _repository(tmp_path)
    with repository._write() as outer:
        outer.execute(insert(COUNTS).values(n=1))
        outer.commit()
        with repository._write() as inner:  # reentrant: no deadlock on the lock itself
            inner.execute(insert(COUNTS).values(n=2))
    with repository._read() as session:
        assert sorted(session.scalars(select(COUNTS.c.n))) == [1, 2]


def test_other_databases_take_no_lock() -> None:
    engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert SqlRepository(engine)._writer is None


def _held_elsewhere(lock: threading.RLock) -> tuple[threading.Event, threading.Event]:
    """Hold `lock` in another thread until the returned `release` is set."""
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        with lock:
            taken.set()
            release.wait(30)

    threading.Thread(target=hold, daemon=True).start()
    assert taken.wait(30)
    return taken, release


def test_on_the_event_loop_a_taken_turn_is_would_wait_and_nothing_is_written(tmp_path: Path) -> None:
    repository = _repository(tmp_path)
    assert repository._writer is not None
    _taken, release = _held_elsewhere(repository._writer)
    try:
        with pytest.raises(WouldWait), without_waiting(), repository._writing() as connection:
            connection.execute(insert(COUNTS).values(n=1))
    finally:
        release.set()
    with repository._writing() as connection:  # in a thread, the same write waits its turn
        connection.execute(insert(COUNTS).values(n=2))
    with repository._read() as session:
        assert list(session.scalars(select(COUNTS.c.n))) == [2]


def test_on_the_event_loop_another_process_writing_is_would_wait_not_a_sleep(tmp_path: Path) -> None:
    repository = _repository(tmp_path)
    other_process = sqlite3.connect(tmp_path / "writers.sqlite3", isolation_level=None)
    other_process.execute("BEGIN IMMEDIATE")  # holds SQLite's write lock, as another worker would
    try:
        with pytest.raises(WouldWait), without_waiting(), repository._writing() as connection:
            connection.execute(insert(COUNTS).values(n=1))
    finally:
        other_process.execute("ROLLBACK")
        other_process.close()
    with repository._reading() as connection:  # the busy handler is back for everyone else
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == BUSY_TIMEOUT_MS
        assert connection.scalar(select(func.count()).select_from(COUNTS)) == 0
    with without_waiting(), repository._writing() as connection:  # free: written on the loop
        connection.execute(insert(COUNTS).values(n=3))
    with repository._read() as session:
        assert list(session.scalars(select(COUNTS.c.n))) == [3]
