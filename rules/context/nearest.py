"""The nearest governing trigger of each category for a target, in O(log n) per target.

``SentenceScan.context`` must find, per category, the trigger nearest to the target
whose scope overlaps it. Looping over every trigger is fine for a sentence (a handful of
triggers) but quadratic for a long run-on text with thousands of triggers and mentions.
For those, one sweep per category precomputes, for every token position ``t``:

- ``left[t]``: among triggers ending at or before ``t`` whose scope reaches past ``t``,
  the one ending last (nearest). Sweeping ``t`` upwards with a stack: a trigger that
  ends later and reaches at least as far makes older ones useless, so the stack's
  reaches decrease towards its top and expired triggers pop from the top.
- ``right[t]``: symmetrically, among triggers starting at or after ``t`` whose scope
  begins before ``t``, the one starting first.

Triggers overlapping the target itself are few (a trigger is a few tokens long) and are
found by bisection.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence

from rules.context.lexicon import TriggerCategory
from rules.context.scope import Hit

Nearest = dict[TriggerCategory, tuple[int, Hit]]


def nearest_by_loop(hits: Sequence[Hit], ts: int, te: int) -> Nearest:
    """The plain loop (and the reference the index must agree with)."""
    nearest: Nearest = {}
    for h in hits:
        if h.lo >= h.hi or (ts <= h.start and h.end <= te):
            continue  # no scope, or the trigger is part of the target itself
        if not (h.lo < te and ts < h.hi) and not (ts == te and h.lo <= ts < h.hi):
            continue
        distance = ts - h.end if h.end <= ts else h.start - te
        best = nearest.get(h.category)
        if best is None or distance < best[0]:
            nearest[h.category] = (distance, h)
    return nearest


class NearestIndex:
    """Per-category sweeps over one scan's triggers (built once, read-only after)."""

    __slots__ = ("_by_start", "_hits", "_left", "_longest", "_right", "_starts")

    def __init__(self, hits: Sequence[Hit], n: int) -> None:
        self._hits = [h for h in hits if h.lo < h.hi]
        self._by_start = sorted(self._hits, key=lambda h: h.start)
        self._starts = [h.start for h in self._by_start]
        self._longest = max((h.end - h.start for h in self._hits), default=0)
        self._left: dict[TriggerCategory, list[Hit | None]] = {}
        self._right: dict[TriggerCategory, list[Hit | None]] = {}
        categories: dict[TriggerCategory, list[Hit]] = {}
        for h in self._hits:
            categories.setdefault(h.category, []).append(h)
        for category, group in categories.items():
            self._left[category] = _sweep_left(group, n)
            self._right[category] = _sweep_right(group, n)

    def nearest(self, ts: int, te: int) -> Nearest:
        if ts == te:
            return nearest_by_loop(self._hits, ts, te)
        found: dict[TriggerCategory, tuple[int, int, Hit]] = {}

        def offer(h: Hit, distance: int) -> None:
            best = found.get(h.category)
            if best is None or (distance, h.start) < best[:2]:
                found[h.category] = (distance, h.start, h)

        for category, left in self._left.items():
            h = left[ts]
            if h is not None:
                offer(h, ts - h.end)
            h = self._right[category][te]
            if h is not None:
                offer(h, h.start - te)
        # Triggers overlapping the target (not wholly inside it).
        first = bisect_left(self._starts, ts - self._longest)
        last = bisect_left(self._starts, te)
        for h in self._by_start[first:last]:
            if h.end <= ts or (ts <= h.start and h.end <= te):
                continue
            if h.lo < te and ts < h.hi:
                offer(h, ts - h.end if h.end <= ts else h.start - te)
        return {c: (d, h) for c, (d, _, h) in found.items()}


def _sweep_left(hits: Sequence[Hit], n: int) -> list[Hit | None]:
    out: list[Hit | None] = [None] * (n + 1)
    order = sorted(hits, key=lambda h: (h.end, h.start))
    stack: list[Hit] = []
    k = 0
    for t in range(n + 1):
        while k < len(order) and order[k].end <= t:
            h = order[k]
            while stack and stack[-1].hi <= h.hi:
                stack.pop()
            stack.append(h)
            k += 1
        while stack and stack[-1].hi <= t:
            stack.pop()
        out[t] = stack[-1] if stack else None
    return out


def _sweep_right(hits: Sequence[Hit], n: int) -> list[Hit | None]:
    out: list[Hit | None] = [None] * (n + 1)
    order = sorted(hits, key=lambda h: (h.start, h.end), reverse=True)
    stack: list[Hit] = []
    k = 0
    for t in range(n, -1, -1):
        while k < len(order) and order[k].start >= t:
            h = order[k]
            while stack and stack[-1].lo >= h.lo:
                stack.pop()
            stack.append(h)
            k += 1
        while stack and stack[-1].lo >= t:
            stack.pop()
        out[t] = stack[-1] if stack else None
    return out
