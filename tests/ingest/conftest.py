from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text

from triage.ingest.service import Ingestor
from triage.settings import Settings


class Clock:
    """A settable UTC clock for the ingest's timestamps."""

    def __init__(self) -> None:
        self.now = datetime(2024, 3, 15, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ingestor(db_settings: Settings, engine: Engine, clock: Clock) -> Ingestor:
    return Ingestor(settings=db_settings, engine=engine, clock=clock)


Rows = Callable[[str], list[dict[str, object]]]


@pytest.fixture
def rows(engine: Engine) -> Rows:
    """Rows of a table (or any SELECT) as dicts."""

    def query(sql: str) -> list[dict[str, object]]:
        statement = sql if sql.lstrip().lower().startswith("select") else f"SELECT * FROM {sql}"
        with engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(text(statement))]

    return query
