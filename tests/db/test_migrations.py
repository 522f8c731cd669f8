"""The shipped migrations: applied at start, idempotent, concurrent-safe, and in step
with the models on both backends."""

from __future__ import annotations

import threading

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect
from sqlmodel import SQLModel

import triage.db.models  # noqa: F401 - the tables
from triage.db.engine import make_engine, writer
from triage.db.migrate import alembic_config, current_revision, head_revision, upgrade
from triage.settings import Settings

TABLES = {
    "study",
    "series",
    "instance",
    "job_run",
    "worklist_item",
    "flag",
    "triage_run",
    "audit_event",
    "routing_cursor",
    "alembic_version",
}


def test_upgrade_creates_the_schema_and_is_idempotent(db_settings: Settings) -> None:
    engine = make_engine(db_settings)
    try:
        assert current_revision(engine) is None
        upgrade(engine)
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        assert set(inspect(engine).get_table_names()) == TABLES
    finally:
        engine.dispose()


def test_models_and_migrations_agree(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == []


def test_downgrade_and_upgrade_again(engine: Engine) -> None:
    with writer(engine).begin() as conn:
        command.downgrade(alembic_config(conn), "base")
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    upgrade(engine)
    assert set(inspect(engine).get_table_names()) == TABLES


def test_two_processes_starting_at_once(db_settings: Settings) -> None:
    # Separate engines: separate connections, as two processes would have.
    engines = [make_engine(db_settings) for _ in range(3)]
    barrier = threading.Barrier(len(engines))
    errors: list[BaseException] = []

    def start(engine: Engine) -> None:
        barrier.wait()
        try:
            upgrade(engine)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        assert current_revision(engines[0]) == head_revision()
    finally:
        for engine in engines:
            engine.dispose()
