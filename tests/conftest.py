"""Shared fixtures: settings on a temp data dir, and databases on SQLite and PostgreSQL.

- ``settings``: a fresh data dir per test (embedded SQLite under it).
- ``db_url``: parametrised, so a test using it (or ``engine``) runs on SQLite and on a
  real PostgreSQL (marked ``postgres`` and ``integration``), each time a new database.
- ``db_settings``: ``settings`` pointing at ``db_url``.
- ``engine``: an engine on ``db_url`` with the migrations applied.
- ``pg_server`` / ``pg_database``: the session's PostgreSQL (started with ``pgserver``,
  on the first test that needs it) and a fresh, empty database on it.
- ``clock``: a settable UTC clock (``Clock``), for code that takes ``clock=`` or ``now=``.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
import time
import traceback
import uuid
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from triage.db.engine import make_engine
from triage.db.migrate import upgrade
from triage.settings import Settings, load_settings

BACKENDS = [
    "sqlite",
    pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.integration]),
]


T0 = datetime(2024, 3, 15, 10, 0, tzinfo=UTC)

# How long, after the last test, threads a test left behind get to end.
_LINGER_SECONDS = 15.0


def pytest_unconfigure(config: pytest.Config) -> None:
    """Fail, naming them, when threads a test started outlive the session.

    The interpreter waits for every non-daemon thread at exit: one stuck thread (a
    listener that cannot stop, say) would otherwise hang the run silently until CI
    gives up on it."""
    deadline = time.monotonic() + _LINGER_SECONDS
    while True:
        stuck = [
            t
            for t in threading.enumerate()
            if t is not threading.main_thread() and not t.daemon and t.is_alive()
        ]
        if not stuck or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    if not stuck:
        return
    frames = sys._current_frames()
    out = sys.__stderr__ or sys.stderr
    out.write(f"\n{len(stuck)} thread(s) still running after the tests ended:\n")
    for t in stuck:
        frame = frames.get(t.ident or 0)
        stack = "".join(traceback.format_stack(frame)) if frame is not None else ""
        out.write(f"--- {t.name}\n{stack}")
    out.flush()
    os._exit(3)


class Clock:
    """A UTC clock that stands still until moved; call it for the time."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now

    def at(self, seconds: float) -> datetime:
        """Move to ``seconds`` after ``T0``."""
        self.now = T0 + timedelta(seconds=seconds)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    return load_settings(environ={}, data_dir=data_dir)


class PostgresServer:
    """The session's PostgreSQL: hands out fresh databases by URL."""

    def __init__(self, server: Any) -> None:
        self._server = server

    def admin_uri(self) -> str:
        return self._uri(None)

    def url(self, database: str) -> str:
        return self._uri(database).replace("postgresql://", "postgresql+psycopg://", 1)

    def _uri(self, database: str | None) -> str:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR not set
            return str(self._server.get_uri(database))

    def create_database(self) -> str:
        """A new, empty database; its SQLAlchemy URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:16]}"
        with psycopg.connect(self.admin_uri(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        import psycopg

        name = url.rsplit("/", 1)[1].split("?", 1)[0]
        with psycopg.connect(self.admin_uri(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    import psycopg

    # Not pytest's tmp dir: its parents are private to root, and pgserver runs the server
    # as an unprivileged user when we are root.
    root = Path(tempfile.mkdtemp(prefix="msk-triage-pg-"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR not set
        from pgserver.postgres_server import get_server

        server = get_server(root, cleanup_mode="stop")
    try:
        pg = PostgresServer(server)
        # Throw-away data: PostgreSQL's own durability only slows the tests down.
        with psycopg.connect(pg.admin_uri(), autocommit=True) as conn:
            for setting in ("fsync", "synchronous_commit", "full_page_writes"):
                conn.execute(f"ALTER SYSTEM SET {setting} = off")
            conn.execute("SELECT pg_reload_conf()")
        yield pg
    finally:
        server.cleanup()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_database(pg_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty PostgreSQL database (no schema); its SQLAlchemy URL."""
    url = pg_server.create_database()
    yield url
    pg_server.drop_database(url)


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, settings: Settings) -> Iterator[str]:
    """An empty database: SQLite under the data dir, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield settings.resolved_database_url
        return
    yield request.getfixturevalue("pg_database")


@pytest.fixture
def db_settings(settings: Settings, db_url: str) -> Settings:
    return settings.model_copy(update={"database_url": db_url})


@pytest.fixture
def engine(db_settings: Settings) -> Iterator[Engine]:
    """An engine on ``db_url`` with the schema at head."""
    eng = make_engine(db_settings)
    upgrade(eng)
    yield eng
    eng.dispose()
