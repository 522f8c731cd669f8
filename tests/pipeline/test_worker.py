"""The worker loop: when it wakes, what it records, and that it stops."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlmodel import Session

from tests.conftest import Clock
from tests.pipeline.harness import Pipeline, StudyBuilder
from triage.db.crud.jobs import list_job_runs
from triage.db.models import TriageState
from triage.pipeline import sweep as sweep_module
from triage.pipeline.sweep import SweepResult
from triage.pipeline.worker import (
    IDLE_RECORD_SECONDS,
    MIN_PAUSE_SECONDS,
    WAKE_MARGIN_SECONDS,
    Worker,
)
from triage.settings import Settings


def _worker(pipe: Pipeline, clock: Clock, **changes: object) -> Worker:
    settings = pipe.settings.model_copy(update={"pipeline_sweep_seconds": 5.0, **changes})
    return Worker(
        engine=pipe.engine, settings=settings, stop=threading.Event(), worker="w1", clock=clock
    )


def test_it_sleeps_until_the_next_study_is_due_capped_by_the_interval(
    pipe: Pipeline, clock: Clock
) -> None:
    worker = _worker(pipe, clock)
    assert worker.pause(SweepResult()) == 5.0  # nothing pending: the cap
    pipe.send(StudyBuilder().report("Baker's cyst."), at=0)  # due at 60
    clock.at(58)
    assert worker.pause(SweepResult()) == pytest.approx(2.0 + WAKE_MARGIN_SECONDS)
    clock.at(10)
    assert worker.pause(SweepResult()) == 5.0
    clock.at(61)  # due but not claimed (someone else holds the lock for a moment)
    assert worker.pause(SweepResult()) == MIN_PAUSE_SECONDS
    assert worker.pause(SweepResult(claimed=1)) == 0.0  # became due during the sweep


def test_a_claim_held_elsewhere_defers_the_wake_up_to_its_lease(
    pipe: Pipeline, clock: Clock
) -> None:
    pipe.send(StudyBuilder().report("Baker's cyst."), at=0)
    clock.at(60)
    pipe.sweeper("other")._claim()  # another worker triages it (lease 300 s)
    worker = _worker(pipe, clock, pipeline_sweep_seconds=1000.0)
    assert worker.pause(SweepResult()) == pytest.approx(300 + WAKE_MARGIN_SECONDS)


def test_runs_are_recorded_busy_ones_always_idle_ones_as_a_heartbeat(
    pipe: Pipeline, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    ticks = iter(range(10_000))  # a run reads it 3 times: 3 "seconds" a run
    worker = _worker(pipe, clock)
    worker.monotonic = lambda: float(next(ticks))

    def job() -> tuple[int, str | None]:
        with Session(pipe.engine) as session:
            (run,) = list_job_runs(session)
        assert run.job_id == "pipeline-sweep"
        return run.run_count, run.last_error

    clock.at(0)
    worker.run_once()
    assert job() == (1, None)  # the first idle run is recorded
    worker.run_once()
    assert job() == (1, None)  # the next idle one, 3 "seconds" later, is not
    pipe.send(StudyBuilder().report("Baker's cyst."), at=0)
    clock.at(60)
    worker.run_once()
    assert job() == (2, None)  # work done: recorded
    for _ in range(int(IDLE_RECORD_SECONDS // 3) + 1):
        worker.run_once()
    assert job()[0] == 3  # a heartbeat after IDLE_RECORD_SECONDS

    def broken(self: object) -> SweepResult:
        raise RuntimeError("database unreachable")

    monkeypatch.setattr(sweep_module.Sweeper, "sweep", broken)
    assert worker.run_once() > 0
    count, error = job()
    assert count == 4
    assert error is not None
    assert "database unreachable" in error


def test_the_loop_triages_and_stops_when_asked(pipeline_settings: Settings, pipe: Pipeline) -> None:
    settings = pipeline_settings.model_copy(update={"pipeline_sweep_seconds": 0.05})
    s = StudyBuilder()
    pipe.send(s.report("Baker's cyst."), at=0)
    stop = threading.Event()
    # the real clock: the study (received "at" T0) is long due
    worker = Worker(engine=pipe.engine, settings=settings, stop=stop)
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while pipe.study(s.uid).triage_state != TriageState.TRIAGED:
            assert time.monotonic() < deadline, "the worker never triaged the study"
            time.sleep(0.02)
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive()
    (run,) = pipe.runs(s.uid)
    assert run.worker == worker.worker_id
    assert run.finished_at - run.started_at < timedelta(minutes=5)
