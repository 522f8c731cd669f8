"""Migration 0003 fills ``worklist_item.findings`` of existing items from their flags."""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import command

from triage.db.engine import make_engine, writer
from triage.db.migrate import alembic_config, upgrade
from triage.settings import Settings

T = "2024-03-15 10:00:00"


def test_existing_items_get_their_findings(db_settings: Settings) -> None:
    engine = make_engine(db_settings)
    try:
        with writer(engine).begin() as conn:
            command.upgrade(alembic_config(conn), "0002")
        with writer(engine).begin() as conn:
            for n in (1, 2):
                conn.execute(
                    sa.text(
                        "INSERT INTO study (id, study_instance_uid, procedure_codes, modalities,"
                        " first_received_at, last_received_at, instance_count, content_revision,"
                        " stable_due_at, triage_state) VALUES (:id, :uid, '[]', '[]', :t, :t, 0,"
                        " 0, :t, 'triaged')"
                    ),
                    {"id": n, "uid": f"1.2.3.{n}", "t": T},
                )
                conn.execute(
                    sa.text(
                        "INSERT INTO worklist_item (id, study_id, state, created_at, priority,"
                        " priority_rank, base_priority, escalation_level, flagged_at, due_at,"
                        " updated_at, version) VALUES (:id, :id, 'new', :t, 'routine', 2,"
                        " 'routine', 0, :t, :t, :t, 1)"
                    ),
                    {"id": n, "t": T},
                )
            for finding in ("joint_effusion", "bakers_cyst"):
                conn.execute(
                    sa.text(
                        "INSERT INTO flag (study_id, finding, rule, rule_version, ruleset_version,"
                        " priority, certainty, evidence, measurements, first_flagged_at,"
                        " updated_at) VALUES (1, :f, 'r', '1', 'v', 'routine', 'definite', '[]',"
                        " '[]', :t, :t)"
                    ),
                    {"f": finding, "t": T},
                )
        upgrade(engine)
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT id, findings FROM worklist_item ORDER BY id"))
            # text on SQLite, decoded JSON on PostgreSQL
            found = {
                row.id: json.loads(row.findings) if isinstance(row.findings, str) else row.findings
                for row in rows
            }
        assert found == {1: ["bakers_cyst", "joint_effusion"], 2: []}
    finally:
        engine.dispose()
