"""Per-document flags -> one flag per finding per study (pure).

A study may hold several reports (an addendum, a second reader) and images whose
header text the rules read. The study's flag for a finding keeps the evidence of every
document (each naming its SOP Instance UID), is ``definite`` if any document is, takes
the side of all of them (left and right make bilateral) and the most urgent priority.
The primary evidence, rule and rule version come from the most convincing document's
flag (definite first, then document order).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rules.api import FINDING_IDS
from rules.flags import Evidence, Flag
from rules.sr.model import Code, Measurement
from triage.db.models import Priority

DEFINITE = "definite"
BILATERAL = "bilateral"


@dataclass(frozen=True, slots=True)
class StudyFlag:
    """What becomes one ``Flag`` row."""

    finding: str
    rule: str
    rule_version: str
    priority: str
    certainty: str
    laterality: str | None
    evidence: tuple[dict[str, Any], ...]
    measurements: tuple[dict[str, Any], ...]


@dataclass(frozen=True, slots=True)
class DocumentFlags:
    """The flags one document produced."""

    sop_instance_uid: str
    flags: tuple[Flag, ...]


def merge_flags(
    documents: Sequence[DocumentFlags], supersedes: Mapping[str, str] | None = None
) -> tuple[StudyFlag, ...]:
    """One ``StudyFlag`` per finding, in vocabulary order. ``supersedes`` maps a finding
    to the one reported instead when both occur (``bakers_cyst`` ->
    ``ruptured_bakers_cyst``), applied across documents as the rules do within one."""
    found: dict[str, list[tuple[int, str, Flag]]] = {}
    for order, doc in enumerate(documents):
        for flag in doc.flags:
            found.setdefault(flag.finding, []).append((order, doc.sop_instance_uid, flag))
    for loser, winner in (supersedes or {}).items():
        if winner in found:
            found.pop(loser, None)
    order_of = {finding: i for i, finding in enumerate(FINDING_IDS)}
    return tuple(
        _merge(finding, found[finding])
        for finding in sorted(found, key=lambda f: (order_of.get(f, len(order_of)), f))
    )


def _merge(finding: str, group: list[tuple[int, str, Flag]]) -> StudyFlag:
    ranked = sorted(group, key=lambda g: (g[2].certainty.value != DEFINITE, g[0]))
    primary = ranked[0][2]
    evidence: list[dict[str, Any]] = []
    measurements: list[dict[str, Any]] = []
    for _, uid, flag in ranked:
        for ev in flag.evidence:
            item = evidence_json(ev, uid)
            if item not in evidence:
                evidence.append(item)
        for m in flag.measurements:
            value = measurement_json(m)
            if value not in measurements:
                measurements.append(value)
    return StudyFlag(
        finding=finding,
        rule=primary.rule,
        rule_version=primary.rule_version,
        priority=most_urgent(flag.priority for _, _, flag in group),
        certainty=primary.certainty.value,
        laterality=combine_sides(
            flag.laterality.value if flag.laterality is not None else None for _, _, flag in group
        ),
        evidence=tuple(evidence),
        measurements=tuple(measurements),
    )


def most_urgent(priorities: Iterable[str]) -> str:
    return min((Priority(p) for p in priorities), key=lambda p: p.rank).value


def combine_sides(sides: Iterable[str | None]) -> str | None:
    found = {side for side in sides if side is not None}
    if BILATERAL in found or {"left", "right"} <= found:
        return BILATERAL
    return found.pop() if len(found) == 1 else None


def evidence_json(evidence: Evidence, sop_instance_uid: str) -> dict[str, Any]:
    """The stored form (the ``rules explain --json`` evidence plus the document)."""
    return {
        "sop_instance_uid": sop_instance_uid,
        "item_path": evidence.item_path,
        "concept": code_json(evidence.concept),
        "text": evidence.text,
        "span": list(evidence.span) if evidence.span is not None else None,
    }


def measurement_json(measurement: Measurement) -> dict[str, Any]:
    return {"value": measurement.value, "unit": code_json(measurement.unit)}


def code_json(code: Code | None) -> dict[str, str] | None:
    if code is None:
        return None
    return {"value": code.value, "scheme": code.scheme, "meaning": code.meaning}
