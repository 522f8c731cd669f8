"""A study's worklist item, brought in line with the study's current flags.

The pipeline calls ``sync_item_for_study`` inside the transaction that replaced the
study's ``Flag`` rows, so flags and item commit together. The item keeps its review
(state, assignee, outcome, notes) across re-triage; ``WorklistItem.findings`` holds
the finding ids it reflected last, which is how additions and removals are seen.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Table, select
from sqlmodel import Session, SQLModel

from triage.db.models import Flag, Priority, WorklistItem
from triage.settings import Settings
from triage.worklist.deadlines import (
    due_on_priority_change,
    effective_priority,
    most_urgent,
    sla,
)
from triage.worklist.routing import route_item
from triage.worklist.store import (
    ItemRow,
    audit,
    compare_and_set,
    find_item_for_study,
    insert_item,
)
from triage.worklist.transitions import audit_pooled, reopen, withdraw

FLAG: Table = SQLModel.metadata.tables[Flag.__tablename__]


def sync_item_for_study(
    session: Session,
    *,
    study_id: int,
    now: datetime,
    settings: Settings,
    actor: str = "system:pipeline",
) -> WorklistItem | None:
    """Create, update, reopen or withdraw the study's item from its current flags.

    - flags, no item: create it (state new, priority from the most urgent finding,
      due at now + SLA), route it or leave it in the pool; audit "created" and
      "assigned" or "pooled".
    - flags and an item: keep the review; take the new base priority (never below an
      escalation, ``deadlines``); when the findings changed, ``amended_at`` and an
      audit "retriaged" with what was added and removed; a closed item that gains a
      finding is reopened.
    - no flags, an open item: closed as "withdrawn" by the system. A closed item stays
      closed (audit "retriaged" if it had findings).
    - no flags, no item: nothing (None).

    Running it again with nothing changed changes nothing.
    """
    flags = session.execute(
        select(FLAG.c.finding, FLAG.c.priority).where(FLAG.c.study_id == study_id)
    ).all()
    findings = sorted({str(finding) for finding, _ in flags})
    item = find_item_for_study(session, study_id=study_id, lock=True)
    if item is None:
        if not findings:
            return None
        row = _create(
            session,
            study_id=study_id,
            findings=findings,
            base=most_urgent(p for _, p in flags),
            now=now,
            settings=settings,
            actor=actor,
        )
    elif not findings:
        row = _lose_all(session, item=item, now=now, actor=actor)
    else:
        row = _retriage(
            session,
            item=item,
            findings=findings,
            base=most_urgent(p for _, p in flags),
            now=now,
            settings=settings,
            actor=actor,
        )
    return session.get(WorklistItem, row.id, populate_existing=True)


def _create(
    session: Session,
    *,
    study_id: int,
    findings: list[str],
    base: Priority,
    now: datetime,
    settings: Settings,
    actor: str,
) -> ItemRow:
    item = insert_item(
        session,
        study_id=study_id,
        priority=base,
        findings=findings,
        flagged_at=now,
        due_at=now + sla(base, settings),
        now=now,
    )
    audit(
        session,
        item=item,
        at=now,
        actor=actor,
        action="created",
        to_state=item.state,
        details={
            "findings": findings,
            "priority": base.value,
            "due_at": item.due_at.isoformat(),
        },
    )
    routed, decision = route_item(session, item=item, now=now, settings=settings, actor=actor)
    if decision.assignee is None:
        audit_pooled(session, item=routed, now=now, actor=actor, reason=decision.reason)
    return routed


def _lose_all(session: Session, *, item: ItemRow, now: datetime, actor: str) -> ItemRow:
    if not item.findings and not item.is_open:
        return item  # already reflects "no findings"
    details: dict[str, Any] = {"added": [], "removed": list(item.findings)}
    updated = compare_and_set(
        session,
        item,
        action="re-triage",
        now=now,
        changes={"findings": [], "amended_at": now},
    )
    if updated.is_open:
        return withdraw(session, item=updated, actor=actor, now=now, details=details)
    audit(
        session,
        item=updated,
        at=now,
        actor=actor,
        action="retriaged",
        from_state=updated.state,
        to_state=updated.state,
        note="the report no longer carries any flagged finding",
        details=details,
    )
    return updated


def _retriage(
    session: Session,
    *,
    item: ItemRow,
    findings: list[str],
    base: Priority,
    now: datetime,
    settings: Settings,
    actor: str,
) -> ItemRow:
    before = set(item.findings)
    added = sorted(set(findings) - before)
    removed = sorted(before - set(findings))
    old_priority = Priority(item.priority)
    priority = effective_priority(
        base=base, current=old_priority, escalation_level=item.escalation_level
    )
    changes: dict[str, Any] = {}
    if base.value != item.base_priority:
        changes["base_priority"] = base.value
    if priority is not old_priority:
        changes["priority"] = priority.value
        changes["due_at"] = due_on_priority_change(
            old=old_priority,
            new=priority,
            due_at=item.due_at,
            flagged_at=item.flagged_at,
            now=now,
            settings=settings,
        )
    if added or removed:
        changes["findings"] = findings
        changes["amended_at"] = now
    if not changes:
        return item
    updated = compare_and_set(session, item, action="re-triage", now=now, changes=changes)
    details: dict[str, Any] = {"added": added, "removed": removed}
    if priority is not old_priority:
        details["priority"] = {"from": old_priority.value, "to": priority.value}
        details["due_at"] = updated.due_at.isoformat()
    audit(
        session,
        item=updated,
        at=now,
        actor=actor,
        action="retriaged",
        from_state=updated.state,
        to_state=updated.state,
        details=details,
    )
    if updated.is_open or not added:
        return updated
    return reopen(
        session,
        item_id=updated.id,
        actor=actor,
        now=now,
        settings=settings,
        note=f"re-triage added {', '.join(added)}",
        reason={"added": added},
    )
