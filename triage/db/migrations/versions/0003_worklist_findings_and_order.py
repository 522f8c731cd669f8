"""Worklist: the findings an item reflects, and indexes for paging and routing.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21

``worklist_item.findings`` (sorted finding ids) is what a re-triage compares the new
flags with, to audit what was added or removed; existing items are filled from their
study's flags. ``(priority_rank, due_at, id)`` serves keyset pages over every state;
``(assignee, assigned_at)`` replaces the plain assignee index (same lookups, plus
"assigned least recently" for routing). Self-contained like 0001 and 0002.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("worklist_item") as batch_op:
        batch_op.add_column(
            sa.Column("findings", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
    _fill_findings()
    with op.batch_alter_table("worklist_item") as batch_op:
        batch_op.alter_column("findings", existing_type=sa.JSON(), server_default=None)
        batch_op.drop_index("ix_worklist_item_assignee")
        batch_op.create_index("ix_worklist_item_assignee_assigned_at", ["assignee", "assigned_at"])
        batch_op.create_index(
            "ix_worklist_item_priority_rank_due_at_id", ["priority_rank", "due_at", "id"]
        )


def _fill_findings() -> None:
    bind = op.get_bind()
    item = sa.table(
        "worklist_item", sa.column("id"), sa.column("study_id"), sa.column("findings", sa.JSON)
    )
    flag = sa.table("flag", sa.column("study_id"), sa.column("finding"))
    by_study: dict[int, set[str]] = defaultdict(set)
    for study_id, finding in bind.execute(sa.select(flag.c.study_id, flag.c.finding)):
        by_study[study_id].add(finding)
    for item_id, study_id in bind.execute(sa.select(item.c.id, item.c.study_id)).all():
        findings = sorted(by_study.get(study_id, ()))
        if findings:
            bind.execute(sa.update(item).where(item.c.id == item_id).values(findings=findings))


def downgrade() -> None:
    with op.batch_alter_table("worklist_item") as batch_op:
        batch_op.drop_index("ix_worklist_item_priority_rank_due_at_id")
        batch_op.drop_index("ix_worklist_item_assignee_assigned_at")
        batch_op.create_index("ix_worklist_item_assignee", ["assignee"])
        batch_op.drop_column("findings")
