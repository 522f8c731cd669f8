"""ConText (Harkema et al. 2009) over a compiled trigger lexicon.

A sentence is scanned once: tokens, every trigger (one trie pass, leftmost-longest, so
pseudo-triggers hide the shorter triggers inside them), and each trigger's scope in
tokens. Asking about a target mention is then a walk over the few triggers found.

Scope: a forward trigger covers the words after it, a backward one the words before
it, a bidirectional one both, up to the nearest of: the sentence end (also a sentence
end inside the given text), a termination that applies to its category ("but",
"however", ";", "IMPRESSION:", "presents" for historical ...), a competing trigger of
a category listed in its category's ``terminated_by``, and ``max_scope`` words.
Groups with ``scope: sentence`` (history headings) ignore terminations.

Resolving several triggers on one target: any negation (or resolved) negates; an
uncertainty or hedged negation makes it possible; temporality comes from the nearest
historical or hypothetical trigger, and a "current" trigger ("unchanged", "again
seen") cancels historical; a prior mention ("previously noted") turns a negation into
"resolved"; an experiencer trigger makes it another person's.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from rules.context.lexicon import (
    Direction,
    Lexicon,
    TriggerCategory,
    TriggerGroup,
    load_lexicon,
    parse_lexicon,
)
from rules.context.matcher import TokenTrie
from rules.context.model import (
    AFFIRMED,
    Certainty,
    ContextResult,
    Cue,
    CueKind,
    Experiencer,
    Temporality,
)
from rules.context.sentences import split_sentences
from rules.context.tokens import Tokens, is_word, tokenize

_C = TriggerCategory

_CUE_KIND = {
    _C.NEGATION: CueKind.NEGATION,
    _C.RESOLVED: CueKind.RESOLVED,
    _C.UNCERTAINTY: CueKind.UNCERTAINTY,
    _C.HISTORICAL: CueKind.HISTORICAL,
    _C.HYPOTHETICAL: CueKind.HYPOTHETICAL,
    _C.EXPERIENCER: CueKind.EXPERIENCER,
}


@dataclass(frozen=True, slots=True)
class Trigger:
    """A lexicon phrase found in a sentence, with its scope (character offsets)."""

    category: TriggerCategory
    text: str
    span: tuple[int, int]
    scope: tuple[int, int] | None
    hedged: bool = False


@dataclass(frozen=True, slots=True)
class _Hit:
    start: int  # tokens [start, end) of the trigger
    end: int
    lo: int  # tokens [lo, hi) it governs
    hi: int
    category: TriggerCategory
    hedged: bool
    span: tuple[int, int]


class SentenceScan:
    """The triggers of one sentence; :meth:`context` answers for any target in it."""

    __slots__ = ("_ends", "_hits", "_starts", "sentence")

    def __init__(self, sentence: str, tokens: Tokens, hits: list[_Hit]) -> None:
        self.sentence = sentence
        self._starts = tokens.starts
        self._ends = tokens.ends
        self._hits = hits

    @property
    def triggers(self) -> tuple[Trigger, ...]:
        """Every trigger with a scope found in the sentence (for explanations)."""
        return tuple(
            Trigger(
                category=h.category,
                text=self.sentence[h.span[0] : h.span[1]],
                span=h.span,
                scope=self._char_scope(h),
                hedged=h.hedged,
            )
            for h in self._hits
        )

    def _char_scope(self, hit: _Hit) -> tuple[int, int] | None:
        if hit.lo >= hit.hi:
            return None
        return (self._starts[hit.lo], self._ends[hit.hi - 1])

    def context(self, target: tuple[int, int]) -> ContextResult:
        """Context of the mention at character offsets ``target`` of the sentence."""
        start, end = target
        if not 0 <= start < end <= len(self.sentence):
            raise ValueError(f"target {target} is not a span of a {len(self.sentence)}-char text")
        if not self._hits:
            return AFFIRMED
        ts = bisect_right(self._ends, start)
        te = max(ts, bisect_left(self._starts, end))
        nearest: dict[TriggerCategory, tuple[int, _Hit]] = {}
        for h in self._hits:
            if h.lo >= h.hi or (ts <= h.start and h.end <= te):
                continue  # no scope, or the trigger is part of the target itself
            if not (h.lo < te and ts < h.hi) and not (ts == te and h.lo <= ts < h.hi):
                continue
            distance = ts - h.end if h.end <= ts else h.start - te
            best = nearest.get(h.category)
            if best is None or distance < best[0]:
                nearest[h.category] = (distance, h)
        if not nearest:
            return AFFIRMED
        return _resolve(nearest, self.sentence)


def _resolve(nearest: dict[TriggerCategory, tuple[int, _Hit]], sentence: str) -> ContextResult:
    cues: list[Cue] = []

    def cue(category: TriggerCategory, kind: CueKind | None = None) -> None:
        h = nearest[category][1]
        cues.append(Cue(kind or _CUE_KIND[category], sentence[h.span[0] : h.span[1]], h.span))

    negated = False
    possible = False
    hit = nearest[_C.NEGATION][1] if _C.NEGATION in nearest else None
    if hit is not None and hit.hedged and _C.UNCERTAINTY in nearest:
        hit = None  # "less likely, but cannot be excluded": possible, not negated
    if hit is not None:
        negated = True
        possible = hit.hedged
        resolved = _C.PRIOR_MENTION in nearest and not hit.hedged
        cue(_C.NEGATION, CueKind.RESOLVED if resolved else None)
    if _C.RESOLVED in nearest:
        negated = True
        cue(_C.RESOLVED)
    if _C.UNCERTAINTY in nearest:
        u = nearest[_C.UNCERTAINTY][1]
        # "No collection to suggest abscess": the hedge is itself negated.
        if hit is None or hit.hedged or not hit.lo <= u.start < hit.hi:
            possible = True
            cue(_C.UNCERTAINTY)

    temporality = Temporality.CURRENT
    hist = nearest.get(_C.HISTORICAL) if _C.CURRENT not in nearest else None
    hyp = nearest.get(_C.HYPOTHETICAL)
    if hyp is not None and (hist is None or hyp[0] <= hist[0]):
        temporality = Temporality.HYPOTHETICAL
        cue(_C.HYPOTHETICAL)
    elif hist is not None:
        temporality = Temporality.HISTORICAL
        cue(_C.HISTORICAL)

    experiencer = Experiencer.PATIENT
    if _C.EXPERIENCER in nearest:
        experiencer = Experiencer.OTHER
        cue(_C.EXPERIENCER)

    cues.sort(key=lambda c: c.span)
    return ContextResult(
        negated=negated,
        certainty=Certainty.POSSIBLE if possible else Certainty.DEFINITE,
        temporality=temporality,
        experiencer=experiencer,
        cues=tuple(cues),
    )


class ContextEngine:
    """Sentence splitting and ConText over one compiled lexicon. Immutable after
    construction, so one engine can be shared by threads."""

    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        self._groups: tuple[TriggerGroup, ...] = lexicon.groups
        self._trie = TokenTrie(lexicon.entries)
        self._abbreviations = lexicon.abbreviations
        self._terminated_by = lexicon.terminated_by

    @classmethod
    def default(cls) -> ContextEngine:
        """The engine on the packaged lexicon (compiled once per process)."""
        return _default_engine()

    @classmethod
    def from_lexicon(cls, path: Path) -> ContextEngine:
        """An engine on a lexicon file; raises ``LexiconError`` (``file:line``) if bad."""
        return cls(load_lexicon(path))

    def split_sentences(self, text: str) -> list[tuple[int, int]]:
        """Character spans of the sentences in ``text`` (see ``rules.context.sentences``)."""
        return split_sentences(text, self._abbreviations)

    def analyze(self, sentence: str, target: tuple[int, int]) -> ContextResult:
        return self.scan(sentence).context(target)

    def scan(self, sentence: str) -> SentenceScan:
        tokens = tokenize(sentence)
        found = self._trie.find(tokens.words)
        if not found:
            return SentenceScan(sentence, tokens, [])
        n = len(tokens)
        starts = tokens.starts
        # Sentence ends inside the text (callers may pass a whole paragraph).
        breaks = [
            bisect_left(starts, s) for s, _ in split_sentences(sentence, self._abbreviations)[1:]
        ]
        groups = self._groups
        terminators: list[tuple[int, int, TriggerGroup]] = []
        scoped: list[tuple[int, int, TriggerGroup]] = []
        for i, j, g in found:
            group = groups[g]
            if group.category is _C.TERMINATION:
                terminators.append((i, j, group))
            elif group.category is not _C.PSEUDO:
                scoped.append((i, j, group))
        hits: list[_Hit] = []
        for i, j, group in scoped:
            category = group.category
            direction = group.direction
            lo, hi = i, j
            clause = group.scope == "clause"
            stops_after = [b for b in breaks if b >= j]
            stops_before = [b for b in breaks if b <= i]
            competing = self._terminated_by.get(category, frozenset()) if clause else ()
            for ti, tj, t in terminators:
                if t.applies_to and category not in t.applies_to:
                    continue
                if not clause and tokens.words[tj - 1] != ":":
                    continue  # a sentence-wide scope ends only at the next heading
                if ti >= j:
                    stops_after.append(ti)
                elif tj <= i:
                    stops_before.append(tj)
            if competing:
                for oi, oj, o in scoped:
                    if o.category in competing and o.competes:
                        if oi >= j:
                            stops_after.append(oi)
                        elif oj <= i:
                            stops_before.append(oj)
            if direction is not Direction.BACKWARD:
                hi = min(stops_after, default=n)
                if group.max_scope is not None:
                    hi = _words_forward(tokens, j, hi, group.max_scope)
            if direction is not Direction.FORWARD:
                lo = max(stops_before, default=0)
                if group.max_scope is not None:
                    lo = _words_backward(tokens, i, lo, group.max_scope)
            if direction is Direction.FORWARD:
                lo = j
            elif direction is Direction.BACKWARD:
                hi = i
            hits.append(
                _Hit(
                    start=i,
                    end=j,
                    lo=lo,
                    hi=hi,
                    category=category,
                    hedged=group.hedged,
                    span=(starts[i], tokens.ends[j - 1]),
                )
            )
        return SentenceScan(sentence, tokens, hits)


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


@lru_cache(maxsize=1)
def _default_engine() -> ContextEngine:
    data = resources.files("rules.context.data").joinpath("lexicon.yaml")
    return ContextEngine(parse_lexicon(data.read_text(encoding="utf-8"), str(data)))
