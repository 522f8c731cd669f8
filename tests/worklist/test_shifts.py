"""Who is on shift: boundaries, overnight shifts, time zones, daylight saving days."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from triage.worklist.roster import Radiologist
from triage.worklist.shifts import on_shift


def radiologist(*shifts: dict[str, Any], timezone: str | None = None) -> Radiologist:
    return Radiologist.model_validate(
        {"id": "jdoe", "name": "Jane Doe", "shifts": list(shifts), "timezone": timezone}
    )


WEEKDAYS = {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "08:00", "end": "17:00"}
FRIDAY_NIGHT = {"days": ["fri"], "start": "22:00", "end": "06:00"}


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (utc(2024, 3, 15, 7, 59, 59), False),  # Friday, before the start
        (utc(2024, 3, 15, 8, 0), True),  # the start is inside
        (utc(2024, 3, 15, 16, 59, 59), True),
        (utc(2024, 3, 15, 17, 0), False),  # the end is outside
        (utc(2024, 3, 16, 12, 0), False),  # Saturday
        (utc(2024, 3, 18, 8, 30), True),  # Monday
    ],
)
def test_day_shift_boundaries(moment: datetime, expected: bool) -> None:
    assert on_shift(radiologist(WEEKDAYS), moment, "UTC") is expected


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (utc(2024, 3, 15, 21, 59), False),  # Friday evening
        (utc(2024, 3, 15, 22, 0), True),
        (utc(2024, 3, 15, 23, 59), True),
        (utc(2024, 3, 16, 0, 0), True),  # Saturday morning: still Friday's shift
        (utc(2024, 3, 16, 5, 59), True),
        (utc(2024, 3, 16, 6, 0), False),
        (utc(2024, 3, 16, 22, 30), False),  # Saturday night: no shift
        (utc(2024, 3, 15, 3, 0), False),  # Friday early morning: Thursday has none
    ],
)
def test_overnight_shift(moment: datetime, expected: bool) -> None:
    assert on_shift(radiologist(FRIDAY_NIGHT), moment, "UTC") is expected


def test_a_shift_until_midnight_and_a_whole_day() -> None:
    evening = radiologist({"days": ["fri"], "start": "18:00", "end": "24:00"})
    assert on_shift(evening, utc(2024, 3, 15, 23, 59), "UTC")
    assert not on_shift(evening, utc(2024, 3, 16, 0, 0), "UTC")
    whole = radiologist({"days": ["sat"], "start": "00:00", "end": "24:00"})
    assert on_shift(whole, utc(2024, 3, 16, 0, 0), "UTC")
    assert on_shift(whole, utc(2024, 3, 16, 23, 59), "UTC")
    assert not on_shift(whole, utc(2024, 3, 17, 0, 0), "UTC")


def test_site_time_zone() -> None:
    person = radiologist(WEEKDAYS)
    # 08:00 in New York is 12:00 UTC in March after the US change (EDT, UTC-4)
    assert not on_shift(person, utc(2024, 3, 15, 11, 59), "America/New_York")
    assert on_shift(person, utc(2024, 3, 15, 12, 0), "America/New_York")


def test_a_radiologists_own_time_zone_wins() -> None:
    person = radiologist(WEEKDAYS, timezone="Asia/Tokyo")  # UTC+9
    assert on_shift(person, utc(2024, 3, 15, 0, 0), "America/New_York")  # 09:00 Tokyo
    assert not on_shift(person, utc(2024, 3, 15, 12, 0), "America/New_York")


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        # Sunday 31 March 2024, London: clocks go 01:00 GMT -> 02:00 BST
        (utc(2024, 3, 31, 6, 59), False),  # 07:59 BST
        (utc(2024, 3, 31, 7, 0), True),  # 08:00 BST (a day earlier this was 08:00 UTC)
        (utc(2024, 3, 31, 15, 59), True),
        (utc(2024, 3, 31, 16, 0), False),  # 17:00 BST
        (utc(2024, 3, 30, 7, 30), False),  # Saturday 07:30 GMT
        (utc(2024, 3, 30, 8, 0), True),
    ],
)
def test_dst_start_in_london(moment: datetime, expected: bool) -> None:
    person = radiologist({"days": ["sat", "sun"], "start": "08:00", "end": "17:00"})
    assert on_shift(person, moment, "Europe/London") is expected


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        # overnight Saturday 30 March 22:00 GMT to Sunday 06:00 BST: 7 hours long
        (utc(2024, 3, 30, 21, 59), False),
        (utc(2024, 3, 30, 22, 0), True),
        (utc(2024, 3, 31, 0, 30), True),  # 00:30 GMT
        (utc(2024, 3, 31, 1, 30), True),  # 02:30 BST (01:30 local never happened)
        (utc(2024, 3, 31, 4, 59), True),  # 05:59 BST
        (utc(2024, 3, 31, 5, 0), False),  # 06:00 BST
        # overnight Saturday 26 October 22:00 BST to Sunday 06:00 GMT: 9 hours long
        (utc(2024, 10, 26, 20, 59), False),  # 21:59 BST
        (utc(2024, 10, 26, 21, 0), True),  # 22:00 BST
        (utc(2024, 10, 27, 0, 30), True),  # 01:30 BST, the first time
        (utc(2024, 10, 27, 1, 30), True),  # 01:30 GMT, the second time
        (utc(2024, 10, 27, 5, 59), True),  # 05:59 GMT
        (utc(2024, 10, 27, 6, 0), False),  # 06:00 GMT
    ],
)
def test_overnight_shift_across_dst_changes(moment: datetime, expected: bool) -> None:
    person = radiologist({"days": ["sat"], "start": "22:00", "end": "06:00"})
    assert on_shift(person, moment, "Europe/London") is expected


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        on_shift(radiologist(WEEKDAYS), datetime(2024, 3, 15, 9, 0), "UTC")
