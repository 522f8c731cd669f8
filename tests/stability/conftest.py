from __future__ import annotations

import pytest
from sqlalchemy import Engine

from tests.conftest import Clock
from triage.ingest.service import Ingestor
from triage.settings import Settings


@pytest.fixture
def stable_settings(db_settings: Settings) -> Settings:
    return db_settings.model_copy(update={"study_stable_seconds": 60.0})


@pytest.fixture
def ingestor(stable_settings: Settings, engine: Engine, clock: Clock) -> Ingestor:
    return Ingestor(settings=stable_settings, engine=engine, clock=clock)
