"""Who is on shift at a moment: wall-clock shifts in each radiologist's time zone.

Wall-clock on purpose: "08:00-17:00" means 08:00 to 17:00 on the clocks of the
reading room, also on the days daylight saving time starts or ends (such a shift is
then an hour shorter or longer). An overnight shift (end <= start) belongs to the day
it starts: "fri 22:00-06:00" covers Friday 22:00 to Saturday 06:00.
"""

from __future__ import annotations

from datetime import datetime

from triage.worklist.roster import WEEKDAYS, Radiologist


def on_shift(person: Radiologist, now: datetime, site_timezone: str) -> bool:
    """Whether ``now`` (UTC-aware) falls in one of the radiologist's shifts."""
    if now.tzinfo is None:
        raise ValueError("on_shift needs an aware datetime")
    local = now.astimezone(person.zone(site_timezone))
    minute = local.hour * 60 + local.minute
    today = WEEKDAYS[local.weekday()]
    yesterday = WEEKDAYS[(local.weekday() - 1) % 7]
    for shift in person.shifts:
        if shift.overnight:
            if today in shift.days and minute >= shift.start_minute:
                return True
            if yesterday in shift.days and minute < shift.end_minute:
                return True
        elif today in shift.days and shift.start_minute <= minute < shift.end_minute:
            return True
    return False
