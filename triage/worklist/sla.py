"""SLA escalation: what happens to an open item whose review deadline has passed.

Deadlines per priority come from the settings (``sla_urgent_hours`` ...; the rules
for setting ``due_at`` are in ``deadlines``). The job ``sla-escalation`` handles each
missed deadline once:

- it records the breach (``breached_at``, audit "breached");
- with ``raise_priority`` or ``raise_and_reassign`` it raises the priority one level
  (audit "escalated"; urgent cannot go higher);
- with ``reassign`` or ``raise_and_reassign`` it gives the item to someone else on shift
  per the routing policy (audit "reassigned", or "assigned" for a pool item). An item
  in review stays with a reader who is on shift; an item whose reader is off shift or
  inactive and whom nobody else can take goes back to the pool, which the
  ``worklist-pool`` job assigns when someone comes on shift;
- when it raised or reassigned, the item gets a fresh deadline, ``now + SLA(priority)``,
  and ``escalation_level`` counts the round.

A deadline counts as handled once ``breached_at >= due_at``, so running the job again at
the same moment does nothing more; a new deadline is handled when it passes in turn.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, or_, select
from sqlmodel import Session

from triage.db.engine import write_lock, writer
from triage.db.models import OPEN_ITEM_STATES, ItemState, Priority
from triage.jobs.runs import recorded_job
from triage.settings import Settings
from triage.worklist.deadlines import raised, sla
from triage.worklist.errors import RosterError
from triage.worklist.failures import ItemFailures
from triage.worklist.policies import Decision
from triage.worklist.routing import current_roster, decide, lock_cursor
from triage.worklist.shifts import on_shift
from triage.worklist.store import ITEM, ItemRow, audit, compare_and_set, try_lock_item

log = logging.getLogger(__name__)

JOB_ID = "sla-escalation"
ACTOR = f"system:{JOB_ID}"
BATCH = 200


def overdue_item_ids(session: Session, *, now: datetime, limit: int) -> list[int]:
    """Open items whose current deadline passed and was not handled yet, most urgent
    first."""
    rows = session.execute(
        select(ITEM.c.id)
        .where(
            ITEM.c.state.in_([s.value for s in OPEN_ITEM_STATES]),
            ITEM.c.due_at <= now,
            or_(ITEM.c.breached_at.is_(None), ITEM.c.breached_at < ITEM.c.due_at),
        )
        .order_by(ITEM.c.priority_rank, ITEM.c.due_at, ITEM.c.id)
        .limit(limit)
    ).all()
    return [int(row.id) for row in rows]


@recorded_job(JOB_ID)
def escalate_overdue_items(
    *, engine: Engine, settings: Settings, now: datetime | None = None
) -> int:
    """Escalate every item whose deadline passed; how many it escalated. One
    transaction per item: an item that fails is logged and skipped, and the run then
    fails (``ItemsFailedError``) after handling the others."""
    moment = datetime.now(UTC) if now is None else now
    handled = 0
    seen: set[int] = set()
    failures = ItemFailures(JOB_ID)
    while True:
        with Session(engine) as session:
            ids = [
                i
                for i in overdue_item_ids(session, now=moment, limit=BATCH + len(seen))
                if i not in seen
            ]
        if not ids:
            break
        for item_id in ids:
            seen.add(item_id)
            with (
                failures.item(item_id),
                write_lock(engine),
                Session(writer(engine)) as session,
                session.begin(),
            ):
                if escalate_item(session, item_id=item_id, now=moment, settings=settings):
                    handled += 1
    if handled:
        log.info("escalated %d overdue worklist %s", handled, "item" if handled == 1 else "items")
    failures.raise_if_any()
    return handled


def escalate_item(session: Session, *, item_id: int, now: datetime, settings: Settings) -> bool:
    """Handle the item's missed deadline (module docstring); False if there is none,
    or if another transaction holds the item (the next run handles it)."""
    mode = settings.sla_escalation
    if mode in ("reassign", "raise_and_reassign"):
        lock_cursor(session, policy=settings.routing_policy, now=now)  # lock order: store
    item = try_lock_item(session, item_id=item_id)
    if (
        item is None
        or not item.is_open
        or item.due_at > now
        or (item.breached_at is not None and item.breached_at >= item.due_at)
    ):
        return False
    priority = Priority(item.priority)
    new_priority = priority
    if mode in ("raise_priority", "raise_and_reassign"):
        new_priority = raised(priority)
    decision: Decision | None = None
    to_pool = False
    if mode in ("reassign", "raise_and_reassign"):
        decision, to_pool = _reassignment(session, item=item, now=now, settings=settings)

    changes: dict[str, Any] = {"breached_at": now}
    acted = new_priority is not priority
    if new_priority is not priority:
        changes["priority"] = new_priority.value
    if decision is not None and decision.assignee is not None:
        changes.update(state=ItemState.ASSIGNED.value, assignee=decision.assignee, assigned_at=now)
        acted = True
    elif to_pool:
        changes.update(state=ItemState.NEW.value, assignee=None, assigned_at=None)
        acted = True
    if new_priority is not priority or (decision is not None and decision.assignee):
        changes["due_at"] = now + sla(new_priority, settings)
    if acted:
        changes["escalation_level"] = item.escalation_level + 1
    updated = compare_and_set(session, item, action="escalate", now=now, changes=changes)

    def record(action: str, note: str, details: dict[str, Any]) -> None:
        audit(
            session,
            item=updated,
            at=now,
            actor=ACTOR,
            action=action,
            from_state=item.state,
            to_state=updated.state,
            note=note,
            details=details,
        )

    record(
        "breached",
        f"review overdue: {priority.value} item due {item.due_at.isoformat()}",
        {"due_at": item.due_at.isoformat(), "priority": priority.value, "assignee": item.assignee},
    )
    if new_priority is not priority:
        record(
            "escalated",
            f"priority raised from {priority.value} to {new_priority.value}",
            {"priority": {"from": priority.value, "to": new_priority.value}},
        )
    if decision is not None and (decision.assignee is not None or to_pool):
        record(
            "reassigned" if item.assignee else "assigned",
            decision.reason if decision.assignee else f"back to the pool: {decision.reason}",
            {
                "previous_assignee": item.assignee,
                "assignee": decision.assignee,
                "policy": settings.routing_policy,
                "reason": decision.reason,
            },
        )
    return True


def _reassignment(
    session: Session, *, item: ItemRow, now: datetime, settings: Settings
) -> tuple[Decision | None, bool]:
    """(routing decision or None when the item stays with its reader, whether it goes
    back to the pool)."""
    if item.assignee is None:
        return decide(session, now=now, settings=settings), False
    try:
        person = current_roster(settings).get(item.assignee)
    except RosterError:
        person = None
    present = person is not None and person.active and on_shift(person, now, settings.site_timezone)
    if item.state == ItemState.IN_REVIEW and present:
        return None, False  # being read by someone on shift: only raise the priority
    decision = decide(session, now=now, settings=settings, exclude={item.assignee})
    return decision, decision.assignee is None and not present
