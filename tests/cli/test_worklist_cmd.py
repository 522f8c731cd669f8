"""``msk-triage worklist``: the JSON lines contract, filters, streaming, the table."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from tests.conftest import Clock
from tests.worklist.conftest import World, person
from triage.cli.app import cli
from triage.settings import Settings
from triage.worklist import WorklistService

SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

KEYS = [
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


@pytest.fixture
def world(engine: Engine, db_settings: Settings, clock: Clock) -> World:
    db_settings.data_dir.mkdir(parents=True, exist_ok=True)
    return World(engine, db_settings, clock)


def run(settings: Settings, *args: str) -> tuple[int, str]:
    env = {"MSK_TRIAGE_DATA_DIR": str(settings.data_dir)}
    if settings.database_url:
        env["MSK_TRIAGE_DATABASE_URL"] = settings.database_url
    result = CliRunner().invoke(cli, ["worklist", *args], env=env)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def lines(settings: Settings, *args: str) -> list[dict[str, Any]]:
    code, out = run(settings, "--json", *args)
    assert code == 0, out
    return [json.loads(line) for line in out.splitlines()]


def test_json_lines_contract(world: World) -> None:
    world.write_roster([person("jdoe")])
    item = world.triage(world.add_study(accession="ACC-9"), ["bakers_cyst", "gout"])
    assert item is not None
    (line,) = lines(world.settings)
    assert list(line) == KEYS
    assert line == {
        "item_id": item.id,
        "study_instance_uid": line["study_instance_uid"],
        "accession_number": "ACC-9",
        "priority": "high",
        "status": "assigned",
        "assignee": "jdoe",
        "due_at": (world.clock() + timedelta(hours=24)).isoformat(),
        "flagged_at": world.clock().isoformat(),
        "findings": [
            {
                "finding": "gout",
                "certainty": "definite",
                "laterality": "left",
                "rule": "msk.gout",
                "rule_version": "1",
            },
            {
                "finding": "bakers_cyst",
                "certainty": "definite",
                "laterality": "left",
                "rule": "msk.bakers_cyst",
                "rule_version": "1",
            },
        ],
    }
    assert line["study_instance_uid"].startswith("1.2.826.0.1.3680043.10.")


@SQLITE_ONLY  # the SQL is tested on both backends in tests/worklist
def test_empty(world: World) -> None:
    assert lines(world.settings) == []
    code, out = run(world.settings)
    assert code == 0
    assert "0 items" in out


@pytest.fixture
def items(world: World) -> dict[str, int]:
    made = {"pool_urgent": world.flagged(["abscess"]).id or 0}
    world.write_roster([person("a"), person("b")])
    made["a_routine"] = world.flagged(["bakers_cyst"]).id or 0
    made["b_high"] = world.flagged(["gout"]).id or 0
    service = WorklistService(world.engine, world.settings, world.clock)
    service.start_review(made["b_high"], user="b")
    made["closed"] = world.flagged(["hematoma"]).id or 0
    service.start_review(made["closed"], user="a")
    service.close(made["closed"], user="a", outcome="not_significant")
    return made


@SQLITE_ONLY  # the SQL is tested on both backends in tests/worklist
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((), ["pool_urgent", "b_high", "a_routine"]),
        (("--status", "all"), ["pool_urgent", "b_high", "a_routine", "closed"]),
        (("--status", "closed"), ["closed"]),
        (("--status", "new", "--status", "in_review"), ["pool_urgent", "b_high"]),
        (("--status", "open", "--status", "closed", "--limit", "2"), ["pool_urgent", "b_high"]),
        (("--assignee", "a"), ["a_routine"]),
        (("--unassigned",), ["pool_urgent"]),
        (("--priority", "routine", "--priority", "high"), ["b_high", "a_routine"]),
        (("--finding", "gout", "--finding", "abscess"), ["pool_urgent", "b_high"]),
        (("--status", "all", "--finding", "hematoma"), ["closed"]),
        (("--since", "2024-03-15T10:00:00Z", "--until", "2024-03-15T11:00"), ["pool_urgent",
         "b_high", "a_routine"]),
        (("--since", "2024-03-16"), []),
        (("--until", "2024-03-15"), []),
        (("--breached",), []),
        (("--accession", "nope"), []),
    ],
)  # fmt: skip
def test_filters(
    world: World, items: dict[str, int], args: tuple[str, ...], expected: list[str]
) -> None:
    assert [line["item_id"] for line in lines(world.settings, *args)] == [
        items[name] for name in expected
    ]


def test_overdue_uses_the_current_time(world: World, items: dict[str, int]) -> None:
    # the CLI runs at the wall clock time, long after the test's 2024 items were due
    ids = [line["item_id"] for line in lines(world.settings, "--overdue")]
    assert ids == [items["pool_urgent"], items["b_high"], items["a_routine"]]


def test_study_filter(world: World, items: dict[str, int]) -> None:
    (first,) = lines(world.settings, "--unassigned")
    found = lines(world.settings, "--status", "all", "--study", first["study_instance_uid"])
    assert [line["item_id"] for line in found] == [items["pool_urgent"]]


def test_streams_every_item_in_order(world: World) -> None:
    from triage.cli import worklist_cmd

    for n in range(30):
        world.flagged(["bakers_cyst" if n % 2 else "gout"])
        world.later(minutes=1)
    every = lines(world.settings)
    assert len(every) == 30
    keys = [(line["priority"] != "high", line["due_at"], line["item_id"]) for line in every]
    assert keys == sorted(keys)
    original = worklist_cmd.TABLE_CHUNK
    worklist_cmd.TABLE_CHUNK = 7
    try:
        code, out = run(world.settings)
    finally:
        worklist_cmd.TABLE_CHUNK = original
    assert code == 0
    assert out.count("priority") == 1  # one header over all the chunks
    assert "30 items" in out
    for line in every:
        assert f"{line['item_id']} " in out


@SQLITE_ONLY  # the SQL is tested on both backends in tests/worklist
def test_table(world: World, items: dict[str, int]) -> None:
    code, out = run(world.settings, "--status", "all")
    assert code == 0, out
    assert "urgent" in out
    assert "abscess" in out
    assert "not_significant" in out
    assert "overdue" in out
    assert "4 items" in out


@SQLITE_ONLY  # the SQL is tested on both backends in tests/worklist
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--since", "yesterday"), "not an ISO 8601 date"),
        (("--status", "done"), "Invalid value for '--status'"),
        (("--assignee", "a", "--unassigned"), "exclude each other"),
        (("--limit", "0"), "Invalid value for '--limit'"),
    ],
)
def test_bad_options(world: World, args: tuple[str, ...], message: str) -> None:
    code, out = run(world.settings, *args)
    assert code == 2
    assert message in out
