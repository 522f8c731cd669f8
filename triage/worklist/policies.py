"""Routing policies: who gets an item, from the radiologists on shift (pure).

- ``least_loaded`` (default): the fewest open items; ties go to whoever was assigned
  an item least recently, then to the smallest id (deterministic).
- ``round_robin``: the next id after the last one assigned (``RoutingCursor``), in id
  order, wrapping around.

Both only consider radiologists under their ``max_open_items``. Subspecialty (roster
``[routing]``): with ``prefer`` (default) radiologists with the subspecialty are chosen
first and the others only when none of them can take the item; with ``require`` only
they are. Nobody eligible: the item stays in the unassigned pool, with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from triage.worklist.roster import RoutingOptions

Policy = Literal["least_loaded", "round_robin"]
_NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A radiologist on shift, with their load."""

    id: str
    open_items: int
    max_open_items: int
    has_subspecialty: bool
    last_assigned_at: datetime | None = None

    @property
    def has_capacity(self) -> bool:
        return self.open_items < self.max_open_items

    def load(self) -> str:
        return f"{self.id} {self.open_items} open of {self.max_open_items}"


@dataclass(frozen=True, slots=True)
class Decision:
    """Who gets the item (``None``: the unassigned pool), and why, for the audit."""

    assignee: str | None
    reason: str


def eligible_tiers(
    candidates: Sequence[Candidate], options: RoutingOptions
) -> tuple[list[list[Candidate]], str | None]:
    """Candidates with capacity, in order of preference; or the reason there are none."""
    if not candidates:
        return [], "unassigned pool: no radiologist on shift"
    special = [c for c in candidates if c.has_subspecialty]
    others = [c for c in candidates if not c.has_subspecialty]
    if not options.subspecialty:
        groups = [list(candidates)]
    elif options.subspecialty_mode == "require":
        if not special:
            return [], f"unassigned pool: no {options.subspecialty} radiologist on shift"
        groups = [special]
    else:
        groups = [special, others]
    tiers = [[c for c in group if c.has_capacity] for group in groups]
    tiers = [tier for tier in tiers if tier]
    if not tiers:
        considered = [c for group in groups for c in group]
        loads = ", ".join(c.load() for c in sorted(considered, key=lambda c: c.id))
        return [], f"unassigned pool: everyone on shift is at capacity ({loads})"
    return tiers, None


def least_loaded(tier: Sequence[Candidate]) -> Decision:
    chosen = min(tier, key=lambda c: (c.open_items, c.last_assigned_at or _NEVER, c.id))
    return Decision(chosen.id, f"least loaded: {chosen.load()}")


def round_robin(tier: Sequence[Candidate], last: str | None) -> Decision:
    ordered = sorted(tier, key=lambda c: c.id)
    after = [c for c in ordered if last is not None and c.id > last]
    chosen = after[0] if after else ordered[0]
    previous = f"after {last}" if last is not None else "first"
    return Decision(chosen.id, f"round robin: {chosen.load()} ({previous})")


def choose(
    policy: Policy,
    candidates: Sequence[Candidate],
    options: RoutingOptions,
    *,
    last_assignee: str | None = None,
) -> Decision:
    tiers, why_not = eligible_tiers(candidates, options)
    if not tiers:
        return Decision(None, why_not or "unassigned pool")
    if policy == "round_robin":
        return round_robin(tiers[0], last_assignee)
    return least_loaded(tiers[0])
