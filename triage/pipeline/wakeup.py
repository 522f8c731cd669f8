"""Run the scheduled pipeline sweep when the next study becomes due, not only on its
fixed interval.

``msk-triage serve`` runs ``pipeline-sweep`` through APScheduler every
``pipeline_sweep_seconds``; on its own that adds up to one interval to every study's
latency. After each run this moves the job's next run forward to the time the next
pending study can be claimed (from the database), when that is sooner. The interval
stays the upper bound, so new arrivals are still noticed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from sqlalchemy import Engine
from sqlmodel import Session

from triage.pipeline.claims import next_claimable_at
from triage.pipeline.sweep import JOB_ID, utc_now

log = logging.getLogger(__name__)

# Wake this long after the due time (the claim compares ``stable_due_at <= now``), and
# never sooner than this after a run (no busy loop).
MARGIN = timedelta(milliseconds=5)
MIN_PAUSE = timedelta(milliseconds=20)


def wake_when_due(
    scheduler: Any,
    engine: Engine,
    *,
    job_id: str = JOB_ID,
    clock: Callable[[], datetime] = utc_now,
) -> None:
    """Add the listener to an APScheduler 3 scheduler holding the ``job_id`` job."""

    def after_run(event: JobExecutionEvent) -> None:
        if event.job_id != job_id:
            return
        try:
            reschedule(scheduler, engine, job_id=job_id, clock=clock)
        except Exception:
            log.warning("could not look up the next due study", exc_info=True)

    scheduler.add_listener(after_run, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)


def reschedule(
    scheduler: Any, engine: Engine, *, job_id: str, clock: Callable[[], datetime]
) -> datetime | None:
    """Bring the job's next run forward to the next due time; the new time, if moved."""
    with Session(engine) as session:
        due = next_claimable_at(session)
    if due is None:
        return None
    job = scheduler.get_job(job_id)
    if job is None or job.next_run_time is None:
        return None
    at = max(due + MARGIN, clock() + MIN_PAUSE)
    if at >= job.next_run_time:
        return None
    job.modify(next_run_time=at)
    return at
