"""The stability job body with a frozen clock, without a scheduler."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from tests.conftest import T0, Clock
from tests.ingest.factory import Obj, study
from triage import stability
from triage.db.crud.jobs import list_job_runs
from triage.db.crud.studies import get_study, mark_triaged
from triage.db.models import Study, TriageState
from triage.ingest.result import IngestOutcome
from triage.ingest.service import Ingestor
from triage.jobs.runs import run_job
from triage.settings import Settings


def _study(engine: Engine, uid: str) -> Study:
    with Session(engine) as session:
        found = get_study(session, study_instance_uid=uid)
    assert found is not None
    return found


def _advance(engine: Engine, settings: Settings, clock: Clock, seconds: float) -> int:
    return stability.advance_stable_studies(engine=engine, settings=settings, now=clock.at(seconds))


def test_a_study_is_ready_once_quiet_for_the_stable_time(
    ingestor: Ingestor, engine: Engine, stable_settings: Settings, clock: Clock
) -> None:
    objs = study(2)
    clock.at(0)
    assert ingestor.ingest_bytes(objs[0].encode(), calling_ae="PACS").ok
    clock.at(30)
    assert ingestor.ingest_bytes(objs[1].encode(), calling_ae="PACS").ok
    uid = objs[0].study_uid
    assert _study(engine, uid).stable_due_at == clock.at(90)

    assert _advance(engine, stable_settings, clock, 89.999) == 0
    assert _study(engine, uid).triage_state == TriageState.RECEIVING
    assert _advance(engine, stable_settings, clock, 90) == 1
    assert _study(engine, uid).triage_state == TriageState.READY
    assert _advance(engine, stable_settings, clock, 200) == 0  # nothing more to do


def test_the_due_time_survives_a_restart(
    stable_settings: Settings, engine: Engine, clock: Clock
) -> None:
    obj = Obj()
    first = Ingestor(settings=stable_settings, engine=engine, clock=clock)
    assert first.ingest_bytes(obj.encode(), calling_ae="PACS").ok
    # a new process: a new ingestor and engine, nothing kept in memory
    from triage.db.engine import make_engine

    fresh = make_engine(stable_settings)
    try:
        assert _advance(fresh, stable_settings, clock, 61) == 1
        assert _study(fresh, obj.study_uid).triage_state == TriageState.READY
    finally:
        fresh.dispose()


def test_an_instance_after_ready_puts_the_study_back(
    ingestor: Ingestor, engine: Engine, stable_settings: Settings, clock: Clock
) -> None:
    objs = study(2)
    clock.at(0)
    assert ingestor.ingest_bytes(objs[0].encode(), calling_ae="PACS").ok
    assert _advance(engine, stable_settings, clock, 60) == 1
    clock.at(70)
    assert ingestor.ingest_bytes(objs[1].encode(), calling_ae="PACS").ok
    found = _study(engine, objs[0].study_uid)
    assert found.triage_state == TriageState.RECEIVING
    assert found.stable_due_at == clock.at(130)
    assert not found.needs_retriage  # never triaged: this is its first triage still
    assert _advance(engine, stable_settings, clock, 129) == 0
    assert _advance(engine, stable_settings, clock, 130) == 1


def test_an_instance_after_triage_marks_the_study_for_retriage(
    ingestor: Ingestor, engine: Engine, stable_settings: Settings, clock: Clock
) -> None:
    first = Obj(text="No DVT.")
    amended = Obj(
        study_uid=first.study_uid,
        series_uid=first.series_uid,
        sop_uid=first.sop_uid,
        text="No DVT. Addendum: Baker's cyst.",
    )
    clock.at(0)
    assert ingestor.ingest_bytes(first.encode(), calling_ae="PACS").ok
    assert _advance(engine, stable_settings, clock, 60) == 1
    ready = _study(engine, first.study_uid)
    assert ready.id is not None
    with Session(engine) as session, session.begin():  # what the pipeline will do
        assert mark_triaged(
            session, study_id=ready.id, content_revision=ready.content_revision, now=clock.at(61)
        )
    assert not _study(engine, first.study_uid).needs_retriage

    clock.at(3600)
    result = ingestor.ingest_bytes(amended.encode(), calling_ae="PACS")
    assert result.outcome is IngestOutcome.REVISION
    again = _study(engine, first.study_uid)
    assert again.triage_state == TriageState.RECEIVING
    assert again.needs_retriage
    assert again.content_revision == ready.content_revision + 1
    assert _advance(engine, stable_settings, clock, 3660) == 1
    assert _study(engine, first.study_uid).triage_state == TriageState.READY


def test_a_duplicate_does_not_reopen_a_triaged_study(
    ingestor: Ingestor, engine: Engine, stable_settings: Settings, clock: Clock
) -> None:
    obj = Obj()
    assert ingestor.ingest_bytes(obj.encode(), calling_ae="PACS").ok
    _advance(engine, stable_settings, clock, 60)
    ready = _study(engine, obj.study_uid)
    assert ready.id is not None
    with Session(engine) as session, session.begin():
        mark_triaged(session, study_id=ready.id, content_revision=1, now=clock.at(61))
    clock.at(100)
    assert ingestor.ingest_bytes(obj.encode(), calling_ae="PACS").outcome is (
        IngestOutcome.DUPLICATE
    )
    assert _study(engine, obj.study_uid).triage_state == TriageState.TRIAGED


def test_each_run_is_recorded(engine: Engine, stable_settings: Settings, clock: Clock) -> None:
    _advance(engine, stable_settings, clock, 10)
    _advance(engine, stable_settings, clock, 20)
    with Session(engine) as session:
        (run,) = list_job_runs(session)
    assert run.job_id == "advance-stable-studies"
    assert run.last_run == clock.at(20)
    assert run.last_success == clock.at(20)
    assert run.last_error is None
    assert run.run_count == 2


def test_a_failing_run_is_recorded_and_raised(
    engine: Engine, stable_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> int:
        raise RuntimeError("the database is on fire")

    monkeypatch.setattr(stability, "mark_stable_studies_ready", broken)
    with pytest.raises(RuntimeError, match="on fire"):
        stability.advance_stable_studies(engine=engine, settings=stable_settings, now=T0)
    with Session(engine) as session:
        (run,) = list_job_runs(session)
    assert run.last_run == T0
    assert run.last_success is None
    assert run.last_error == "RuntimeError: the database is on fire"
    assert run.failure_count == 1


def test_the_scheduler_wrapper_logs_and_swallows(
    engine: Engine,
    stable_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(*args: object, **kwargs: object) -> int:
        raise RuntimeError("boom")

    monkeypatch.setattr(stability, "mark_stable_studies_ready", broken)
    with caplog.at_level(logging.ERROR, logger="triage.jobs.runs"):
        run_job(
            stability.JOB_ID,
            stability.advance_stable_studies,
            engine=engine,
            settings=stable_settings,
        )
    assert "job advance-stable-studies failed" in caplog.text
    with Session(engine) as session:
        (run,) = list_job_runs(session)
    assert run.last_error == "RuntimeError: boom"
