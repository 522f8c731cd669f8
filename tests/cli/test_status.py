"""``msk-triage status`` and its ``--json`` contract (DESIGN.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine
from sqlmodel import Session

from tests.ingest.factory import study
from triage import stability
from triage.cli.app import cli
from triage.db.crud.studies import get_study
from triage.db.models import ItemState, TriageOutcome, WorklistItem
from triage.ingest.service import Ingestor
from triage.jobs.registry import job_ids
from triage.settings import Settings

KEYS = ["studies", "instances", "pending_studies", "flagged_studies", "open_items", "jobs"]


def _status(settings: Settings, *args: str) -> tuple[int, str]:
    env = {"MSK_TRIAGE_DATA_DIR": str(settings.data_dir)}
    if settings.database_url:
        env["MSK_TRIAGE_DATABASE_URL"] = settings.database_url
    result = CliRunner().invoke(cli, ["status", *args], env=env)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout


def _json(settings: Settings) -> dict[str, Any]:
    code, out = _status(settings, "--json")
    assert code == 0, out
    assert out.count("\n") == 1  # one JSON object on one line
    parsed: dict[str, Any] = json.loads(out)
    return parsed


def test_empty_database(db_settings: Settings) -> None:
    assert _json(db_settings) == {
        "studies": 0,
        "instances": 0,
        "pending_studies": 0,
        "flagged_studies": 0,
        "open_items": 0,
        "jobs": [{"id": job, "last_run": None, "last_error": None} for job in sorted(job_ids())],
    }


def test_counts_and_jobs(db_settings: Settings, engine: Engine) -> None:
    ingestor = Ingestor(settings=db_settings, engine=engine)
    first, second = study(3), study(2)
    for obj in first + second:
        assert ingestor.ingest_bytes(obj.encode(), calling_ae="PACS").ok
    moment = datetime(2099, 1, 1, tzinfo=UTC)  # both studies long stable
    assert stability.advance_stable_studies(engine=engine, settings=db_settings, now=moment) == 2
    with Session(engine) as session, session.begin():
        flagged = get_study(session, study_instance_uid=first[0].study_uid)
        assert flagged is not None
        assert flagged.id is not None
        flagged.triage_outcome = TriageOutcome.FLAGGED
        session.add(
            WorklistItem(
                study_id=flagged.id,
                state=ItemState.NEW,
                flagged_at=moment,
                due_at=moment,
                created_at=moment,
                updated_at=moment,
            )
        )

    report = _json(db_settings)
    assert list(report) == KEYS
    assert report["studies"] == 2
    assert report["instances"] == 5
    assert report["pending_studies"] == 2  # ready, not yet triaged
    assert report["flagged_studies"] == 1
    assert report["open_items"] == 1
    (job,) = [job for job in report["jobs"] if job["id"] == "advance-stable-studies"]
    assert job == {
        "id": "advance-stable-studies",
        "last_run": "2099-01-01T00:00:00+00:00",
        "last_error": None,
    }


def test_a_failed_job_shows_its_error(
    db_settings: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> int:
        raise RuntimeError("database is locked")

    monkeypatch.setattr(stability, "mark_stable_studies_ready", broken)
    with pytest.raises(RuntimeError):
        stability.advance_stable_studies(engine=engine, settings=db_settings)
    (job,) = [j for j in _json(db_settings)["jobs"] if j["id"] == "advance-stable-studies"]
    assert job["last_error"] == "RuntimeError: database is locked"
    assert datetime.fromisoformat(job["last_run"]).tzinfo is not None

    code, out = _status(db_settings)
    assert code == 0
    assert "RuntimeError: database is locked" in " ".join(out.split())  # may be wrapped


def test_readable(db_settings: Settings, engine: Engine) -> None:
    ingestor = Ingestor(settings=db_settings, engine=engine)
    for obj in study(3):
        assert ingestor.ingest_bytes(obj.encode(), calling_ae="PACS").ok
    code, out = _status(db_settings)
    assert code == 0
    words = " ".join(out.split())
    assert "studies 1 instances 3 pending studies 1 received, not yet triaged" in words
    assert "flagged studies 0 open items 0" in words
    assert "advance-stable-studies - 0 0 never ran" in words
