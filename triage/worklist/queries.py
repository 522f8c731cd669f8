"""Reading the worklist: filtered, in worklist order, one keyset page at a time.

The order is ``priority_rank, due_at, id`` (most urgent first, then the nearest
deadline); pages continue from the last row's key instead of an offset, so a page deep
in 50k rows costs the same as the first (indexes ``(state, priority_rank, due_at)``
and ``(priority_rank, due_at, id)``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Table, and_, exists, func, or_, select
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session, SQLModel

from triage.db.models import OPEN_ITEM_STATES, Flag, ItemState, Priority, Study
from triage.worklist.errors import ItemNotFoundError
from triage.worklist.store import AUDIT, ITEM
from triage.worklist.views import (
    AuditEntry,
    FindingView,
    ItemDetail,
    ItemPage,
    ItemSummary,
    PageCursor,
)

FLAG: Table = SQLModel.metadata.tables[Flag.__tablename__]
STUDY: Table = SQLModel.metadata.tables[Study.__tablename__]
MAX_PAGE = 1000


@dataclass(frozen=True, slots=True)
class ItemFilter:
    """Which items to list. Empty ``states`` means every state; the default is the open
    worklist. Every given criterion must hold."""

    states: tuple[ItemState, ...] = OPEN_ITEM_STATES
    assignee: str | None = None
    unassigned: bool = False
    priorities: tuple[Priority, ...] = ()
    findings: tuple[str, ...] = ()  # any of these
    flagged_since: datetime | None = None  # inclusive
    flagged_until: datetime | None = None  # exclusive
    overdue: bool = False  # open and past due_at
    breached: bool = False  # an SLA breach was recorded
    study_instance_uid: str | None = None
    accession_number: str | None = None


_SUMMARY_COLUMNS = (
    ITEM.c.id,
    ITEM.c.version,
    ITEM.c.study_id,
    STUDY.c.study_instance_uid,
    STUDY.c.accession_number,
    ITEM.c.state,
    ITEM.c.priority,
    ITEM.c.priority_rank,
    ITEM.c.base_priority,
    ITEM.c.escalation_level,
    ITEM.c.assignee,
    ITEM.c.outcome,
    ITEM.c.flagged_at,
    ITEM.c.due_at,
    ITEM.c.breached_at,
    ITEM.c.amended_at,
)


def _conditions(filters: ItemFilter, now: datetime) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if filters.states:
        where.append(ITEM.c.state.in_([ItemState(s).value for s in filters.states]))
    if filters.assignee is not None:
        where.append(ITEM.c.assignee == filters.assignee)
    if filters.unassigned:
        where.append(ITEM.c.assignee.is_(None))
    if filters.priorities:
        where.append(ITEM.c.priority.in_([Priority(p).value for p in filters.priorities]))
    if filters.findings:
        where.append(
            exists().where(
                FLAG.c.study_id == ITEM.c.study_id, FLAG.c.finding.in_(list(filters.findings))
            )
        )
    if filters.flagged_since is not None:
        where.append(ITEM.c.flagged_at >= filters.flagged_since)
    if filters.flagged_until is not None:
        where.append(ITEM.c.flagged_at < filters.flagged_until)
    if filters.overdue:
        where.append(ITEM.c.state.in_([s.value for s in OPEN_ITEM_STATES]))
        where.append(ITEM.c.due_at < now)
    if filters.breached:
        where.append(ITEM.c.breached_at.is_not(None))
    if filters.study_instance_uid is not None:
        where.append(STUDY.c.study_instance_uid == filters.study_instance_uid)
    if filters.accession_number is not None:
        where.append(STUDY.c.accession_number == filters.accession_number)
    return where


def _after(cursor: PageCursor) -> ColumnElement[bool]:
    return or_(
        ITEM.c.priority_rank > cursor.priority_rank,
        and_(
            ITEM.c.priority_rank == cursor.priority_rank,
            or_(
                ITEM.c.due_at > cursor.due_at,
                and_(ITEM.c.due_at == cursor.due_at, ITEM.c.id > cursor.item_id),
            ),
        ),
    )


def _before(cursor: PageCursor) -> ColumnElement[bool]:
    return or_(
        ITEM.c.priority_rank < cursor.priority_rank,
        and_(
            ITEM.c.priority_rank == cursor.priority_rank,
            or_(
                ITEM.c.due_at < cursor.due_at,
                and_(ITEM.c.due_at == cursor.due_at, ITEM.c.id < cursor.item_id),
            ),
        ),
    )


def list_items(
    session: Session,
    *,
    filters: ItemFilter,
    now: datetime,
    after: PageCursor | None = None,
    before: PageCursor | None = None,
    limit: int = 50,
) -> ItemPage:
    """One page of items in worklist order: the first, the one ``after`` a cursor, or
    the one ``before`` a cursor (for paging back)."""
    if after is not None and before is not None:
        raise ValueError("page after or before a cursor, not both")
    limit = max(1, min(limit, MAX_PAGE))
    where = _conditions(filters, now)
    order: Sequence[Any] = (ITEM.c.priority_rank, ITEM.c.due_at, ITEM.c.id)
    if after is not None:
        where.append(_after(after))
    if before is not None:
        where.append(_before(before))
        order = tuple(column.desc() for column in order)
    rows = list(
        session.execute(
            select(*_SUMMARY_COLUMNS)
            .join(STUDY, STUDY.c.id == ITEM.c.study_id)
            .where(*where)
            .order_by(*order)
            .limit(limit + 1)
        ).all()
    )
    more = len(rows) > limit
    rows = rows[:limit]
    if before is not None:
        rows.reverse()
    items = _with_findings(session, rows)
    if not items:
        return ItemPage((), None, None)
    first, last = PageCursor.of(items[0]), PageCursor.of(items[-1])
    if before is not None:
        return ItemPage(items, last, first if more else None)
    return ItemPage(items, last if more else None, first if after is not None else None)


def count_items(session: Session, *, filters: ItemFilter, now: datetime) -> int:
    stmt = (
        select(func.count())
        .select_from(ITEM.join(STUDY, STUDY.c.id == ITEM.c.study_id))
        .where(*_conditions(filters, now))
    )
    return int(session.execute(stmt).scalar_one())


def get_summary(session: Session, *, item_id: int) -> ItemSummary:
    rows = session.execute(
        select(*_SUMMARY_COLUMNS)
        .join(STUDY, STUDY.c.id == ITEM.c.study_id)
        .where(ITEM.c.id == item_id)
    ).all()
    items = _with_findings(session, rows)
    if not items:
        raise ItemNotFoundError(item_id)
    return items[0]


def get_detail(session: Session, *, item_id: int) -> ItemDetail:
    summary = get_summary(session, item_id=item_id)
    row = session.execute(
        select(
            ITEM.c.outcome_note,
            ITEM.c.assigned_at,
            ITEM.c.reviewed_at,
            ITEM.c.closed_at,
            ITEM.c.created_at,
            ITEM.c.updated_at,
            STUDY.c.patient_id,
            STUDY.c.patient_name,
            STUDY.c.study_description,
            STUDY.c.study_date,
            STUDY.c.triage_outcome,
            STUDY.c.ruleset_version,
        )
        .join(STUDY, STUDY.c.id == ITEM.c.study_id)
        .where(ITEM.c.id == item_id)
    ).one()
    findings = _findings(session, [summary.study_id], evidence=True)[summary.study_id]
    history = session.execute(
        select(
            AUDIT.c.at,
            AUDIT.c.actor,
            AUDIT.c.action,
            AUDIT.c.from_state,
            AUDIT.c.to_state,
            AUDIT.c.note,
            AUDIT.c.details,
        )
        .where(AUDIT.c.item_id == item_id)
        .order_by(AUDIT.c.at, AUDIT.c.id)
    ).all()
    return ItemDetail(
        summary=replace(summary, findings=tuple(findings)),
        outcome_note=row.outcome_note,
        assigned_at=row.assigned_at,
        reviewed_at=row.reviewed_at,
        closed_at=row.closed_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
        patient_id=row.patient_id,
        patient_name=row.patient_name,
        study_description=row.study_description,
        study_date=row.study_date.isoformat() if row.study_date else None,
        triage_outcome=row.triage_outcome,
        ruleset_version=row.ruleset_version,
        history=tuple(
            AuditEntry(
                at=h.at,
                actor=h.actor,
                action=h.action,
                from_state=h.from_state,
                to_state=h.to_state,
                note=h.note,
                details=dict(h.details or {}),
            )
            for h in history
        ),
    )


def _with_findings(session: Session, rows: Sequence[Any]) -> tuple[ItemSummary, ...]:
    findings = _findings(session, [row.study_id for row in rows], evidence=False)
    return tuple(
        ItemSummary(
            item_id=row.id,
            version=row.version,
            study_id=row.study_id,
            study_instance_uid=row.study_instance_uid,
            accession_number=row.accession_number,
            state=ItemState(row.state),
            priority=Priority(row.priority),
            base_priority=Priority(row.base_priority),
            escalation_level=row.escalation_level,
            assignee=row.assignee,
            outcome=row.outcome,
            flagged_at=row.flagged_at,
            due_at=row.due_at,
            breached_at=row.breached_at,
            amended_at=row.amended_at,
            findings=tuple(findings[row.study_id]),
        )
        for row in rows
    )


def _findings(
    session: Session, study_ids: Iterable[int], *, evidence: bool
) -> dict[int, list[FindingView]]:
    """Each study's current flags, most urgent first, then by finding id."""
    ids = sorted(set(study_ids))
    found: dict[int, list[FindingView]] = defaultdict(list)
    if not ids:
        return found
    columns = [
        FLAG.c.study_id,
        FLAG.c.finding,
        FLAG.c.certainty,
        FLAG.c.laterality,
        FLAG.c.rule,
        FLAG.c.rule_version,
        FLAG.c.priority,
    ]
    if evidence:
        columns += [FLAG.c.evidence, FLAG.c.measurements]
    rows = session.execute(select(*columns).where(FLAG.c.study_id.in_(ids))).all()
    for row in rows:
        found[row.study_id].append(
            FindingView(
                finding=row.finding,
                certainty=row.certainty,
                laterality=row.laterality,
                rule=row.rule,
                rule_version=row.rule_version,
                priority=row.priority,
                evidence=tuple(row.evidence or ()) if evidence else (),
                measurements=tuple(row.measurements or ()) if evidence else (),
            )
        )
    for views in found.values():
        views.sort(key=lambda v: (_rank(v.priority), v.finding))
    return found


def _rank(priority: str) -> int:
    try:
        return Priority(priority).rank
    except ValueError:
        return len(Priority)
