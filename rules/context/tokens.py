"""Word tokens with their character spans: the unit triggers and scopes are counted in.

A token is a run of letters/digits (with inner apostrophes, so "Baker's" is one
token), a numeric date ("03/04/2022", "2022-03-04", "3/2022", "04.03.2022"), or a
single other non-space character ("?", ";", ":", "/", "."). Phrases in the lexicon are
tokenized the same way, so "r/o" matches "R / O" and "no   DVT" matches "no DVT":
spacing never matters, only the token sequence. A phrase may also name a word class,
``<name>``, which stands for any one word of that class (see ``rules.context.lexicon``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_DATE = (
    r"(?:\d{1,2}[/-]\d{1,2}[/-](?:\d{4}|\d{2})"  # 03/04/2022, 3-4-22
    r"|\d{4}-\d{1,2}-\d{1,2}"  # 2022-03-04
    r"|\d{1,2}\.\d{1,2}\.\d{4}"  # 04.03.2022
    r"|\d{1,2}/\d{4})"  # 3/2022
    r"(?![\w/])"
)
_WORD = r"[^\W_]+(?:['’][^\W_]+)*|[^\w\s]|_+"
_TOKEN = re.compile(rf"{_DATE}|{_WORD}")
_PLAIN = re.compile(_WORD)
_MAYBE_DATE = re.compile(r"\d[/-]\d|\d\.\d{1,2}\.\d{4}")
"""Texts without this are tokenized without trying the date forms at every token."""
_PHRASE_TOKEN = re.compile(rf"<[A-Za-z_]+>|{_DATE}|{_WORD}")

_YEAR_OR_DATE = re.compile(rf"(?:19|20)\d\d|{_DATE}")

END = "$"
"""In a lexicon phrase, the end of the sentence ("Effusion: no" with nothing after it)."""

DATE_CLASS = "date"
"""The built-in word class: a year (1900-2099) or a numeric date token."""


def is_date(word: str) -> bool:
    """A year or a numeric date ("2023", "03/04/2022"): the built-in ``<date>`` class."""
    return word[:1].isdigit() and _YEAR_OR_DATE.fullmatch(word) is not None


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
    pattern = _TOKEN if _MAYBE_DATE.search(text) else _PLAIN
    for m in pattern.finditer(text):
        words.append(m.group().lower())
        starts.append(m.start())
        ends.append(m.end())
    return Tokens(tuple(words), tuple(starts), tuple(ends))


def phrase_tokens(phrase: str) -> tuple[str, ...]:
    """The token sequence a lexicon phrase must match (``<name>`` is one token)."""
    return tuple(m.group().lower() for m in _PHRASE_TOKEN.finditer(phrase))


def class_name(token: str) -> str | None:
    """The class a phrase token names ("<date>" -> "date"), or None for a literal word."""
    if len(token) > 2 and token[0] == "<" and token[-1] == ">":
        return token[1:-1]
    return None


def is_word(token: str) -> bool:
    """True for letter/digit tokens (scope limits count words, not punctuation)."""
    return token[:1].isalnum()


class _Dates:
    """The members of ``<date>``: every year or numeric date token."""

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and is_date(word)


DATES = _Dates()
