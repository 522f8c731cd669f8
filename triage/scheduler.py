"""The APScheduler (3.x) scheduler with every registered job; built, not started."""

from __future__ import annotations

from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine

from triage.jobs.registry import JOBS
from triage.jobs.runs import run_job
from triage.settings import Settings


def build_scheduler(settings: Settings, engine: Engine) -> BackgroundScheduler:
    """A background scheduler running each job of ``triage.jobs.registry.JOBS`` at its
    interval under its fixed id: never two runs of a job at once (``max_instances=1``),
    missed runs folded into one (``coalesce``), the first run at start."""
    scheduler = BackgroundScheduler(timezone=UTC)
    now = datetime.now(UTC)
    for spec in JOBS:
        scheduler.add_job(
            run_job,
            trigger=IntervalTrigger(seconds=spec.interval_seconds(settings), timezone=UTC),
            args=(spec.id, spec.func),
            kwargs={"engine": engine, "settings": settings},
            id=spec.id,
            name=spec.id,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,  # a late run still runs (once, coalesced)
            next_run_time=now,
            replace_existing=True,
        )
    return scheduler
