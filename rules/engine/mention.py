"""A mention some rule matched in a document, and the decision taken on it."""

from __future__ import annotations

from dataclasses import dataclass

from rules.context.model import Certainty
from rules.engine.compiled import CompiledRule
from rules.flags import Decision, Evidence, Laterality
from rules.sr.model import Measurement, SectionRole

QUOTE_MAX = 160
ROLE_RANK = {
    SectionRole.IMPRESSION: 0,
    SectionRole.FINDINGS: 0,
    SectionRole.UNKNOWN: 1,
    SectionRole.COMMENT: 1,
    SectionRole.RECOMMENDATION: 2,
    SectionRole.CLINICAL: 3,
}
"""Which evidence comes first in a flag (lower first): findings and impressions."""


@dataclass(frozen=True, slots=True)
class Mention:
    rule: CompiledRule
    evidence: Evidence
    decision: Decision
    reason: str
    certainty: Certainty = Certainty.DEFINITE
    laterality: Laterality | None = None
    measurements: tuple[Measurement, ...] = ()
    order: tuple[int, int] = (0, 0)
    """(source order in the document, character offset) for document order."""
    rank: int = 1
    tokens: tuple[int, int] | None = None
    """Token range of the term in its text (free-text mentions), to merge overlapping ones."""
    span_tokens: tuple[int, int] | None = None
    """Token range of the evidence (the term and its near-context words)."""
    hedged: bool = False
    """The context engine found the mention uncertain ("possible", ", likely")."""
    section: str = ""
    """What gave the mention its section role, for explanations ("'FINDINGS:' heading",
    "Findings section", "report")."""
    sentence: tuple[int, int] | None = None
    """The mention's sentence in its text (character offsets; free text only)."""
    cue: tuple[int, int] | None = None
    """The words of its text that decided the mention (a negation, a history, an
    exclusion, a hedge ...), as character offsets, if any."""


def quote(sentence: str) -> str:
    """A sentence quoted for a reason, whitespace folded, long ones shortened."""
    cut = len(sentence) > QUOTE_MAX * 4  # only the start is shown: fold no more than that
    s = " ".join(sentence[: QUOTE_MAX * 4].split())
    return repr(s if len(s) <= QUOTE_MAX and not cut else s[: QUOTE_MAX - 3] + "...")
