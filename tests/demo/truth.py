"""Running the real rule pack over generated documents, as the pipeline reads them."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from pydicom.dataset import Dataset

from rules.api import RuleSet, evaluate, load_ruleset
from rules.sr import build
from rules.sr.reader import read_document

# finding id -> (certainty, laterality)
Flags = dict[str, tuple[str, str | None]]


@cache
def ruleset() -> RuleSet:
    return load_ruleset()


def flags_of(documents: Iterable[Dataset]) -> Flags:
    """What the rules flag over a study's current documents: each document read from its
    encoded bytes (as the pipeline reads archive files), flags merged per finding
    (definite over possible; two sides make "bilateral")."""
    merged: Flags = {}
    for ds in documents:
        for flag in evaluate(read_document(build.to_bytes(ds)), ruleset()).flags:
            certainty = str(flag.certainty)
            laterality = str(flag.laterality) if flag.laterality else None
            if flag.finding in merged:
                old_certainty, old_laterality = merged[flag.finding]
                certainty = "definite" if "definite" in (certainty, old_certainty) else certainty
                laterality = old_laterality if old_laterality == laterality else "bilateral"
            merged[flag.finding] = (certainty, laterality)
    return merged
