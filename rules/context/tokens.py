"""Word tokens with their character spans: the unit triggers and scopes are counted in.

A token is a run of letters/digits (with inner apostrophes, so "Baker's" is one
token) or a single other non-space character ("?", ";", ":", "/", "."). Phrases in the
lexicon are tokenized the same way, so "r/o" matches "R / O" and "no   DVT" matches
"no DVT": spacing never matters, only the token sequence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*|[^\w\s]|_+")


END = "$"
"""In a lexicon phrase, the end of the sentence ("Effusion: no" with nothing after it)."""


@dataclass(frozen=True, slots=True)
class Tokens:
    """Lower-cased token texts and their start/end offsets in the source text."""

    words: tuple[str, ...]
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.words)


def tokenize(text: str) -> Tokens:
    words: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for m in _TOKEN.finditer(text):
        words.append(m.group().lower())
        starts.append(m.start())
        ends.append(m.end())
    return Tokens(tuple(words), tuple(starts), tuple(ends))


def phrase_tokens(phrase: str) -> tuple[str, ...]:
    """The token sequence a lexicon phrase must match."""
    return tuple(m.group().lower() for m in _TOKEN.finditer(phrase))


def is_word(token: str) -> bool:
    """True for letter/digit tokens (scope limits count words, not punctuation)."""
    return token[:1].isalnum()
