"""Trigger scopes: which tokens each trigger found in a sentence governs.

A forward trigger covers the tokens after it, a backward one those before it, a
bidirectional one both, up to the nearest of: a sentence end inside the text, a
termination that applies to its category, a competing trigger of a category listed in
its category's ``terminated_by`` (if that trigger's group ``competes``), and
``max_scope`` words. A ";" always ends a clause (it is structure, not vocabulary), and
so does a comma that starts a new statement (:mod:`rules.context.clauses`).
Groups with ``scope: sentence`` stop only at sentence ends and headings
(terminations ending in ":").

A historical trigger of an ``earlier_exam`` group ("X was present on the prior study")
followed in its clause (up to a ";" or the sentence end) by a ``present`` termination
("..., and now measures 3 cm", "today") speaks of this exam as well: it is kept as a
prior mention, not as history.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rules.context.lexicon import Direction, TriggerCategory, TriggerGroup
from rules.context.tokens import Tokens, is_word

_C = TriggerCategory


@dataclass(frozen=True, slots=True)
class Hit:
    """A trigger found in a sentence and the tokens it governs."""

    start: int  # tokens [start, end) of the trigger
    end: int
    lo: int  # tokens [lo, hi) it governs
    hi: int
    category: TriggerCategory
    hedged: bool
    span: tuple[int, int]
    answered: bool = False


def find_scopes(
    tokens: Tokens,
    found: Sequence[tuple[int, int, int]],
    groups: Sequence[TriggerGroup],
    terminated_by: Mapping[TriggerCategory, frozenset[TriggerCategory]],
    breaks: Sequence[int],
    clauses: tuple[Sequence[int], Sequence[int]] = ((), ()),
) -> list[Hit]:
    """Scoped triggers among the trie matches ``found`` (first token, end token, group),
    given the token indices where a new sentence starts (``breaks``, sorted) and the
    commas that start a new clause (``clauses``: those ending forward scopes, those
    also ending backward ones)."""
    n = len(tokens)
    starts = tokens.starts
    terminators: list[tuple[int, int, TriggerGroup]] = []
    scoped: list[tuple[int, int, TriggerGroup]] = []
    for i, j, g in found:
        group = groups[g]
        if group.category is _C.TERMINATION:
            terminators.append((i, j, group))
        elif group.category is not _C.PSEUDO:
            scoped.append((i, j, group))
    words = tokens.words
    semicolons = [k for k, w in enumerate(words) if w == ";"]
    # Where scopes stop, per (category, clause-or-sentence scope): token indices
    # where a stop starts (ends forward scopes) and ends (ends backward scopes).
    # Sorted once and bisected, so a long text with many triggers stays linear-ish.
    stops: dict[tuple[TriggerCategory, bool], tuple[list[int], list[int]]] = {}

    def stops_for(category: TriggerCategory, clause: bool) -> tuple[list[int], list[int]]:
        key = (category, clause)
        if key not in stops:
            begins, ends = list(breaks), list(breaks)
            if clause:
                # ";" always ends a clause, even inside a longer phrase ("Effusion: no;").
                begins += semicolons
                ends += [k + 1 for k in semicolons]
                begins += clauses[0]
                ends += [k + 1 for k in clauses[1]]
            for ti, tj, t in terminators:
                if t.applies_to and category not in t.applies_to:
                    continue
                if not clause and words[tj - 1] != ":":
                    continue  # a sentence-wide scope ends only at the next heading
                begins.append(ti)
                ends.append(tj)
            competing = terminated_by.get(category) if clause else None
            if competing:
                for oi, oj, o in scoped:
                    if o.category in competing and o.competes:
                        begins.append(oi)
                        ends.append(oj)
            begins.sort()
            ends.sort()
            stops[key] = (begins, ends)
        return stops[key]

    present: list[int] | None = None  # present-time terminations, found when needed
    hard_stops: list[int] = []
    hits: list[Hit] = []
    for i, j, group in scoped:
        category = group.category
        if group.earlier_exam and present is None:
            present = sorted(ti for ti, _, t in terminators if t.present)
            hard_stops = sorted({*breaks, *semicolons})
        if group.earlier_exam and present:
            k = bisect_left(hard_stops, j)
            stop = hard_stops[k] if k < len(hard_stops) else n
            p = bisect_left(present, j)
            if p < len(present) and present[p] < stop:
                category = _C.PRIOR_MENTION  # "... was seen before, and now measures ..."
        direction = group.direction
        lo, hi = i, j
        begins, ends = stops_for(category, group.scope == "clause")
        if direction is not Direction.BACKWARD:
            k = bisect_left(begins, j)
            hi = begins[k] if k < len(begins) else n
            if group.max_scope is not None:
                hi = _words_forward(tokens, j, hi, group.max_scope)
        if direction is not Direction.FORWARD:
            k = bisect_right(ends, i)
            lo = ends[k - 1] if k else 0
            if group.max_scope is not None:
                lo = _words_backward(tokens, i, lo, group.max_scope)
        if direction is Direction.FORWARD:
            lo = j
        elif direction is Direction.BACKWARD:
            hi = i
        hits.append(
            Hit(
                start=i,
                end=j,
                lo=lo,
                hi=hi,
                category=category,
                hedged=group.hedged,
                span=(starts[i], tokens.ends[j - 1]),
                answered=group.answered,
            )
        )
    return hits


def _words_forward(tokens: Tokens, start: int, limit: int, words: int) -> int:
    k = start
    while k < limit and words > 0:
        if is_word(tokens.words[k]):
            words -= 1
        k += 1
    return k


def _words_backward(tokens: Tokens, end: int, limit: int, words: int) -> int:
    k = end
    while k > limit and words > 0:
        k -= 1
        if is_word(tokens.words[k]):
            words -= 1
    return k
