"""SQLite writers of one process queue on a lock of the engine's instead of polling SQLite's busy
handler (storage/sessions.py): every concurrent write lands, a write inside a write still works,
and PostgreSQL engines take no lock."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import Column, Integer, MetaData, Table, create_engine, func, insert, select

from tmr.storage.database import make_engine
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
    assert not hasattr(SqlRepository(engine)._writer, "acquire")
