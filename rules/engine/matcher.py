"""One combined matcher for every phrase of every rule: a trie over normalised tokens.

Each phrase (a term variant, a near-context word, an exclusion phrase, a recommendation
cue ...) gets an id; the trie maps token sequences to ids. Scanning a text costs one
dictionary lookup per token plus a short walk where a phrase starts, whatever the number
of rules — which is what keeps 1,000 rules close to the cost of 20.

A phrase never spans hard punctuation (``. , ; : ! ?``): "popliteal, cyst" is not
"popliteal cyst". Hyphens, slashes and brackets are soft: "Popliteal (Baker) cyst".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rules.ruleset.lexical import TOKEN, normalise_token

_HARD_BREAK = re.compile(r"[.,;:!?]")
_CLAUSE_BREAK = re.compile(r"[,;]")
_APOSTROPHE_CHARS = ("'", "’")


@dataclass(frozen=True, slots=True)
class TokenizedText:
    """A text cut into normalised tokens with their character spans (and the original
    spelling, for case-sensitive abbreviations)."""

    text: str
    tokens: tuple[str, ...]
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def raw(self, i: int) -> str:
        return self.text[self.starts[i] : self.ends[i]]

    def hard_break_between(self, i: int) -> bool:
        """True when hard punctuation separates token ``i`` from token ``i + 1``."""
        return _HARD_BREAK.search(self.text, self.ends[i], self.starts[i + 1]) is not None

    def clause_break(self, left: int, right: int) -> bool:
        """True when "," or ";" stands between token ``left`` and token ``right``."""
        return _CLAUSE_BREAK.search(self.text, self.ends[left], self.starts[right]) is not None

    def semicolon_between(self, left: int, right: int) -> bool:
        return self.text.find(";", self.ends[left], self.starts[right]) >= 0

    def punctuation_between(self, left: int, right: int) -> bool:
        """True when hard punctuation stands between token ``left`` and token ``right``."""
        return _HARD_BREAK.search(self.text, self.ends[left], self.starts[right]) is not None


def tokenize(text: str) -> TokenizedText:
    lowered = text.lower()
    if len(lowered) != len(text):  # rare Unicode whose lower case changes length
        lowered = text
    toks: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for m in TOKEN.finditer(lowered):
        tok = m.group()
        toks.append(normalise_token(tok) if "'" in tok or "’" in tok else tok)
        starts.append(m.start())
        ends.append(m.end())
    return TokenizedText(text, tuple(toks), tuple(starts), tuple(ends))


@dataclass(frozen=True, slots=True)
class PhraseMatch:
    """Phrase ``phrase`` covers tokens ``[start, end)``."""

    start: int
    end: int
    phrase: int


class PhraseTrie:
    """Immutable after construction, so it can be shared by threads."""

    __slots__ = ("_children", "_first", "_terminal")

    def __init__(
        self, phrases: Sequence[tuple[str, ...]], primary: Iterable[int] | None = None
    ) -> None:
        """``primary``: the phrase ids whose presence makes a text worth scanning (the
        terms); context-only phrases ("knee", "popliteal") alone never do."""
        children: list[dict[str, int]] = [{}]
        terminal: list[int] = [-1]
        for pid, phrase in enumerate(phrases):
            node = 0
            for tok in phrase:
                nxt = children[node].get(tok)
                if nxt is None:
                    nxt = len(children)
                    children[node][tok] = nxt
                    children.append({})
                    terminal.append(-1)
                node = nxt
            if terminal[node] != -1:
                raise ValueError(f"phrase {' '.join(phrase)!r} added twice")
            terminal[node] = pid
        self._children = tuple(children)
        self._terminal = tuple(terminal)
        wanted = range(len(phrases)) if primary is None else primary
        self._first = frozenset(phrases[p][0] for p in wanted if phrases[p])

    def may_match(self, text: str) -> bool:
        """Cheap test (C speed): could any phrase start in ``text``?"""
        lowered = text.lower()
        if "'" in lowered or "’" in lowered:
            for ch in _APOSTROPHE_CHARS:
                lowered = lowered.replace(ch, "")
        return not self._first.isdisjoint(TOKEN.findall(lowered))

    def find(self, tt: TokenizedText) -> list[PhraseMatch]:
        """Every phrase occurrence (overlapping ones included), in token order."""
        out: list[PhraseMatch] = []
        children = self._children
        terminal = self._terminal
        root = children[0]
        toks = tt.tokens
        n = len(toks)
        for i in range(n):
            node = root.get(toks[i])
            j = i
            while node is not None:
                pid = terminal[node]
                if pid >= 0:
                    out.append(PhraseMatch(i, j + 1, pid))
                j += 1
                if j >= n or tt.hard_break_between(j - 1):
                    break
                node = children[node].get(toks[j])
        return out


class PhraseTable:
    """Interns token sequences to phrase ids while a rule set is compiled."""

    def __init__(self) -> None:
        self._ids: dict[tuple[str, ...], int] = {}

    def intern(self, phrase: tuple[str, ...]) -> int:
        pid = self._ids.get(phrase)
        if pid is None:
            pid = self._ids[phrase] = len(self._ids)
        return pid

    def intern_all(self, phrases: Iterable[tuple[str, ...]]) -> frozenset[int]:
        return frozenset(self.intern(p) for p in phrases)

    def phrases(self) -> list[tuple[str, ...]]:
        out: list[tuple[str, ...]] = [()] * len(self._ids)
        for phrase, pid in self._ids.items():
            out[pid] = phrase
        return out

    def trie(self, primary: Iterable[int] | None = None) -> PhraseTrie:
        return PhraseTrie(self.phrases(), primary)
