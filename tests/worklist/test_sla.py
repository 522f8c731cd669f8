"""SLA escalation, run as a plain function with a frozen clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session

from tests.worklist.conftest import DAY_SHIFT, World, person
from triage.db.models import ItemState, JobRun, Priority
from triage.settings import Settings
from triage.worklist import WorklistService
from triage.worklist.sla import escalate_overdue_items


def escalate(world: World, **settings: str) -> int:
    config = world.settings.model_copy(update=settings)
    return escalate_overdue_items(engine=world.engine, settings=config, now=world.clock())


def test_nothing_is_due(world: World) -> None:
    world.flagged(["bakers_cyst"])
    world.later(hours=71, minutes=59)
    assert escalate(world) == 0
    with Session(world.engine) as session:
        run = session.get(JobRun, "sla-escalation")
        assert run is not None
        assert run.last_error is None


def test_raise_priority(world: World) -> None:
    item = world.flagged(["bakers_cyst"])  # routine, pool
    world.later(hours=72)
    assert escalate(world, sla_escalation="raise_priority") == 1
    after = world.item(item.id)
    assert after.breached_at == world.clock()
    assert (after.priority, after.priority_rank, after.escalation_level) == ("high", 1, 1)
    assert after.base_priority == Priority.ROUTINE
    assert after.due_at == world.clock() + timedelta(hours=24)
    events = world.audit(item.id)
    assert [e.action for e in events[-2:]] == ["breached", "escalated"]
    assert {e.actor for e in events[-2:]} == {"system:sla-escalation"}
    assert events[-1].details == {"priority": {"from": "routine", "to": "high"}}
    assert events[-2].note == "review overdue: routine item due 2024-03-18T10:00:00+00:00"


def test_running_twice_at_the_same_moment_does_nothing_more(world: World) -> None:
    item = world.flagged(["abscess"])  # urgent cannot go higher
    world.later(hours=5)
    assert escalate(world, sla_escalation="raise_priority") == 1
    first = world.item(item.id)
    assert first.breached_at == world.clock()
    assert first.priority == Priority.URGENT
    assert first.escalation_level == 0  # nothing could be done beyond recording it
    count = len(world.audit(item.id))
    assert escalate(world, sla_escalation="raise_priority") == 0
    world.later(hours=1)
    assert escalate(world, sla_escalation="raise_priority") == 0
    assert world.item(item.id).version == first.version
    assert len(world.audit(item.id)) == count


def test_the_next_deadline_escalates_again(world: World) -> None:
    item = world.flagged(["bakers_cyst"])
    world.later(hours=72)
    assert escalate(world, sla_escalation="raise_priority") == 1
    assert escalate(world, sla_escalation="raise_priority") == 0
    world.later(hours=24)
    assert escalate(world, sla_escalation="raise_priority") == 1
    after = world.item(item.id)
    assert (after.priority, after.escalation_level) == (Priority.URGENT, 2)
    assert after.due_at == world.clock() + timedelta(hours=4)


def test_reassign_to_someone_else_on_shift(world: World) -> None:
    world.write_roster([person("a"), person("b")])
    item = world.flagged(["gout"])
    assert item.assignee == "a"
    world.later(hours=24)
    assert escalate(world, sla_escalation="reassign") == 1
    after = world.item(item.id)
    assert (after.state, after.assignee, after.priority) == ("assigned", "b", "high")
    assert after.assigned_at == world.clock()
    assert after.due_at == world.clock() + timedelta(hours=24)
    assert after.escalation_level == 1
    event = world.audit(item.id)[-1]
    assert (event.action, event.actor) == ("reassigned", "system:sla-escalation")
    assert event.note == "least loaded: b 0 open of 10"
    assert event.details["previous_assignee"] == "a"


def test_raise_and_reassign(world: World) -> None:
    world.write_roster([person("a"), person("b")])
    item = world.flagged(["gout"])
    world.later(hours=24)
    assert escalate(world) == 1  # the default: raise_and_reassign
    after = world.item(item.id)
    assert (after.assignee, after.priority) == ("b", "urgent")
    assert after.due_at == world.clock() + timedelta(hours=4)
    assert world.actions(item.id)[-3:] == ["breached", "escalated", "reassigned"]


def test_an_assigned_item_stays_when_nobody_else_can_take_it(world: World) -> None:
    world.write_roster([person("a")])
    item = world.flagged(["gout"])
    world.later(hours=24)
    assert escalate(world, sla_escalation="reassign") == 1
    after = world.item(item.id)
    assert (after.assignee, after.escalation_level) == ("a", 0)
    assert after.breached_at == world.clock()
    assert world.actions(item.id)[-1] == "breached"


def test_a_review_in_progress_stays_with_its_reader_on_shift(
    world: World, service: WorklistService
) -> None:
    world.write_roster([person("a"), person("b")])
    item = world.flagged(["gout"])
    assert item.id is not None
    service.start_review(item.id, user="a")
    world.later(hours=24)
    assert escalate(world) == 1
    after = world.item(item.id)
    assert (after.state, after.assignee, after.priority) == ("in_review", "a", "urgent")


def test_a_reader_off_shift_loses_the_item(world: World, service: WorklistService) -> None:
    world.write_roster([person("a", shifts=[DAY_SHIFT]), person("b", shifts=[DAY_SHIFT])])
    item = world.flagged(["gout"])  # Friday 10:00
    assert item.id is not None
    assert item.assignee == "a"
    service.start_review(item.id, user="a")
    world.later(hours=24)  # Saturday 10:00: nobody on shift
    assert escalate(world) == 1
    after = world.item(item.id)
    assert (after.state, after.assignee, after.priority) == (ItemState.NEW, None, "urgent")
    event = world.audit(item.id)[-1]
    assert event.action == "reassigned"
    assert event.note == "back to the pool: unassigned pool: no radiologist on shift"


def test_a_pool_item_is_assigned_when_overdue(world: World) -> None:
    item = world.flagged(["gout"])  # nobody on the roster yet
    world.write_roster([person("a")])
    world.later(hours=24)
    assert escalate(world, sla_escalation="reassign") == 1
    after = world.item(item.id)
    assert (after.state, after.assignee) == ("assigned", "a")
    assert world.actions(item.id)[-2:] == ["breached", "assigned"]


def test_closed_items_are_never_escalated(world: World, service: WorklistService) -> None:
    world.write_roster([person("a")])
    item = world.flagged(["gout"])
    assert item.id is not None
    service.start_review(item.id, user="a")
    service.close(item.id, user="a", outcome="confirmed_known")
    world.later(days=30)
    assert escalate(world) == 0


def test_most_urgent_first_and_every_overdue_item(world: World) -> None:
    world.write_roster([person("a", max_open_items=0)])  # nobody can take anything
    items = [world.flagged([f]) for f in ("bakers_cyst", "abscess", "gout")]
    world.clock.now = datetime(2024, 4, 1, tzinfo=UTC)
    assert escalate(world, sla_escalation="raise_priority") == 3
    assert [world.item(i.id).priority for i in items] == ["high", "urgent", "urgent"]


def test_escalation_of_many_items_in_batches(world: World) -> None:
    from triage.worklist import sla

    items = [world.flagged(["bakers_cyst"]) for _ in range(7)]
    world.later(hours=73)
    original = sla.BATCH
    sla.BATCH = 3
    try:
        assert escalate(world, sla_escalation="raise_priority") == 7
    finally:
        sla.BATCH = original
    assert {world.item(i.id).priority for i in items} == {"high"}


@pytest.mark.parametrize("hours", [4.0, 0.5])
def test_deadlines_come_from_the_settings(world: World, hours: float) -> None:
    world.settings = world.settings.model_copy(update={"sla_urgent_hours": hours})
    item = world.flagged(["abscess"])
    assert item.due_at == world.clock() + timedelta(hours=hours)


def test_a_failing_item_does_not_stop_the_others(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from triage.worklist import sla
    from triage.worklist.failures import ItemsFailedError

    items = [world.flagged(["bakers_cyst"]) for _ in range(3)]
    bad = items[0].id
    real = sla.escalate_item

    def flaky(session: Session, *, item_id: int, now: datetime, settings: Settings) -> bool:
        if item_id == bad:
            raise RuntimeError("disk on fire")
        return real(session, item_id=item_id, now=now, settings=settings)

    monkeypatch.setattr(sla, "escalate_item", flaky)
    world.later(hours=73)
    with pytest.raises(ItemsFailedError, match=f"1 worklist item\\(s\\) failed \\({bad}\\)"):
        escalate(world, sla_escalation="raise_priority")
    assert [world.item(i.id).priority for i in items] == ["routine", "high", "high"]
    with Session(world.engine) as session:
        run = session.get(JobRun, "sla-escalation")
        assert run is not None
        assert run.last_error is not None
        assert "disk on fire" in run.last_error
