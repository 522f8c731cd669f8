"""What the context engine says about one target mention in one sentence."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Certainty(StrEnum):
    DEFINITE = "definite"
    POSSIBLE = "possible"


class Temporality(StrEnum):
    CURRENT = "current"
    HISTORICAL = "historical"
    HYPOTHETICAL = "hypothetical"


class Experiencer(StrEnum):
    PATIENT = "patient"
    OTHER = "other"


class CueKind(StrEnum):
    NEGATION = "negation"
    UNCERTAINTY = "uncertainty"
    HISTORICAL = "historical"
    HYPOTHETICAL = "hypothetical"
    RESOLVED = "resolved"
    EXPERIENCER = "experiencer"


@dataclass(frozen=True, slots=True)
class Cue:
    """A trigger that applies to the target: its kind, the words, and their
    character span in the sentence."""

    kind: CueKind
    text: str
    span: tuple[int, int]


@dataclass(frozen=True, slots=True)
class ContextResult:
    negated: bool
    certainty: Certainty
    temporality: Temporality
    experiencer: Experiencer
    cues: tuple[Cue, ...] = ()

    @property
    def is_finding(self) -> bool:
        """True when this mention should become a flag: affirmed (or uncertain),
        current, and about the patient. "Resolved" findings come back negated."""
        return (
            not self.negated
            and self.temporality is Temporality.CURRENT
            and self.experiencer is Experiencer.PATIENT
        )


AFFIRMED = ContextResult(
    negated=False,
    certainty=Certainty.DEFINITE,
    temporality=Temporality.CURRENT,
    experiencer=Experiencer.PATIENT,
)
