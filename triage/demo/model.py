"""What the demo generates: studies as DICOM data sets, each with its ground truth."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from pydicom.dataset import Dataset

from rules.api import FINDINGS


class CaseKind(StrEnum):
    """What a demo study is about; decides what its report says."""

    NORMAL = "normal"  # no DVT, nothing incidental
    DVT = "dvt"  # thrombus, nothing incidental (DVT is never flagged)
    INCIDENTAL = "incidental"  # one incidental MSK finding
    TWO_FINDINGS = "two_findings"  # two incidental MSK findings
    NEGATED = "negated"  # MSK findings mentioned only to deny them
    INDICATION_ONLY = "indication_only"  # an MSK suspicion in the indication only
    CODED = "coded"  # a coded finding (no text names it)
    AMENDED_ADD = "amended_add"  # a later report adds a finding
    AMENDED_REMOVE = "amended_remove"  # a later report takes the finding back


@dataclass(frozen=True, slots=True, order=True)
class ExpectedFlag:
    """A flag the rules must raise: finding id, certainty, laterality."""

    finding: str
    certainty: str
    laterality: str | None

    @property
    def priority(self) -> str:
        """The finding's default priority (DESIGN.md), which its worklist item gets."""
        return str(FINDINGS[self.finding].priority)

    def to_json(self) -> dict[str, Any]:
        return {
            "finding": self.finding,
            "certainty": self.certainty,
            "laterality": self.laterality,
            "priority": self.priority,
        }


@dataclass(frozen=True, slots=True)
class DemoStudy:
    """One synthetic DVT study: what is sent first, the amendment sent later (if any),
    and the flags each state of the study must give."""

    number: int  # 1-based, in generation order
    kind: CaseKind
    study_instance_uid: str
    accession_number: str
    patient_id: str
    patient_name: str
    study_date: date
    sides: tuple[str, ...]  # the legs examined
    summary: str  # what the report says, in a few words
    objects: tuple[Dataset, ...]  # images, then the report
    amendment: Dataset | None
    expected_before: tuple[ExpectedFlag, ...]  # triage of the first report
    expected: tuple[ExpectedFlag, ...]  # triage of the final report

    @property
    def flagged(self) -> bool:
        return bool(self.expected)

    @property
    def priority(self) -> str | None:
        """The worklist item's priority: its most urgent finding's."""
        if not self.expected:
            return None
        return min((flag.priority for flag in self.expected), key=priority_rank)

    def to_json(self) -> dict[str, Any]:
        """The ground truth, as ``--out`` writes it to ``expected.json``."""
        return {
            "number": self.number,
            "kind": str(self.kind),
            "study_instance_uid": self.study_instance_uid,
            "accession_number": self.accession_number,
            "study_date": self.study_date.isoformat(),
            "sides": list(self.sides),
            "summary": self.summary,
            "objects": len(self.objects) + (self.amendment is not None),
            "amended": self.amendment is not None,
            "priority": self.priority,
            "flags_before_amendment": (
                [flag.to_json() for flag in self.expected_before]
                if self.amendment is not None
                else None
            ),
            "flags": [flag.to_json() for flag in self.expected],
        }


_RANK = {"urgent": 0, "high": 1, "routine": 2}


def priority_rank(priority: str) -> int:
    """0 is the most urgent (as worklists sort)."""
    return _RANK[priority]
