"""ConText (Harkema et al. 2009) over a compiled trigger lexicon.

A sentence is scanned once: tokens, every trigger (one trie pass, leftmost-longest, so
pseudo-triggers hide the shorter triggers inside them), and each trigger's scope
(:mod:`rules.context.scope`). Asking about a target mention is then a walk over the few
triggers found, combined by :mod:`rules.context.resolve`.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from rules.context.clauses import ClauseSpec, clause_starts
from rules.context.lexicon import (
    Lexicon,
    TriggerCategory,
    TriggerGroup,
    load_lexicon,
    parse_lexicon,
)
from rules.context.matcher import TokenTrie
from rules.context.model import AFFIRMED, ContextResult
from rules.context.nearest import NearestIndex, nearest_by_loop
from rules.context.resolve import resolve
from rules.context.scope import Hit, find_scopes
from rules.context.sentences import split_sentences
from rules.context.tokens import Tokens, tokenize

_INDEX_FROM = 32
"""Above this many triggers in one scanned text, targets are answered from an index."""


@dataclass(frozen=True, slots=True)
class Trigger:
    """A lexicon phrase found in a sentence, with its scope (character offsets)."""

    category: TriggerCategory
    text: str
    span: tuple[int, int]
    scope: tuple[int, int] | None
    hedged: bool = False


class SentenceScan:
    """The triggers of one sentence; :meth:`context` answers for any target in it."""

    __slots__ = ("_ends", "_hits", "_index", "_starts", "sentence")

    def __init__(self, sentence: str, tokens: Tokens, hits: list[Hit]) -> None:
        self.sentence = sentence
        self._starts = tokens.starts
        self._ends = tokens.ends
        self._hits = hits
        self._index: NearestIndex | None = None

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

    def _char_scope(self, hit: Hit) -> tuple[int, int] | None:
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
        if len(self._hits) <= _INDEX_FROM:
            nearest = nearest_by_loop(self._hits, ts, te)
        else:  # a long text with many triggers: per-category sweeps, built once
            if self._index is None:
                self._index = NearestIndex(self._hits, len(self._starts))
            nearest = self._index.nearest(ts, te)
        if not nearest:
            return AFFIRMED
        return resolve(nearest, self.sentence, te)


class ContextEngine:
    """Sentence splitting and ConText over one compiled lexicon. Immutable after
    construction, so one engine can be shared by threads."""

    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        self._groups: tuple[TriggerGroup, ...] = lexicon.groups
        self._trie = TokenTrie(lexicon.entries, lexicon.classes)
        self._abbreviations = lexicon.abbreviations
        self._terminated_by = lexicon.terminated_by
        self._clauses = ClauseSpec.compile(lexicon.clauses) if lexicon.clauses else None

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
        """Context of ``sentence[target[0]:target[1]]`` (a scan for just one target)."""
        return self.scan(sentence).context(target)

    def scan(self, sentence: str) -> SentenceScan:
        """Find the triggers of ``sentence`` once; ask the result about each target. A
        longer text is fine: its own sentence ends limit every scope."""
        tokens = tokenize(sentence)
        found = self._trie.find(tokens.words)
        if not found:
            return SentenceScan(sentence, tokens, [])
        starts = tokens.starts
        # Sentence ends inside the text (callers may pass a whole paragraph).
        breaks = [
            bisect_left(starts, s) for s, _ in split_sentences(sentence, self._abbreviations)[1:]
        ]
        if breaks:  # phrases ending in "$" may also match before an inner sentence end
            found = self._trie.find(tokens.words, frozenset(breaks))
        clauses: tuple[list[int], list[int]] = ([], [])
        if self._clauses is not None and "," in sentence:
            clauses = clause_starts(sentence, tokens, self._clauses)
        hits = find_scopes(tokens, found, self._groups, self._terminated_by, breaks, clauses)
        return SentenceScan(sentence, tokens, hits)


@lru_cache(maxsize=1)
def _default_engine() -> ContextEngine:
    data = resources.files("rules.context.data").joinpath("lexicon.yaml")
    return ContextEngine(parse_lexicon(data.read_text(encoding="utf-8"), str(data)))
