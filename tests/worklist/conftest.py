"""A worklist test world: a migrated database, a roster file, a frozen clock, and
helpers that play the pipeline's part (write a study's Flag rows, then sync its item in
the same transaction)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, delete
from sqlmodel import Session, col, select

from tests.conftest import Clock
from triage.db.engine import write_lock, writer
from triage.db.models import AuditEvent, Flag, Study, WorklistItem
from triage.settings import Settings
from triage.worklist.service import WorklistService
from triage.worklist.sync import sync_item_for_study

_UIDS = itertools.count(1)

DAY_SHIFT = {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "08:00", "end": "17:00"}
ALWAYS = {
    "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
    "start": "00:00",
    "end": "24:00",
}

DEFAULT_PRIORITIES = {
    "abscess": "urgent",
    "gout": "high",
    "ruptured_bakers_cyst": "high",
    "soft_tissue_mass": "high",
    "bakers_cyst": "routine",
    "joint_effusion": "routine",
    "hematoma": "routine",
}


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(value)


def roster_toml(people: list[dict[str, Any]], routing: dict[str, Any] | None = None) -> str:
    lines: list[str] = []
    if routing:
        lines.append("[routing]")
        lines += [f"{k} = {toml_value(v)}" for k, v in routing.items()]
        lines.append("")
    for person in people:
        lines.append("[[radiologist]]")
        for key, value in person.items():
            if key != "shifts":
                lines.append(f"{key} = {toml_value(value)}")
        for shift in person.get("shifts", []):
            lines.append("[[radiologist.shifts]]")
            lines += [f"{k} = {toml_value(v)}" for k, v in shift.items()]
        lines.append("")
    return "\n".join(lines)


def person(
    rid: str,
    *,
    shifts: list[dict[str, Any]] | None = None,
    max_open_items: int = 10,
    active: bool = True,
    subspecialties: list[str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "id": rid,
        "name": rid.title(),
        "subspecialties": ["msk"] if subspecialties is None else subspecialties,
        "max_open_items": max_open_items,
        "active": active,
        **extra,
        "shifts": [ALWAYS] if shifts is None else shifts,
    }


class World:
    def __init__(self, engine: Engine, settings: Settings, clock: Clock) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self._writes = 0

    @property
    def roster_path(self) -> Path:
        return self.settings.resolved_roster_file

    def write_roster(
        self, people: list[dict[str, Any]], routing: dict[str, Any] | None = None
    ) -> None:
        self.write_roster_text(roster_toml(people, routing))

    def write_roster_text(self, text: str) -> None:
        # a new file renamed over the old one, as msk-triage roster does (new inode)
        self.roster_path.parent.mkdir(parents=True, exist_ok=True)
        self._writes += 1
        tmp = self.roster_path.with_name(f".roster-{self._writes}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, self.roster_path)

    def add_study(self, accession: str | None = None) -> int:
        n = next(_UIDS)
        now = self.clock()
        with Session(self.engine) as session, session.begin():
            study = Study(
                study_instance_uid=f"1.2.826.0.1.3680043.10.{os.getpid()}.{n}",
                accession_number=accession or f"ACC{n:05d}",
                patient_name="Doe^Jane",
                patient_id="PID-1",
                first_received_at=now,
                last_received_at=now,
                stable_due_at=now,
            )
            session.add(study)
            session.flush()
            assert study.id is not None
            return study.id

    def triage(
        self, study_id: int, findings: dict[str, str] | list[str], **kw: Any
    ) -> WorklistItem | None:
        """What the pipeline does: replace the study's flags, sync the item, commit."""
        if isinstance(findings, list):
            findings = {f: DEFAULT_PRIORITIES.get(f, "routine") for f in findings}
        now = self.clock()
        with write_lock(self.engine), Session(writer(self.engine)) as session, session.begin():
            session.execute(delete(Flag).where(col(Flag.study_id) == study_id))
            for finding, priority in findings.items():
                session.add(
                    Flag(
                        study_id=study_id,
                        finding=finding,
                        rule=f"msk.{finding}",
                        rule_version="1",
                        ruleset_version="test-1",
                        priority=priority,
                        certainty="definite",
                        laterality="left",
                        evidence=[{"text": f"{finding} seen"}],
                        first_flagged_at=now,
                        updated_at=now,
                    )
                )
            session.flush()
            item = sync_item_for_study(
                session, study_id=study_id, now=now, settings=self.settings, **kw
            )
            if item is not None:
                session.expunge(item)
            return item

    def flagged(self, findings: dict[str, str] | list[str]) -> WorklistItem:
        item = self.triage(self.add_study(), findings)
        assert item is not None
        return item

    def item(self, item_id: int | None) -> WorklistItem:
        with Session(self.engine) as session:
            item = session.get(WorklistItem, item_id)
            assert item is not None
            session.expunge(item)
            return item

    def audit(self, item_id: int | None) -> list[AuditEvent]:
        with Session(self.engine) as session:
            events = session.exec(
                select(AuditEvent).where(AuditEvent.item_id == item_id).order_by(col(AuditEvent.id))
            ).all()
            for event in events:
                session.expunge(event)
            return list(events)

    def actions(self, item_id: int | None) -> list[str]:
        return [event.action for event in self.audit(item_id)]

    def later(self, **delta: float) -> datetime:
        self.clock.now += timedelta(**delta)
        return self.clock.now


@pytest.fixture
def world(engine: Engine, db_settings: Settings, clock: Clock) -> World:
    db_settings.data_dir.mkdir(parents=True, exist_ok=True)
    return World(engine, db_settings, clock)


@pytest.fixture
def sqlite_world(settings: Settings, clock: Clock) -> Iterator[World]:
    """SQLite only: for pure logic that needs a database but not both backends."""
    from triage.db.migrate import migrated_engine

    eng = migrated_engine(settings)
    try:
        yield World(eng, settings, clock)
    finally:
        eng.dispose()


def act(world: World, func: Any, **kwargs: Any) -> Any:
    """Run one transition function in its own write transaction, at the clock's now."""
    with write_lock(world.engine), Session(writer(world.engine)) as session, session.begin():
        return func(session, now=world.clock(), **kwargs)


@pytest.fixture
def service(world: World) -> WorklistService:
    return WorklistService(world.engine, world.settings, clock=world.clock)
