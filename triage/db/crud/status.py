"""Counts for ``msk-triage status``; each is one indexed query.

``count_flagged_studies`` counts studies whose latest triage flagged something;
``count_open_items`` counts worklist items not yet closed.
"""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from triage.db.models import (
    OPEN_ITEM_STATES,
    PENDING_STATES,
    Instance,
    Study,
    TriageOutcome,
    WorklistItem,
)


def count_studies(session: Session) -> int:
    return session.exec(select(func.count()).select_from(Study)).one()


def count_instances(session: Session) -> int:
    """Distinct SOP instances stored (each counted once, whatever its revisions)."""
    return session.exec(
        select(func.count()).select_from(Instance).where(col(Instance.is_latest).is_(True))
    ).one()


def count_pending_studies(session: Session) -> int:
    """Received but not yet triaged: still receiving, or stable and waiting."""
    return session.exec(
        select(func.count())
        .select_from(Study)
        .where(col(Study.triage_state).in_([s.value for s in PENDING_STATES]))
    ).one()


def count_flagged_studies(session: Session) -> int:
    """Studies whose latest triage flagged something."""
    return session.exec(
        select(func.count())
        .select_from(Study)
        .where(col(Study.triage_outcome) == TriageOutcome.FLAGGED.value)
    ).one()


def count_open_items(session: Session) -> int:
    return session.exec(
        select(func.count())
        .select_from(WorklistItem)
        .where(col(WorklistItem.state).in_([s.value for s in OPEN_ITEM_STATES]))
    ).one()


def unreadable_studies(session: Session, *, limit: int) -> tuple[int, list[tuple[str, str | None]]]:
    """How many studies' latest triage found an unreadable report, and the most recently
    triaged of them: (study instance UID, why)."""
    unreadable = col(Study.triage_outcome) == TriageOutcome.UNREADABLE.value
    total = session.exec(select(func.count()).select_from(Study).where(unreadable)).one()
    rows = session.exec(
        select(Study.study_instance_uid, Study.triage_detail)
        .where(unreadable)
        .order_by(col(Study.triaged_at).desc())
        .limit(limit)
    ).all()
    return total, [(uid, detail) for uid, detail in rows]
