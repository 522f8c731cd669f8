from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from triage.ingest.service import Ingestor
from triage.settings import Settings

T0 = datetime(2024, 3, 15, 10, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def at(self, seconds: float) -> datetime:
        """Move to ``seconds`` after T0 and return that moment."""
        self.now = T0 + timedelta(seconds=seconds)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def stable_settings(db_settings: Settings) -> Settings:
    return db_settings.model_copy(update={"study_stable_seconds": 60.0})


@pytest.fixture
def ingestor(stable_settings: Settings, engine: Engine, clock: Clock) -> Ingestor:
    return Ingestor(settings=stable_settings, engine=engine, clock=clock)
