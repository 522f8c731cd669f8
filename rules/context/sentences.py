"""Sentence spans in report text.

Reports are not prose: numbered lists ("1. No DVT. 2. Baker's cyst."), headings
("FINDINGS:"), measurements ("2.5 cm.", "3.0 x 1.1 cm"), abbreviations ("vs.", "Dr."),
all-capital text and hard-wrapped lines. The rules, in text order:

- a blank line always ends a sentence;
- a single line break ends one only before a list item or a "Heading:" line (and not
  right after a line ending in ":"), because wrapped lines continue their sentence;
- ".", "!", "?" followed by a space or the end end one, except after an abbreviation,
  after a bare list number ("1." opening an item), and "?" after a space ("? DVT" is a
  query, not an ending);
- a number marker ("2." / "2)") after a space and before a word starts a new item even
  without a full stop before it ("1. No DVT 2. Baker's cyst"), except right after a
  heading's colon ("IMPRESSION: 1. ...");
- ";" and ":" do not split: they limit trigger scope instead (see the lexicon).

Spans are trimmed of surrounding whitespace and never empty.
"""

from __future__ import annotations

import re
from collections.abc import Set

_BOUNDARY = re.compile(
    r"(?P<blank>\n[ \t\r\f\v]*\n\s*)"
    r"|(?P<newline>\n)"
    r"|(?P<stop>[.!?]+[\"')\]]*)(?=\s|$)"
    r"|(?<=\s)(?P<item>\(?\d{1,2}[.)])(?=[ \t]+[^\W\d_])"
)
_LIST_MARKER = re.compile(r"\(?(?:\d{1,3}|[A-Za-z])[.)]")
_NEXT_LINE_STARTS_ITEM = re.compile(
    r"[ \t]*(?:\(?\d{1,3}[.)][ \t]|[-*•·][ \t]|[A-Z][A-Za-z0-9 /&'()-]{0,40}:(?:\s|$))"
)


def split_sentences(text: str, abbreviations: Set[str]) -> list[tuple[int, int]]:
    cuts: list[tuple[int, int]] = []  # (end of one sentence, start of the next)
    last = 0
    for m in _BOUNDARY.finditer(text):
        kind = m.lastgroup
        if kind == "blank":
            cuts.append((m.start(), m.end()))
        elif kind == "newline":
            before = text[last : m.start()].rstrip()
            if before.endswith(":") or not _NEXT_LINE_STARTS_ITEM.match(text, m.end()):
                continue
            cuts.append((m.start(), m.end()))
        elif kind == "item":
            before = text[last : m.start()].rstrip()
            if not before or before.endswith(":"):
                continue  # the first item, or one right after its heading
            cuts.append((m.start(), m.start()))
        else:
            if not _ends_sentence(text, last, m.start(), m.group(), abbreviations):
                continue
            cuts.append((m.end(), m.end()))
        last = cuts[-1][1]
    spans: list[tuple[int, int]] = []
    start = 0
    for end, nxt in [*cuts, (len(text), len(text))]:
        span = _trim(text, start, end)
        if span is not None:
            spans.append(span)
        start = nxt
    return spans


def _ends_sentence(
    text: str, sentence_start: int, stop: int, mark: str, abbreviations: Set[str]
) -> bool:
    if mark[0] == "?" and (stop == 0 or text[stop - 1].isspace()):
        return False
    if mark[0] != ".":
        return True
    head = text[sentence_start:stop].strip()
    if _LIST_MARKER.fullmatch(head + "."):
        return False  # "1." opening a list item
    word = head.rsplit(None, 1)[-1] if head else ""
    word = word.lstrip("([{\"'").lower()
    return word not in abbreviations


def _trim(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None
