"""The study index: every table of the application, in one module.

Studies hold what a worklist and QA need, series and instances what the archive holds.
A study's stability and triage state live here too, so work that must happen later
survives a restart (DESIGN.md, durability rules).

The state machine of a study (``triage_state``):

    receiving --(quiet until stable_due_at; stability job)--> ready
    ready     --(pipeline triaged content_revision)----------> triaged
    any       --(new or changed instance)--------------------> receiving

``content_revision`` counts content changes. The pipeline records the revision it
triaged in ``triaged_revision`` with a conditional update, so a study that changed
while it was being triaged is not marked triaged, and a study whose
``triaged_revision`` is set but behind ``content_revision`` is a re-triage.
"""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from triage.db.types import UTCDateTime

# Deterministic constraint names, so migrations name the same things on both backends.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

UID_LENGTH = 64


class TriageState(StrEnum):
    RECEIVING = "receiving"  # instances may still arrive; due for a check at stable_due_at
    READY = "ready"  # quiet for study_stable_seconds: waiting for the pipeline
    TRIAGED = "triaged"  # the pipeline processed triaged_revision == content_revision


PENDING_STATES = (TriageState.RECEIVING, TriageState.READY)


class InstanceSource(StrEnum):
    DICOM = "dicom"  # received by the DICOM listener
    IMPORT = "import"  # ``msk-triage import`` from disk


class TriageOutcome(StrEnum):
    FLAGGED = "flagged"  # at least one flag: the study has a worklist item
    NO_FINDINGS = "no_findings"  # reports read, nothing to flag
    NO_REPORT = "no_report"  # no SR (and no header text that the rules read) in the study
    UNREADABLE = "unreadable"  # a report could not be read: triage_detail says why


class ItemState(StrEnum):
    NEW = "new"
    ASSIGNED = "assigned"
    IN_REVIEW = "in_review"
    CLOSED = "closed"


OPEN_ITEM_STATES = (ItemState.NEW, ItemState.ASSIGNED, ItemState.IN_REVIEW)


class ItemOutcome(StrEnum):
    """How a review closed (``ItemState.CLOSED``)."""

    CONFIRMED_FOLLOW_UP = "confirmed_follow_up"  # confirmed, follow-up recommended
    CONFIRMED_KNOWN = "confirmed_known"  # confirmed, already known
    NOT_CONFIRMED = "not_confirmed"
    NOT_SIGNIFICANT = "not_significant"  # not clinically significant
    # set by the system, not a reviewer: an amended report no longer carries a finding
    WITHDRAWN = "withdrawn"


class Priority(StrEnum):
    URGENT = "urgent"
    HIGH = "high"
    ROUTINE = "routine"

    @property
    def rank(self) -> int:
        """0 is the most urgent; worklists sort on it."""
        return _PRIORITY_RANK[self]


_PRIORITY_RANK = {Priority.URGENT: 0, Priority.HIGH: 1, Priority.ROUTINE: 2}


def _utc(*, nullable: bool, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


def _uid(*, unique: bool = False, index: bool = False) -> Any:
    return Field(sa_column=Column(String(UID_LENGTH), nullable=False, unique=unique, index=index))


def _json_list() -> Any:
    return Field(default_factory=list, sa_column=Column(JSON(), nullable=False))


class Study(SQLModel, table=True):
    __tablename__ = "study"
    __table_args__ = (
        # the stability sweep and the pipeline's claim query
        Index("ix_study_triage_state_stable_due_at", "triage_state", "stable_due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    study_instance_uid: str = _uid(unique=True)
    patient_id: str | None = Field(default=None, index=True)
    patient_name: str | None = None
    accession_number: str | None = Field(default=None, index=True)
    study_date: date | None = None
    study_time: time | None = None
    study_description: str | None = None
    # [{"value", "scheme", "meaning"}] from the Procedure Code Sequence
    procedure_codes: list[dict[str, str]] = _json_list()
    institution_name: str | None = None
    referring_physician_name: str | None = None
    modalities: list[str] = _json_list()  # sorted, from the study's series
    first_received_at: datetime = _utc(nullable=False)
    last_received_at: datetime = _utc(nullable=False)
    # distinct SOP instances (latest revisions) in this study
    instance_count: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    content_revision: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    stable_due_at: datetime = _utc(nullable=False)
    triage_state: str = Field(
        default=TriageState.RECEIVING,
        sa_column=Column(String(16), nullable=False),
    )
    triaged_revision: int | None = None
    triaged_at: datetime | None = _utc(nullable=True)
    # what the last triage found (TriageOutcome) and, for unreadable reports, why
    triage_outcome: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    triage_detail: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    ruleset_version: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    # A worker's claim on a ready study: held while it triages, without a row lock, and
    # taken over by another worker once claim_expires_at has passed (a crashed worker).
    claimed_by: str | None = Field(default=None, sa_column=Column(String(128), nullable=True))
    claim_expires_at: datetime | None = _utc(nullable=True)

    @property
    def needs_retriage(self) -> bool:
        """Triaged before, and its content changed since."""
        return self.triaged_revision is not None and self.triaged_revision != self.content_revision


class Series(SQLModel, table=True):
    __tablename__ = "series"

    id: int | None = Field(default=None, primary_key=True)
    study_id: int = Field(
        sa_column=Column(Integer, ForeignKey("study.id"), nullable=False, index=True)
    )
    series_instance_uid: str = _uid(unique=True)
    modality: str | None = None
    series_number: int | None = None
    series_description: str | None = None
    body_part_examined: str | None = None
    station_name: str | None = None
    manufacturer: str | None = None
    manufacturer_model_name: str | None = None
    first_received_at: datetime = _utc(nullable=False)


class Instance(SQLModel, table=True):
    """One archived object. A SOP instance re-sent with different content gets a new row
    with the next ``revision``; earlier revisions stay (``is_latest`` false). A row with
    ``purged_at`` set has no file any more (archive retention)."""

    __tablename__ = "instance"
    __table_args__ = (
        UniqueConstraint("sop_instance_uid", "revision"),
        # the pipeline reads a study's current instances
        Index("ix_instance_study_id_is_latest", "study_id", "is_latest"),
        # archive retention: files not yet purged, oldest first
        Index("ix_instance_purged_at_received_at", "purged_at", "received_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    study_id: int = Field(sa_column=Column(Integer, ForeignKey("study.id"), nullable=False))
    series_id: int = Field(
        sa_column=Column(Integer, ForeignKey("series.id"), nullable=False, index=True)
    )
    sop_instance_uid: str = _uid()
    revision: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    is_latest: bool = True
    sop_class_uid: str = _uid()
    transfer_syntax_uid: str = _uid()
    instance_number: int | None = None
    size_bytes: int = Field(sa_column=Column(BigInteger, nullable=False))
    content_digest: str = Field(sa_column=Column(String(64), nullable=False))  # sha256 hex
    # relative to the data dir, with forward slashes
    archive_path: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    calling_ae: str
    source: str = Field(sa_column=Column(String(16), nullable=False))
    received_at: datetime = _utc(nullable=False, index=True)
    # Archive retention removed the file (the row stays); an identical re-send stores it
    # again and clears this (triage.retention).
    purged_at: datetime | None = _utc(nullable=True)


class JobRun(SQLModel, table=True):
    """The last run of each scheduled job, for ``msk-triage status``."""

    __tablename__ = "job_run"

    job_id: str = Field(sa_column=Column(String(64), primary_key=True))
    last_run: datetime = _utc(nullable=False)
    last_success: datetime | None = _utc(nullable=True)
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    last_duration_seconds: float | None = None
    run_count: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    failure_count: int = Field(default=0, sa_column=Column(Integer, nullable=False))


class TriageRun(SQLModel, table=True):
    """One pipeline pass over one study revision: who triaged it, when, with what result.
    Lets tests and operators see that every study was triaged exactly once per revision,
    and lets the pipeline benchmark measure last-instance-to-item latency."""

    __tablename__ = "triage_run"

    id: int | None = Field(default=None, primary_key=True)
    study_id: int = Field(
        sa_column=Column(Integer, ForeignKey("study.id"), nullable=False, index=True)
    )
    content_revision: int = Field(sa_column=Column(Integer, nullable=False))
    worker: str = Field(sa_column=Column(String(128), nullable=False))
    started_at: datetime = _utc(nullable=False)
    finished_at: datetime = _utc(nullable=False)
    outcome: str = Field(sa_column=Column(String(16), nullable=False))
    flag_count: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    ruleset_version: str = Field(sa_column=Column(String(64), nullable=False))
    detail: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class Flag(SQLModel, table=True):
    """The current flags of a study: one row per finding id, replaced by each triage.

    ``evidence`` is a list of ``{"sop_instance_uid", "item_path", "concept", "text",
    "span"}`` (primary first); ``measurements`` a list of ``{"value", "unit"}``.
    """

    __tablename__ = "flag"
    __table_args__ = (UniqueConstraint("study_id", "finding"),)

    id: int | None = Field(default=None, primary_key=True)
    study_id: int = Field(
        sa_column=Column(Integer, ForeignKey("study.id"), nullable=False, index=True)
    )
    finding: str = Field(sa_column=Column(String(64), nullable=False, index=True))
    rule: str = Field(sa_column=Column(String(128), nullable=False))
    rule_version: str = Field(sa_column=Column(String(32), nullable=False))
    ruleset_version: str = Field(sa_column=Column(String(64), nullable=False))
    priority: str = Field(sa_column=Column(String(16), nullable=False))
    certainty: str = Field(sa_column=Column(String(16), nullable=False))
    laterality: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    evidence: list[dict[str, Any]] = _json_list()
    measurements: list[dict[str, Any]] = _json_list()
    # the first time this finding was flagged on this study (kept across re-triage)
    first_flagged_at: datetime = _utc(nullable=False)
    updated_at: datetime = _utc(nullable=False)


class WorklistItem(SQLModel, table=True):
    """One per flagged study: its review, from new to closed with an outcome.

    ``priority`` is the effective priority (``base_priority`` from the most urgent
    finding, raised by SLA escalation); ``version`` increments on every change so that
    concurrent claims and transitions are decided in the database (compare-and-set).
    """

    __tablename__ = "worklist_item"
    __table_args__ = (
        # the worklist's default order, and the SLA sweep over open items
        Index("ix_worklist_item_state_priority_rank_due_at", "state", "priority_rank", "due_at"),
        # the same order over every state (keyset pages of the whole worklist)
        Index("ix_worklist_item_priority_rank_due_at_id", "priority_rank", "due_at", "id"),
        # an assignee's items, and routing's "assigned least recently" tie-break
        Index("ix_worklist_item_assignee_assigned_at", "assignee", "assigned_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    study_id: int = Field(
        sa_column=Column(Integer, ForeignKey("study.id"), nullable=False, unique=True)
    )
    state: str = Field(
        default=ItemState.NEW, sa_column=Column(String(16), nullable=False, index=True)
    )
    priority: str = Field(default=Priority.ROUTINE, sa_column=Column(String(16), nullable=False))
    priority_rank: int = Field(default=2, sa_column=Column(Integer, nullable=False))
    base_priority: str = Field(
        default=Priority.ROUTINE, sa_column=Column(String(16), nullable=False)
    )
    escalation_level: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    assignee: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    assigned_at: datetime | None = _utc(nullable=True)
    outcome: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))
    outcome_note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # the finding ids the item reflects (sorted): what a re-triage compares its flags with
    findings: list[str] = _json_list()
    flagged_at: datetime = _utc(nullable=False)
    due_at: datetime = _utc(nullable=False)
    breached_at: datetime | None = _utc(nullable=True)
    reviewed_at: datetime | None = _utc(nullable=True)
    # set when a re-triage changed the findings after the item was created
    amended_at: datetime | None = _utc(nullable=True)
    created_at: datetime = _utc(nullable=False)
    updated_at: datetime = _utc(nullable=False)
    closed_at: datetime | None = _utc(nullable=True)
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False))


class AuditEvent(SQLModel, table=True):
    """Every worklist transition: who, when, from, to, and why. Append-only."""

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    item_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("worklist_item.id"), nullable=True, index=True),
    )
    study_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("study.id"), nullable=True, index=True)
    )
    at: datetime = _utc(nullable=False, index=True)
    # a radiologist id, a CLI user, or "system:<job>" for the pipeline and jobs
    actor: str = Field(sa_column=Column(String(128), nullable=False))
    action: str = Field(sa_column=Column(String(32), nullable=False))
    from_state: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    to_state: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON(), nullable=False))


class RoutingCursor(SQLModel, table=True):
    """Round-robin state: who got the last item under a policy (row-locked to advance)."""

    __tablename__ = "routing_cursor"

    policy: str = Field(sa_column=Column(String(32), primary_key=True))
    last_assignee: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    updated_at: datetime = _utc(nullable=False)
