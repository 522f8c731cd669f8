"""Priorities and review deadlines (SLA): pure rules, no database.

- An item's ``base_priority`` is its most urgent finding's priority.
- SLA escalation raises the effective ``priority`` one level at a time; a re-triage
  never lowers it below what escalation reached (``effective_priority``).
- ``due_at`` is ``flagged_at + SLA(priority)`` at creation. When a re-triage raises the
  priority, the new, shorter clock starts at the re-triage (a finding that appeared only
  now is not overdue at once) but never moves the deadline later; when it lowers the
  priority, the deadline relaxes to ``flagged_at + SLA(new priority)``, never earlier
  than it was. Escalation and reopening start a fresh clock: ``now + SLA(priority)``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from triage.db.models import Priority
from triage.settings import Settings

_BY_RANK = sorted(Priority, key=lambda p: p.rank)


def sla(priority: Priority, settings: Settings) -> timedelta:
    """How long a review of this priority may take."""
    hours = {
        Priority.URGENT: settings.sla_urgent_hours,
        Priority.HIGH: settings.sla_high_hours,
        Priority.ROUTINE: settings.sla_routine_hours,
    }[priority]
    return timedelta(hours=hours)


def most_urgent(priorities: Iterable[str]) -> Priority:
    """The most urgent of some priorities (routine when there are none)."""
    ranked = [Priority(p) for p in priorities]
    return min(ranked, key=lambda p: p.rank) if ranked else Priority.ROUTINE


def raised(priority: Priority) -> Priority:
    """One level more urgent; urgent stays urgent."""
    return _BY_RANK[max(0, priority.rank - 1)]


def effective_priority(*, base: Priority, current: Priority, escalation_level: int) -> Priority:
    """The priority after a re-triage set ``base``: an escalated item keeps the level
    escalation raised it to if that is more urgent."""
    if escalation_level > 0 and current.rank < base.rank:
        return current
    return base


def due_on_priority_change(
    *,
    old: Priority,
    new: Priority,
    due_at: datetime,
    flagged_at: datetime,
    now: datetime,
    settings: Settings,
) -> datetime:
    """The deadline after a re-triage changed the effective priority (module docstring)."""
    if new.rank < old.rank:
        return min(due_at, now + sla(new, settings))
    if new.rank > old.rank:
        return max(due_at, flagged_at + sla(new, settings))
    return due_at
