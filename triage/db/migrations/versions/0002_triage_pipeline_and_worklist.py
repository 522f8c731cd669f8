"""Triage pipeline and worklist: flags, triage runs, worklist review, audit, routing.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21

Self-contained like 0001 (plain SQLAlchemy types). Existing worklist rows (0001 created
the table as a seed) get their new NOT NULL columns filled from what they have.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc(name: str, *, nullable: bool) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "routing_cursor",
        sa.Column("policy", sa.String(length=32), nullable=False),
        sa.Column("last_assignee", sa.String(length=64), nullable=True),
        _utc("updated_at", nullable=False),
        sa.PrimaryKeyConstraint("policy", name="pk_routing_cursor"),
    )
    op.create_table(
        "flag",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("finding", sa.String(length=64), nullable=False),
        sa.Column("rule", sa.String(length=128), nullable=False),
        sa.Column("rule_version", sa.String(length=32), nullable=False),
        sa.Column("ruleset_version", sa.String(length=64), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("certainty", sa.String(length=16), nullable=False),
        sa.Column("laterality", sa.String(length=16), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("measurements", sa.JSON(), nullable=False),
        _utc("first_flagged_at", nullable=False),
        _utc("updated_at", nullable=False),
        sa.ForeignKeyConstraint(["study_id"], ["study.id"], name="fk_flag_study_id_study"),
        sa.PrimaryKeyConstraint("id", name="pk_flag"),
        sa.UniqueConstraint("study_id", "finding", name="uq_flag_study_id_finding"),
    )
    op.create_index("ix_flag_finding", "flag", ["finding"])
    op.create_index("ix_flag_study_id", "flag", ["study_id"])
    op.create_table(
        "triage_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("content_revision", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(length=128), nullable=False),
        _utc("started_at", nullable=False),
        _utc("finished_at", nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("flag_count", sa.Integer(), nullable=False),
        sa.Column("ruleset_version", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["study_id"], ["study.id"], name="fk_triage_run_study_id_study"),
        sa.PrimaryKeyConstraint("id", name="pk_triage_run"),
    )
    op.create_index("ix_triage_run_study_id", "triage_run", ["study_id"])
    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("study_id", sa.Integer(), nullable=True),
        _utc("at", nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=True),
        sa.Column("to_state", sa.String(length=16), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["worklist_item.id"], name="fk_audit_event_item_id_worklist_item"
        ),
        sa.ForeignKeyConstraint(["study_id"], ["study.id"], name="fk_audit_event_study_id_study"),
        sa.PrimaryKeyConstraint("id", name="pk_audit_event"),
    )
    op.create_index("ix_audit_event_at", "audit_event", ["at"])
    op.create_index("ix_audit_event_item_id", "audit_event", ["item_id"])
    op.create_index("ix_audit_event_study_id", "audit_event", ["study_id"])

    with op.batch_alter_table("study") as batch_op:
        batch_op.add_column(sa.Column("triage_outcome", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("triage_detail", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("ruleset_version", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=128), nullable=True))
        batch_op.add_column(_utc("claim_expires_at", nullable=True))

    # New columns start nullable (or with a default) so existing rows can be filled in.
    with op.batch_alter_table("worklist_item") as batch_op:
        for name, default in (("priority", "routine"), ("base_priority", "routine")):
            batch_op.add_column(
                sa.Column(name, sa.String(length=16), nullable=False, server_default=default)
            )
        for name, number in (("priority_rank", "2"), ("escalation_level", "0"), ("version", "1")):
            batch_op.add_column(
                sa.Column(name, sa.Integer(), nullable=False, server_default=number)
            )
        batch_op.add_column(sa.Column("assignee", sa.String(length=64), nullable=True))
        batch_op.add_column(_utc("assigned_at", nullable=True))
        batch_op.add_column(sa.Column("outcome", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("outcome_note", sa.Text(), nullable=True))
        for name in ("flagged_at", "due_at", "breached_at", "reviewed_at", "amended_at"):
            batch_op.add_column(_utc(name, nullable=True))
        batch_op.add_column(_utc("updated_at", nullable=True))
    op.execute(
        "UPDATE worklist_item SET flagged_at = created_at, due_at = created_at,"
        " updated_at = created_at"
    )
    with op.batch_alter_table("worklist_item") as batch_op:
        for name in ("flagged_at", "due_at", "updated_at"):
            batch_op.alter_column(name, existing_type=sa.DateTime(timezone=True), nullable=False)
        for name in ("priority", "base_priority", "priority_rank", "escalation_level", "version"):
            batch_op.alter_column(name, server_default=None)
        batch_op.create_index("ix_worklist_item_assignee", ["assignee"])
        batch_op.create_index(
            "ix_worklist_item_state_priority_rank_due_at", ["state", "priority_rank", "due_at"]
        )


def downgrade() -> None:
    with op.batch_alter_table("worklist_item") as batch_op:
        batch_op.drop_index("ix_worklist_item_state_priority_rank_due_at")
        batch_op.drop_index("ix_worklist_item_assignee")
        for name in (
            "version", "updated_at", "amended_at", "reviewed_at", "breached_at", "due_at",
            "flagged_at", "outcome_note", "outcome", "assigned_at", "assignee",
            "escalation_level", "base_priority", "priority_rank", "priority",
        ):  # fmt: skip
            batch_op.drop_column(name)
    with op.batch_alter_table("study") as batch_op:
        for name in (
            "claim_expires_at", "claimed_by", "ruleset_version", "triage_detail", "triage_outcome",
        ):  # fmt: skip
            batch_op.drop_column(name)
    op.drop_table("audit_event")
    op.drop_table("triage_run")
    op.drop_table("flag")
    op.drop_table("routing_cursor")
