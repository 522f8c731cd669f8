"""Editing the roster file: validated, atomic, one editor at a time.

``edit_roster`` reads the file, applies a change to its data, validates the result as
a whole, and only then replaces the file (temp file, fsync, rename, fsync the folder):
a bad edit leaves the file as it was, and a reader never sees half a file. Editors
queue on ``flock`` of a lock file beside it, so two edits at once do not lose one.
The file is rewritten from its data: comments in a hand-edited file are not kept.
"""

from __future__ import annotations

import copy
import fcntl
import os
import re
import tempfile
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import tomli_w

from triage.worklist.errors import RosterError
from triage.worklist.roster import WEEKDAYS, Roster, load_roster, validate_roster

HEADER = (
    "# The msk-triage roster of MSK radiologists (docs/worklist.md).\n"
    "# Rewritten by `msk-triage roster ...`: comments are not kept.\n\n"
)

_DAY_ALIASES = {
    "daily": list(WEEKDAYS),
    "everyday": list(WEEKDAYS),
    "weekdays": list(WEEKDAYS[:5]),
    "weekend": list(WEEKDAYS[5:]),
}
_SPEC = re.compile(r"^\s*(?P<days>\S+)\s+(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})\s*$")


def roster_data(roster: Roster) -> dict[str, Any]:
    """The roster as the file holds it (TOML keys, no empty optional values)."""
    return roster.model_dump(mode="json", by_alias=True, exclude_none=True)


def roster_to_toml(roster: Roster) -> str:
    """The file's text: tables and arrays of tables as a person would write them, short
    arrays on one line (scalars are escaped by tomli-w). Checked by reading it back."""
    data = roster_data(roster)
    lines: list[str] = []
    _table(lines, (), data)
    text = HEADER + "\n".join(lines).lstrip("\n") + "\n"
    if tomllib.loads(text) != data:  # a bug here must never write a different roster
        raise RosterError("internal error: the roster would not read back the same")
    return text


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _table(lines: list[str], path: tuple[str, ...], table: dict[str, Any]) -> None:
    nested = []
    for key, value in table.items():
        if isinstance(value, dict) or _is_table_array(value):
            nested.append((key, value))
        else:
            lines.append(f"{_key(key)} = {_value(value)}")
    for key, value in nested:
        dotted = ".".join(_key(part) for part in (*path, key))
        elements = [value] if isinstance(value, dict) else value
        for element in elements:
            lines += ["", f"[{dotted}]" if isinstance(value, dict) else f"[[{dotted}]]"]
            _table(lines, (*path, key), element)


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else _scalar(key)


def _value(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    return _scalar(value)


def _scalar(value: Any) -> str:
    return tomli_w.dumps({"v": value}).removeprefix("v = ").rstrip("\n")


def save_roster(path: Path, roster: Roster) -> None:
    """Replace the file atomically with ``roster``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = roster_to_toml(roster).encode("utf-8")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


@contextmanager
def _editing(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.with_name(f".{path.name}.lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the flock


def edit_roster(path: Path, change: Callable[[dict[str, Any]], None]) -> Roster:
    """Apply ``change`` (which edits the file's data in place) and save the result if
    it is valid; ``RosterError`` otherwise, with the file untouched."""
    with _editing(path):
        current = load_roster(path)
        data = copy.deepcopy(roster_data(current))
        data.setdefault("radiologist", [])
        change(data)
        updated = validate_roster(data, source=str(path))
        save_roster(path, updated)
        return updated


def parse_shift(spec: str) -> dict[str, Any]:
    """``"mon-fri 08:00-17:00"`` -> ``{"days": [...], "start": "08:00", "end": "17:00"}``.

    Days: names (``mon`` ... ``sun``), ranges (``mon-fri``, ``fri-mon`` wraps), lists
    (``sat,sun``), or ``daily``, ``weekdays``, ``weekend``. An end at or before the
    start is an overnight shift.
    """
    match = _SPEC.match(spec)
    if match is None:
        raise RosterError(
            f"shift {spec!r}: expected DAYS HH:MM-HH:MM, e.g. 'mon-fri 08:00-17:00' or "
            "'sat,sun 22:00-06:00'"
        )
    days: list[str] = []
    for part in match["days"].lower().split(","):
        for day in _days(part.strip(), spec):
            if day not in days:
                days.append(day)
    return {"days": days, "start": _clock(match["start"]), "end": _clock(match["end"])}


def _clock(value: str) -> str:
    hours, minutes = value.split(":")
    return f"{int(hours):02d}:{minutes}"


def _days(part: str, spec: str) -> list[str]:
    if part in _DAY_ALIASES:
        return _DAY_ALIASES[part]
    if "-" in part:
        first, last = (_day(p, spec) for p in part.split("-", 1))
        start, stop = WEEKDAYS.index(first), WEEKDAYS.index(last)
        return [WEEKDAYS[(start + n) % 7] for n in range((stop - start) % 7 + 1)]
    return [_day(part, spec)]


def _day(word: str, spec: str) -> str:
    day = word[:3]
    if day not in WEEKDAYS or not (word == day or any(word == full for full in _FULL_NAMES)):
        raise RosterError(f"shift {spec!r}: {word!r} is not a day (mon ... sun)")
    return day


_FULL_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
