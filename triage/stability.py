"""Study stability: a study is ready for triage once nothing arrived for
``study_stable_seconds``.

Ingest sets each study's ``stable_due_at``; this job moves the studies whose due time
has passed from ``receiving`` to ``ready``. Both live in the database, so a restart
resumes where it stopped and several processes can run it without harm.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import Session

from triage.db.crud.studies import mark_stable_studies_ready
from triage.db.engine import write_lock, writer
from triage.jobs.runs import recorded_job
from triage.settings import Settings

log = logging.getLogger(__name__)

JOB_ID = "advance-stable-studies"


@recorded_job(JOB_ID)
def advance_stable_studies(
    *, engine: Engine, settings: Settings, now: datetime | None = None
) -> int:
    """Mark every study that has been quiet long enough ``ready``; how many moved."""
    moment = datetime.now(UTC) if now is None else now
    with write_lock(engine), Session(writer(engine)) as session, session.begin():
        moved = mark_stable_studies_ready(session, now=moment)
    if moved:
        log.info("%d %s ready for triage", moved, "study" if moved == 1 else "studies")
    return moved
