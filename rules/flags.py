"""What rule evaluation returns: flags with provenance, and every candidate mention
with the reason it was or was not flagged (for ``rules explain``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from rules.context.model import Certainty
from rules.sr.model import Code, Measurement


class Laterality(StrEnum):
    LEFT = "left"
    RIGHT = "right"
    BILATERAL = "bilateral"


@dataclass(frozen=True, slots=True)
class Evidence:
    """Where a flag came from: the content-item path (or header keyword), the item's
    concept name, the item's text, and the matched character span in that text."""

    item_path: str
    concept: Code | None
    text: str
    span: tuple[int, int] | None


@dataclass(frozen=True, slots=True)
class Flag:
    """One flag per finding id per document, with all its evidence (first = primary)."""

    finding: str
    rule: str
    rule_version: str
    priority: str
    certainty: Certainty
    laterality: Laterality | None
    evidence: tuple[Evidence, ...]
    measurements: tuple[Measurement, ...] = ()


class Decision(StrEnum):
    FLAGGED = "flagged"
    NEGATED = "negated"
    HISTORICAL = "historical"
    HYPOTHETICAL = "hypothetical"
    OTHER_EXPERIENCER = "other_experiencer"
    CLINICAL_SECTION = "clinical_section"
    EXCLUDED = "excluded"
    OUT_OF_SCOPE = "out_of_scope"
    BELOW_THRESHOLD = "below_threshold"
    SUPERSEDED = "superseded"
    RESOLVED = "resolved"
    MISSING_CONTEXT = "missing_context"
    """A term without the nearby words its rule needs, or a code without its site."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """A mention some rule matched, and what became of it. ``reason`` is a sentence a
    rule author can read, e.g. "negated by 'no' in 'No Baker's cyst is seen.'"."""

    finding: str
    rule: str
    evidence: Evidence
    decision: Decision
    reason: str


@dataclass(frozen=True, slots=True)
class Evaluation:
    flags: tuple[Flag, ...]
    candidates: tuple[Candidate, ...] = field(default=())
    ruleset_version: str = ""
