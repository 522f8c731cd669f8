"""The engine on hand-labelled radiology/MSK sentences (``data/labelled.txt``).

Each case asserts the whole result: negated, certainty, temporality, experiencer, and
for "resolved" cases that the negation is reported as a resolved cue.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from rules.context import (
    Certainty,
    ContextEngine,
    CueKind,
    Experiencer,
    Temporality,
    find_all,
)

DATA = Path(__file__).parent / "data" / "labelled.txt"
FLAGS = {"aff", "neg", "poss", "hist", "hyp", "other", "resolved"}


@dataclass(frozen=True)
class Case:
    line: int
    labels: frozenset[str]
    target: str
    occurrence: int
    sentence: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.target!r} in {self.sentence!r}"


def load_cases() -> list[Case]:
    cases = []
    for number, raw in enumerate(DATA.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip() or raw.startswith("#"):
            continue
        labels_text, target, sentence = (part.strip() for part in raw.split(" | ", 2))
        labels = frozenset(label.strip() for label in labels_text.split(","))
        assert labels <= FLAGS, f"line {number}: unknown label in {labels_text!r}"
        occurrence = 1
        if " @" in target:
            target, _, nth = target.rpartition(" @")
            occurrence = int(nth)
        cases.append(Case(number, labels, target, occurrence, sentence.replace("\\n", "\n")))
    return cases


CASES = load_cases()


def test_the_corpus_is_large_and_covers_every_label() -> None:
    assert len(CASES) >= 300
    seen = set().union(*(c.labels for c in CASES))
    assert seen == FLAGS


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"L{c.line}")
def test_labelled_sentence(context_engine: ContextEngine, case: Case) -> None:
    spans = find_all(case.sentence, case.target)
    assert len(spans) >= case.occurrence, f"target not in sentence: {case}"
    result = context_engine.analyze(case.sentence, spans[case.occurrence - 1])
    labels = case.labels
    expected = (
        bool(labels & {"neg", "resolved"}),
        Certainty.POSSIBLE if "poss" in labels else Certainty.DEFINITE,
        Temporality.HISTORICAL
        if "hist" in labels
        else Temporality.HYPOTHETICAL
        if "hyp" in labels
        else Temporality.CURRENT,
        Experiencer.OTHER if "other" in labels else Experiencer.PATIENT,
    )
    got = (result.negated, result.certainty, result.temporality, result.experiencer)
    cues = [(c.kind.value, c.text) for c in result.cues]
    assert got == expected, f"{case}\n  cues: {cues}"
    resolved = any(c.kind is CueKind.RESOLVED for c in result.cues)
    assert resolved == ("resolved" in labels), f"{case}\n  cues: {cues}"
