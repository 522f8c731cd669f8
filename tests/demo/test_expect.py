"""What the demo tells a newcomer to expect, from the generator's ground truth."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from pydicom.dataset import Dataset

from triage.demo.expect import describe, expect
from triage.demo.model import CaseKind, DemoStudy, ExpectedFlag


def study(
    number: int,
    kind: CaseKind,
    *flags: ExpectedFlag,
    before: tuple[ExpectedFlag, ...] | None = None,
) -> DemoStudy:
    return DemoStudy(
        number=number,
        kind=kind,
        study_instance_uid=f"1.2.3.{number}",
        accession_number=f"ACC{number}",
        patient_id="DEMO000001",
        patient_name="Sampleton^Ada",
        study_date=date(2026, 3, 14),
        sides=("left",),
        summary="",
        objects=(),
        amendment=None,
        expected_before=flags if before is None else before,
        expected=flags,
    )


BAKERS = ExpectedFlag("bakers_cyst", "definite", "left")
ABSCESS = ExpectedFlag("abscess", "possible", "left")
MASS = ExpectedFlag("soft_tissue_mass", "possible", "right")
EFFUSION = ExpectedFlag("joint_effusion", "definite", "right")

STUDIES = [
    study(1, CaseKind.INCIDENTAL, BAKERS),
    study(2, CaseKind.NORMAL),
    study(3, CaseKind.TWO_FINDINGS, BAKERS, MASS),
    study(4, CaseKind.DVT),
    study(5, CaseKind.INCIDENTAL, ABSCESS),
    study(6, CaseKind.NEGATED),
    study(7, CaseKind.AMENDED_ADD, EFFUSION, before=()),
    study(8, CaseKind.AMENDED_REMOVE, before=(BAKERS,)),
    study(9, CaseKind.NORMAL),
]


def test_items_by_priority_of_their_most_urgent_finding() -> None:
    expectation = expect(STUDIES)
    assert [s.number for s in expectation.flagged] == [5, 3, 1, 7]  # worklist order
    assert [s.priority for s in expectation.flagged] == ["urgent", "high", "routine", "routine"]
    assert expectation.studies == 9
    assert expectation.not_flagged == (
        ("normal", 2),
        ("DVT only (a thrombus is not an MSK finding)", 1),
        ("MSK findings negated or resolved", 1),
        ("finding withdrawn by an amended report", 1),
    )


def test_the_lines_printed() -> None:
    # Amendments are only described for studies that carry one.
    amended = [
        s if s.kind not in (CaseKind.AMENDED_ADD, CaseKind.AMENDED_REMOVE) else _amended(s)
        for s in STUDIES
    ]
    assert describe(expect(amended), amended) == [
        "4 of 9 studies should be flagged, each with a worklist item at its most urgent "
        "finding's priority:",
        "  urgent     1  abscess",
        "  high       1  soft_tissue_mass, bakers_cyst",
        "  routine    2  bakers_cyst, joint_effusion",
        "5 not flagged: 2 normal; 1 DVT only (a thrombus is not an MSK finding); "
        "1 MSK findings negated or resolved; 1 finding withdrawn by an amended report",
        "Amended reports (sent after the first reports):",
        "  ACC7: adds joint_effusion - a new item once the amendment is triaged",
        "  ACC8: removes bakers_cyst - its item is closed as withdrawn (or never appears, "
        "if the amendment arrives before the first triage)",
    ]


def test_one_study() -> None:
    lonely = [study(1, CaseKind.INCIDENTAL, BAKERS)]
    assert describe(expect(lonely), lonely) == [
        "1 of 1 study should be flagged, each with a worklist item at its most urgent "
        "finding's priority:",
        "  routine    1  bakers_cyst",
    ]


def test_a_finding_in_several_studies_is_counted() -> None:
    two = [study(1, CaseKind.INCIDENTAL, BAKERS), study(2, CaseKind.CODED, BAKERS)]
    assert describe(expect(two), two)[1] == "  routine    2  bakers_cyst x2"


def _amended(s: DemoStudy) -> DemoStudy:
    return replace(s, amendment=Dataset())
