"""The unassigned pool: items nobody could take when they arrived (no one on shift,
everyone at capacity) or that were released. The job ``worklist-pool`` assigns them,
most urgent first, as radiologists come on shift or gain capacity. An item never goes
back by this job to a radiologist who released it."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import Engine, Table, select
from sqlmodel import Session, SQLModel

from triage.db.engine import write_lock, writer
from triage.db.models import AuditEvent, ItemState
from triage.jobs.runs import recorded_job
from triage.settings import Settings
from triage.worklist import routing
from triage.worklist.failures import ItemFailures
from triage.worklist.store import ITEM

log = logging.getLogger(__name__)

JOB_ID = "worklist-pool"
ACTOR = f"system:{JOB_ID}"
BATCH = 200

AUDIT: Table = SQLModel.metadata.tables[AuditEvent.__tablename__]


def pool_item_ids(session: Session, *, limit: int) -> list[int]:
    rows = session.execute(
        select(ITEM.c.id)
        .where(ITEM.c.state == ItemState.NEW.value, ITEM.c.assignee.is_(None))
        .order_by(ITEM.c.priority_rank, ITEM.c.due_at, ITEM.c.id)
        .limit(limit)
    ).all()
    return [int(row.id) for row in rows]


def released_by(session: Session, *, item_id: int) -> set[str]:
    """Radiologists who released the item (they gave it back on purpose)."""
    rows = session.execute(
        select(AUDIT.c.actor).where(AUDIT.c.item_id == item_id, AUDIT.c.action == "released")
    ).all()
    return {str(row.actor) for row in rows}


@recorded_job(JOB_ID)
def assign_pool_items(*, engine: Engine, settings: Settings, now: datetime | None = None) -> int:
    """Assign pool items while someone on shift has capacity; how many it assigned.
    An item that fails is logged and skipped; the run then fails after the others."""
    moment = datetime.now(UTC) if now is None else now
    assigned = 0
    skipped: set[int] = set()
    failures = ItemFailures(JOB_ID)
    while True:
        with Session(engine) as session:
            ids = [
                i for i in pool_item_ids(session, limit=BATCH + len(skipped)) if i not in skipped
            ]
        if not ids:
            break
        for item_id in ids:
            routed = None
            excluded: set[str] = set()
            with (
                failures.item(item_id),
                write_lock(engine),
                Session(writer(engine)) as session,
                session.begin(),
            ):
                excluded = released_by(session, item_id=item_id)
                routed = routing.route_pool_item(
                    session,
                    item_id=item_id,
                    now=moment,
                    settings=settings,
                    actor=ACTOR,
                    exclude=excluded,
                )
            if routed is None:
                skipped.add(item_id)  # claimed meanwhile, or busy: the next run sees it
                continue
            _, decision = routed
            if decision.assignee is not None:
                assigned += 1
                continue
            skipped.add(item_id)
            if not excluded:
                # nobody at all can take an item now: the rest of the pool waits too
                return _done(assigned, failures)
    return _done(assigned, failures)


def _done(assigned: int, failures: ItemFailures) -> int:
    if assigned:
        log.info("assigned %d pool %s", assigned, "item" if assigned == 1 else "items")
    failures.raise_if_any()
    return assigned
