"""The review state machine of a worklist item, applied in the database.

```
            claim / routed                start                 close (outcome)
   new  ───────────────────▶ assigned ───────────▶ in_review ───────────────────▶ closed
    ▲  ◀─────────────────────   │  ◀── reassign ──     │                             │
    │     release / to pool     └──── release / reassign to pool ──┘                  │
    └──────────────────── reopen (previous assignee gone) ◀──────────────────────────┘
                           reopen (previous assignee active) ──▶ assigned
   any open state ──(its flags disappeared: system)──▶ closed, outcome "withdrawn"
```

Who may do what: a radiologist on the roster (active) claims an unassigned item; only
the assignee starts, closes or releases it; anyone (a lead, a script) reassigns an open
item to an active radiologist or to the pool and reopens a closed one. Closing needs a
reviewer outcome; ``not_confirmed`` needs a note too (QA reads it to tune the rules).

Each function reads the item, checks the move, applies it by compare-and-set and writes
its audit event, all in the caller's transaction. ``expected_version`` (the version
the user was shown) turns "someone acted on it since" into ``StaleItemError``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from triage.db.models import ItemOutcome, ItemState, Priority
from triage.settings import Settings
from triage.worklist.deadlines import sla
from triage.worklist.errors import (
    InvalidRequestError,
    InvalidTransitionError,
    NotPermittedError,
    StaleItemError,
)
from triage.worklist.routing import current_roster, route_item
from triage.worklist.store import ItemRow, audit, compare_and_set, get_item

REVIEW_OUTCOMES = tuple(o for o in ItemOutcome if o is not ItemOutcome.WITHDRAWN)
NOTE_REQUIRED = frozenset({ItemOutcome.NOT_CONFIRMED})
MAX_NOTE_LENGTH = 4000
_OPEN_STATES = (ItemState.NEW, ItemState.ASSIGNED, ItemState.IN_REVIEW)


def clean_note(note: str | None) -> str | None:
    if note is None:
        return None
    note = note.strip()
    if len(note) > MAX_NOTE_LENGTH:
        raise InvalidRequestError(f"a note is at most {MAX_NOTE_LENGTH} characters")
    return note or None


def _read(session: Session, item_id: int, action: str, expected_version: int | None) -> ItemRow:
    item = get_item(session, item_id=item_id)
    if expected_version is not None and item.version != expected_version:
        raise StaleItemError(
            item_id, action, expected_version, item.version, item.state, item.assignee
        )
    return item


def _require_state(item: ItemRow, action: str, *states: ItemState) -> None:
    if item.state in states:
        return
    hints = {
        ItemState.NEW: "it is in the unassigned pool: claim it first",
        ItemState.ASSIGNED: f"assigned to {item.assignee}: start the review first",
        ItemState.IN_REVIEW: f"{item.assignee} is reviewing it",
        ItemState.CLOSED: f"closed as {item.outcome}: reopen it first",
    }
    raise InvalidTransitionError(item.id, action, item.state, hints.get(ItemState(item.state), ""))


def _require_assignee(item: ItemRow, action: str, actor: str) -> None:
    if item.assignee != actor:
        raise NotPermittedError(
            f"cannot {action} item {item.id}: it is assigned to {item.assignee}, not {actor}"
        )


def _require_radiologist(settings: Settings, radiologist_id: str, what: str) -> None:
    roster = current_roster(settings)
    person = roster.get(radiologist_id)
    if person is None:
        known = ", ".join(roster.ids()) or "the roster is empty"
        raise InvalidRequestError(f"{what} {radiologist_id!r} is not on the roster ({known})")
    if not person.active:
        raise InvalidRequestError(f"{what} {radiologist_id!r} is not active on the roster")


def _apply(
    session: Session,
    item: ItemRow,
    *,
    action: str,
    audit_action: str,
    actor: str,
    now: datetime,
    changes: dict[str, Any],
    note: str | None,
    details: dict[str, Any] | None = None,
) -> ItemRow:
    updated = compare_and_set(session, item, action=action, now=now, changes=changes)
    audit(
        session,
        item=updated,
        at=now,
        actor=actor,
        action=audit_action,
        from_state=item.state,
        to_state=updated.state,
        note=note,
        details=details,
    )
    return updated


def claim(
    session: Session,
    *,
    item_id: int,
    actor: str,
    now: datetime,
    settings: Settings,
    note: str | None = None,
    expected_version: int | None = None,
) -> ItemRow:
    """An unassigned item (state new) becomes the actor's."""
    item = _read(session, item_id, "claim", expected_version)
    _require_state(item, "claim", ItemState.NEW)
    _require_radiologist(settings, actor, "radiologist")
    return _apply(
        session,
        item,
        action="claim",
        audit_action="claimed",
        actor=actor,
        now=now,
        changes={"state": ItemState.ASSIGNED.value, "assignee": actor, "assigned_at": now},
        note=clean_note(note),
        details={"assignee": actor},
    )


def start_review(
    session: Session,
    *,
    item_id: int,
    actor: str,
    now: datetime,
    note: str | None = None,
    expected_version: int | None = None,
) -> ItemRow:
    item = _read(session, item_id, "start", expected_version)
    _require_state(item, "start", ItemState.ASSIGNED)
    _require_assignee(item, "start", actor)
    return _apply(
        session,
        item,
        action="start",
        audit_action="started",
        actor=actor,
        now=now,
        changes={"state": ItemState.IN_REVIEW.value},
        note=clean_note(note),
    )


def parse_outcome(value: str | ItemOutcome | None) -> ItemOutcome:
    choices = ", ".join(o.value for o in REVIEW_OUTCOMES)
    if value is None or value == "":
        raise InvalidRequestError(f"closing needs an outcome: one of {choices}")
    try:
        outcome = ItemOutcome(value)
    except ValueError:
        raise InvalidRequestError(f"unknown outcome {value!r}: one of {choices}") from None
    if outcome not in REVIEW_OUTCOMES:
        raise InvalidRequestError(
            f"outcome {outcome.value!r} is set by the system: one of {choices}"
        )
    return outcome


def close(
    session: Session,
    *,
    item_id: int,
    actor: str,
    now: datetime,
    outcome: str | ItemOutcome | None,
    note: str | None = None,
    expected_version: int | None = None,
) -> ItemRow:
    """The assignee closes a review with an outcome."""
    chosen = parse_outcome(outcome)
    text = clean_note(note)
    if chosen in NOTE_REQUIRED and text is None:
        raise InvalidRequestError(f"closing as {chosen.value} needs a note saying why")
    item = _read(session, item_id, "close", expected_version)
    _require_state(item, "close", ItemState.IN_REVIEW)
    _require_assignee(item, "close", actor)
    return _apply(
        session,
        item,
        action="close",
        audit_action="closed",
        actor=actor,
        now=now,
        changes={
            "state": ItemState.CLOSED.value,
            "outcome": chosen.value,
            "outcome_note": text,
            "reviewed_at": now,
            "closed_at": now,
        },
        note=text,
        details={"outcome": chosen.value},
    )


def release(
    session: Session,
    *,
    item_id: int,
    actor: str,
    now: datetime,
    note: str | None = None,
    expected_version: int | None = None,
) -> ItemRow:
    """The assignee gives an item back to the unassigned pool."""
    item = _read(session, item_id, "release", expected_version)
    _require_state(item, "release", ItemState.ASSIGNED, ItemState.IN_REVIEW)
    _require_assignee(item, "release", actor)
    return _apply(
        session,
        item,
        action="release",
        audit_action="released",
        actor=actor,
        now=now,
        changes={"state": ItemState.NEW.value, "assignee": None, "assigned_at": None},
        note=clean_note(note),
        details={"previous_assignee": actor},
    )


def reassign(
    session: Session,
    *,
    item_id: int,
    actor: str,
    now: datetime,
    settings: Settings,
    to: str | None,
    note: str | None = None,
    expected_version: int | None = None,
) -> ItemRow:
    """Give an open item to a named radiologist (state assigned, a review in progress
    starts over) or, with ``to=None``, back to the unassigned pool."""
    item = _read(session, item_id, "reassign", expected_version)
    _require_state(item, "reassign", *_OPEN_STATES)
    if to is None:
        if item.state == ItemState.NEW:
            raise InvalidTransitionError(item.id, "reassign", item.state, "already in the pool")
        changes: dict[str, Any] = {
            "state": ItemState.NEW.value,
            "assignee": None,
            "assigned_at": None,
        }
    else:
        if to == item.assignee:
            raise InvalidRequestError(f"item {item.id} is already assigned to {to}")
        _require_radiologist(settings, to, "radiologist")
        changes = {"state": ItemState.ASSIGNED.value, "assignee": to, "assigned_at": now}
    return _apply(
        session,
        item,
        action="reassign",
        audit_action="reassigned",
        actor=actor,
        now=now,
        changes=changes,
        note=clean_note(note),
        details={"previous_assignee": item.assignee, "assignee": to},
    )


def reopen(
    session: Session,
    *,
    item_id: int,
    actor: str,
    now: datetime,
    settings: Settings,
    note: str | None = None,
    expected_version: int | None = None,
    reason: dict[str, Any] | None = None,
    route: bool = True,
) -> ItemRow:
    """A closed item starts a new review cycle: outcome cleared, priority back to the
    findings' priority, a fresh deadline; it goes back to its previous assignee if they
    are still active on the roster, else it is routed (or left in the pool). With
    ``route=False`` it is left in the pool for the caller to route (in a transaction
    of its own, see ``store`` on lock order)."""
    item = _read(session, item_id, "reopen", expected_version)
    _require_state(item, "reopen", ItemState.CLOSED)
    base = Priority(item.base_priority)
    changes: dict[str, Any] = {
        "outcome": None,
        "outcome_note": None,
        "reviewed_at": None,
        "closed_at": None,
        "breached_at": None,
        "escalation_level": 0,
        "priority": base.value,
        "due_at": now + sla(base, settings),
    }
    previous = item.assignee
    back_to_previous = previous is not None and current_roster(settings).is_active(previous)
    if back_to_previous:
        changes.update(state=ItemState.ASSIGNED.value, assigned_at=now)
    else:
        changes.update(state=ItemState.NEW.value, assignee=None, assigned_at=None)
    details = {"previous_outcome": item.outcome, "previous_assignee": previous, **(reason or {})}
    reopened = _apply(
        session,
        item,
        action="reopen",
        audit_action="reopened",
        actor=actor,
        now=now,
        changes=changes,
        note=clean_note(note),
        details=details,
    )
    if back_to_previous or not route:
        return reopened
    routed, decision = route_item(session, item=reopened, now=now, settings=settings, actor=actor)
    if decision.assignee is None:
        audit_pooled(session, item=routed, now=now, actor=actor, reason=decision.reason)
    return routed


def withdraw(
    session: Session, *, item: ItemRow, actor: str, now: datetime, details: dict[str, Any]
) -> ItemRow:
    """System only: an open item whose findings are gone is closed as withdrawn."""
    _require_state(item, "withdraw", *_OPEN_STATES)
    return _apply(
        session,
        item,
        action="withdraw",
        audit_action="withdrawn",
        actor=actor,
        now=now,
        changes={
            "state": ItemState.CLOSED.value,
            "outcome": ItemOutcome.WITHDRAWN.value,
            "outcome_note": None,
            "closed_at": now,
        },
        note="the report no longer carries any flagged finding",
        details=details,
    )


def audit_pooled(
    session: Session, *, item: ItemRow, now: datetime, actor: str, reason: str
) -> None:
    audit(
        session,
        item=item,
        at=now,
        actor=actor,
        action="pooled",
        from_state=item.state,
        to_state=item.state,
        note=reason,
        details={"reason": reason},
    )
