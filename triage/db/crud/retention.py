"""Archive retention in the index: which files may go, marking them purged, and an
identical re-send bringing one back. All functions run in the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    Connection,
    CursorResult,
    Table,
    and_,
    exists,
    or_,
    select,
    update,
)
from sqlmodel import SQLModel

from triage.db.models import (
    OPEN_ITEM_STATES,
    Instance,
    Study,
    TriageState,
    WorklistItem,
)

INSTANCE: Table = SQLModel.metadata.tables[Instance.__tablename__]
STUDY: Table = SQLModel.metadata.tables[Study.__tablename__]
ITEM: Table = SQLModel.metadata.tables[WorklistItem.__tablename__]


@dataclass(frozen=True, slots=True)
class Expired:
    instance_id: int
    received_at: datetime
    archive_path: str  # relative to the data dir


def expired_files(
    conn: Connection,
    *,
    received_before: datetime,
    after: tuple[datetime, int] | None,
    limit: int,
) -> list[Expired]:
    """Up to ``limit`` archive files that may be removed, oldest first, after the
    (received_at, id) ``after``: not purged, received before ``received_before``, of a
    study that is triaged (not pending) and has no open worklist item.

    On PostgreSQL the studies are share-locked (``FOR SHARE ... SKIP LOCKED``) until the
    caller's transaction ends, so none of them can take new content or be re-triaged while
    its files are removed; a study being written right now is skipped this time.
    """
    open_item = exists().where(
        ITEM.c.study_id == STUDY.c.id,
        ITEM.c.state.in_([state.value for state in OPEN_ITEM_STATES]),
    )
    query = (
        select(INSTANCE.c.id, INSTANCE.c.received_at, INSTANCE.c.archive_path)
        .join(STUDY, STUDY.c.id == INSTANCE.c.study_id)
        .where(
            INSTANCE.c.purged_at.is_(None),
            INSTANCE.c.received_at < received_before,
            STUDY.c.triage_state == TriageState.TRIAGED.value,
            ~open_item,
        )
        .order_by(INSTANCE.c.received_at, INSTANCE.c.id)
        .limit(limit)
    )
    if after is not None:
        at, instance_id = after
        query = query.where(
            or_(
                INSTANCE.c.received_at > at,
                and_(INSTANCE.c.received_at == at, INSTANCE.c.id > instance_id),
            )
        )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(read=True, skip_locked=True, of=STUDY)
    return [Expired(row.id, row.received_at, row.archive_path) for row in conn.execute(query)]


def mark_purged(
    conn: Connection, *, instance_ids: Sequence[int], received_before: datetime, now: datetime
) -> int:
    """Record that these instances' files are gone; how many rows changed. Rows received
    again since (an identical re-send restored the file) are left alone."""
    if not instance_ids:
        return 0
    result: CursorResult[tuple[()]] = conn.execute(
        update(INSTANCE)
        .where(
            INSTANCE.c.id.in_(list(instance_ids)),
            INSTANCE.c.purged_at.is_(None),
            INSTANCE.c.received_at < received_before,
        )
        .values(purged_at=now)
    )
    return int(result.rowcount)


def mark_restored(conn: Connection, *, instance_id: int, now: datetime) -> bool:
    """An identical re-send put the instance's file back: it is no longer purged, and
    its retention age starts again at ``now``. True if it had been purged."""
    was_purged = conn.execute(
        select(INSTANCE.c.purged_at).where(INSTANCE.c.id == instance_id)
    ).scalar()
    conn.execute(
        update(INSTANCE).where(INSTANCE.c.id == instance_id).values(purged_at=None, received_at=now)
    )
    return was_purged is not None
