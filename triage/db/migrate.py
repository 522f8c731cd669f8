"""Apply the shipped Alembic migrations at start, programmatically.

Safe when several processes start at once (``serve`` and ``import``, or listeners and
workers on one PostgreSQL): the upgrade runs in one transaction behind a lock, so the
second process waits, then finds the schema at head and does nothing.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from triage.db.engine import make_engine, writer
from triage.settings import Settings

MIGRATIONS_DIR = Path(__file__).with_name("migrations")

log = logging.getLogger(__name__)


class _QuietAlembic(logging.Filter):
    """Drops Alembic's per-connection chatter; "Running upgrade ..." lines stay."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(("Context impl", "Will assume"))


logging.getLogger("alembic.runtime.migration").addFilter(_QuietAlembic())

# pg_advisory_xact_lock key for schema upgrades ("msktriag" as a 64-bit integer).
_PG_MIGRATION_LOCK = 0x6D736B7472696167


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revision; a no-op when it is already there."""
    # On SQLite, BEGIN IMMEDIATE takes the write lock before Alembic reads its version.
    with writer(engine).begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
        command.upgrade(alembic_config(conn), "head")


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def migrated_engine(settings: Settings) -> Engine:
    """An engine on the configured database with the schema brought to head (what every
    command that uses the database does first)."""
    engine = make_engine(settings)
    try:
        upgrade(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine
