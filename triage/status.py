"""What ``msk-triage status`` reports: counts and the state of the scheduled jobs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from triage.db.crud import status as counts
from triage.db.crud.jobs import list_job_runs

UNREADABLE_SHOWN = 10  # most recent unreadable studies listed by ``msk-triage status``


@dataclass(frozen=True, slots=True)
class JobStatus:
    id: str
    last_run: datetime | None = None
    last_success: datetime | None = None
    last_error: str | None = None
    run_count: int = 0
    failure_count: int = 0


@dataclass(frozen=True, slots=True)
class Status:
    studies: int
    instances: int
    pending_studies: int
    flagged_studies: int
    open_items: int
    jobs: tuple[JobStatus, ...]
    # shown by ``msk-triage status``, not part of the --json contract
    unreadable_studies: int = 0
    unreadable_examples: tuple[tuple[str, str | None], ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The ``status --json`` contract (DESIGN.md)."""
        return {
            "studies": self.studies,
            "instances": self.instances,
            "pending_studies": self.pending_studies,
            "flagged_studies": self.flagged_studies,
            "open_items": self.open_items,
            "jobs": [
                {
                    "id": job.id,
                    "last_run": job.last_run.isoformat() if job.last_run else None,
                    "last_error": job.last_error,
                }
                for job in self.jobs
            ],
        }


def collect_status(engine: Engine, *, known_jobs: Iterable[str] = ()) -> Status:
    """Counts from one read transaction; ``known_jobs`` that never ran are listed too."""
    with Session(engine) as session:
        runs = {run.job_id: run for run in list_job_runs(session)}
        jobs = [
            JobStatus(
                id=run.job_id,
                last_run=run.last_run,
                last_success=run.last_success,
                last_error=run.last_error,
                run_count=run.run_count,
                failure_count=run.failure_count,
            )
            for run in runs.values()
        ]
        jobs += [JobStatus(id=job_id) for job_id in known_jobs if job_id not in runs]
        unreadable, examples = counts.unreadable_studies(session, limit=UNREADABLE_SHOWN)
        return Status(
            studies=counts.count_studies(session),
            instances=counts.count_instances(session),
            pending_studies=counts.count_pending_studies(session),
            flagged_studies=counts.count_flagged_studies(session),
            open_items=counts.count_open_items(session),
            jobs=tuple(sorted(jobs, key=lambda job: job.id)),
            unreadable_studies=unreadable,
            unreadable_examples=tuple(examples),
        )
