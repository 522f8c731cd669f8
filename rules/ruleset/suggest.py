"""Closest-word suggestions for error messages."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(word: str, choices: Iterable[str]) -> str | None:
    options = list(choices)
    anagrams = [o for o in options if sorted(o) == sorted(word)]
    if anagrams:
        return anagrams[0]  # "=>" is ">=" with its characters swapped
    found = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if not found:
        lowered = {o.lower(): o for o in options}
        found = [lowered[w] for w in difflib.get_close_matches(word.lower(), list(lowered), 1)]
    return found[0] if found else None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` or ``""``."""
    best = closest(word, choices)
    return f"; did you mean {best!r}?" if best is not None and best != word else ""
