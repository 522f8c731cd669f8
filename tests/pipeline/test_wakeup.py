"""The scheduled sweep is brought forward to the next due study."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from rules.sr import build
from tests.conftest import T0, Clock
from tests.pipeline.harness import Pipeline, StudyBuilder
from triage.db.models import TriageState
from triage.ingest.service import Ingestor
from triage.pipeline.wakeup import MARGIN, MIN_PAUSE, reschedule, wake_when_due
from triage.scheduler import build_scheduler
from triage.settings import Settings


@dataclass
class FakeJob:
    next_run_time: datetime | None
    changes: list[dict[str, Any]] = field(default_factory=list)

    def modify(self, **changes: Any) -> None:
        self.changes.append(changes)
        self.next_run_time = changes["next_run_time"]


@dataclass
class FakeScheduler:
    job: FakeJob | None

    def get_job(self, job_id: str) -> FakeJob | None:
        assert job_id == "pipeline-sweep"
        return self.job


def test_the_next_run_moves_to_the_next_due_study(pipe: Pipeline, clock: Clock) -> None:
    job = FakeJob(next_run_time=T0 + timedelta(seconds=100))
    scheduler = FakeScheduler(job)

    def again() -> datetime | None:
        return reschedule(scheduler, pipe.engine, job_id="pipeline-sweep", clock=clock)

    clock.at(0)
    assert again() is None  # nothing pending
    pipe.send(StudyBuilder().report("Baker's cyst."), at=0)  # due at 60
    clock.at(10)
    assert again() == T0 + timedelta(seconds=60) + MARGIN
    assert job.next_run_time == T0 + timedelta(seconds=60) + MARGIN
    assert again() is None  # already there
    clock.at(70)  # overdue: soon, but not in a busy loop
    job.next_run_time = T0 + timedelta(seconds=200)
    assert again() == T0 + timedelta(seconds=70) + MIN_PAUSE
    job.next_run_time = T0 + timedelta(seconds=50)
    assert again() is None  # the interval's next tick is sooner
    assert (
        reschedule(FakeScheduler(None), pipe.engine, job_id="pipeline-sweep", clock=clock) is None
    )


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_serve_style_scheduling_triages_at_the_due_time(
    pipeline_settings: Settings, engine: Engine, pipe: Pipeline
) -> None:
    interval = 600.0  # far longer than the test: only the wake-up can triage in time
    settings = pipeline_settings.model_copy(
        update={
            "study_stable_seconds": 1.0,
            "pipeline_sweep_seconds": interval,
            "stability_sweep_seconds": interval,
        }
    )
    s = StudyBuilder()
    ingestor = Ingestor(settings=settings, engine=engine)  # the real clock
    assert ingestor.ingest_bytes(build.to_bytes(s.report("Baker's cyst.")), calling_ae="X").ok
    scheduler = build_scheduler(settings, engine)
    wake_when_due(scheduler, engine)
    scheduler.start()  # first runs at once: nothing due yet, so it waits for the study
    try:
        deadline = time.monotonic() + interval / 10
        while pipe.study(s.uid).triage_state != TriageState.TRIAGED:
            assert time.monotonic() < deadline, "the sweep was not brought forward"
            time.sleep(0.05)
    finally:
        scheduler.shutdown(wait=True)
    assert pipe.study(s.uid).triage_outcome == "flagged"
