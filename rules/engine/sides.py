"""Which side a word names: "left", "Lt", "LLE", "bilat" anywhere; a capital "L" or
"R" only where it cannot be anything else — before an anatomical word ("R knee",
"L calf"), in brackets ("(R)"), or closing a short label ("Baker's cyst L"). "R/O" (rule
out), "L4" or a lower-case "l" are never sides."""

from __future__ import annotations

import re

from rules.engine.cues import LATERALITY_WORDS, SIDE_CONTEXT, SIDE_LETTERS
from rules.engine.matcher import TokenizedText
from rules.flags import Laterality

_DOCUMENT_WORDS = frozenset(LATERALITY_WORDS) - {"both"}
"""Words that make a report about one side ("both the femoral and popliteal veins" does
not)."""

_CONTEXT = "|".join(sorted((re.escape(w) for w in SIDE_CONTEXT), key=len, reverse=True))
_DOCUMENT_SIDE = re.compile(
    r"\b(?:(?i:(?P<word>" + "|".join(sorted(_DOCUMENT_WORDS, key=len, reverse=True)) + r"))"
    r"|(?P<letter>[LR])(?=[ \t]+(?i:" + _CONTEXT + r")\b|\)))\b"
)


def token_side(tt: TokenizedText, k: int, last: bool) -> Laterality | None:
    """The side token ``k`` names, if any; ``last``: it ends its sentence."""
    side = LATERALITY_WORDS.get(tt.tokens[k])
    if side is not None:
        return side
    letter = SIDE_LETTERS.get(tt.raw(k)) if len(tt.tokens[k]) == 1 else None
    if letter is None:
        return None
    text = tt.text
    start, end = tt.starts[k], tt.ends[k]
    before = text[start - 1] if start else ""
    after = text[end] if end < len(text) else ""
    if after == "/" or after == "'":
        return None  # "R/O", "L's"
    if before == "(" and after == ")":
        return letter
    toks = tt.tokens
    if k + 1 < len(toks) and toks[k + 1] in SIDE_CONTEXT:
        return letter if not tt.hard_break_between(k) else None
    if (
        k + 3 < len(toks)
        and toks[k + 1] in ("and", "or")
        and tt.raw(k + 2) in SIDE_LETTERS
        and toks[k + 3] in SIDE_CONTEXT
    ):
        return letter  # "R and L knee"
    if last and k > 0:
        return letter  # "Baker's cyst L"
    return None


def document_sides(text: str) -> set[Laterality]:
    """Every side ``text`` names (for the report's one side)."""
    out: set[Laterality] = set()
    for m in _DOCUMENT_SIDE.finditer(text):
        word = m.group("word")
        out.add(LATERALITY_WORDS[word.lower()] if word else SIDE_LETTERS[m.group("letter")])
    return out
