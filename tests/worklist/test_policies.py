"""The routing policies on their own (no database, no clock)."""

from __future__ import annotations

from datetime import UTC, datetime

from triage.worklist.policies import Candidate, choose
from triage.worklist.roster import RoutingOptions

ANY = RoutingOptions(subspecialty="")
PREFER = RoutingOptions(subspecialty="msk", subspecialty_mode="prefer")
REQUIRE = RoutingOptions(subspecialty="msk", subspecialty_mode="require")


def c(
    rid: str, open_items: int = 0, cap: int = 10, msk: bool = True, last: int | None = None
) -> Candidate:
    when = None if last is None else datetime(2024, 3, 15, last, tzinfo=UTC)
    return Candidate(rid, open_items, cap, msk, when)


def test_least_loaded_picks_the_fewest_open_items() -> None:
    decision = choose("least_loaded", [c("a", 3), c("b", 1), c("c", 2)], ANY)
    assert decision.assignee == "b"
    assert decision.reason == "least loaded: b 1 open of 10"


def test_least_loaded_ties_go_to_who_was_assigned_least_recently_then_id() -> None:
    assert choose("least_loaded", [c("a", 1, last=9), c("b", 1, last=8)], ANY).assignee == "b"
    assert choose("least_loaded", [c("a", 1, last=9), c("b", 1)], ANY).assignee == "b"
    assert choose("least_loaded", [c("b", 1), c("a", 1)], ANY).assignee == "a"


def test_capacity_is_respected() -> None:
    decision = choose("least_loaded", [c("a", 2, cap=2), c("b", 5, cap=6)], ANY)
    assert decision.assignee == "b"
    full = choose("least_loaded", [c("a", 2, cap=2), c("b", 6, cap=6)], ANY)
    assert full.assignee is None
    assert full.reason == (
        "unassigned pool: everyone on shift is at capacity (a 2 open of 2, b 6 open of 6)"
    )
    assert choose("round_robin", [c("a", 0, cap=0)], ANY).assignee is None


def test_nobody_on_shift() -> None:
    decision = choose("least_loaded", [], ANY)
    assert decision.assignee is None
    assert decision.reason == "unassigned pool: no radiologist on shift"


def test_round_robin_follows_the_cursor_and_wraps() -> None:
    people = [c("c", 5), c("a", 9), c("b", 0)]
    assert choose("round_robin", people, ANY).assignee == "a"
    assert choose("round_robin", people, ANY, last_assignee="a").assignee == "b"
    assert choose("round_robin", people, ANY, last_assignee="b").assignee == "c"
    assert choose("round_robin", people, ANY, last_assignee="c").assignee == "a"
    # the last one left the roster: the next id after it
    assert choose("round_robin", people, ANY, last_assignee="bb").assignee == "c"
    assert choose("round_robin", people, ANY, last_assignee="b").reason == (
        "round robin: c 5 open of 10 (after b)"
    )


def test_round_robin_skips_who_is_full() -> None:
    people = [c("a"), c("b", 10), c("c")]
    assert choose("round_robin", people, ANY, last_assignee="a").assignee == "c"


def test_subspecialists_are_preferred() -> None:
    people = [c("gen", 0, msk=False), c("msk1", 4)]
    assert choose("least_loaded", people, PREFER).assignee == "msk1"
    # a full subspecialist: the others take it
    people = [c("gen", 0, msk=False), c("msk1", 10)]
    assert choose("least_loaded", people, PREFER).assignee == "gen"
    assert choose("least_loaded", [c("gen", msk=False)], PREFER).assignee == "gen"


def test_subspecialists_can_be_required() -> None:
    people = [c("gen", 0, msk=False), c("msk1", 10)]
    decision = choose("least_loaded", people, REQUIRE)
    assert decision.assignee is None
    assert "at capacity (msk1 10 open of 10)" in decision.reason
    decision = choose("least_loaded", [c("gen", msk=False)], REQUIRE)
    assert decision.reason == "unassigned pool: no msk radiologist on shift"
