"""Ingest -> pipeline -> worklist, with a radiologist's review in between: re-triage
keeps the review, reopens a closed item that gains a finding, withdraws one that loses
all its findings."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from tests.conftest import T0, Clock
from tests.pipeline.harness import Pipeline, StudyBuilder
from triage.db.models import AuditEvent
from triage.settings import Settings
from triage.worklist import WorklistService

ROSTER = """
[[radiologist]]
id = "jdoe"
name = "Jane Doe"
subspecialties = ["msk"]
max_open_items = 10

[[radiologist.shifts]]
days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
start = "00:00"
end = "24:00"
"""


@pytest.fixture
def rostered(pipeline_settings: Settings, engine: Engine, clock: Clock) -> Pipeline:
    pipeline_settings.data_dir.mkdir(parents=True, exist_ok=True)
    pipeline_settings.resolved_roster_file.write_text(ROSTER)
    return Pipeline(settings=pipeline_settings, engine=engine, clock=clock)


def _actions(engine: Engine, item_id: int) -> list[tuple[str, str]]:
    with Session(engine) as session:
        rows = session.exec(
            select(AuditEvent)
            .where(col(AuditEvent.item_id) == item_id)
            .order_by(col(AuditEvent.id))
        ).all()
    return [(row.action, row.actor) for row in rows]


def test_retriage_through_a_whole_review(rostered: Pipeline, clock: Clock) -> None:
    pipe = rostered
    worklist = WorklistService(pipe.engine, pipe.settings, clock=clock)
    s = StudyBuilder()
    first = s.report("Right knee: Baker's cyst.")
    pipe.send(first, at=0)
    assert pipe.sweep(at=60) == 1
    item = pipe.item(s.uid)
    assert item is not None
    assert item.id is not None
    assert item.assignee == "jdoe"  # routed: on shift, least loaded
    assert item.state == "assigned"
    worklist.start_review(item.id, user="jdoe")

    # an amendment adds an abscess while she reviews: her review stays, priority rises
    second = s.report("Right knee: Baker's cyst. Calf abscess.", predecessors=[first])
    pipe.send(second, at=100)
    assert pipe.sweep(at=160) == 1
    item = pipe.item(s.uid)
    assert item is not None
    assert item.id is not None
    assert (item.state, item.assignee) == ("in_review", "jdoe")
    assert item.base_priority == "urgent"
    assert item.priority == "urgent"
    assert item.amended_at == T0 + timedelta(seconds=160)
    assert ("retriaged", "system:pipeline") in _actions(pipe.engine, item.id)

    clock.at(200)
    worklist.close(item.id, user="jdoe", outcome="confirmed_follow_up")

    # re-triage that changes nothing in the findings (one more image): still closed
    pipe.send(s.image(), at=300)
    assert pipe.sweep(at=360) == 1
    item = pipe.item(s.uid)
    assert item is not None
    assert (item.state, item.outcome) == ("closed", "confirmed_follow_up")

    # a further amendment adds gout: the closed item is reopened for her
    third = s.report(
        "Right knee: Baker's cyst. Calf abscess. Double contour sign: gout.",
        predecessors=[second],
    )
    pipe.send(third, at=400)
    assert pipe.sweep(at=460) == 1
    item = pipe.item(s.uid)
    assert item is not None
    assert item.id is not None
    assert item.state == "assigned"
    assert item.assignee == "jdoe"
    assert item.outcome is None
    assert ("reopened", "system:pipeline") in _actions(pipe.engine, item.id)

    # the final report retracts everything: the open item is withdrawn by the system
    pipe.send(s.report("No Baker's cyst, no abscess, no gout.", predecessors=[third]), at=500)
    assert pipe.sweep(at=560) == 1
    item = pipe.item(s.uid)
    assert item is not None
    assert (item.state, item.outcome) == ("closed", "withdrawn")
    assert pipe.flags(s.uid) == {}
    assert pipe.study(s.uid).triage_outcome == "no_findings"
    assert len(pipe.runs(s.uid)) == 5  # one per revision triaged
