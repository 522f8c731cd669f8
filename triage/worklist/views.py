"""What the worklist shows: plain values, no database objects (the TUI and the CLI
receive these from ``WorklistService`` and never see SQL)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from triage.db.models import OPEN_ITEM_STATES, ItemState, Priority


@dataclass(frozen=True, slots=True)
class FindingView:
    finding: str
    certainty: str
    laterality: str | None
    rule: str
    rule_version: str
    priority: str
    # only in ItemDetail: [{"sop_instance_uid", "item_path", "concept", "text", "span"}]
    evidence: tuple[dict[str, Any], ...] = ()
    measurements: tuple[dict[str, Any], ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The ``worklist --json`` finding (DESIGN.md)."""
        return {
            "finding": self.finding,
            "certainty": self.certainty,
            "laterality": self.laterality,
            "rule": self.rule,
            "rule_version": self.rule_version,
        }


@dataclass(frozen=True, slots=True)
class ItemSummary:
    """One worklist row."""

    item_id: int
    version: int
    study_id: int
    study_instance_uid: str
    accession_number: str | None
    state: ItemState
    priority: Priority
    base_priority: Priority
    escalation_level: int
    assignee: str | None
    outcome: str | None
    flagged_at: datetime
    due_at: datetime
    breached_at: datetime | None
    amended_at: datetime | None
    findings: tuple[FindingView, ...] = ()

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_ITEM_STATES

    def is_overdue(self, now: datetime) -> bool:
        return self.is_open and self.due_at < now

    def to_json(self) -> dict[str, Any]:
        """The ``worklist --json`` line (DESIGN.md); ``status`` is the item's state."""
        return {
            "item_id": self.item_id,
            "study_instance_uid": self.study_instance_uid,
            "accession_number": self.accession_number,
            "priority": self.priority.value,
            "status": self.state.value,
            "assignee": self.assignee,
            "due_at": self.due_at.isoformat(),
            "flagged_at": self.flagged_at.isoformat(),
            "findings": [f.to_json() for f in self.findings],
        }


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    actor: str
    action: str
    from_state: str | None
    to_state: str | None
    note: str | None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ItemDetail:
    """One item with everything a reviewer needs, and its history (oldest first).

    Carries patient identifiers for the reader's screen: never log it at INFO.
    """

    summary: ItemSummary
    outcome_note: str | None
    assigned_at: datetime | None
    reviewed_at: datetime | None
    closed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    patient_id: str | None
    patient_name: str | None
    study_description: str | None
    study_date: str | None
    triage_outcome: str | None
    ruleset_version: str | None
    history: tuple[AuditEntry, ...]


@dataclass(frozen=True, slots=True)
class PageCursor:
    """A position in the worklist order (priority_rank, due_at, id)."""

    priority_rank: int
    due_at: datetime
    item_id: int

    @classmethod
    def of(cls, item: ItemSummary) -> PageCursor:
        return cls(item.priority.rank, item.due_at, item.item_id)


@dataclass(frozen=True, slots=True)
class ItemPage:
    """Rows in worklist order; cursors to fetch the page after or before (None: none)."""

    items: tuple[ItemSummary, ...]
    next_after: PageCursor | None
    previous_before: PageCursor | None


@dataclass(frozen=True, slots=True)
class RadiologistLoad:
    """A roster entry as routing sees it now."""

    id: str
    name: str
    active: bool
    on_shift: bool
    open_items: int
    max_open_items: int
    subspecialties: tuple[str, ...]
