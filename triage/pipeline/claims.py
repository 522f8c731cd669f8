"""Claiming studies for triage, and reading what was claimed. Callers own transactions.

A claim is two columns on the study (``claimed_by``, ``claim_expires_at``) set in a
short transaction, not a row lock held during triage: ingest updates the study row on
every instance and must never wait for the rules. On PostgreSQL the claim query locks
its candidates ``FOR UPDATE SKIP LOCKED``, so concurrent workers take disjoint sets; on
SQLite the caller holds the database's write lock. A claim whose worker died expires
after ``claim_lease_seconds`` and is taken over.

Due ``receiving`` studies (quiet since ``stable_due_at``) are claimed directly and made
``ready`` in the same statement, exactly as the stability job would (``triage.stability``):
the pipeline then does not wait for that job's next sweep.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table, and_, case, func, or_, select, update
from sqlmodel import Session, SQLModel

from triage.db.models import Instance, Study, TriageState
from triage.pipeline.documents import ArchivedObject

STUDY: Table = SQLModel.metadata.tables[Study.__tablename__]
INSTANCE: Table = SQLModel.metadata.tables[Instance.__tablename__]

_READY = TriageState.READY.value
_RECEIVING = TriageState.RECEIVING.value


@dataclass(frozen=True, slots=True)
class Claim:
    study_id: int
    study_instance_uid: str
    content_revision: int  # the revision this triage is for


def _due(now: datetime) -> object:
    """Studies a worker may claim at ``now``: ready, or receiving and quiet long enough,
    and not held by a live claim."""
    return and_(
        or_(
            STUDY.c.triage_state == _READY,
            and_(STUDY.c.triage_state == _RECEIVING, STUDY.c.stable_due_at <= now),
        ),
        or_(STUDY.c.claimed_by.is_(None), STUDY.c.claim_expires_at <= now),
    )


def claim_studies(
    session: Session, *, worker: str, now: datetime, expires_at: datetime, limit: int
) -> list[Claim]:
    """Claim up to ``limit`` due studies, longest-waiting first."""
    rows = session.execute(
        select(STUDY.c.id, STUDY.c.study_instance_uid, STUDY.c.content_revision)
        .where(_due(now))  # type: ignore[arg-type]
        .order_by(STUDY.c.stable_due_at, STUDY.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)  # PostgreSQL; SQLite renders nothing
    ).all()
    if not rows:
        return []
    session.execute(
        update(STUDY)
        .where(STUDY.c.id.in_([row.id for row in rows]))
        .values(triage_state=_READY, claimed_by=worker, claim_expires_at=expires_at)
    )
    return [Claim(row.id, row.study_instance_uid, row.content_revision) for row in rows]


def release_claims(session: Session, *, study_ids: Sequence[int], worker: str) -> int:
    """Give back claims not triaged (a stop, a dropped result); how many were ours."""
    if not study_ids:
        return 0
    result = session.execute(
        update(STUDY)
        .where(STUDY.c.id.in_(list(study_ids)), STUDY.c.claimed_by == worker)
        .values(claimed_by=None, claim_expires_at=None)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def next_claimable_at(session: Session) -> datetime | None:
    """The earliest time some pending study can be claimed (in the past: now), or None
    when nothing is pending. A live claim defers its study until the lease ends."""
    held = and_(STUDY.c.claimed_by.is_not(None), STUDY.c.claim_expires_at > STUDY.c.stable_due_at)
    when = case((held, STUDY.c.claim_expires_at), else_=STUDY.c.stable_due_at)
    value = session.execute(
        select(func.min(when)).where(STUDY.c.triage_state.in_([_RECEIVING, _READY]))
    ).scalar()
    return value if isinstance(value, datetime) else None


def current_objects(
    session: Session, *, study_ids: Sequence[int]
) -> dict[int, list[ArchivedObject]]:
    """The latest revision of each SOP instance of the studies, in a stable order."""
    found: dict[int, list[ArchivedObject]] = {study_id: [] for study_id in study_ids}
    if not study_ids:
        return found
    rows = session.execute(
        select(
            INSTANCE.c.study_id,
            INSTANCE.c.sop_instance_uid,
            INSTANCE.c.sop_class_uid,
            INSTANCE.c.revision,
            INSTANCE.c.archive_path,
            INSTANCE.c.purged_at,
        )
        .where(INSTANCE.c.study_id.in_(list(study_ids)), INSTANCE.c.is_latest.is_(True))
        .order_by(
            INSTANCE.c.study_id,
            INSTANCE.c.series_id,
            INSTANCE.c.instance_number,
            INSTANCE.c.id,
        )
    ).all()
    for row in rows:
        found[row.study_id].append(
            ArchivedObject(
                row.sop_instance_uid,
                row.sop_class_uid,
                row.revision,
                row.archive_path,
                purged=row.purged_at is not None,
            )
        )
    return found
