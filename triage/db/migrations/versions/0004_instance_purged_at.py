"""Archive retention: an instance's file can be purged while its index row stays.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21

``instance.purged_at`` is set when the retention job removed the file (and cleared when
an identical re-send stores it again); ``(purged_at, received_at)`` lets the job find the
oldest files not yet purged without reading the purged ones. Self-contained like 0001.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("instance") as batch_op:
        batch_op.add_column(sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_instance_purged_at_received_at", ["purged_at", "received_at"])


def downgrade() -> None:
    with op.batch_alter_table("instance") as batch_op:
        batch_op.drop_index("ix_instance_purged_at_received_at")
        batch_op.drop_column("purged_at")
