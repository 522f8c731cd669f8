"""The pipeline-sweep job in the registry and in the scheduler ``serve`` runs."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from rules.api import RuleSetError
from tests.pipeline.harness import Pipeline, StudyBuilder
from triage import stability
from triage.db.crud.studies import mark_stable_studies_ready
from triage.db.models import TriageState
from triage.jobs.registry import JOBS, job_ids
from triage.jobs.runs import run_job
from triage.pipeline import sweep as sweep_module
from triage.scheduler import build_scheduler
from triage.settings import Settings
from triage.status import collect_status


def test_the_pipeline_sweep_is_registered(settings: Settings) -> None:
    assert "pipeline-sweep" in job_ids()
    (spec,) = [spec for spec in JOBS if spec.id == "pipeline-sweep"]
    assert spec.func is sweep_module.run_pipeline_sweep
    tuned = settings.model_copy(update={"pipeline_sweep_seconds": 0.7})
    assert spec.interval_seconds(tuned) == 0.7
    from triage.db.engine import make_engine

    engine = make_engine(settings)  # not connected: building the scheduler runs nothing
    try:
        job = build_scheduler(tuned, engine).get_job("pipeline-sweep")
    finally:
        engine.dispose()
    assert job is not None
    assert job.coalesce is True
    assert job.max_instances == 1
    assert job.trigger.interval == timedelta(seconds=0.7)
    assert job.args == ("pipeline-sweep", sweep_module.run_pipeline_sweep)


def test_the_scheduler_triages(pipe: Pipeline) -> None:
    s = StudyBuilder()
    pipe.send(s.report("Baker's cyst."), at=0)  # received "at" T0: long stable by now
    settings = pipe.settings.model_copy(update={"pipeline_sweep_seconds": 0.05})
    scheduler = build_scheduler(settings, pipe.engine)
    scheduler.start()
    try:
        deadline = time.monotonic() + 30
        while pipe.study(s.uid).triage_state != TriageState.TRIAGED:
            assert time.monotonic() < deadline, "the scheduled sweep never triaged the study"
            time.sleep(0.02)
    finally:
        scheduler.shutdown(wait=True)
    assert pipe.study(s.uid).triage_outcome == "flagged"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_failing_pipeline_job_is_shown_and_does_not_stop_the_others(
    engine: Engine,
    pipe: Pipeline,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(settings: Settings) -> object:
        raise RuleSetError([])

    monkeypatch.setattr(sweep_module, "ruleset_for", broken)
    with pytest.raises(RuleSetError):
        sweep_module.run_pipeline_sweep(engine=engine, settings=pipe.settings)
    run_job(
        "pipeline-sweep", sweep_module.run_pipeline_sweep, engine=engine, settings=pipe.settings
    )
    assert "job pipeline-sweep failed" in caplog.text  # logged, not raised

    settings = pipe.settings.model_copy(
        update={"pipeline_sweep_seconds": 0.05, "stability_sweep_seconds": 0.05}
    )
    calls: list[int] = []
    real = mark_stable_studies_ready

    def counting(*args: object, **kwargs: object) -> int:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(stability, "mark_stable_studies_ready", counting)
    scheduler = build_scheduler(settings, engine)
    scheduler.start()
    try:
        deadline = time.monotonic() + 30
        while len(calls) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        scheduler.shutdown(wait=True)
    assert len(calls) >= 3  # the stability job kept running

    jobs = {job.id: job for job in collect_status(engine, known_jobs=job_ids()).jobs}
    failing = jobs["pipeline-sweep"]
    assert failing.last_error is not None
    assert failing.last_error.startswith("RuleSetError")
    assert failing.failure_count >= 3
    assert jobs["advance-stable-studies"].last_error is None
