"""Scheduled job runs, as ``msk-triage status`` shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Table, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel, col, select

from triage.db.models import JobRun

_JOB_RUN: Table = SQLModel.metadata.tables[JobRun.__tablename__]


def record_job_run(
    session: Session,
    *,
    job_id: str,
    started_at: datetime,
    duration_seconds: float,
    error: str | None,
) -> None:
    """Upsert the job's row: last run, and last success or the error of this run."""
    dialect_insert: Any = (
        postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    )
    failed = error is not None
    stmt = dialect_insert(_JOB_RUN).values(
        job_id=job_id,
        last_run=started_at,
        last_success=None if failed else started_at,
        last_error=error,
        last_duration_seconds=duration_seconds,
        run_count=1,
        failure_count=1 if failed else 0,
    )
    excluded = stmt.excluded
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["job_id"],
            set_={
                "last_run": excluded.last_run,
                "last_success": func.coalesce(excluded.last_success, _JOB_RUN.c.last_success),
                "last_error": excluded.last_error,
                "last_duration_seconds": excluded.last_duration_seconds,
                "run_count": _JOB_RUN.c.run_count + 1,
                "failure_count": _JOB_RUN.c.failure_count + excluded.failure_count,
            },
        )
    )


def list_job_runs(session: Session) -> list[JobRun]:
    return list(session.exec(select(JobRun).order_by(col(JobRun.job_id))).all())
