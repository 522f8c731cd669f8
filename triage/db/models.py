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


class ItemState(StrEnum):
    NEW = "new"
    ASSIGNED = "assigned"
    IN_REVIEW = "in_review"
    CLOSED = "closed"


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
    with the next ``revision``; earlier revisions stay (``is_latest`` false)."""

    __tablename__ = "instance"
    __table_args__ = (
        UniqueConstraint("sop_instance_uid", "revision"),
        # the pipeline reads a study's current instances
        Index("ix_instance_study_id_is_latest", "study_id", "is_latest"),
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


class WorklistItem(SQLModel, table=True):
    """One per flagged study. The pipeline issue creates these and extends the table
    (priority, assignee, due time, outcome, audit); ``status`` already counts them."""

    __tablename__ = "worklist_item"

    id: int | None = Field(default=None, primary_key=True)
    study_id: int = Field(
        sa_column=Column(Integer, ForeignKey("study.id"), nullable=False, unique=True)
    )
    state: str = Field(
        default=ItemState.NEW, sa_column=Column(String(16), nullable=False, index=True)
    )
    created_at: datetime = _utc(nullable=False)
    closed_at: datetime | None = _utc(nullable=True)
