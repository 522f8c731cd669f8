"""Every review transition: allowed moves, refused moves, and their audit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from tests.worklist.conftest import World, person
from triage.db.models import ItemState, Priority
from triage.worklist import (
    InvalidRequestError,
    InvalidTransitionError,
    ItemNotFoundError,
    ItemSummary,
    NotPermittedError,
    StaleItemError,
    WorklistService,
)


@pytest.fixture
def pooled(world: World) -> int:
    """An item in the unassigned pool, with jdoe and zed on the roster (set after)."""
    item = world.flagged(["bakers_cyst"])
    world.write_roster([person("jdoe"), person("zed"), person("gone", active=False)])
    assert item.id is not None
    return item.id


def test_claim_takes_a_pool_item(world: World, service: WorklistService, pooled: int) -> None:
    world.later(minutes=5)
    item = service.claim(pooled, user="jdoe", note="mine")
    assert item.state == ItemState.ASSIGNED
    assert item.assignee == "jdoe"
    stored = world.item(pooled)
    assert stored.assigned_at == world.clock()
    event = world.audit(pooled)[-1]
    assert (event.action, event.actor, event.from_state, event.to_state, event.note) == (
        "claimed",
        "jdoe",
        "new",
        "assigned",
        "mine",
    )
    assert event.at == world.clock()


@pytest.mark.parametrize(
    ("user", "message"),
    [("nobody", "'nobody' is not on the roster"), ("gone", "'gone' is not active")],
)
def test_only_active_radiologists_on_the_roster_claim(
    service: WorklistService, pooled: int, user: str, message: str
) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        service.claim(pooled, user=user)


def test_a_held_item_cannot_be_claimed(world: World, service: WorklistService, pooled: int) -> None:
    service.claim(pooled, user="jdoe")
    before = world.item(pooled)
    with pytest.raises(InvalidTransitionError, match=r"it is assigned \(assigned to jdoe"):
        service.claim(pooled, user="zed")
    after = world.item(pooled)
    assert (after.assignee, after.version) == ("jdoe", before.version)
    assert world.actions(pooled).count("claimed") == 1


def test_start_and_close(world: World, service: WorklistService, pooled: int) -> None:
    service.claim(pooled, user="jdoe")
    started = service.start_review(pooled, user="jdoe")
    assert started.state == ItemState.IN_REVIEW
    world.later(minutes=12)
    closed = service.close(
        pooled, user="jdoe", outcome="confirmed_follow_up", note="MRI recommended"
    )
    assert closed.state == ItemState.CLOSED
    assert closed.outcome == "confirmed_follow_up"
    stored = world.item(pooled)
    assert stored.reviewed_at == stored.closed_at == world.clock()
    assert stored.outcome_note == "MRI recommended"
    event = world.audit(pooled)[-1]
    assert (event.action, event.from_state, event.to_state) == ("closed", "in_review", "closed")
    assert event.details == {"outcome": "confirmed_follow_up"}
    assert event.note == "MRI recommended"


def test_only_the_assignee_starts_closes_and_releases(
    service: WorklistService, pooled: int
) -> None:
    service.claim(pooled, user="jdoe")
    with pytest.raises(NotPermittedError, match="assigned to jdoe, not zed"):
        service.start_review(pooled, user="zed")
    service.start_review(pooled, user="jdoe")
    with pytest.raises(NotPermittedError):
        service.close(pooled, user="zed", outcome="confirmed_known")
    with pytest.raises(NotPermittedError):
        service.release(pooled, user="zed")


def test_close_needs_a_review_in_progress(service: WorklistService, pooled: int) -> None:
    with pytest.raises(InvalidTransitionError, match=r"it is new .*claim it first"):
        service.close(pooled, user="jdoe", outcome="confirmed_known")
    service.claim(pooled, user="jdoe")
    with pytest.raises(InvalidTransitionError, match="start the review first"):
        service.close(pooled, user="jdoe", outcome="confirmed_known")


@pytest.mark.parametrize(
    ("outcome", "note", "message"),
    [
        (None, None, "closing needs an outcome"),
        ("", None, "closing needs an outcome"),
        ("confirmed", None, "unknown outcome 'confirmed'"),
        ("withdrawn", None, "set by the system"),
        ("not_confirmed", None, "needs a note"),
        ("not_confirmed", "   ", "needs a note"),
    ],
)
def test_close_validates_the_outcome(
    world: World,
    service: WorklistService,
    pooled: int,
    outcome: str | None,
    note: str | None,
    message: str,
) -> None:
    service.claim(pooled, user="jdoe")
    service.start_review(pooled, user="jdoe")
    version = world.item(pooled).version
    with pytest.raises(InvalidRequestError, match=message):
        service.close(pooled, user="jdoe", outcome=outcome, note=note)
    assert world.item(pooled).version == version


def test_not_confirmed_with_a_note(world: World, service: WorklistService, pooled: int) -> None:
    service.claim(pooled, user="jdoe")
    service.start_review(pooled, user="jdoe")
    closed = service.close(
        pooled, user="jdoe", outcome="not_confirmed", note="cyst is the popliteal vein"
    )
    assert closed.outcome == "not_confirmed"
    assert world.item(pooled).outcome_note == "cyst is the popliteal vein"


@pytest.mark.parametrize("started", [False, True])
def test_release_goes_back_to_the_pool(
    world: World, service: WorklistService, pooled: int, started: bool
) -> None:
    service.claim(pooled, user="jdoe")
    if started:
        service.start_review(pooled, user="jdoe")
    released = service.release(pooled, user="jdoe", note="not my area")
    assert (released.state, released.assignee) == (ItemState.NEW, None)
    assert world.item(pooled).assigned_at is None
    event = world.audit(pooled)[-1]
    assert (event.action, event.to_state, event.note) == ("released", "new", "not my area")


def test_release_needs_a_held_item(service: WorklistService, pooled: int) -> None:
    with pytest.raises(InvalidTransitionError, match="it is new"):
        service.release(pooled, user="jdoe")


@pytest.mark.parametrize("started", [False, True])
def test_reassign_to_a_radiologist(
    world: World, service: WorklistService, pooled: int, started: bool
) -> None:
    service.claim(pooled, user="jdoe")
    if started:
        service.start_review(pooled, user="jdoe")
    moved = service.reassign(pooled, user="lead", to="zed", note="jdoe is in theatre")
    assert (moved.state, moved.assignee) == (ItemState.ASSIGNED, "zed")
    event = world.audit(pooled)[-1]
    assert (event.action, event.actor) == ("reassigned", "lead")
    assert event.from_state == ("in_review" if started else "assigned")
    assert event.details == {"previous_assignee": "jdoe", "assignee": "zed"}


def test_reassign_a_pool_item_and_back_to_the_pool(
    world: World, service: WorklistService, pooled: int
) -> None:
    moved = service.reassign(pooled, user="lead", to="jdoe")
    assert (moved.state, moved.assignee) == (ItemState.ASSIGNED, "jdoe")
    back = service.reassign(pooled, user="lead", to=None)
    assert (back.state, back.assignee) == (ItemState.NEW, None)
    with pytest.raises(InvalidTransitionError, match="already in the pool"):
        service.reassign(pooled, user="lead", to=None)


@pytest.mark.parametrize(
    ("to", "error", "message"),
    [
        ("jdoe", InvalidRequestError, "already assigned to jdoe"),
        ("nobody", InvalidRequestError, "not on the roster"),
        ("gone", InvalidRequestError, "not active"),
    ],
)
def test_reassign_refusals(
    service: WorklistService, pooled: int, to: str, error: type[Exception], message: str
) -> None:
    service.claim(pooled, user="jdoe")
    with pytest.raises(error, match=message):
        service.reassign(pooled, user="lead", to=to)


def test_a_closed_item_cannot_be_reassigned_or_claimed(
    service: WorklistService, pooled: int
) -> None:
    service.claim(pooled, user="jdoe")
    service.start_review(pooled, user="jdoe")
    service.close(pooled, user="jdoe", outcome="confirmed_known")
    with pytest.raises(InvalidTransitionError, match="closed as confirmed_known: reopen it"):
        service.reassign(pooled, user="lead", to="zed")
    with pytest.raises(InvalidTransitionError, match="it is closed"):
        service.claim(pooled, user="zed")


def test_reopen_goes_back_to_the_previous_reader(
    world: World, service: WorklistService, pooled: int
) -> None:
    service.claim(pooled, user="jdoe")
    service.start_review(pooled, user="jdoe")
    service.close(pooled, user="jdoe", outcome="not_significant")
    world.later(days=2)
    reopened = service.reopen(pooled, user="lead", note="clinician called")
    assert (reopened.state, reopened.assignee, reopened.outcome) == (
        ItemState.ASSIGNED,
        "jdoe",
        None,
    )
    assert reopened.priority == Priority.ROUTINE
    assert reopened.due_at == world.clock() + timedelta(hours=72)
    stored = world.item(pooled)
    assert stored.closed_at is None
    assert stored.reviewed_at is None
    event = world.audit(pooled)[-1]
    assert (event.action, event.from_state, event.to_state, event.note) == (
        "reopened",
        "closed",
        "assigned",
        "clinician called",
    )
    assert event.details == {"previous_outcome": "not_significant", "previous_assignee": "jdoe"}


def test_reopen_routes_when_the_previous_reader_is_inactive(
    world: World, service: WorklistService, pooled: int
) -> None:
    service.claim(pooled, user="jdoe")
    service.start_review(pooled, user="jdoe")
    service.close(pooled, user="jdoe", outcome="not_significant")
    world.write_roster([person("jdoe", active=False), person("zed")])
    reopened = service.reopen(pooled, user="lead")
    assert (reopened.state, reopened.assignee) == (ItemState.ASSIGNED, "zed")
    assert world.actions(pooled)[-2:] == ["reopened", "assigned"]


def test_reopen_into_the_pool_when_nobody_is_on_shift(
    world: World, service: WorklistService, pooled: int
) -> None:
    service.claim(pooled, user="jdoe")
    service.start_review(pooled, user="jdoe")
    service.close(pooled, user="jdoe", outcome="not_significant")
    world.write_roster([])
    reopened = service.reopen(pooled, user="lead")
    assert (reopened.state, reopened.assignee) == (ItemState.NEW, None)
    assert world.actions(pooled)[-2:] == ["reopened", "pooled"]


def test_only_closed_items_reopen(service: WorklistService, pooled: int) -> None:
    with pytest.raises(InvalidTransitionError, match=r"cannot reopen item .*: it is new"):
        service.reopen(pooled, user="lead")


def test_expected_version_detects_a_change(
    world: World, service: WorklistService, pooled: int
) -> None:
    seen = service.item(pooled)
    service.claim(pooled, user="zed")
    with pytest.raises(
        StaleItemError, match=r"changed \(version 2, not 1; now assigned, assigned to zed\)"
    ):
        service.claim(pooled, user="jdoe", expected_version=seen.version)
    assert world.item(pooled).assignee == "zed"


def test_unknown_item(service: WorklistService) -> None:
    with pytest.raises(ItemNotFoundError, match="worklist item 999 does not exist"):
        service.claim(999, user="jdoe")
    with pytest.raises(ItemNotFoundError):
        service.detail(999)


@pytest.mark.parametrize("user", ["", "  ", "system:pipeline", "x" * 65])
def test_users_are_checked(service: WorklistService, pooled: int, user: str) -> None:
    with pytest.raises(InvalidRequestError):
        service.claim(pooled, user=user)


def test_every_transition_writes_one_audit_event(
    world: World, service: WorklistService, pooled: int
) -> None:
    steps: list[Callable[[], ItemSummary]] = [
        lambda: service.claim(pooled, user="jdoe"),
        lambda: service.release(pooled, user="jdoe"),
        lambda: service.reassign(pooled, user="lead", to="zed"),
        lambda: service.start_review(pooled, user="zed"),
        lambda: service.reassign(pooled, user="lead", to="jdoe"),
        lambda: service.start_review(pooled, user="jdoe"),
        lambda: service.close(pooled, user="jdoe", outcome="confirmed_known"),
        lambda: service.reopen(pooled, user="lead"),
    ]
    for step in steps:
        before = world.item(pooled)
        count = len(world.audit(pooled))
        world.later(minutes=1)
        step()
        after = world.item(pooled)
        events = world.audit(pooled)
        assert len(events) == count + 1
        assert after.version == before.version + 1
        assert events[-1].from_state == before.state
        assert events[-1].to_state == after.state
        assert events[-1].at == after.updated_at == world.clock()
