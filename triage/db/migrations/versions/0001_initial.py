"""Initial study index: studies, series, instances, job runs, worklist items (seed).

Revision ID: 0001
Revises:
Create Date: 2026-11-21

Self-contained on purpose (plain SQLAlchemy types, no imports from the application), so
it keeps meaning the same thing when the models move on. ``DateTime(timezone=True)`` is
the storage of ``triage.db.types.UTCDateTime``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc(name: str, *, nullable: bool) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "job_run",
        sa.Column("job_id", sa.String(length=64), nullable=False),
        _utc("last_run", nullable=False),
        _utc("last_success", nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_duration_seconds", sa.Float(), nullable=True),
        sa.Column("run_count", sa.Integer(), nullable=False),
        sa.Column("failure_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("job_id", name="pk_job_run"),
    )
    op.create_table(
        "study",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_instance_uid", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.String(), nullable=True),
        sa.Column("patient_name", sa.String(), nullable=True),
        sa.Column("accession_number", sa.String(), nullable=True),
        sa.Column("study_date", sa.Date(), nullable=True),
        sa.Column("study_time", sa.Time(), nullable=True),
        sa.Column("study_description", sa.String(), nullable=True),
        sa.Column("procedure_codes", sa.JSON(), nullable=False),
        sa.Column("institution_name", sa.String(), nullable=True),
        sa.Column("referring_physician_name", sa.String(), nullable=True),
        sa.Column("modalities", sa.JSON(), nullable=False),
        _utc("first_received_at", nullable=False),
        _utc("last_received_at", nullable=False),
        sa.Column("instance_count", sa.Integer(), nullable=False),
        sa.Column("content_revision", sa.Integer(), nullable=False),
        _utc("stable_due_at", nullable=False),
        sa.Column("triage_state", sa.String(length=16), nullable=False),
        sa.Column("triaged_revision", sa.Integer(), nullable=True),
        _utc("triaged_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_study"),
        sa.UniqueConstraint("study_instance_uid", name="uq_study_study_instance_uid"),
    )
    op.create_index("ix_study_accession_number", "study", ["accession_number"])
    op.create_index("ix_study_patient_id", "study", ["patient_id"])
    op.create_index(
        "ix_study_triage_state_stable_due_at", "study", ["triage_state", "stable_due_at"]
    )
    op.create_table(
        "series",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("series_instance_uid", sa.String(length=64), nullable=False),
        sa.Column("modality", sa.String(), nullable=True),
        sa.Column("series_number", sa.Integer(), nullable=True),
        sa.Column("series_description", sa.String(), nullable=True),
        sa.Column("body_part_examined", sa.String(), nullable=True),
        sa.Column("station_name", sa.String(), nullable=True),
        sa.Column("manufacturer", sa.String(), nullable=True),
        sa.Column("manufacturer_model_name", sa.String(), nullable=True),
        _utc("first_received_at", nullable=False),
        sa.ForeignKeyConstraint(["study_id"], ["study.id"], name="fk_series_study_id_study"),
        sa.PrimaryKeyConstraint("id", name="pk_series"),
        sa.UniqueConstraint("series_instance_uid", name="uq_series_series_instance_uid"),
    )
    op.create_index("ix_series_study_id", "series", ["study_id"])
    op.create_table(
        "worklist_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        _utc("created_at", nullable=False),
        _utc("closed_at", nullable=True),
        sa.ForeignKeyConstraint(["study_id"], ["study.id"], name="fk_worklist_item_study_id_study"),
        sa.PrimaryKeyConstraint("id", name="pk_worklist_item"),
        sa.UniqueConstraint("study_id", name="uq_worklist_item_study_id"),
    )
    op.create_index("ix_worklist_item_state", "worklist_item", ["state"])
    op.create_table(
        "instance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("sop_instance_uid", sa.String(length=64), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("is_latest", sa.Boolean(), nullable=False),
        sa.Column("sop_class_uid", sa.String(length=64), nullable=False),
        sa.Column("transfer_syntax_uid", sa.String(length=64), nullable=False),
        sa.Column("instance_number", sa.Integer(), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("content_digest", sa.String(length=64), nullable=False),
        sa.Column("archive_path", sa.Text(), nullable=False),
        sa.Column("calling_ae", sa.String(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        _utc("received_at", nullable=False),
        sa.ForeignKeyConstraint(["series_id"], ["series.id"], name="fk_instance_series_id_series"),
        sa.ForeignKeyConstraint(["study_id"], ["study.id"], name="fk_instance_study_id_study"),
        sa.PrimaryKeyConstraint("id", name="pk_instance"),
        sa.UniqueConstraint("archive_path", name="uq_instance_archive_path"),
        sa.UniqueConstraint(
            "sop_instance_uid", "revision", name="uq_instance_sop_instance_uid_revision"
        ),
    )
    op.create_index("ix_instance_received_at", "instance", ["received_at"])
    op.create_index("ix_instance_series_id", "instance", ["series_id"])
    op.create_index("ix_instance_study_id_is_latest", "instance", ["study_id", "is_latest"])


def downgrade() -> None:
    op.drop_table("instance")
    op.drop_table("worklist_item")
    op.drop_table("series")
    op.drop_table("study")
    op.drop_table("job_run")
