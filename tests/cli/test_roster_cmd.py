"""``msk-triage roster ...``: editing the roster file from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from triage.cli.app import cli
from triage.settings import Settings
from triage.worklist.roster import load_roster


def run(settings: Settings, *args: str) -> tuple[int, str]:
    env = {"MSK_TRIAGE_DATA_DIR": str(settings.data_dir), "MSK_TRIAGE_SITE_TIMEZONE": "UTC"}
    result = CliRunner().invoke(cli, ["roster", *args], env=env)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def ok(settings: Settings, *args: str) -> str:
    code, out = run(settings, *args)
    assert code == 0, out
    return out


def path(settings: Settings) -> Path:
    return settings.resolved_roster_file


def people(settings: Settings) -> list[dict[str, Any]]:
    return [json.loads(line) for line in ok(settings, "list", "--json").splitlines()]


def test_add_list_show(settings: Settings) -> None:
    assert ok(settings, "list", "--json") == ""
    out = ok(
        settings,
        "add",
        "jdoe",
        "--name",
        "Jane Doe",
        "--subspecialty",
        "msk",
        "--shift",
        "daily 00:00-24:00",
        "--shift",
        "sat 22:00-06:00",
        "--max-open",
        "4",
        "--timezone",
        "Europe/London",
    )
    assert out == "added jdoe\n"
    ok(settings, "add", "asmith", "--name", "Al Smith", "--inactive")
    listed = people(settings)
    assert listed[0] == {
        "id": "jdoe",
        "name": "Jane Doe",
        "active": True,
        "on_shift": True,
        "max_open_items": 4,
        "subspecialties": ["msk"],
        "timezone": "Europe/London",
        "shifts": [
            {
                "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                "start": "00:00",
                "end": "24:00",
            },
            {"days": ["sat"], "start": "22:00", "end": "06:00"},
        ],
    }
    assert (listed[1]["id"], listed[1]["active"], listed[1]["on_shift"]) == (
        "asmith",
        False,
        False,
    )
    assert listed[1]["timezone"] == "UTC"
    table = ok(settings, "list")
    assert "jdoe" in table
    assert "daily 00:00-24:00; sat 22:00-06:00" in table
    assert "routing: least_loaded, prefer subspecialty msk" in table
    shown = ok(settings, "show", "jdoe")
    assert "sat 22:00-06:00 (overnight)" in shown
    assert "Europe/London" in shown
    assert json.loads(ok(settings, "show", "asmith", "--json"))["name"] == "Al Smith"
    assert load_roster(path(settings)).ids() == ["jdoe", "asmith"]


def test_set_changes_only_what_is_given(settings: Settings) -> None:
    ok(settings, "add", "jdoe", "--name", "Jane", "--shift", "mon-fri 08:00-17:00")
    ok(settings, "set", "jdoe", "--max-open", "3", "--subspecialty", "msk")
    (person,) = people(settings)
    assert (person["name"], person["max_open_items"], person["subspecialties"]) == (
        "Jane",
        3,
        ["msk"],
    )
    assert person["shifts"][0]["days"] == ["mon", "tue", "wed", "thu", "fri"]
    ok(settings, "set", "jdoe", "--shift", "sat,sun 22:00-06:00", "--timezone", "Asia/Tokyo")
    (person,) = people(settings)
    assert person["shifts"] == [{"days": ["sat", "sun"], "start": "22:00", "end": "06:00"}]
    assert person["timezone"] == "Asia/Tokyo"
    ok(settings, "set", "jdoe", "--timezone", "", "--no-shifts", "--no-subspecialties")
    (person,) = people(settings)
    assert (person["timezone"], person["shifts"], person["subspecialties"]) == ("UTC", [], [])


def test_activate_deactivate_remove(settings: Settings) -> None:
    ok(settings, "add", "jdoe", "--name", "Jane")
    assert ok(settings, "deactivate", "jdoe") == "jdoe is inactive\n"
    assert people(settings)[0]["active"] is False
    assert ok(settings, "activate", "jdoe") == "jdoe is active\n"
    assert people(settings)[0]["active"] is True
    assert ok(settings, "remove", "jdoe") == "removed jdoe\n"
    assert people(settings) == []


def test_routing_options(settings: Settings) -> None:
    assert ok(settings, "routing") == "subspecialty: msk, mode: prefer\n"
    assert ok(settings, "routing", "--mode", "require") == "subspecialty: msk, mode: require\n"
    assert ok(settings, "routing", "--subspecialty", "") == "subspecialty: (any), mode: require\n"
    assert load_roster(path(settings)).routing.subspecialty == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("add", "jdoe", "--name", "Again"), "'jdoe' is already on the roster"),
        (("add", "new"), "needs --name"),
        (("add", "bad id", "--name", "X"), "String should match pattern"),
        (("add", "x", "--name", "X", "--timezone", "Mars/Base"), "not an IANA time zone"),
        (("add", "x", "--name", "X", "--shift", "someday 9:00-10:00"), "'someday' is not a day"),
        (("add", "x", "--name", "X", "--shift", "mon 08:00-08:00"), "a whole day is 00:00"),
        (("set", "jdo", "--max-open", "2"), "no radiologist 'jdo' on the roster (did you mean"),
        (("set", "jdoe", "--max-open", "-1"), "Invalid value for '--max-open'"),
        (("set", "jdoe", "--shift", "mon 08:00-09:00", "--no-shifts"), "exclude each other"),
        (("remove", "nobody"), "no radiologist 'nobody'"),
        (("activate", "nobody"), "no radiologist 'nobody'"),
        (("show", "jdo"), "did you mean 'jdoe'"),
        (("routing", "--mode", "always"), "Invalid value for '--mode'"),
    ],
)
def test_clear_errors_and_nothing_changes(
    settings: Settings, args: tuple[str, ...], message: str
) -> None:
    ok(settings, "add", "jdoe", "--name", "Jane")
    before = path(settings).read_bytes()
    code, out = run(settings, *args)
    assert code in (1, 2)
    assert message in out
    assert path(settings).read_bytes() == before


def test_an_invalid_file_is_reported_with_its_line(settings: Settings) -> None:
    path(settings).parent.mkdir(parents=True)
    path(settings).write_text('[[radiologist]]\nid = "a"\nname = "A"\nmax_opn = 2\n')
    code, out = run(settings, "list")
    assert code == 1
    assert "roster.toml:4: radiologist[1] (a).max_opn: unknown key 'max_opn'" in out
    assert "did you mean 'max_open_items'" in out
    code, out = run(settings, "add", "b", "--name", "B")
    assert code == 1
    assert "max_opn" in out
