"""``msk-triage item ...``: review actions from the command line, and their errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from tests.conftest import Clock
from tests.worklist.conftest import World, person
from triage.cli.app import cli
from triage.settings import Settings

SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture
def world(engine: Engine, db_settings: Settings, clock: Clock) -> World:
    db_settings.data_dir.mkdir(parents=True, exist_ok=True)
    return World(engine, db_settings, clock)


@pytest.fixture
def item_id(world: World) -> int:
    """A pool item; jdoe and zed on the roster."""
    item = world.flagged(["bakers_cyst", "gout"])
    world.write_roster([person("jdoe"), person("zed")])
    assert item.id is not None
    return item.id


def run(world: World, *args: str, user: str | None = "jdoe") -> tuple[int, str]:
    settings = world.settings
    env = {"MSK_TRIAGE_DATA_DIR": str(settings.data_dir)}
    if settings.database_url:
        env["MSK_TRIAGE_DATABASE_URL"] = settings.database_url
    extra = ["--user", user] if user and args[0] != "show" else []
    result = CliRunner().invoke(cli, ["item", *args, *extra], env=env)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def ok(world: World, *args: str, user: str | None = "jdoe") -> str:
    code, out = run(world, *args, user=user)
    assert code == 0, out
    return out


def test_the_review_from_the_command_line(world: World, item_id: int) -> None:
    n = str(item_id)
    assert ok(world, "claim", n) == f"item {n} is assigned (jdoe) [high, version 2]\n"
    assert "in_review (jdoe)" in ok(world, "start", n, "--note", "looking")
    out = ok(world, "close", n, "--outcome", "confirmed_follow_up", "--note", "MRI")
    assert out == f"item {n} is closed (jdoe): confirmed_follow_up [high, version 4]\n"
    assert "assigned (jdoe)" in ok(world, "reopen", n, user="lead")
    assert "assigned (zed)" in ok(world, "reassign", n, "--to", "zed", user="lead")
    line = json.loads(ok(world, "release", n, "--json", user="zed"))
    assert (line["status"], line["assignee"]) == ("new", None)
    actions = [(e.action, e.actor) for e in world.audit(item_id)]
    assert actions[-6:] == [
        ("claimed", "jdoe"),
        ("started", "jdoe"),
        ("closed", "jdoe"),
        ("reopened", "lead"),
        ("reassigned", "lead"),
        ("released", "zed"),
    ]
    assert world.audit(item_id)[-5].note == "looking"


def test_show(world: World, item_id: int) -> None:
    ok(world, "claim", str(item_id))
    out = ok(world, "show", str(item_id))
    assert "assigned" in out
    assert "gout" in out
    assert "gout seen" in out  # evidence
    assert "claimed" in out
    assert "Doe^Jane" not in out  # no patient identifiers
    assert "PID-1" not in out
    detail: dict[str, Any] = json.loads(ok(world, "show", str(item_id), "--json"))
    assert detail["item_id"] == item_id
    assert detail["version"] == 2
    assert [h["action"] for h in detail["history"]] == ["created", "pooled", "claimed"]
    assert detail["findings"][0]["evidence"] == ["gout seen"]
    assert "Doe^Jane" not in json.dumps(detail)


@SQLITE_ONLY  # the SQL is tested on both backends in tests/worklist
def test_reassign_to_the_pool(world: World, item_id: int) -> None:
    ok(world, "claim", str(item_id))
    assert "is new [" in ok(world, "reassign", str(item_id), "--pool", user="lead")


@SQLITE_ONLY  # the SQL is tested on both backends in tests/worklist
@pytest.mark.parametrize(
    ("setup", "args", "user", "code", "message"),
    [
        ([], ("start", "{id}"), "jdoe", 1, "cannot start item {id}: it is new"),
        ([], ("close", "{id}", "--outcome", "confirmed_known"), "jdoe", 1, "it is new"),
        (["claim"], ("claim", "{id}"), "zed", 1, "it is assigned (assigned to jdoe"),
        (["claim"], ("start", "{id}"), "zed", 1, "assigned to jdoe, not zed"),
        ([], ("claim", "{id}"), "stranger", 1, "'stranger' is not on the roster"),
        ([], ("claim", "9999"), "jdoe", 1, "worklist item 9999 does not exist"),
        ([], ("claim", "{id}", "--if-version", "7"), "jdoe", 1,
         "it changed (version 1, not 7; now new)"),
        (["claim", "start"], ("close", "{id}", "--outcome", "not_confirmed"), "jdoe", 1,
         "needs a note"),
        (["claim", "start"], ("close", "{id}", "--outcome", "withdrawn"), "jdoe", 2,
         "Invalid value for '--outcome'"),
        (["claim", "start"], ("close", "{id}"), "jdoe", 2, "Missing option '--outcome'"),
        (["claim"], ("reassign", "{id}"), "lead", 2, "either --to ID or --pool"),
        (["claim"], ("reassign", "{id}", "--to", "zed", "--pool"), "lead", 2, "either --to"),
        ([], ("reopen", "{id}"), "lead", 1, "it is new"),
        ([], ("claim", "{id}"), "system:x", 1, "reserved for the jobs"),
    ],
)  # fmt: skip
def test_errors_exit_with_a_reason(
    world: World,
    item_id: int,
    setup: list[str],
    args: tuple[str, ...],
    user: str,
    code: int,
    message: str,
) -> None:
    for step in setup:
        ok(world, step, str(item_id))
    version = world.item(item_id).version
    got, out = run(world, *(a.format(id=item_id) for a in args), user=user)
    assert got == code, out
    assert message.format(id=item_id) in out
    assert world.item(item_id).version == version


@SQLITE_ONLY  # the SQL is tested on both backends in tests/worklist
def test_the_user_defaults_to_the_login_name(
    world: World, item_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    import getpass

    monkeypatch.setattr(getpass, "getuser", lambda: "zed")
    assert "assigned (zed)" in ok(world, "claim", str(item_id), user=None)
