"""Listing the worklist: order, filters, keyset pages, details and history."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.worklist.conftest import World, person
from triage.db.models import ItemState, Priority
from triage.worklist import ItemFilter, ItemSummary, WorklistService
from triage.worklist.sla import escalate_overdue_items

ALL = ItemFilter(states=())


def ids(items: tuple[ItemSummary, ...] | list[ItemSummary]) -> list[int]:
    return [i.item_id for i in items]


@pytest.fixture
def mixed(world: World, service: WorklistService) -> dict[str, int]:
    """routine (a), urgent (pool), high (b, in review), closed routine, withdrawn."""
    made: dict[str, int] = {}
    world.write_roster([person("a"), person("b")])
    made["routine"] = world.flagged(["bakers_cyst", "joint_effusion"]).id or 0
    world.later(minutes=1)
    made["high"] = world.flagged(["gout"]).id or 0
    service.start_review(made["high"], user="b")
    world.write_roster([])
    world.later(minutes=1)
    made["urgent"] = world.flagged(["abscess"]).id or 0
    world.write_roster([person("a"), person("b")])
    made["closed"] = world.flagged(["hematoma"]).id or 0
    service.start_review(made["closed"], user="a")
    service.close(made["closed"], user="a", outcome="confirmed_known")
    withdrawn = world.flagged(["bakers_cyst"])
    world.triage(withdrawn.study_id, [])
    made["withdrawn"] = withdrawn.id or 0
    return made


def test_the_default_is_the_open_worklist_in_order(
    service: WorklistService, mixed: dict[str, int]
) -> None:
    page = service.page()
    assert ids(page.items) == [mixed["urgent"], mixed["high"], mixed["routine"]]
    assert page.next_after is None
    assert page.previous_before is None
    assert service.count() == 3
    assert service.count(ALL) == 5


def test_order_within_a_priority_is_the_deadline_then_the_id(
    world: World, service: WorklistService
) -> None:
    first = world.flagged(["bakers_cyst"])
    world.later(minutes=-30)  # flagged earlier: due earlier
    earlier = world.flagged(["joint_effusion"])
    world.later(minutes=30)
    same = world.flagged(["hematoma"])
    assert ids(service.page().items) == [earlier.id, first.id, same.id]


def test_json_line(world: World, service: WorklistService, mixed: dict[str, int]) -> None:
    item = service.item(mixed["routine"])
    line = item.to_json()
    assert list(line) == [
        "item_id",
        "study_instance_uid",
        "accession_number",
        "priority",
        "status",
        "assignee",
        "due_at",
        "flagged_at",
        "findings",
    ]
    assert line["status"] == "assigned"
    assert line["priority"] == "routine"
    assert line["assignee"] == "a"
    assert line["due_at"] == (item.flagged_at + timedelta(hours=72)).isoformat()
    assert line["due_at"].endswith("+00:00")
    assert line["findings"] == [
        {
            "finding": "bakers_cyst",
            "certainty": "definite",
            "laterality": "left",
            "rule": "msk.bakers_cyst",
            "rule_version": "1",
        },
        {
            "finding": "joint_effusion",
            "certainty": "definite",
            "laterality": "left",
            "rule": "msk.joint_effusion",
            "rule_version": "1",
        },
    ]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (ItemFilter(states=(ItemState.CLOSED,)), ["closed", "withdrawn"]),
        (ItemFilter(states=(ItemState.NEW, ItemState.IN_REVIEW)), ["urgent", "high"]),
        (ItemFilter(assignee="a"), ["routine"]),
        (ItemFilter(states=(), assignee="a"), ["routine", "closed"]),
        (ItemFilter(unassigned=True), ["urgent"]),
        (ItemFilter(priorities=(Priority.HIGH, Priority.URGENT)), ["urgent", "high"]),
        (ItemFilter(findings=("joint_effusion",)), ["routine"]),
        (ItemFilter(states=(), findings=("hematoma", "gout")), ["high", "closed"]),
        (ItemFilter(states=(), findings=("bakers_cyst",)), ["routine"]),
    ],
)
def test_filters(
    service: WorklistService,
    mixed: dict[str, int],
    filters: ItemFilter,
    expected: list[str],
) -> None:
    assert ids(service.page(filters).items) == [mixed[name] for name in expected]
    assert service.count(filters) == len(expected)


def test_flagged_window(world: World, service: WorklistService, mixed: dict[str, int]) -> None:
    start = service.item(mixed["high"]).flagged_at
    window = ItemFilter(states=(), flagged_since=start, flagged_until=start + timedelta(minutes=1))
    assert ids(service.page(window).items) == [mixed["high"]]


def test_study_and_accession(world: World, service: WorklistService) -> None:
    item = world.triage(world.add_study(accession="A-77"), ["gout"])
    assert item is not None
    summary = service.item(item.id or 0)
    by_uid = ItemFilter(study_instance_uid=summary.study_instance_uid)
    assert ids(service.page(by_uid).items) == [item.id]
    assert ids(service.page(ItemFilter(accession_number="A-77")).items) == [item.id]
    assert service.page(ItemFilter(accession_number="nope")).items == ()


def test_overdue_and_breached(world: World, service: WorklistService) -> None:
    urgent = world.flagged(["abscess"])
    routine = world.flagged(["bakers_cyst"])
    world.later(hours=5)
    assert ids(service.page(ItemFilter(overdue=True)).items) == [urgent.id]
    assert service.page(ItemFilter(breached=True)).items == ()
    escalate_overdue_items(engine=world.engine, settings=world.settings, now=world.clock())
    assert ids(service.page(ItemFilter(breached=True)).items) == [urgent.id]
    assert service.item(routine.id or 0).is_overdue(world.clock()) is False


def test_keyset_pages_forward_and_back(world: World, service: WorklistService) -> None:
    findings = ["bakers_cyst", "gout", "abscess", "hematoma"]
    for n in range(41):
        world.flagged([findings[n % 4]])
        if n % 3 == 0:
            world.later(minutes=7)
    everything = ids(service.page(limit=1000).items)
    assert len(everything) == 41
    forward: list[int] = []
    page = service.page(limit=6)
    pages = [page]
    forward += ids(page.items)
    while page.next_after is not None:
        page = service.page(after=page.next_after, limit=6)
        pages.append(page)
        forward += ids(page.items)
    assert forward == everything
    assert len(pages) == 7
    # back from the last page
    backward: list[int] = list(ids(pages[-1].items))
    page = pages[-1]
    while page.previous_before is not None:
        page = service.page(before=page.previous_before, limit=6)
        backward = ids(page.items) + backward
    assert backward == everything
    assert list(service.iter_items(page_size=4)) == list(service.page(limit=1000).items)


def test_detail_has_findings_evidence_and_history(
    world: World, service: WorklistService, mixed: dict[str, int]
) -> None:
    detail = service.detail(mixed["closed"])
    assert detail.summary.state == ItemState.CLOSED
    assert detail.summary.outcome == "confirmed_known"
    assert [f.finding for f in detail.summary.findings] == ["hematoma"]
    assert detail.summary.findings[0].evidence == ({"text": "hematoma seen"},)
    assert [h.action for h in detail.history] == ["created", "assigned", "started", "closed"]
    assert detail.history[-1].actor == "a"
    assert detail.patient_name == "Doe^Jane"
    assert detail.reviewed_at == detail.closed_at == world.clock()


def test_findings_are_listed_most_urgent_first(world: World, service: WorklistService) -> None:
    item = world.flagged(["bakers_cyst", "abscess", "gout"])
    found = [f.finding for f in service.item(item.id or 0).findings]
    assert found == ["abscess", "gout", "bakers_cyst"]


def test_workload(world: World, service: WorklistService, mixed: dict[str, int]) -> None:
    loads = {load.id: load for load in service.workload()}
    assert (loads["a"].open_items, loads["b"].open_items) == (1, 1)
    assert loads["a"].on_shift
    assert loads["a"].active
