from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Engine, text

from tests.conftest import Clock
from triage.ingest.service import Ingestor
from triage.settings import Settings


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
