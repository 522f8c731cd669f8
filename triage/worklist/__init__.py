"""The worklist: items from flagged studies, their review, routing, SLA and queries.

Callers outside ``triage`` (the CLI, the TUI) use ``WorklistService`` and the value
types it returns; the modules below it take a session and run in the caller's
transaction (the pipeline calls ``sync.sync_item_for_study``).
"""

from triage.db.models import ItemOutcome, ItemState, Priority
from triage.worklist.errors import (
    InvalidRequestError,
    InvalidTransitionError,
    ItemNotFoundError,
    NotPermittedError,
    RosterError,
    StaleItemError,
    WorklistError,
)
from triage.worklist.queries import ItemFilter
from triage.worklist.roster import Radiologist, Roster, Shift
from triage.worklist.service import WorklistService
from triage.worklist.transitions import REVIEW_OUTCOMES
from triage.worklist.views import (
    AuditEntry,
    FindingView,
    ItemDetail,
    ItemPage,
    ItemSummary,
    PageCursor,
    RadiologistLoad,
)

__all__ = [
    "REVIEW_OUTCOMES",
    "AuditEntry",
    "FindingView",
    "InvalidRequestError",
    "InvalidTransitionError",
    "ItemDetail",
    "ItemFilter",
    "ItemNotFoundError",
    "ItemOutcome",
    "ItemPage",
    "ItemState",
    "ItemSummary",
    "NotPermittedError",
    "PageCursor",
    "Priority",
    "Radiologist",
    "RadiologistLoad",
    "Roster",
    "RosterError",
    "Shift",
    "StaleItemError",
    "WorklistError",
    "WorklistService",
]
