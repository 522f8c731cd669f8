from __future__ import annotations

import fcntl
import os
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from triage.db.engine import SQLiteWriteLock, make_engine, write_lock, writer
from triage.settings import Settings, load_settings


def test_sqlite_under_the_data_dir_with_durable_pragmas(settings: Settings) -> None:
    engine = make_engine(settings)
    try:
        with engine.connect() as conn:
            pragma = {
                name: conn.execute(text(f"PRAGMA {name}")).scalar()
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            }
        assert pragma == {
            "journal_mode": "wal",
            "synchronous": 2,  # FULL
            "foreign_keys": 1,
            "busy_timeout": 30000,
        }
        assert (settings.data_dir / "msk-triage.db").exists()
    finally:
        engine.dispose()


def test_postgresql_urls_use_psycopg_3() -> None:
    engine = make_engine(
        load_settings(environ={}, database_url="postgresql://u:p@db.example/triage")
    )
    assert engine.dialect.driver == "psycopg"
    assert engine.url.drivername == "postgresql+psycopg"


def test_other_databases_are_refused() -> None:
    with pytest.raises(ValueError, match="unsupported database 'mysql'"):
        make_engine(load_settings(environ={}, database_url="mysql://u@h/db"))


def test_making_an_engine_does_not_connect(tmp_path: Path) -> None:
    settings = load_settings(
        environ={}, database_url="postgresql+psycopg://u:p@127.0.0.1:1/nothing-listens-here"
    )
    make_engine(settings)  # would raise if it connected


def test_writer_takes_the_sqlite_write_lock_first(settings: Settings) -> None:
    engine = make_engine(settings)
    database = settings.data_dir / "msk-triage.db"

    def lock_is_free() -> bool:
        other = sqlite3.connect(database, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            return True
        except sqlite3.OperationalError:
            return False
        finally:
            other.close()

    try:
        with engine.begin() as conn:
            conn.execute(text("SELECT 1"))
            assert lock_is_free()  # a plain transaction that only read takes no lock
        with writer(engine).begin() as conn:
            conn.execute(text("SELECT 1"))
            assert not lock_is_free()
        assert lock_is_free()
    finally:
        engine.dispose()


def test_engine_fixture_is_migrated(engine: Engine) -> None:
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM study")).scalar() == 0


def test_a_transaction_left_open_on_a_pooled_connection_is_ended(settings: Settings) -> None:
    engine = make_engine(settings)
    try:
        with engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            assert raw is not None
            raw.execute("BEGIN")  # as a commit that failed half-way can leave it
            assert conn.execute(text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()


def test_one_write_lock_per_sqlite_database(settings: Settings, tmp_path: Path) -> None:
    first, second = make_engine(settings), make_engine(settings)
    other = make_engine(load_settings(environ={}, data_dir=tmp_path / "other"))
    postgres = make_engine(load_settings(environ={}, database_url="postgresql://u@h/db"))
    try:
        assert write_lock(first) is write_lock(second)  # shared by the process's writers
        assert write_lock(first) is not write_lock(other)
        assert not isinstance(write_lock(postgres), SQLiteWriteLock)
    finally:
        for engine in (first, second, other, postgres):
            engine.dispose()


def test_the_write_lock_also_excludes_other_processes(settings: Settings) -> None:
    engine = make_engine(settings)
    lock_file = Path(f"{(settings.data_dir / 'msk-triage.db').resolve()}-writelock")

    def other_process_can_lock() -> bool:
        # another open file description is what another process would have
        fd = os.open(lock_file, os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        finally:
            os.close(fd)
        return True

    try:
        with write_lock(engine):
            assert not other_process_can_lock()
        assert other_process_can_lock()
    finally:
        engine.dispose()
