from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import StatementError
from sqlmodel import Session

from triage.db.models import JobRun


def test_timestamps_round_trip_aware_and_utc(engine: Engine) -> None:
    cest = timezone(timedelta(hours=2))
    moment = datetime(2024, 6, 1, 14, 30, 15, 123456, tzinfo=cest)
    with Session(engine) as session, session.begin():
        session.add(JobRun(job_id="j", last_run=moment, run_count=1))
    with Session(engine) as session:
        run = session.get(JobRun, "j")
        assert run is not None
        assert run.last_run == moment
        assert run.last_run.tzinfo is not None
        assert run.last_run.utcoffset() == timedelta(0)
        assert run.last_run == datetime(2024, 6, 1, 12, 30, 15, 123456, tzinfo=UTC)
        assert run.last_success is None


def test_naive_timestamps_are_refused(engine: Engine) -> None:
    with (
        pytest.raises(StatementError, match="naive datetime"),
        Session(engine) as session,
        session.begin(),
    ):
        session.add(JobRun(job_id="j", last_run=datetime(2024, 6, 1, 12, 0)))
