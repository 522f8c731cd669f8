"""The roster file: validation with file:line messages, and reloading on change."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from triage.worklist.errors import RosterError
from triage.worklist.roster import RosterSource, load_roster, parse_roster

GOOD = """\
[routing]
subspecialty = "msk"
subspecialty_mode = "require"

[[radiologist]]
id = "jdoe"
name = "Jane Doe"
subspecialties = ["MSK", "body", " msk "]
max_open_items = 12
timezone = "Europe/London"

[[radiologist.shifts]]
days = ["mon", "Tuesday", "wed"]
start = "08:00"
end = "17:00"

[[radiologist.shifts]]
days = ["fri"]
start = "22:00"
end = "06:00"

[[radiologist]]
id = "asmith"
name = "A. Smith"
active = false
"""


def test_a_valid_roster() -> None:
    roster = parse_roster(GOOD)
    assert roster.routing.subspecialty_mode == "require"
    assert roster.ids() == ["jdoe", "asmith"]
    jdoe = roster.get("jdoe")
    assert jdoe is not None
    assert jdoe.subspecialties == ["body", "msk"]
    assert jdoe.max_open_items == 12
    assert [s.days for s in jdoe.shifts] == [["mon", "tue", "wed"], ["fri"]]
    assert [s.overnight for s in jdoe.shifts] == [False, True]
    asmith = roster.get("asmith")
    assert asmith is not None
    assert (asmith.active, asmith.max_open_items, asmith.shifts) == (False, 10, [])
    assert roster.is_active("jdoe")
    assert not roster.is_active("asmith")
    assert not roster.is_active("nobody")


def test_a_missing_file_is_an_empty_roster(tmp_path: Path) -> None:
    roster = load_roster(tmp_path / "roster.toml")
    assert roster.radiologists == []
    assert roster.routing.subspecialty == "msk"


def problems(text: str) -> str:
    with pytest.raises(RosterError) as caught:
        parse_roster(text, source="roster.toml")
    return str(caught.value)


def test_unknown_keys_name_the_line_and_suggest() -> None:
    text = GOOD.replace("max_open_items = 12", "max_open = 12").replace(
        'end = "06:00"', 'ends = "06:00"'
    )
    message = problems(text)
    assert "roster.toml:9: radiologist[1] (jdoe).max_open: unknown key 'max_open'" in message
    assert "(did you mean 'max_open_items'?)" in message
    assert "roster.toml:20: radiologist[1] (jdoe).shifts[2].ends: unknown key 'ends'" in message
    assert "(did you mean 'end'?)" in message
    assert "roster.toml:17: radiologist[1] (jdoe).shifts[2].end: Field required" in message


def test_bad_values_name_the_line() -> None:
    text = GOOD.replace('start = "08:00"', 'start = "8am"').replace(
        'id = "asmith"', 'id = "a smith"'
    )
    message = problems(text)
    assert "roster.toml:14: radiologist[1] (jdoe).shifts[1].start: '8am' is not a time" in message
    assert "roster.toml:23: radiologist[2] (a smith).id: String should match pattern" in message


@pytest.mark.parametrize(
    ("replace", "by", "expected"),
    [
        ('timezone = "Europe/London"', 'timezone = "Mars/Olympus"', "not an IANA time zone"),
        ('days = ["fri"]', "days = []", "at least 1 item"),
        ('days = ["fri"]', 'days = ["fry"]', "Input should be 'mon'"),
        ('days = ["fri"]', 'days = ["fri", "friday"]', "a day is listed twice"),
        ('end = "06:00"', 'end = "22:00"', "a whole day is 00:00 to 24:00"),
        ('end = "06:00"', 'end = "24:01"', "not a time of day"),
        ("max_open_items = 12", "max_open_items = -1", "greater than or equal to 0"),
        ('id = "asmith"', 'id = "jdoe"', "'jdoe' is used twice"),
        ('subspecialty_mode = "require"', 'subspecialty_mode = "must"', "'prefer' or 'require'"),
        ('name = "A. Smith"', 'name = ""', "at least 1 character"),
    ],
)
def test_invalid_values(replace: str, by: str, expected: str) -> None:
    assert replace in GOOD
    assert expected in problems(GOOD.replace(replace, by))


def test_not_toml() -> None:
    message = problems("[[radiologist]\nid = 1")
    assert message.startswith("roster.toml: not valid TOML:")
    assert "line 1" in message


def test_unknown_top_level_keys() -> None:
    assert "roster.toml:1: radiologists: unknown key 'radiologists' (did you mean" in problems(
        "[[radiologists]]\nid = 'a'\n"
    )
    assert "roster.toml:1: routng: unknown key 'routng' (did you mean 'routing'?)" in problems(
        "[routng]\nsubspecialty = 'msk'\n"
    )


def write(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def test_source_reloads_when_the_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "roster.toml"
    source = RosterSource(path)
    assert source.get().ids() == []
    write(path, GOOD)
    assert source.get().ids() == ["jdoe", "asmith"]
    first = source.get()
    assert source.get() is first  # unchanged file: not read again
    write(path, GOOD.replace('id = "asmith"', 'id = "bsmith"'))
    assert source.get().ids() == ["jdoe", "bsmith"]
    path.unlink()
    assert source.get().ids() == []


def test_source_keeps_the_last_good_roster(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "roster.toml"
    write(path, GOOD)
    source = RosterSource(path)
    assert source.get().ids() == ["jdoe", "asmith"]
    write(path, GOOD.replace("max_open_items", "max_opn"))
    with caplog.at_level(logging.ERROR):
        assert source.get().ids() == ["jdoe", "asmith"]
        assert source.get().ids() == ["jdoe", "asmith"]
    assert len([r for r in caplog.records if "still using the previous one" in r.message]) == 1
    write(path, GOOD.replace('id = "asmith"', 'id = "fixed"'))
    assert source.get().ids() == ["jdoe", "fixed"]


def test_source_without_a_good_roster_raises(tmp_path: Path) -> None:
    path = tmp_path / "roster.toml"
    write(path, "[[radiologist]]\nid = 'x'\n")
    source = RosterSource(path)
    with pytest.raises(RosterError, match="name: Field required"):
        source.get()
    with pytest.raises(RosterError):
        source.get()
