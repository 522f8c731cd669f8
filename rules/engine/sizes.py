"""Sizes written in report text ("2.8 cm", "3.0 x 1.1 x 2.0 cm", "8 mm") and which
flagged mention each belongs to, so a flag carries the size of its finding.

A size belongs to at most one mention of its sentence, found in this order:

1. the mention whose evidence span holds it ("Baker's cyst ..., now 4.1 cm, with
   fluid extending into the calf");
2. the mention it stands right before ("a 2.8 x 1.2 cm complex Baker's cyst"): at
   most three words between, no punctuation, no "and"/"or"/"with", and the size not
   introduced by "measuring" (which ties it to what came before);
3. else the nearest mention before it ("Baker's cyst measuring 3 cm", "hematoma, now
   2.1 x 1.0 cm"), within ``WINDOW`` words, with no ";" and no new noun phrase
   (", the popliteal vein measures ...") between;
4. else the nearest mention after it that identifies what was measured ("collection
   measuring 6 cm, likely hematoma"), within ``WINDOW`` words, with no other size, no
   "and"/"or" and no comma between except one inside the measured thing's own words
   (after its first word and within ``PREFIX_WORDS``: "1 cm hypoechoic, avascular
   nodule") or one
   followed by such an identification (", likely", ", which may represent" ...).

Sizes said to be earlier ones ("previously 4.5 cm", "from 3 cm", "was 2.8 cm") and
speeds ("20 cm/s") are not sizes of the finding now.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from rules.engine.matcher import TokenizedText
from rules.sr.model import Code, Measurement

WINDOW = 12
APPOSITION_WINDOW = 16
PREFIX_WORDS = 3

_UNITS: dict[str, Code] = {
    "mm": Code("mm", "UCUM", "millimeter"),
    "millimeter": Code("mm", "UCUM", "millimeter"),
    "millimetre": Code("mm", "UCUM", "millimeter"),
    "cm": Code("cm", "UCUM", "centimeter"),
    "centimeter": Code("cm", "UCUM", "centimeter"),
    "centimetre": Code("cm", "UCUM", "centimeter"),
    "ml": Code("mL", "UCUM", "milliliter"),
    "cc": Code("mL", "UCUM", "milliliter"),
}
_NUMBER = r"\d+(?:\.\d+)?"
_UNIT = r"(?:millimet(?:er|re)s?|centimet(?:er|re)s?|mm|cm|ml|cc)"
_SIZE = re.compile(
    rf"(?<![\w.]){_NUMBER}(?:\s*{_UNIT})?(?:\s*(?:x|×|by)\s*{_NUMBER}(?:\s*{_UNIT})?)*"
    rf"(?<=[a-z])(?![\w/])",
    re.IGNORECASE,
)
_PART = re.compile(rf"({_NUMBER})\s*({_UNIT})?", re.IGNORECASE)
_EARLIER = re.compile(
    r"(?:previously|prior|previous|formerly|from|was|were|before)\W{0,3}$", re.IGNORECASE
)
_STOP_BEFORE = frozenset({"and", "or", "with", "nor", "but"})
_MEASURING = frozenset({"measuring", "measures", "measure", "measured", "sized", "spanning"})
_NEW_PHRASE = frozenset({"the", "a", "an", "this", "these", "there", "its"})
_IDENTIFIES = frozenset(
    {
        "likely", "probably", "possibly", "consistent", "compatible", "in", "suggestive",
        "suggesting", "concerning", "suspicious", "worrisome", "may", "might", "could",
        "most", "representing", "reflecting", "presumably", "presumed", "favoring",
        "favouring", "which", "thought", "query",
    }
)  # fmt: skip
"""Words after a comma that say what the thing before was ("..., likely hematoma")."""
_COORDINATION = frozenset({"and", "or", "nor"})
_LOOKBACK = 32
"""Mentions examined before a size (a constant: long sentences stay linear)."""


@dataclass(frozen=True, slots=True)
class Size:
    """One size expression: its token range in the text and its measurements."""

    lo: int
    hi: int
    values: tuple[Measurement, ...]


def find_sizes(tt: TokenizedText, start: int, end: int) -> list[Size]:
    """The sizes in ``tt.text[start:end]`` (one sentence), earlier sizes left out."""
    text = tt.text
    out: list[Size] = []
    for m in _SIZE.finditer(text, start, end):
        if _EARLIER.search(text, max(start, m.start() - 16), m.start()):
            continue
        values = _values(m.group())
        if not values:
            continue
        lo = bisect_left(tt.starts, m.start())
        hi = bisect_right(tt.starts, m.end() - 1)
        out.append(Size(lo, hi, values))
    return out


def _values(expr: str) -> tuple[Measurement, ...]:
    """ "3.0 x 1.1 cm" -> 3.0 cm, 1.1 cm: each number takes its own unit or the next one."""
    parts = [(float(n), u.lower() if u else None) for n, u in _PART.findall(expr)]
    out: list[Measurement] = []
    unit: str | None = None
    for value, own in reversed(parts):
        unit = own or unit
        if unit is None:
            return ()
        code = _UNITS.get(unit.rstrip("s"))
        if code is None:
            return ()
        out.append(Measurement(value, code))
    return tuple(reversed(out))


def assign_sizes(
    tt: TokenizedText, sizes: Sequence[Size], mentions: Sequence[tuple[int, int]]
) -> dict[int, list[Measurement]]:
    """Which mention each size belongs to. ``mentions``: distinct token ranges of the
    sentence's flagged mentions, sorted. Returns mention index -> its measurements in
    text order."""
    out: dict[int, list[Measurement]] = {}
    if not mentions:
        return out
    mention_starts = [lo for lo, _ in mentions]
    size_starts = [s.lo for s in sizes]
    for size in sizes:
        owner = _owner(tt, size, mentions, mention_starts, size_starts)
        if owner is not None:
            out.setdefault(owner, []).extend(size.values)
    return out


def _owner(
    tt: TokenizedText,
    size: Size,
    mentions: Sequence[tuple[int, int]],
    mention_starts: Sequence[int],
    size_starts: Sequence[int],
) -> int | None:
    after = bisect_left(mention_starts, size.hi)  # first mention starting after the size
    nearest_before: int | None = None
    for i in range(after - 1, max(-1, after - 1 - _LOOKBACK), -1):
        lo, hi = mentions[i]
        if lo <= size.lo and size.hi <= hi:
            return i  # the size stands inside the mention's evidence
        if hi <= size.lo and (nearest_before is None or hi > mentions[nearest_before][1]):
            nearest_before = i
    measuring = size.lo > 0 and tt.tokens[size.lo - 1] in _MEASURING
    if after < len(mentions) and not measuring:
        lo = mentions[after][0]
        between = range(size.hi, lo)
        if (
            len(between) <= PREFIX_WORDS
            and not any(tt.tokens[k] in _STOP_BEFORE for k in between)
            and not tt.punctuation_between(size.hi - 1, lo)
        ):
            return after
    if nearest_before is not None:
        hi = mentions[nearest_before][1]
        if size.lo - hi <= WINDOW and not _new_phrase(tt, hi, size.lo):
            return nearest_before
    if after < len(mentions):
        lo = mentions[after][0]
        k = bisect_left(size_starts, size.hi)
        other_size = k < len(size_starts) and size_starts[k] < lo
        if lo - size.hi <= APPOSITION_WINDOW and not other_size and _identifies(tt, size.hi, lo):
            return after
    return None


def _new_phrase(tt: TokenizedText, left: int, right: int) -> bool:
    """Between token ``left - 1`` and token ``right``: a ";" or a comma that opens a new
    noun phrase (", the popliteal vein measures ...")."""
    if tt.semicolon_between(left - 1, right):
        return True
    for k in range(left, right):
        if tt.tokens[k] in _NEW_PHRASE and tt.text.rfind(",", tt.ends[k - 1], tt.starts[k]) >= 0:
            return True
    return False


def _identifies(tt: TokenizedText, left: int, right: int) -> bool:
    """Tokens ``left`` .. ``right`` lead from a size to the mention that names what was
    measured: no ";", no "and"/"or", and every comma inside the measured thing's first
    words or followed by an identifying word."""
    if tt.semicolon_between(left - 1, right):
        return False
    for k in range(left, right + 1):
        if k < right and tt.tokens[k] in _COORDINATION:
            return False
        comma = tt.text.rfind(",", tt.ends[k - 1], tt.starts[k]) >= 0
        inside = 0 < k - left < PREFIX_WORDS  # "1 cm hypoechoic, avascular nodule"
        if comma and not inside and tt.tokens[k] not in _IDENTIFIES:
            return False
    return True
