"""Routing an item to a radiologist in the database (the choice itself: ``policies``).

Every routing decision first locks the policy's ``routing_cursor`` row, so decisions
are made one at a time across workers: a radiologist's open count is exact when it is
read (nobody is pushed past ``max_open_items`` by two workers at once) and the
round-robin cursor advances once per assignment. On SQLite the writer lock already
serialises them. The row stays locked until the caller commits (lock order: ``store``).
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Table, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel

from triage.db.models import OPEN_ITEM_STATES, ItemState, RoutingCursor
from triage.settings import Settings
from triage.worklist.errors import RosterError
from triage.worklist.policies import Candidate, Decision, Policy, choose
from triage.worklist.roster import Roster, roster_source
from triage.worklist.shifts import on_shift
from triage.worklist.store import ITEM, ItemRow, audit, compare_and_set, try_lock_item

log = logging.getLogger(__name__)

CURSOR: Table = SQLModel.metadata.tables[RoutingCursor.__tablename__]
_OPEN = [state.value for state in OPEN_ITEM_STATES]


def current_roster(settings: Settings) -> Roster:
    """The roster file's current content (reloaded when it changed)."""
    return roster_source(settings.resolved_roster_file).get()


def open_counts(session: Session) -> dict[str, int]:
    """Open items per assignee."""
    rows = session.execute(
        select(ITEM.c.assignee, func.count())
        .where(ITEM.c.state.in_(_OPEN), ITEM.c.assignee.is_not(None))
        .group_by(ITEM.c.assignee)
    ).all()
    return {str(assignee): int(count) for assignee, count in rows}


def last_assigned(session: Session, ids: Collection[str]) -> dict[str, datetime | None]:
    """When each radiologist was last assigned an item (one indexed lookup each)."""
    ordered = sorted(ids)
    if not ordered:
        return {}
    lookups = [
        select(func.max(ITEM.c.assigned_at)).where(ITEM.c.assignee == rid).scalar_subquery()
        for rid in ordered
    ]
    row = session.execute(select(*lookups)).one()
    return dict(zip(ordered, row, strict=True))


def candidates_on_shift(
    session: Session,
    *,
    roster: Roster,
    now: datetime,
    settings: Settings,
    exclude: Collection[str] = (),
    with_history: bool = False,
) -> list[Candidate]:
    """Active radiologists on shift at ``now``, not excluded, with their load."""
    people = [
        person
        for person in roster.radiologists
        if person.active
        and person.id not in exclude
        and on_shift(person, now, settings.site_timezone)
    ]
    if not people:
        return []
    counts = open_counts(session)
    history = last_assigned(session, [p.id for p in people]) if with_history else {}
    subspecialty = roster.routing.subspecialty
    return [
        Candidate(
            id=person.id,
            open_items=counts.get(person.id, 0),
            max_open_items=person.max_open_items,
            has_subspecialty=person.has_subspecialty(subspecialty),
            last_assigned_at=history.get(person.id),
        )
        for person in people
    ]


def lock_cursor(session: Session, *, policy: Policy, now: datetime) -> str | None:
    """Lock the policy's cursor row (creating it once); the last assignee it holds."""
    dialect_insert: Any = (
        postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    )
    session.execute(
        dialect_insert(CURSOR)
        .values(policy=policy, last_assignee=None, updated_at=now)
        .on_conflict_do_nothing(index_elements=["policy"])
    )
    last = session.execute(
        select(CURSOR.c.last_assignee).where(CURSOR.c.policy == policy).with_for_update()
    ).scalar_one()
    return None if last is None else str(last)


def decide(
    session: Session,
    *,
    now: datetime,
    settings: Settings,
    exclude: Collection[str] = (),
) -> Decision:
    """Who should get an item now (locks the routing cursor until commit)."""
    policy: Policy = settings.routing_policy
    last = lock_cursor(session, policy=policy, now=now)
    try:
        roster = current_roster(settings)
    except RosterError as exc:
        log.error("routing to the pool: %s", exc)
        return Decision(None, f"unassigned pool: the roster is unusable ({_first_line(exc)})")
    candidates = candidates_on_shift(
        session,
        roster=roster,
        now=now,
        settings=settings,
        exclude=exclude,
        with_history=policy == "least_loaded",
    )
    decision = choose(policy, candidates, roster.routing, last_assignee=last)
    if decision.assignee is not None and policy == "round_robin":
        session.execute(
            update(CURSOR)
            .where(CURSOR.c.policy == policy)
            .values(last_assignee=decision.assignee, updated_at=now)
        )
    return decision


def route_item(
    session: Session,
    *,
    item: ItemRow,
    now: datetime,
    settings: Settings,
    actor: str,
    exclude: Collection[str] = (),
    note: str | None = None,
) -> tuple[ItemRow, Decision]:
    """Assign an open item per the routing policy (audited ``assigned``, with the
    reason). When nobody can take it the item is left as it is and the decision says
    why; the caller audits that if it matters."""
    excluded = {*exclude, *([item.assignee] if item.assignee else [])}
    decision = decide(session, now=now, settings=settings, exclude=excluded)
    if decision.assignee is None:
        return item, decision
    assigned = compare_and_set(
        session,
        item,
        action="assign",
        now=now,
        changes={
            "state": ItemState.ASSIGNED.value,
            "assignee": decision.assignee,
            "assigned_at": now,
        },
    )
    audit(
        session,
        item=assigned,
        at=now,
        actor=actor,
        action="assigned",
        from_state=item.state,
        to_state=assigned.state,
        note=note or decision.reason,
        details={
            "assignee": decision.assignee,
            "previous_assignee": item.assignee,
            "policy": settings.routing_policy,
            "reason": decision.reason,
        },
    )
    return assigned, decision


def route_pool_item(
    session: Session,
    *,
    item_id: int,
    now: datetime,
    settings: Settings,
    actor: str,
    exclude: Collection[str] = (),
) -> tuple[ItemRow, Decision] | None:
    """Route an item of the pool outside the pipeline: the cursor is locked first and
    the item only if nobody holds it (see ``store``); None when it is busy or no longer
    in the pool."""
    lock_cursor(session, policy=settings.routing_policy, now=now)
    item = try_lock_item(session, item_id=item_id)
    if item is None or item.state != ItemState.NEW or item.assignee is not None:
        return None
    return route_item(session, item=item, now=now, settings=settings, actor=actor, exclude=exclude)


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
