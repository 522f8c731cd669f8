"""sync_item_for_study: the item follows the study's flags and keeps its review."""

from __future__ import annotations

from datetime import timedelta

from tests.worklist.conftest import World, act, person
from triage.db.models import ItemOutcome, ItemState, Priority
from triage.worklist import transitions


def test_no_flags_and_no_item_is_nothing(world: World) -> None:
    study = world.add_study()
    assert world.triage(study, []) is None


def test_flags_create_a_routed_item(world: World) -> None:
    world.write_roster([person("jdoe")])
    item = world.flagged(["bakers_cyst", "abscess"])
    assert item.state == ItemState.ASSIGNED
    assert item.assignee == "jdoe"
    assert item.assigned_at == world.clock()
    assert item.priority == item.base_priority == Priority.URGENT
    assert item.priority_rank == 0
    assert item.flagged_at == item.created_at == world.clock()
    assert item.due_at == world.clock() + timedelta(hours=4)
    assert item.findings == ["abscess", "bakers_cyst"]
    assert item.version == 2
    events = world.audit(item.id)
    assert [e.action for e in events] == ["created", "assigned"]
    assert events[0].actor == events[1].actor == "system:pipeline"
    assert events[0].to_state == "new"
    assert events[0].details["findings"] == ["abscess", "bakers_cyst"]
    assert (events[1].from_state, events[1].to_state) == ("new", "assigned")
    assert events[1].note == "least loaded: jdoe 0 open of 10"


def test_without_a_roster_the_item_waits_in_the_pool(world: World) -> None:
    item = world.flagged(["gout"])
    assert item.state == ItemState.NEW
    assert item.assignee is None
    assert item.priority == Priority.HIGH
    assert item.due_at == world.clock() + timedelta(hours=24)
    events = world.audit(item.id)
    assert [e.action for e in events] == ["created", "pooled"]
    assert events[1].note == "unassigned pool: no radiologist on shift"


def test_sla_hours_come_from_the_settings(world: World) -> None:
    world.settings = world.settings.model_copy(update={"sla_routine_hours": 10.0})
    item = world.flagged(["bakers_cyst"])
    assert item.due_at == world.clock() + timedelta(hours=10)


def test_the_same_flags_again_change_nothing(world: World) -> None:
    world.write_roster([person("jdoe")])
    item = world.flagged(["bakers_cyst"])
    world.later(hours=1)
    again = world.triage(item.study_id, ["bakers_cyst"])
    assert again is not None
    assert again.version == item.version
    assert again.updated_at == item.updated_at
    assert again.amended_at is None
    assert world.actions(item.id) == ["created", "assigned"]


def test_retriage_keeps_the_review_and_records_the_change(world: World) -> None:
    world.write_roster([person("jdoe")])
    item = world.flagged(["bakers_cyst", "joint_effusion"])
    act(world, transitions.start_review, item_id=item.id, actor="jdoe", note="reading")
    world.later(minutes=30)
    updated = world.triage(item.study_id, ["bakers_cyst", "hematoma"])
    assert updated is not None
    assert updated.state == ItemState.IN_REVIEW
    assert updated.assignee == "jdoe"
    assert updated.amended_at == world.clock()
    assert updated.findings == ["bakers_cyst", "hematoma"]
    event = world.audit(item.id)[-1]
    assert event.action == "retriaged"
    assert event.details == {"added": ["hematoma"], "removed": ["joint_effusion"]}
    assert (event.from_state, event.to_state) == ("in_review", "in_review")


def test_retriage_raising_the_priority_shortens_the_deadline(world: World) -> None:
    item = world.flagged(["bakers_cyst"])  # routine: due in 72 h
    world.later(hours=10)
    updated = world.triage(item.study_id, ["bakers_cyst", "abscess"])
    assert updated is not None
    assert updated.priority == updated.base_priority == Priority.URGENT
    # the urgent clock starts now, and never moves the deadline later
    assert updated.due_at == world.clock() + timedelta(hours=4)
    event = world.audit(item.id)[-1]
    assert event.details["priority"] == {"from": "routine", "to": "urgent"}


def test_retriage_lowering_the_priority_relaxes_the_deadline(world: World) -> None:
    item = world.flagged(["bakers_cyst", "gout"])  # high: due in 24 h
    world.later(hours=2)
    updated = world.triage(item.study_id, ["bakers_cyst"])
    assert updated is not None
    assert updated.priority == Priority.ROUTINE
    assert updated.due_at == item.flagged_at + timedelta(hours=72)


def test_retriage_never_lowers_an_escalated_priority(world: World) -> None:
    item = world.flagged(["bakers_cyst", "gout"])
    from sqlmodel import Session

    with Session(world.engine) as session, session.begin():
        row = session.get(type(item), item.id)
        assert row is not None
        row.priority, row.priority_rank, row.escalation_level = "urgent", 0, 1
    updated = world.triage(item.study_id, ["bakers_cyst"])
    assert updated is not None
    assert updated.base_priority == Priority.ROUTINE
    assert updated.priority == Priority.URGENT


def test_a_closed_item_that_gains_a_finding_is_reopened_to_its_reader(world: World) -> None:
    world.write_roster([person("jdoe"), person("zed")])
    item = world.flagged(["bakers_cyst"])
    assert item.assignee == "jdoe"
    act(world, transitions.start_review, item_id=item.id, actor="jdoe")
    act(
        world,
        transitions.close,
        item_id=item.id,
        actor="jdoe",
        outcome="confirmed_known",
    )
    world.later(hours=5)
    reopened = world.triage(item.study_id, ["bakers_cyst", "gout"])
    assert reopened is not None
    assert reopened.state == ItemState.ASSIGNED
    assert reopened.assignee == "jdoe"
    assert reopened.outcome is None
    assert reopened.reviewed_at is None
    assert reopened.closed_at is None
    assert reopened.priority == Priority.HIGH
    assert reopened.due_at == world.clock() + timedelta(hours=24)
    events = world.audit(item.id)
    assert [e.action for e in events][-2:] == ["retriaged", "reopened"]
    assert events[-1].details["previous_outcome"] == "confirmed_known"
    assert events[-1].details["added"] == ["gout"]
    assert (events[-1].from_state, events[-1].to_state) == ("closed", "assigned")


def test_a_reopened_item_whose_reader_left_is_routed(world: World) -> None:
    world.write_roster([person("jdoe"), person("zed")])
    item = world.flagged(["bakers_cyst"])
    act(world, transitions.start_review, item_id=item.id, actor="jdoe")
    act(world, transitions.close, item_id=item.id, actor="jdoe", outcome="confirmed_follow_up")
    world.write_roster([person("jdoe", active=False), person("zed")])
    reopened = world.triage(item.study_id, ["bakers_cyst", "hematoma"])
    assert reopened is not None
    assert reopened.state == ItemState.ASSIGNED
    assert reopened.assignee == "zed"
    assert world.actions(item.id)[-3:] == ["retriaged", "reopened", "assigned"]


def test_a_closed_item_that_loses_a_finding_stays_closed(world: World) -> None:
    world.write_roster([person("jdoe")])
    item = world.flagged(["bakers_cyst", "hematoma"])
    act(world, transitions.start_review, item_id=item.id, actor="jdoe")
    act(world, transitions.close, item_id=item.id, actor="jdoe", outcome="not_significant")
    updated = world.triage(item.study_id, ["bakers_cyst"])
    assert updated is not None
    assert updated.state == ItemState.CLOSED
    assert updated.outcome == ItemOutcome.NOT_SIGNIFICANT
    assert world.audit(item.id)[-1].details == {"added": [], "removed": ["hematoma"]}


def test_an_open_item_whose_flags_disappear_is_withdrawn(world: World) -> None:
    world.write_roster([person("jdoe")])
    item = world.flagged(["bakers_cyst"])
    world.later(minutes=10)
    withdrawn = world.triage(item.study_id, [])
    assert withdrawn is not None
    assert withdrawn.state == ItemState.CLOSED
    assert withdrawn.outcome == ItemOutcome.WITHDRAWN
    assert withdrawn.closed_at == withdrawn.amended_at == world.clock()
    assert withdrawn.reviewed_at is None
    assert withdrawn.findings == []
    event = world.audit(item.id)[-1]
    assert event.action == "withdrawn"
    assert event.actor == "system:pipeline"
    assert (event.from_state, event.to_state) == ("assigned", "closed")
    assert event.details == {"added": [], "removed": ["bakers_cyst"]}
    # and again: nothing more
    again = world.triage(item.study_id, [])
    assert again is not None
    assert again.version == withdrawn.version


def test_a_closed_item_whose_flags_disappear_stays_closed(world: World) -> None:
    world.write_roster([person("jdoe")])
    item = world.flagged(["gout"])
    act(world, transitions.start_review, item_id=item.id, actor="jdoe")
    act(world, transitions.close, item_id=item.id, actor="jdoe", outcome="confirmed_known")
    updated = world.triage(item.study_id, [])
    assert updated is not None
    assert (updated.state, updated.outcome) == (ItemState.CLOSED, ItemOutcome.CONFIRMED_KNOWN)
    assert world.actions(item.id)[-1] == "retriaged"
    count = len(world.audit(item.id))
    world.triage(item.study_id, [])
    assert len(world.audit(item.id)) == count


def test_a_withdrawn_item_flagged_again_is_reopened(world: World) -> None:
    item = world.flagged(["bakers_cyst"])  # pool: no roster
    world.triage(item.study_id, [])
    world.write_roster([person("jdoe")])
    back = world.triage(item.study_id, ["bakers_cyst"])
    assert back is not None
    assert back.state == ItemState.ASSIGNED
    assert back.assignee == "jdoe"
    assert back.outcome is None
    assert world.actions(item.id)[-3:] == ["retriaged", "reopened", "assigned"]


def test_the_actor_is_recorded(world: World) -> None:
    item = world.triage(world.add_study(), ["gout"], actor="system:worker-7")
    assert item is not None
    assert {e.actor for e in world.audit(item.id)} == {"system:worker-7"}
