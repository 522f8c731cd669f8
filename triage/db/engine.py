"""The database engine, made from the settings at the entry point (never at import).

SQLite (the default, under the data dir) runs in WAL mode with ``synchronous=FULL``: a
commit is on disk before we acknowledge anything. PostgreSQL is reached through psycopg 3.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading
import time
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import ConnectionPoolEntry

from triage.settings import Settings

log = logging.getLogger(__name__)

# How long a writer waits for SQLite's single write lock before giving up (ms).
SQLITE_BUSY_TIMEOUT_MS = 30_000

# Execution option: begin SQLite transactions with BEGIN IMMEDIATE (take the write lock
# first). A transaction that reads and then writes otherwise fails at once with
# SQLITE_BUSY_SNAPSHOT when another writer committed in between, instead of waiting.
IMMEDIATE = "msk_triage_sqlite_immediate"


def make_engine(settings: Settings) -> Engine:
    url = make_url(settings.resolved_database_url)
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(settings, url.render_as_string(hide_password=False))
    if url.get_backend_name() == "postgresql":
        if url.drivername in ("postgresql", "postgres"):
            url = url.set(drivername="postgresql+psycopg")
        return create_engine(
            url,
            hide_parameters=True,  # errors and logs must not carry patient names
            pool_size=5,
            max_overflow=max(10, settings.max_associations),
            pool_recycle=3600,
        )
    raise ValueError(
        f"unsupported database {url.get_backend_name()!r}: use sqlite or postgresql+psycopg"
    )


def writer(engine: Engine) -> Engine:
    """The engine whose transactions take SQLite's write lock up front (no-op elsewhere)."""
    return engine.execution_options(**{IMMEDIATE: True})


class SQLiteWriteLock:
    """One writer at a time to a SQLite database, across threads and processes.

    SQLite admits one writer at a time, and a writer that finds it busy sleeps in
    SQLite's busy handler (1, 2, 5 ... 100 ms between tries): under a steady stream of
    ingest, other writers (another association, a job, ``msk-triage import``, a second
    listener process) would wait far longer than the lock is ever held. Writers queue
    here instead - a mutex for this process's threads, then ``flock`` on a file beside
    the database for the other processes - which hands over at once.
    """

    def __init__(self, path: Path | None) -> None:
        self._path = path  # None: an in-memory database, this process only
        self._threads = threading.Lock()
        self._fd: int | None = None
        self._pid = 0

    def __enter__(self) -> SQLiteWriteLock:
        self._threads.acquire()
        try:
            if self._path is not None:
                fcntl.flock(self._descriptor(), fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def _descriptor(self) -> int:
        # A forked child shares its parent's descriptor (and so its flock): reopen.
        if self._fd is None or self._pid != os.getpid():
            assert self._path is not None
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o640)
            self._pid = os.getpid()
        return self._fd


_WRITE_LOCKS: dict[str, SQLiteWriteLock] = {}
_WRITE_LOCKS_GUARD = threading.Lock()


def write_lock(engine: Engine) -> AbstractContextManager[object]:
    """What writers to ``engine`` hold around a write transaction: ``SQLiteWriteLock``
    (one per database file and process) on SQLite; nothing on PostgreSQL, which locks
    rows."""
    if engine.dialect.name != "sqlite":
        return nullcontext()
    database = engine.url.database or ":memory:"
    with _WRITE_LOCKS_GUARD:
        lock = _WRITE_LOCKS.get(database)
        if lock is None:
            in_memory = database == ":memory:" or database.startswith("file:")
            path = None if in_memory else Path(f"{Path(database).resolve()}-writelock")
            lock = _WRITE_LOCKS[database] = SQLiteWriteLock(path)
        return lock


def _sqlite_engine(settings: Settings, url: str) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        hide_parameters=True,  # errors and logs must not carry patient names
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        pool_size=5,
        max_overflow=max(10, settings.max_associations),
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, record: ConnectionPoolEntry) -> None:
        # We issue BEGIN ourselves (below); pysqlite's own implicit BEGIN is turned off.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            _use_wal(cursor)
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        raw = conn.connection.dbapi_connection
        if raw is None:  # a connection being begun always has its DBAPI connection
            raise RuntimeError("no SQLite connection to begin a transaction on")
        if getattr(raw, "in_transaction", False):
            # A commit that failed half-way can leave SQLite inside its transaction;
            # end it rather than fail every later BEGIN on this pooled connection.
            log.warning("rolling back a transaction left open on a pooled connection")
            raw.rollback()
        immediate = conn.get_execution_options().get(IMMEDIATE)
        # Straight to the driver rather than through SQLAlchemy's execute: this runs
        # twice for every ingested object.
        cursor = raw.cursor()
        try:
            cursor.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
        finally:
            cursor.close()

    return engine


def _use_wal(cursor: sqlite3.Cursor) -> None:
    """Put the database in WAL mode (a lasting property of the file).

    Switching needs an exclusive lock and SQLite does not wait for it (no busy
    handler), so when several processes open a new database at once the losers retry
    until the winner has switched it.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() == "wal":
                return
            cursor.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.005)
