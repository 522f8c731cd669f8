"""A study's documents -> outcome and flags, with the real default rule set."""

from __future__ import annotations

import pytest

from rules.api import RuleSet, evaluate, load_ruleset
from rules.flags import Evaluation
from rules.sr import build
from rules.sr.model import SRDocument
from rules.sr.reader import read_document
from tests.pipeline.harness import StudyBuilder
from triage.db.models import TriageOutcome
from triage.pipeline.assess import MAX_DETAIL_LENGTH, assess, describe
from triage.pipeline.documents import StudyDocuments, Unreadable, has_findings_text


@pytest.fixture(scope="module")
def ruleset() -> RuleSet:
    return load_ruleset()


def _doc(ds: object) -> SRDocument:
    return read_document(build.to_bytes(ds))  # type: ignore[arg-type]


def _docs(
    reports: tuple[SRDocument, ...] = (),
    images: tuple[SRDocument, ...] = (),
    bad: tuple[Unreadable, ...] = (),
) -> StudyDocuments:
    return StudyDocuments(reports, bad, images, ())


def test_outcomes(ruleset: RuleSet) -> None:
    s = StudyBuilder()
    flagged = assess(_docs((_doc(s.report("Baker's cyst.")),)), ruleset, evaluate)
    assert flagged.outcome is TriageOutcome.FLAGGED
    assert [f.finding for f in flagged.flags] == ["bakers_cyst"]
    negated = assess(_docs((_doc(s.report("No Baker's cyst.")),)), ruleset, evaluate)
    assert negated.outcome is TriageOutcome.NO_FINDINGS
    assert assess(_docs(), ruleset, evaluate).outcome is TriageOutcome.NO_REPORT
    bad = Unreadable("1.2.3", "not DICOM")
    unreadable = assess(_docs(bad=(bad,)), ruleset, evaluate)
    assert unreadable.outcome is TriageOutcome.UNREADABLE
    assert unreadable.detail == "report 1.2.3: not DICOM"


def test_a_predecessor_is_not_evaluated_even_if_unreadable(ruleset: RuleSet) -> None:
    s = StudyBuilder()
    old = s.report("Baker's cyst.")
    new = s.report("No Baker's cyst.", predecessors=[old])
    result = assess(_docs((_doc(old), _doc(new))), ruleset, evaluate)
    assert result.outcome is TriageOutcome.NO_FINDINGS
    assert result.superseded == (old.SOPInstanceUID,)
    # a replaced report that cannot be read does not matter any more
    gone = Unreadable(old.SOPInstanceUID, "archive file missing")
    result = assess(_docs((_doc(new),), bad=(gone,)), ruleset, evaluate)
    assert result.outcome is TriageOutcome.NO_FINDINGS
    assert result.detail is None


def test_images_only_count_with_findings_text(ruleset: RuleSet) -> None:
    s = StudyBuilder()
    clinical = _doc(s.image(reason="Evaluate for Baker's cyst"))
    assert not has_findings_text(clinical)
    assert has_findings_text(_doc(s.image("Baker's cyst")))
    commented = assess(_docs(images=(_doc(s.image("Baker's cyst")),)), ruleset, evaluate)
    assert commented.outcome is TriageOutcome.FLAGGED


def test_a_rules_failure_is_one_documents_problem(ruleset: RuleSet) -> None:
    s = StudyBuilder()
    fine = _doc(s.report("Joint effusion."))
    cursed = _doc(s.report("Baker's cyst."))

    def flaky(doc: SRDocument, rs: RuleSet) -> Evaluation:
        if doc.sop_instance_uid == cursed.sop_instance_uid:
            raise ZeroDivisionError("a bug")
        return evaluate(doc, rs)

    result = assess(_docs((fine, cursed)), ruleset, flaky)
    assert result.outcome is TriageOutcome.FLAGGED
    assert [f.finding for f in result.flags] == ["joint_effusion"]
    assert (
        result.detail == f"report {cursed.sop_instance_uid}: rules error: ZeroDivisionError: a bug"
    )
    alone = assess(_docs((cursed,)), ruleset, flaky)
    assert alone.outcome is TriageOutcome.UNREADABLE


def test_a_long_detail_is_cut() -> None:
    problems = [Unreadable(f"1.2.{i}", "x" * 100) for i in range(100)]
    detail = describe(problems)
    assert detail is not None
    assert len(detail) == MAX_DETAIL_LENGTH
    assert detail.endswith("...")
