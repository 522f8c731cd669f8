from __future__ import annotations

import pytest
from sqlalchemy import Engine

from tests.conftest import Clock
from tests.pipeline.harness import STABLE_SECONDS, Pipeline
from triage.settings import Settings


@pytest.fixture
def pipeline_settings(db_settings: Settings) -> Settings:
    return db_settings.model_copy(
        update={"study_stable_seconds": STABLE_SECONDS, "pipeline_batch_size": 10}
    )


@pytest.fixture
def pipe(pipeline_settings: Settings, engine: Engine, clock: Clock) -> Pipeline:
    return Pipeline(settings=pipeline_settings, engine=engine, clock=clock)
