"""Editing the roster file: round trip, validation before writing, atomic replace,
concurrent editors, and the shift syntax of the CLI."""

from __future__ import annotations

import threading
import tomllib
from pathlib import Path
from typing import Any

import pytest

from triage.worklist.errors import RosterError
from triage.worklist.roster import Shift, load_roster
from triage.worklist.roster_file import edit_roster, parse_shift, save_roster


def add(person: dict[str, Any]) -> Any:
    def change(data: dict[str, Any]) -> None:
        data["radiologist"].append(person)

    return change


JDOE = {
    "id": "jdoe",
    "name": 'Jane "JD" Doe',
    "subspecialties": ["msk"],
    "shifts": [{"days": ["mon", "fri"], "start": "22:00", "end": "06:00"}],
    "max_open_items": 7,
    "timezone": "America/Chicago",
}


def test_edit_creates_and_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "roster.toml"
    roster = edit_roster(path, add(JDOE))
    assert load_roster(path) == roster
    text = path.read_text()
    assert text.startswith("# The msk-triage roster")
    data = tomllib.loads(text)
    assert data["radiologist"][0]["name"] == 'Jane "JD" Doe'
    assert data["radiologist"][0]["shifts"] == [
        {"days": ["mon", "fri"], "start": "22:00", "end": "06:00"}
    ]
    assert data["routing"] == {"subspecialty": "msk", "subspecialty_mode": "prefer"}
    assert data["radiologist"][0]["timezone"] == "America/Chicago"


def test_a_person_without_optional_values(tmp_path: Path) -> None:
    path = tmp_path / "roster.toml"
    edit_roster(path, add({"id": "a", "name": "A"}))
    data = tomllib.loads(path.read_text())
    assert data["radiologist"] == [
        {"id": "a", "name": "A", "subspecialties": [], "shifts": [], "max_open_items": 10,
         "active": True}
    ]  # fmt: skip


def test_an_invalid_edit_leaves_the_file_alone(tmp_path: Path) -> None:
    path = tmp_path / "roster.toml"
    edit_roster(path, add(JDOE))
    before = path.read_bytes()
    with pytest.raises(RosterError, match="'jdoe' is used twice"):
        edit_roster(path, add(JDOE))
    with pytest.raises(RosterError, match=r"radiologist\[2\] \(x\)\.max_open_items"):
        edit_roster(path, add({"id": "x", "name": "X", "max_open_items": -3}))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_editing_an_invalid_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "roster.toml"
    path.write_text("[[radiologist]]\nid = 'a'\n")
    with pytest.raises(RosterError, match="name: Field required"):
        edit_roster(path, add(JDOE))
    assert path.read_text() == "[[radiologist]]\nid = 'a'\n"


def test_save_keeps_the_file_mode(tmp_path: Path) -> None:
    path = tmp_path / "roster.toml"
    edit_roster(path, add(JDOE))
    path.chmod(0o600)
    roster = load_roster(path)
    save_roster(path, roster)
    assert path.stat().st_mode & 0o777 == 0o600


def test_concurrent_editors_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "roster.toml"
    barrier = threading.Barrier(8)

    def editor(n: int) -> None:
        barrier.wait()
        for k in range(5):
            edit_roster(path, add({"id": f"r{n}-{k}", "name": f"R {n} {k}"}))

    threads = [threading.Thread(target=editor, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(load_roster(path).radiologists) == 40


@pytest.mark.parametrize(
    ("spec", "days", "start", "end"),
    [
        ("mon-fri 08:00-17:00", ["mon", "tue", "wed", "thu", "fri"], "08:00", "17:00"),
        ("sat,sun 22:00-06:00", ["sat", "sun"], "22:00", "06:00"),
        ("fri-mon 8:00 - 9:30", ["fri", "sat", "sun", "mon"], "08:00", "09:30"),
        ("daily 00:00-24:00", ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "00:00", "24:00"),
        ("weekend 07:00-19:00", ["sat", "sun"], "07:00", "19:00"),
        ("Monday,wed,mon 07:00-19:00", ["mon", "wed"], "07:00", "19:00"),
    ],
)
def test_shift_specs(spec: str, days: list[str], start: str, end: str) -> None:
    assert parse_shift(spec) == {"days": days, "start": start, "end": end}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("08:00-17:00", "expected DAYS HH:MM-HH:MM"),
        ("mon-fri 8-17", "expected DAYS HH:MM-HH:MM"),
        ("mun 08:00-17:00", "'mun' is not a day"),
        ("monxyz 08:00-17:00", "'monxyz' is not a day"),
    ],
)
def test_bad_shift_specs(spec: str, message: str) -> None:
    with pytest.raises(RosterError, match=message):
        parse_shift(spec)


@pytest.mark.parametrize(
    ("days", "text"),
    [
        (["mon", "tue", "wed", "thu", "fri"], "mon-fri"),
        (["sat", "mon", "tue", "sun"], "mon-tue,sat-sun"),
        (["wed"], "wed"),
        (["mon", "wed", "fri"], "mon,wed,fri"),
        (["sun", "sat", "fri", "thu", "wed", "tue", "mon"], "daily"),
    ],
)
def test_shifts_are_described_in_the_cli_syntax(days: list[str], text: str) -> None:
    shift = Shift.model_validate({"days": days, "start": "22:00", "end": "06:00"})
    assert shift.describe() == f"{text} 22:00-06:00"
    again = parse_shift(shift.describe())
    assert sorted(again["days"]) == sorted(days)


def test_the_file_is_written_as_a_person_would(tmp_path: Path) -> None:
    path = tmp_path / "roster.toml"
    edit_roster(path, add(JDOE))
    assert "\n".join(path.read_text().splitlines()[3:]) == (
        "[routing]\n"
        'subspecialty = "msk"\n'
        'subspecialty_mode = "prefer"\n'
        "\n"
        "[[radiologist]]\n"
        'id = "jdoe"\n'
        'name = "Jane \\"JD\\" Doe"\n'
        'subspecialties = ["msk"]\n'
        "max_open_items = 7\n"
        "active = true\n"
        'timezone = "America/Chicago"\n'
        "\n"
        "[[radiologist.shifts]]\n"
        'days = ["mon", "fri"]\n'
        'start = "22:00"\n'
        'end = "06:00"'
    )
