"""Routing in the database with a frozen clock: shifts, capacity, activity, the pool,
both policies, subspecialties, concurrent routers, and the pool job."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import Session

from tests.worklist.conftest import DAY_SHIFT, World, person
from triage.db.models import ItemState, JobRun, RoutingCursor
from triage.worklist import WorklistService
from triage.worklist.pool import assign_pool_items

NIGHT = {"days": ["fri"], "start": "22:00", "end": "06:00"}


def test_least_loaded_spreads_the_work(world: World) -> None:
    world.write_roster([person("a"), person("b"), person("c")])
    assignees = [world.flagged(["bakers_cyst"]).assignee for _ in range(6)]
    assert assignees == ["a", "b", "c", "a", "b", "c"]


def test_least_loaded_counts_open_items_only(world: World, service: WorklistService) -> None:
    world.write_roster([person("a"), person("b")])
    first = world.flagged(["bakers_cyst"])
    assert first.assignee == "a"
    assert first.id is not None
    service.start_review(first.id, user="a")
    service.close(first.id, user="a", outcome="confirmed_known")
    second = world.flagged(["bakers_cyst"])
    world.later(minutes=1)
    # a has 0 open, b 1: a again
    assert (second.assignee, world.flagged(["gout"]).assignee) == ("b", "a")


def test_ties_go_to_who_was_assigned_least_recently(world: World, service: WorklistService) -> None:
    first, second = world.flagged(["bakers_cyst"]), world.flagged(["bakers_cyst"])  # pool
    assert first.id is not None
    assert second.id is not None
    world.write_roster([person("a"), person("b")])
    world.later(minutes=1)
    service.claim(first.id, user="b")
    world.later(minutes=1)
    service.claim(second.id, user="a")
    # both hold one item; b's was assigned earlier
    item = world.flagged(["gout"])
    assert item.assignee == "b"
    assert world.audit(item.id)[-1].note == "least loaded: b 1 open of 10"


def test_only_radiologists_on_shift(world: World) -> None:
    world.write_roster([person("day", shifts=[DAY_SHIFT]), person("night", shifts=[NIGHT])])
    assert world.flagged(["bakers_cyst"]).assignee == "day"  # Friday 10:00
    world.clock.now = datetime(2024, 3, 15, 20, 0, tzinfo=UTC)
    evening = world.flagged(["bakers_cyst"])
    assert (evening.state, evening.assignee) == (ItemState.NEW, None)
    assert world.audit(evening.id)[-1].note == "unassigned pool: no radiologist on shift"
    world.clock.now = datetime(2024, 3, 16, 2, 0, tzinfo=UTC)  # Saturday 02:00
    assert world.flagged(["bakers_cyst"]).assignee == "night"


def test_shifts_follow_the_site_time_zone(world: World) -> None:
    world.settings = world.settings.model_copy(update={"site_timezone": "America/New_York"})
    world.write_roster([person("day", shifts=[DAY_SHIFT])])
    world.clock.now = datetime(2024, 3, 15, 11, 30, tzinfo=UTC)  # 07:30 EDT
    assert world.flagged(["bakers_cyst"]).assignee is None
    world.clock.now = datetime(2024, 3, 15, 12, 30, tzinfo=UTC)  # 08:30 EDT
    assert world.flagged(["bakers_cyst"]).assignee == "day"


def test_inactive_radiologists_get_nothing(world: World) -> None:
    world.write_roster([person("a", active=False), person("b")])
    assert {world.flagged(["bakers_cyst"]).assignee for _ in range(3)} == {"b"}


def test_capacity_then_the_pool(world: World) -> None:
    world.write_roster([person("a", max_open_items=1), person("b", max_open_items=2)])
    assignees = [world.flagged(["bakers_cyst"]).assignee for _ in range(4)]
    assert Counter(assignees) == Counter({"a": 1, "b": 2, None: 1})
    last = world.flagged(["bakers_cyst"])
    assert world.audit(last.id)[-1].note == (
        "unassigned pool: everyone on shift is at capacity (a 1 open of 1, b 2 open of 2)"
    )


def test_round_robin(world: World) -> None:
    world.settings = world.settings.model_copy(update={"routing_policy": "round_robin"})
    world.write_roster([person("c"), person("a"), person("b")])
    assignees = [world.flagged(["bakers_cyst"]).assignee for _ in range(5)]
    assert assignees == ["a", "b", "c", "a", "b"]
    with Session(world.engine) as session:
        cursor = session.get(RoutingCursor, "round_robin")
        assert cursor is not None
        assert cursor.last_assignee == "b"
    item = world.flagged(["bakers_cyst"])
    assert world.audit(item.id)[-1].note == "round robin: c 1 open of 10 (after b)"


def test_subspecialty_required(world: World) -> None:
    world.write_roster(
        [person("gen", subspecialties=["body"]), person("msk1", max_open_items=1)],
        routing={"subspecialty": "msk", "subspecialty_mode": "require"},
    )
    assert world.flagged(["bakers_cyst"]).assignee == "msk1"
    pooled = world.flagged(["bakers_cyst"])
    assert pooled.assignee is None
    assert "at capacity (msk1 1 open of 1)" in (world.audit(pooled.id)[-1].note or "")


def test_subspecialty_preferred_by_default(world: World) -> None:
    world.write_roster([person("gen", subspecialties=[]), person("msk1", max_open_items=1)])
    assert [world.flagged(["bakers_cyst"]).assignee for _ in range(2)] == ["msk1", "gen"]


def test_an_invalid_roster_sends_items_to_the_pool(world: World) -> None:
    world.write_roster_text("[[radiologist]]\nid = 'a'\nname = 'A'\nmax_open = 3\n")
    item = world.flagged(["bakers_cyst"])
    assert item.assignee is None
    note = world.audit(item.id)[-1].note or ""
    assert note.startswith("unassigned pool: the roster is unusable")
    assert "unknown key 'max_open'" in note


@pytest.mark.parametrize("policy", ["least_loaded", "round_robin"])
def test_concurrent_routers_stay_fair_and_within_capacity(world: World, policy: str) -> None:
    world.settings = world.settings.model_copy(update={"routing_policy": policy})
    cap = 6 if policy == "least_loaded" else 100
    world.write_roster([person(r, max_open_items=cap) for r in ("a", "b", "c")])
    studies = [world.add_study() for _ in range(24)]
    barrier = threading.Barrier(4)

    def route(part: int) -> list[str | None]:
        barrier.wait()
        return [world.triage(s, ["bakers_cyst"]).assignee for s in studies[part::4]]  # type: ignore[union-attr]

    with ThreadPoolExecutor(4) as executor:
        assignees = [a for batch in executor.map(route, range(4)) for a in batch]
    counts = Counter(assignees)
    if policy == "least_loaded":
        assert counts == Counter({"a": 6, "b": 6, "c": 6, None: 6})
    else:
        assert counts == Counter({"a": 8, "b": 8, "c": 8})


def test_pool_job_assigns_when_someone_comes_on_shift(world: World) -> None:
    world.write_roster([person("day", shifts=[DAY_SHIFT], max_open_items=2)])
    world.clock.now = datetime(2024, 3, 14, 20, 0, tzinfo=UTC)  # Thursday evening
    routine = world.flagged(["bakers_cyst"])
    urgent = world.flagged(["abscess"])
    high = world.flagged(["gout"])
    assert assign_pool_items(engine=world.engine, settings=world.settings, now=world.clock()) == 0
    world.clock.now = datetime(2024, 3, 15, 8, 0, tzinfo=UTC)
    assigned = assign_pool_items(engine=world.engine, settings=world.settings, now=world.clock())
    assert assigned == 2  # capacity 2: the most urgent first
    assert world.item(urgent.id).assignee == "day"
    assert world.item(high.id).assignee == "day"
    assert world.item(routine.id).assignee is None
    event = world.audit(urgent.id)[-1]
    assert (event.action, event.actor) == ("assigned", "system:worklist-pool")
    assert event.note == "least loaded: day 0 open of 2"
    again = assign_pool_items(engine=world.engine, settings=world.settings, now=world.clock())
    assert again == 0
    with Session(world.engine) as session:
        run = session.get(JobRun, "worklist-pool")
        assert run is not None
        assert run.run_count == 3
        assert run.last_error is None


def test_pool_job_does_not_give_an_item_back_to_who_released_it(
    world: World, service: WorklistService
) -> None:
    world.write_roster([person("a")])
    item = world.flagged(["bakers_cyst"])
    assert item.assignee == "a"
    assert item.id is not None
    service.release(item.id, user="a")
    assert assign_pool_items(engine=world.engine, settings=world.settings, now=world.clock()) == 0
    world.write_roster([person("a"), person("b")])
    assert assign_pool_items(engine=world.engine, settings=world.settings, now=world.clock()) == 1
    assert world.item(item.id).assignee == "b"


def test_pool_job_goes_on_after_a_failing_item(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from triage.worklist import routing
    from triage.worklist.failures import ItemsFailedError

    first, second = world.flagged(["abscess"]), world.flagged(["gout"])
    world.write_roster([person("a")])
    real = routing.route_pool_item

    def flaky(session: Session, *, item_id: int, **kw: Any) -> Any:
        if item_id == first.id:
            raise RuntimeError("boom")
        return real(session, item_id=item_id, **kw)

    monkeypatch.setattr(routing, "route_pool_item", flaky)
    with pytest.raises(ItemsFailedError, match="boom"):
        assign_pool_items(engine=world.engine, settings=world.settings, now=world.clock())
    assert world.item(first.id).assignee is None
    assert world.item(second.id).assignee == "a"


def test_routing_on_the_day_daylight_saving_time_starts(world: World) -> None:
    world.settings = world.settings.model_copy(update={"site_timezone": "Europe/London"})
    sunday = {"days": ["sun"], "start": "08:00", "end": "17:00"}
    world.write_roster([person("a", shifts=[sunday])])
    world.clock.now = datetime(2024, 3, 24, 7, 30, tzinfo=UTC)  # 07:30 GMT: not yet
    assert world.flagged(["bakers_cyst"]).assignee is None
    world.clock.now = datetime(2024, 3, 31, 7, 30, tzinfo=UTC)  # 08:30 BST: on shift
    assert world.flagged(["bakers_cyst"]).assignee == "a"
    world.clock.now = datetime(2024, 3, 31, 16, 0, tzinfo=UTC)  # 17:00 BST: gone
    assert world.flagged(["bakers_cyst"]).assignee is None
