"""The roster of MSK radiologists: a TOML file, validated, reloaded when it changes.

```toml
[routing]
subspecialty = "msk"          # "" = ignore subspecialties
subspecialty_mode = "prefer"  # or "require"

[[radiologist]]
id = "jdoe"
name = "Jane Doe"
subspecialties = ["msk"]
max_open_items = 10
active = true
timezone = "Europe/London"    # optional; default: the site time zone

[[radiologist.shifts]]
days = ["mon", "tue", "wed", "thu", "fri"]
start = "08:00"
end = "17:00"                 # end <= start: overnight, ends the next day
```

Shifts are wall-clock times in the radiologist's zone. A missing file is an empty
roster (everything goes to the unassigned pool).
"""

from __future__ import annotations

import difflib
import logging
import os
import re
import threading
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from triage.worklist.errors import RosterError

log = logging.getLogger(__name__)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
RADIOLOGIST_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
_CLOCK = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$")
MINUTES_PER_DAY = 24 * 60


def clock_minutes(value: str) -> int:
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


def compact_days(days: Sequence[str]) -> str:
    """``["mon", "tue", "wed", "sat"]`` -> ``mon-wed,sat``; every day -> ``daily``."""
    if set(days) == set(WEEKDAYS):
        return "daily"
    indexes = sorted(WEEKDAYS.index(d) for d in set(days))
    runs: list[list[int]] = []
    for index in indexes:
        if runs and index == runs[-1][-1] + 1:
            runs[-1].append(index)
        else:
            runs.append([index])
    return ",".join(
        WEEKDAYS[run[0]] if len(run) == 1 else f"{WEEKDAYS[run[0]]}-{WEEKDAYS[run[-1]]}"
        for run in runs
    )


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Shift(_Model):
    days: list[Weekday] = Field(min_length=1)
    start: str
    end: str

    @field_validator("days", mode="before")
    @classmethod
    def _days(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [d.strip().lower()[:3] if isinstance(d, str) else d for d in value]
        return value

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, value: str) -> str:
        if not _CLOCK.match(value):
            raise ValueError(f"{value!r} is not a time of day HH:MM (00:00 to 24:00)")
        return value

    @model_validator(mode="after")
    def _span(self) -> Shift:
        if self.start == "24:00":
            raise ValueError("a shift cannot start at 24:00 (use 00:00)")
        if self.start == self.end:
            raise ValueError(f"start and end are both {self.start}: a whole day is 00:00 to 24:00")
        if len(set(self.days)) != len(self.days):
            raise ValueError("a day is listed twice")
        return self

    @property
    def start_minute(self) -> int:
        return clock_minutes(self.start)

    @property
    def end_minute(self) -> int:
        return clock_minutes(self.end)

    @property
    def overnight(self) -> bool:
        """Ends on the day after it starts."""
        return self.end_minute <= self.start_minute

    def describe(self) -> str:
        """``mon-fri 08:00-17:00`` (the CLI's shift syntax)."""
        return f"{compact_days(self.days)} {self.start}-{self.end}"


class Radiologist(_Model):
    id: Annotated[str, Field(pattern=RADIOLOGIST_ID)]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    subspecialties: list[str] = Field(default_factory=list)
    shifts: list[Shift] = Field(default_factory=list)
    max_open_items: int = Field(10, ge=0, le=100_000)
    active: bool = True
    timezone: str | None = None

    @field_validator("subspecialties")
    @classmethod
    def _subspecialties(cls, value: list[str]) -> list[str]:
        cleaned = sorted({s.strip().lower() for s in value if s.strip()})
        return cleaned

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str | None) -> str | None:
        if value is not None:
            _zone(value)
        return value

    def zone(self, site_timezone: str) -> ZoneInfo:
        return _zone(self.timezone or site_timezone)

    def has_subspecialty(self, subspecialty: str | None) -> bool:
        return not subspecialty or subspecialty.lower() in self.subspecialties


class RoutingOptions(_Model):
    subspecialty: str = "msk"
    subspecialty_mode: Literal["prefer", "require"] = "prefer"

    @field_validator("subspecialty")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.strip().lower()


class Roster(_Model):
    # the file's key only ("radiologist", one per [[radiologist]] table)
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=False)

    routing: RoutingOptions = Field(default_factory=RoutingOptions)
    radiologists: list[Radiologist] = Field(default_factory=list, alias="radiologist")

    @model_validator(mode="after")
    def _unique_ids(self) -> Roster:
        seen: set[str] = set()
        for person in self.radiologists:
            if person.id in seen:
                raise ValueError(f"radiologist id {person.id!r} is used twice")
            seen.add(person.id)
        return self

    def get(self, radiologist_id: str) -> Radiologist | None:
        for person in self.radiologists:
            if person.id == radiologist_id:
                return person
        return None

    def ids(self) -> list[str]:
        return [person.id for person in self.radiologists]

    def is_active(self, radiologist_id: str | None) -> bool:
        person = None if radiologist_id is None else self.get(radiologist_id)
        return person is not None and person.active


EMPTY_ROSTER = Roster()


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not an IANA time zone (e.g. Europe/London)") from None


def load_roster(path: Path) -> Roster:
    """The validated roster in ``path``; a missing file is an empty roster.

    Raises ``RosterError`` naming the file, line and key of every problem.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return EMPTY_ROSTER
    except (OSError, UnicodeDecodeError) as exc:
        raise RosterError(f"{path}: cannot read the roster: {exc}") from None
    return parse_roster(text, source=str(path))


def parse_roster(text: str, *, source: str = "roster") -> Roster:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RosterError(f"{source}: not valid TOML: {exc}") from None
    return validate_roster(data, text=text, source=source)


def validate_roster(data: dict[str, Any], *, text: str = "", source: str = "roster") -> Roster:
    try:
        return Roster.model_validate(data)
    except ValidationError as exc:
        lines = text.splitlines()
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            where = _line_of(lines, loc)
            prefix = f"{source}:{where}" if where else source
            key = _describe_loc(loc, data)
            message = str(err["msg"]).removeprefix("Value error, ")
            if err["type"] == "extra_forbidden" and loc:
                message = f"unknown key{_suggest(str(loc[-1]), _known_keys(loc[:-1]))}"
            problems.append(f"{prefix}: {key}: {message}" if key else f"{prefix}: {message}")
        raise RosterError("\n".join(problems)) from None


def _known_keys(loc: tuple[Any, ...]) -> list[str]:
    """The keys allowed in the table at ``loc`` (for "did you mean")."""
    nested: dict[str, type[BaseModel]] = {
        "radiologist": Radiologist,
        "shifts": Shift,
        "routing": RoutingOptions,
    }
    model: type[BaseModel] = Roster
    for step in loc:
        if isinstance(step, int):
            continue
        if _field_by_key(model, str(step)) is None:
            return []
        model = nested.get(str(step), model)
    return [f.alias or name for name, f in model.model_fields.items()]


def _field_by_key(model: type[BaseModel], key: str) -> Any:
    for name, field in model.model_fields.items():
        if key in (name, field.alias):
            return field
    return None


def _suggest(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" {word!r} (did you mean {close[0]!r}?)" if close else f" {word!r}"


def _describe_loc(loc: tuple[Any, ...], data: dict[str, Any]) -> str:
    """``radiologist[2] (jdoe).shifts[0].start``: positions 1-based, with the id."""
    parts: list[str] = []
    node: Any = data
    for step in loc:
        if isinstance(step, int):
            label = f"[{step + 1}]"
            item = node[step] if isinstance(node, list) and step < len(node) else None
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                label += f" ({item['id']})"
            parts.append(label)
            node = item
        else:
            if parts and step != "radiologist":
                parts.append(".")
            parts.append(str(step))
            node = node.get(step) if isinstance(node, dict) else None
    return "".join(parts)


_ARRAY_HEADER = re.compile(r"^\s*\[\[\s*([A-Za-z0-9_.\-]+)\s*\]\]")
_TABLE_HEADER = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\-]+)\s*\]")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+)\s*=")


def _line_of(lines: list[str], loc: tuple[Any, ...]) -> int | None:
    """The 1-based line that best matches ``loc``: the key's own line, else the header
    of the table that holds it. tomllib gives no positions, so we find them again."""
    best: tuple[int, int] | None = None  # (matched length, line)
    counters: dict[tuple[Any, ...], int] = {}
    table: tuple[Any, ...] = ()
    for number, line in enumerate(lines, start=1):
        match = _ARRAY_HEADER.match(line)
        if match:
            table = _array_path(match.group(1), table, counters)
            candidates: list[tuple[Any, ...]] = [table, table[:-1]]  # the element, the array
        elif (match := _TABLE_HEADER.match(line)) is not None:
            table = tuple(match.group(1).split("."))
            candidates = [table]
        elif (match := _KEY.match(line)) is not None:
            candidates = [(*table, match.group(1))]
        else:
            continue
        for candidate in candidates:
            length = _common_prefix(candidate, loc)
            if length == len(candidate) and length > 0 and (best is None or length > best[0]):
                best = (length, number)
    return None if best is None else best[1]


def _array_path(
    dotted: str, table: tuple[Any, ...], counters: dict[tuple[Any, ...], int]
) -> tuple[Any, ...]:
    """The path of a new ``[[a.b]]`` element: ``("a", i, "b", j)`` for the current ``a``."""
    names = dotted.split(".")
    path: list[Any] = []
    for depth, name in enumerate(names):
        path.append(name)
        if depth < len(names) - 1:
            # the enclosing array's current element, as the table we are in says
            position = len(path)
            if len(table) > position and isinstance(table[position], int):
                path.append(table[position])
            else:
                path.append(max(counters.get(tuple(path), 0) - 1, 0))
    key = tuple(path)
    index = counters.get(key, 0)
    counters[key] = index + 1
    return (*key, index)


def _common_prefix(a: tuple[Any, ...], b: tuple[Any, ...]) -> int:
    length = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        length += 1
    return length


@dataclass(frozen=True, slots=True)
class _Stamp:
    mtime_ns: int
    size: int
    inode: int


class RosterSource:
    """The roster in a file, reloaded when the file changes (a rewrite by
    ``msk-triage roster`` replaces the file, so its inode changes too).

    A roster that becomes invalid keeps the last good one in use (logged once per
    change), so a typo in a hand edit does not stop routing; an invalid roster with no
    good one before it raises ``RosterError``.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: _Stamp | None = None
        self._roster: Roster | None = None
        self._error: RosterError | None = None

    def get(self) -> Roster:
        stamp = self._stat()
        with self._lock:
            if self._roster is not None and stamp == self._stamp:
                return self._roster
            if self._error is not None and stamp == self._stamp:
                raise self._error
            try:
                roster = EMPTY_ROSTER if stamp is None else load_roster(self.path)
            except RosterError as exc:
                self._stamp = stamp
                if self._roster is None:
                    self._error = exc
                    raise
                log.error("roster %s is invalid, still using the previous one:\n%s", self.path, exc)
                return self._roster
            self._stamp, self._roster, self._error = stamp, roster, None
            return roster

    def _stat(self) -> _Stamp | None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise RosterError(f"{self.path}: cannot read the roster: {exc}") from None
        return _Stamp(st.st_mtime_ns, st.st_size, st.st_ino)


_SOURCES: dict[Path, RosterSource] = {}
_SOURCES_GUARD = threading.Lock()


def roster_source(path: Path) -> RosterSource:
    """The process's one ``RosterSource`` for ``path``."""
    key = path.absolute()
    with _SOURCES_GUARD:
        source = _SOURCES.get(key)
        if source is None:
            source = _SOURCES[key] = RosterSource(key)
        return source
