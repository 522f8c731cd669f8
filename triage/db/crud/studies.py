"""Studies: lookups and the state transitions of stability and triage.

Functions take the caller's ``Session`` (one per unit of work) and never commit.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CursorResult, update
from sqlmodel import Session, col, select

from triage.db.models import Instance, Study, TriageState


def get_study(session: Session, *, study_instance_uid: str) -> Study | None:
    return session.exec(select(Study).where(Study.study_instance_uid == study_instance_uid)).first()


def latest_instances(session: Session, *, study_id: int) -> list[Instance]:
    """The study's current objects: the latest revision of each SOP instance."""
    return list(
        session.exec(
            select(Instance)
            .where(Instance.study_id == study_id, col(Instance.is_latest).is_(True))
            .order_by(col(Instance.series_id), col(Instance.instance_number), col(Instance.id))
        ).all()
    )


def mark_stable_studies_ready(session: Session, *, now: datetime) -> int:
    """``receiving`` studies whose stable time has passed become ``ready``; how many.

    One statement: a concurrent ingest either commits first (and its new due time keeps
    the study out) or after (and puts it back to ``receiving``).
    """
    result: CursorResult[tuple[()]] = session.execute(  # type: ignore[assignment]
        update(Study)
        .where(
            col(Study.triage_state) == TriageState.RECEIVING.value,
            col(Study.stable_due_at) <= now,
        )
        .values(triage_state=TriageState.READY.value)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)


def mark_triaged(session: Session, *, study_id: int, content_revision: int, now: datetime) -> bool:
    """Record that the pipeline triaged ``content_revision`` of a ``ready`` study.

    False when the study changed (or went back to ``receiving``) meanwhile: it stays as
    it is and is triaged again once stable, so no content is ever left untriaged.
    """
    result: CursorResult[tuple[()]] = session.execute(  # type: ignore[assignment]
        update(Study)
        .where(
            col(Study.id) == study_id,
            col(Study.content_revision) == content_revision,
            col(Study.triage_state) == TriageState.READY.value,
        )
        .values(
            triage_state=TriageState.TRIAGED.value,
            triaged_revision=content_revision,
            triaged_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount) == 1
