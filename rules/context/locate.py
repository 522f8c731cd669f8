"""Find a target phrase in a sentence: case-insensitive and whitespace-tolerant."""

from __future__ import annotations

import re


def find_all(sentence: str, target: str) -> list[tuple[int, int]]:
    """Spans of every non-overlapping occurrence of ``target`` in ``sentence``; any run
    of whitespace in either matches any other run."""
    words = target.split()
    if not words:
        return []
    pattern = re.compile(r"\s+".join(re.escape(w) for w in words), re.IGNORECASE)
    return [m.span() for m in pattern.finditer(sentence)]


def locate(sentence: str, target: str) -> tuple[int, int] | None:
    """The first occurrence of ``target`` in ``sentence``, or None."""
    spans = find_all(sentence, target)
    return spans[0] if spans else None
