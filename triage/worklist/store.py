"""Worklist rows in the database: read a snapshot, change it by compare-and-set, audit.

Lock order (PostgreSQL): the pipeline locks an item, then the routing cursor. Every
other transaction that locks the cursor does so first and never waits for an item
after it (``try_lock_item``), so the two orders cannot deadlock.

Every change to an item is one ``UPDATE ... WHERE id = :id AND version = :v AND state =
:s`` that bumps ``version``: of two writers that read the same version, the database
lets exactly one through (on PostgreSQL the second waits for the first to commit, then
matches nothing). Its audit event goes into the same transaction. All functions run
inside the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Table, insert, select, update
from sqlmodel import Session, SQLModel

from triage.db.models import AuditEvent, ItemState, Priority, WorklistItem
from triage.worklist.errors import ItemNotFoundError, StaleItemError

ITEM: Table = SQLModel.metadata.tables[WorklistItem.__tablename__]
AUDIT: Table = SQLModel.metadata.tables[AuditEvent.__tablename__]


@dataclass(frozen=True, slots=True)
class ItemRow:
    """A worklist item as read at one moment (its ``version`` identifies that moment)."""

    id: int
    study_id: int
    state: str
    priority: str
    priority_rank: int
    base_priority: str
    escalation_level: int
    assignee: str | None
    assigned_at: datetime | None
    outcome: str | None
    outcome_note: str | None
    findings: list[str]
    flagged_at: datetime
    due_at: datetime
    breached_at: datetime | None
    reviewed_at: datetime | None
    amended_at: datetime | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    version: int

    @property
    def is_open(self) -> bool:
        return self.state != ItemState.CLOSED

    @classmethod
    def from_mapping(cls, row: Any) -> ItemRow:
        return cls(**{f.name: row[f.name] for f in fields(cls)})


_COLUMNS = [ITEM.c[f.name] for f in fields(ItemRow)]


def get_item(session: Session, *, item_id: int, lock: bool = False) -> ItemRow:
    """The item now; ``lock`` holds its row until commit (PostgreSQL; SQLite's writer
    already excludes every other writer)."""
    stmt = select(*_COLUMNS).where(ITEM.c.id == item_id)
    if lock:
        stmt = stmt.with_for_update()
    row = session.execute(stmt).mappings().first()
    if row is None:
        raise ItemNotFoundError(item_id)
    return ItemRow.from_mapping(row)


def try_lock_item(session: Session, *, item_id: int) -> ItemRow | None:
    """The item with its row locked, or None when another transaction holds it (it
    is not waited for: PostgreSQL ``SKIP LOCKED``) or it no longer exists."""
    stmt = select(*_COLUMNS).where(ITEM.c.id == item_id).with_for_update(skip_locked=True)
    row = session.execute(stmt).mappings().first()
    return None if row is None else ItemRow.from_mapping(row)


def find_item_for_study(session: Session, *, study_id: int, lock: bool = False) -> ItemRow | None:
    stmt = select(*_COLUMNS).where(ITEM.c.study_id == study_id)
    if lock:
        stmt = stmt.with_for_update()
    row = session.execute(stmt).mappings().first()
    return None if row is None else ItemRow.from_mapping(row)


def insert_item(
    session: Session,
    *,
    study_id: int,
    priority: Priority,
    findings: list[str],
    flagged_at: datetime,
    due_at: datetime,
    now: datetime,
) -> ItemRow:
    values = {
        "study_id": study_id,
        "state": ItemState.NEW.value,
        "priority": priority.value,
        "priority_rank": priority.rank,
        "base_priority": priority.value,
        "escalation_level": 0,
        "findings": findings,
        "flagged_at": flagged_at,
        "due_at": due_at,
        "created_at": now,
        "updated_at": now,
        "version": 1,
    }
    row = session.execute(insert(ITEM).values(**values).returning(*_COLUMNS)).mappings().one()
    return ItemRow.from_mapping(row)


def compare_and_set(
    session: Session, item: ItemRow, *, action: str, now: datetime, changes: dict[str, Any]
) -> ItemRow:
    """Apply ``changes`` to ``item`` if nobody changed it since it was read; raise
    ``StaleItemError`` (naming what it is now) if somebody did."""
    if "priority" in changes:
        changes = {**changes, "priority_rank": Priority(changes["priority"]).rank}
    stmt = (
        update(ITEM)
        .where(
            ITEM.c.id == item.id,
            ITEM.c.version == item.version,
            ITEM.c.state == item.state,
        )
        .values(**changes, updated_at=now, version=item.version + 1)
        .returning(*_COLUMNS)
    )
    row = session.execute(stmt).mappings().first()
    if row is None:
        current = get_item(session, item_id=item.id)
        raise StaleItemError(
            item.id, action, item.version, current.version, current.state, current.assignee
        )
    return ItemRow.from_mapping(row)


def audit(
    session: Session,
    *,
    item: ItemRow,
    at: datetime,
    actor: str,
    action: str,
    from_state: str | None = None,
    to_state: str | None = None,
    note: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    session.execute(
        insert(AUDIT).values(
            item_id=item.id,
            study_id=item.study_id,
            at=at,
            actor=actor,
            action=action,
            from_state=from_state,
            to_state=to_state,
            note=note,
            details=details or {},
        )
    )
