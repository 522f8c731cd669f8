"""Claiming is decided in the database: two radiologists never hold the same item.

Threads race on both backends; on PostgreSQL, several processes race too (each with
its own engine and connections, as separate TUI sessions would).
"""

from __future__ import annotations

import multiprocessing
import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, select

from tests.worklist.conftest import World, person
from triage.db.models import AuditEvent
from triage.worklist import StaleItemError, WorklistError, WorklistService

RADIOLOGISTS = [f"r{n}" for n in range(6)]


def _claims(world: World) -> Counter[int | None]:
    with Session(world.engine) as session:
        events = session.exec(select(AuditEvent).where(col(AuditEvent.action) == "claimed"))
        return Counter(event.item_id for event in events)


@pytest.fixture
def pool(world: World) -> list[int]:
    items = [world.flagged(["bakers_cyst"]).id for _ in range(5)]
    world.write_roster([person(r) for r in RADIOLOGISTS])
    return [i for i in items if i is not None]


def test_threads_claiming_one_item_with_the_version_they_saw(world: World, pool: list[int]) -> None:
    item_id = pool[0]
    seen = WorklistService(world.engine, world.settings, world.clock).item(item_id)
    barrier = threading.Barrier(len(RADIOLOGISTS))

    def claim(user: str) -> str:
        service = WorklistService(world.engine, world.settings, world.clock)
        barrier.wait()
        try:
            service.claim(item_id, user=user, expected_version=seen.version)
        except StaleItemError:
            return "lost"
        return "won"

    with ThreadPoolExecutor(len(RADIOLOGISTS)) as executor:
        results = dict(zip(RADIOLOGISTS, executor.map(claim, RADIOLOGISTS), strict=True))
    winners = [user for user, result in results.items() if result == "won"]
    assert len(winners) == 1
    assert world.item(item_id).assignee == winners[0]
    assert _claims(world)[item_id] == 1


def test_threads_claiming_many_items(world: World, pool: list[int]) -> None:
    barrier = threading.Barrier(len(RADIOLOGISTS))

    def claim_all(user: str) -> list[int]:
        service = WorklistService(world.engine, world.settings, world.clock)
        order = list(pool)
        random.Random(user).shuffle(order)
        barrier.wait()
        won = []
        for item_id in order:
            try:
                service.claim(item_id, user=user)
            except WorklistError:
                continue
            won.append(item_id)
        return won

    with ThreadPoolExecutor(len(RADIOLOGISTS)) as executor:
        won = dict(zip(RADIOLOGISTS, executor.map(claim_all, RADIOLOGISTS), strict=True))
    holders = Counter(item_id for items in won.values() for item_id in items)
    assert holders == Counter({item_id: 1 for item_id in pool})
    for user, items in won.items():
        for item_id in items:
            assert world.item(item_id).assignee == user
    assert _claims(world) == Counter({item_id: 1 for item_id in pool})


def _claim_in_process(
    url: str, data_dir: str, user: str, items: list[int], barrier: Any, out: Any
) -> None:
    from triage.db.engine import make_engine
    from triage.settings import load_settings

    settings = load_settings(environ={}, data_dir=Path(data_dir), database_url=url)
    engine = make_engine(settings)
    service = WorklistService(engine, settings)
    order = list(items)
    random.Random(user).shuffle(order)
    won: list[int] = []
    lost: list[str] = []
    barrier.wait()
    try:
        for item_id in order:
            try:
                service.claim(item_id, user=user)
            except WorklistError as exc:
                lost.append(type(exc).__name__)
                continue
            won.append(item_id)
    finally:
        engine.dispose()
    out.put((user, won, lost))


@pytest.mark.postgres
@pytest.mark.integration
@pytest.mark.slow  # four interpreters start
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_processes_claiming_on_postgresql(world: World, pool: list[int]) -> None:
    world.write_roster([])  # more pool items (nobody to route them to)
    more = [world.flagged(["gout"]).id for _ in range(25)]
    world.write_roster([person(r) for r in RADIOLOGISTS])
    items = pool + [i for i in more if i is not None]
    context = multiprocessing.get_context("spawn")
    users = RADIOLOGISTS[:4]
    barrier = context.Barrier(len(users))
    out = context.Queue()
    url = world.settings.resolved_database_url
    processes = [
        context.Process(
            target=_claim_in_process,
            args=(url, str(world.settings.data_dir), user, items, barrier, out),
        )
        for user in users
    ]
    for process in processes:
        process.start()
    results = [out.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    holders = Counter(item_id for _, won, _ in results for item_id in won)
    assert holders == Counter({item_id: 1 for item_id in items})
    losses = Counter(name for _, _, lost in results for name in lost)
    assert sum(losses.values()) == len(items) * (len(users) - 1)
    assert set(losses) <= {"StaleItemError", "InvalidTransitionError"}
    for user, won, _ in results:
        for item_id in won:
            assert world.item(item_id).assignee == user
    assert _claims(world) == Counter({item_id: 1 for item_id in items})
