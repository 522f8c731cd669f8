"""CRUD functions on both backends: state transitions, job runs and status counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from triage.db.crud import jobs, status, studies
from triage.db.models import (
    Instance,
    ItemState,
    JobRun,
    Series,
    Study,
    TriageOutcome,
    TriageState,
    WorklistItem,
)

T0 = datetime(2024, 3, 15, 10, 0, tzinfo=UTC)


def _study(session: Session, uid: str, *, state: TriageState, due: datetime, rev: int = 1) -> int:
    study = Study(
        study_instance_uid=uid,
        first_received_at=T0,
        last_received_at=T0,
        stable_due_at=due,
        triage_state=state,
        content_revision=rev,
        instance_count=1,
    )
    session.add(study)
    session.flush()
    assert study.id is not None
    return study.id


def _instance(
    session: Session, study_id: int, series_id: int, sop: str, rev: int, latest: bool
) -> None:
    session.add(
        Instance(
            study_id=study_id,
            series_id=series_id,
            sop_instance_uid=sop,
            revision=rev,
            is_latest=latest,
            sop_class_uid="1.2.840.10008.5.1.4.1.1.88.33",
            transfer_syntax_uid="1.2.840.10008.1.2.1",
            size_bytes=10,
            content_digest="0" * 64,
            archive_path=f"archive/{sop}.r{rev}.dcm",
            calling_ae="PACS",
            source="dicom",
            received_at=T0,
        )
    )


def test_stable_studies_become_ready(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        due = _study(session, "1.1", state=TriageState.RECEIVING, due=T0)
        later = _study(session, "1.2", state=TriageState.RECEIVING, due=T0 + timedelta(seconds=1))
        triaged = _study(session, "1.3", state=TriageState.TRIAGED, due=T0 - timedelta(hours=1))
    with Session(engine) as session, session.begin():
        assert studies.mark_stable_studies_ready(session, now=T0) == 1
    with Session(engine) as session, session.begin():
        assert studies.mark_stable_studies_ready(session, now=T0) == 0  # idempotent
    with Session(engine) as session:
        states = {s.id: s.triage_state for s in session.exec(select(Study))}
    assert states == {due: "ready", later: "receiving", triaged: "triaged"}


def test_mark_triaged_only_the_revision_that_is_there(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        sid = _study(session, "1.1", state=TriageState.READY, due=T0, rev=3)
    with Session(engine) as session, session.begin():
        # the pipeline read revision 2, but revision 3 arrived meanwhile
        assert not studies.mark_triaged(session, study_id=sid, content_revision=2, now=T0)
        assert studies.mark_triaged(session, study_id=sid, content_revision=3, now=T0)
    with Session(engine) as session:
        study = studies.get_study(session, study_instance_uid="1.1")
        assert study is not None
        assert study.triage_state == TriageState.TRIAGED
        assert study.triaged_revision == 3
        assert study.triaged_at == T0
        assert not study.needs_retriage
        study.content_revision = 4
        assert study.needs_retriage


def test_latest_instances(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        sid = _study(session, "1.1", state=TriageState.RECEIVING, due=T0)
        series = Series(study_id=sid, series_instance_uid="1.1.1", first_received_at=T0)
        session.add(series)
        session.flush()
        assert series.id is not None
        _instance(session, sid, series.id, "1.1.1.1", 0, False)
        _instance(session, sid, series.id, "1.1.1.1", 1, True)
        _instance(session, sid, series.id, "1.1.1.2", 0, True)
    with Session(engine) as session:
        latest = studies.latest_instances(session, study_id=sid)
    assert sorted((i.sop_instance_uid, i.revision) for i in latest) == [
        ("1.1.1.1", 1),
        ("1.1.1.2", 0),
    ]


def test_job_runs_keep_the_last_success_and_error(engine: Engine) -> None:
    def record(at: datetime, error: str | None) -> None:
        with Session(engine) as session, session.begin():
            jobs.record_job_run(
                session, job_id="sweep", started_at=at, duration_seconds=0.5, error=error
            )

    record(T0, None)
    record(T0 + timedelta(seconds=2), "OperationalError: database is locked")
    with Session(engine) as session:
        (run,) = jobs.list_job_runs(session)
        assert run.last_run == T0 + timedelta(seconds=2)
        assert run.last_success == T0
        assert run.last_error == "OperationalError: database is locked"
        assert (run.run_count, run.failure_count) == (2, 1)
    record(T0 + timedelta(seconds=4), None)
    with Session(engine) as session:
        again = session.get(JobRun, "sweep")
        assert again is not None
        assert again.last_error is None
        assert again.last_success == T0 + timedelta(seconds=4)
        assert (again.run_count, again.failure_count) == (3, 1)


def _item(study_id: int, state: ItemState) -> WorklistItem:
    return WorklistItem(
        study_id=study_id,
        state=state,
        flagged_at=T0,
        due_at=T0,
        created_at=T0,
        updated_at=T0,
    )


@pytest.mark.parametrize("closed", [0, 1])
def test_status_counts(engine: Engine, closed: int) -> None:
    with Session(engine) as session, session.begin():
        a = _study(session, "1.1", state=TriageState.RECEIVING, due=T0)
        b = _study(session, "1.2", state=TriageState.READY, due=T0)
        c = _study(session, "1.3", state=TriageState.TRIAGED, due=T0)
        series = Series(study_id=a, series_instance_uid="1.1.1", first_received_at=T0)
        session.add(series)
        session.flush()
        assert series.id is not None
        _instance(session, a, series.id, "1.1.1.1", 0, False)
        _instance(session, a, series.id, "1.1.1.1", 1, True)
        _instance(session, a, series.id, "1.1.1.2", 0, True)
        session.add(_item(c, ItemState.NEW))
        session.add(_item(b, ItemState.CLOSED if closed else ItemState.IN_REVIEW))
        for flagged in (b, c):
            study = session.get(Study, flagged)
            assert study is not None
            study.triage_outcome = TriageOutcome.FLAGGED
    with Session(engine) as session:
        assert status.count_studies(session) == 3
        assert status.count_instances(session) == 2  # revisions are not counted twice
        assert status.count_pending_studies(session) == 2
        assert status.count_flagged_studies(session) == 2
        assert status.count_open_items(session) == 2 - closed
