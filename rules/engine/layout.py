"""The structure inside one text: inline section headings ("INDICATION:", "FINDINGS:"),
what part of the text each governs, and side subheadings ("RIGHT:", "Left leg:").

A Basic Text report or an image comment often carries a whole report in one TEXT item,
so the role of a position is the role of the heading before it:

- a section heading governs the text up to the next section heading;
- a clinical heading (indication, history, comparison, technique ...) ends earlier, at
  the first line that opens with its own label ("CFV: compressible") or the first blank
  line after its content, since what follows it without a heading is usually the
  findings ("COMPARISON: None.\\n\\nThe deep veins are compressible ...");
- a side subheading gives its side to the text up to the next side subheading or
  section heading ("RIGHT: ... Baker's cyst. LEFT: ... IMPRESSION: ...").

Positions are looked up by bisection, so a long text with many headings costs
``O(log n)`` per mention.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

from rules.engine.cues import (
    HEADING,
    HEADING_ROLES,
    LABEL_LINE,
    LATERALITY_WORDS,
    PARAGRAPH_BREAK,
    SIDE_HEADING,
    SIDE_LETTERS,
)
from rules.engine.walk import TextSource
from rules.flags import Laterality
from rules.sr.model import SectionRole


@dataclass(frozen=True, slots=True)
class Layout:
    starts: tuple[int, ...]
    """Where each role span starts (sorted); ``spans[i]`` runs to ``starts[i + 1]``."""
    spans: tuple[tuple[SectionRole, str], ...]
    side_starts: tuple[int, ...]
    sides: tuple[Laterality | None, ...]

    def role_at(self, pos: int) -> tuple[SectionRole, str]:
        """The section role at character ``pos`` and what gave it, for explanations."""
        return self.spans[bisect_right(self.starts, pos) - 1]

    def side_at(self, pos: int) -> Laterality | None:
        """The side a side subheading gives character ``pos``, if any."""
        i = bisect_right(self.side_starts, pos) - 1
        return self.sides[i] if i >= 0 else None


def layout(src: TextSource) -> Layout:
    text = src.text
    own = (src.role, src.role_label)
    starts: list[int] = [0]
    spans: list[tuple[SectionRole, str]] = [own]
    section_starts: list[int] = []
    if ":" in text and src.role is not SectionRole.CLINICAL:
        headings = list(HEADING.finditer(text))
        for n, h in enumerate(headings):
            index = next(int(k[1:]) for k, v in h.groupdict().items() if v is not None)
            role = HEADING_ROLES[index]
            section_starts.append(h.start())
            starts.append(h.start())
            spans.append((role, f"'{h.group(1).strip()}:' heading"))
            if role is SectionRole.CLINICAL:
                limit = headings[n + 1].start() if n + 1 < len(headings) else len(text)
                end = _clinical_end(text, h.end(), limit)
                if end < limit:
                    starts.append(end)
                    spans.append(own)
    side_starts: list[int] = []
    sides: list[Laterality | None] = []
    if ":" in text:
        for h in SIDE_HEADING.finditer(text):
            word = h.group("word") or h.group("abbr")
            side = LATERALITY_WORDS[word.lower()] if word else SIDE_LETTERS[h.group("letter")]
            side_starts.append(h.end())
            sides.append(side)
        if side_starts:
            # A section heading after a side subheading ends its side.
            for s in section_starts:
                if s > side_starts[0]:
                    side_starts.append(s)
                    sides.append(None)
            order = sorted(range(len(side_starts)), key=side_starts.__getitem__)
            side_starts = [side_starts[i] for i in order]
            sides = [sides[i] for i in order]
    return Layout(tuple(starts), tuple(spans), tuple(side_starts), tuple(sides))


def _clinical_end(text: str, content: int, limit: int) -> int:
    """Where a clinical heading's text ends: a labelled line or a blank line after its
    content, else ``limit``."""
    end = limit
    label = LABEL_LINE.search(text, content, limit)
    if label is not None:
        end = label.start()
    first = content
    while first < end and text[first].isspace():
        first += 1
    blank = PARAGRAPH_BREAK.search(text, first, end)
    if blank is not None:
        end = blank.start()
    return end
