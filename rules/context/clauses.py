"""Comma-joined new statements: where a comma starts a new clause.

ConText scopes run to the end of the clause, and report writers join statements with a
comma ("Patent veins without thrombus, a 2 cm Baker's cyst is noted"), which would
leave the cyst inside the negation. A comma is a list separator far more often than a
clause boundary ("No DVT, effusion, or Baker's cyst"), so it ends a scope only when
what follows it is recognisably a new statement (lexicon ``clauses``):

- a size: "..., 2 cm Baker's cyst", "..., a 3.0 x 1.1 cm cyst" (a negated list item
  does not come with a measurement);
- a size word: "..., small Baker's cyst" (telegraphic: "No DVT, small effusion");
- a noun phrase with its own verb within a few words, before any list word, comma or
  other punctuation: "..., a Baker's cyst is noted", "..., the popliteal fossa
  contains a cyst", "..., Baker's cyst present".

"or" / "nor" right after the comma continue a list; "and" may precede any of the three.
Every such comma ends forward scopes before it. It ends backward scopes after it (a
post-negation in the new clause does not reach back: "A cyst is noted, the calf veins
are not visualized") only when the new clause opens with a determiner and no "and",
since "X, Y, and Z are not seen" is a list subject.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rules.context.lexicon import ClauseRules
from rules.context.tokens import Tokens, is_word

_STOPS = frozenset(",;:.!?")
"""Punctuation that ends the search for a predicate (hyphens, slashes, brackets do not)."""


@dataclass(frozen=True, slots=True)
class ClauseSpec:
    """The lexicon's clause rules compiled for lookups."""

    conjunctions: frozenset[str]
    list_words: frozenset[str]
    openers: frozenset[str]
    predicates: frozenset[str]
    sizes: frozenset[str]
    size_pattern: re.Pattern[str]
    window: int

    @classmethod
    def compile(cls, rules: ClauseRules) -> ClauseSpec:
        units = "|".join(re.escape(u) for u in sorted(rules.units, key=len, reverse=True))
        number = r"\d+(?:[.,]\d+)?"
        # "2 cm", "2cm", "3.0 x 1.1 cm", "3 by 2 by 1 cm", "2-3 mm"
        size = rf"{number}\s*(?:(?:x|×|by|-)\s*{number}\s*)*(?:{units})\b" if units else r"(?!)"
        return cls(
            conjunctions=frozenset(rules.conjunctions),
            list_words=frozenset(rules.list_words),
            openers=frozenset(rules.openers),
            predicates=frozenset(rules.predicates),
            sizes=frozenset(rules.sizes),
            size_pattern=re.compile(size, re.IGNORECASE),
            window=rules.window,
        )


def clause_starts(text: str, tokens: Tokens, spec: ClauseSpec) -> tuple[list[int], list[int]]:
    """Token indices of the commas that start a new clause: (those that end forward
    scopes, those that also end backward scopes), both sorted."""
    words = tokens.words
    n = len(words)
    forward: list[int] = []
    backward: list[int] = []
    for k, word in enumerate(words):
        if word != "," or k + 1 >= n:
            continue
        j = k + 1
        joined = words[j] in spec.conjunctions
        if joined:
            j += 1
        if j >= n or words[j] in spec.list_words:
            continue
        opened = words[j] in spec.openers
        first = j + 1 if opened and j + 1 < n else j
        if _starts_size(text, tokens, first, spec) or words[first] in spec.sizes:
            forward.append(k)
        elif _has_predicate(words, j, spec):
            forward.append(k)
            if opened and not joined:
                backward.append(k)
    return forward, backward


def _starts_size(text: str, tokens: Tokens, i: int, spec: ClauseSpec) -> bool:
    if not tokens.words[i][:1].isdigit():
        return False
    return spec.size_pattern.match(text, tokens.starts[i]) is not None


def _has_predicate(words: tuple[str, ...], j: int, spec: ClauseSpec) -> bool:
    """A predicate among the next ``window`` words (not the very first one: ", is
    noted" has no subject), before any punctuation or list word."""
    counted = 0
    k = j
    while k < len(words) and counted <= spec.window:
        w = words[k]
        if w in _STOPS or w in spec.list_words:
            return False
        if is_word(w):
            if w in spec.predicates and k > j:
                return True
            counted += 1
        k += 1
    return False
