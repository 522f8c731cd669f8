"""``build_scheduler``: its configuration, and that a failing job keeps being scheduled."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine
from sqlmodel import Session

from triage import stability
from triage.db.crud.jobs import list_job_runs
from triage.db.engine import make_engine
from triage.jobs.runs import run_job
from triage.scheduler import build_scheduler
from triage.settings import Settings


def test_jobs_are_registered_with_fixed_ids_and_safe_defaults(settings: Settings) -> None:
    settings = settings.model_copy(update={"stability_sweep_seconds": 3.5})
    engine = make_engine(settings)  # not connected: building the scheduler runs nothing
    scheduler = build_scheduler(settings, engine)
    assert isinstance(scheduler, BackgroundScheduler)
    assert not scheduler.running
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert "advance-stable-studies" in jobs  # (other jobs are registered too)
    job = jobs["advance-stable-studies"]
    assert job.coalesce is True
    assert job.max_instances == 1
    assert job.misfire_grace_time is None
    assert job.trigger.interval == timedelta(seconds=3.5)
    assert job.func is run_job
    assert job.args == ("advance-stable-studies", stability.advance_stable_studies)
    assert job.kwargs == {"engine": engine, "settings": settings}
    engine.dispose()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_failing_job_does_not_stop_the_scheduler(
    engine: Engine, db_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []

    def flaky(*args: object, **kwargs: object) -> int:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("first run fails")
        return 0

    monkeypatch.setattr(stability, "mark_stable_studies_ready", flaky)
    settings = db_settings.model_copy(update={"stability_sweep_seconds": 0.05})
    scheduler = build_scheduler(settings, engine)
    scheduler.start()
    try:
        deadline = time.monotonic() + 20
        while len(calls) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        scheduler.shutdown(wait=True)
    assert len(calls) >= 3
    with Session(engine) as session:
        (run,) = [r for r in list_job_runs(session) if r.job_id == "advance-stable-studies"]
    assert run.failure_count == 1
    assert run.run_count >= 3
    assert run.last_error is None  # later runs succeeded
