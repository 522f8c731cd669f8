"""The pipeline-sweep job on both backends: outcomes, re-triage, idempotency."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, func, select, text
from sqlmodel import Session

from tests.conftest import T0
from tests.pipeline.harness import Pipeline, StudyBuilder
from triage.db.models import AuditEvent, Flag, TriageRun, TriageState, WorklistItem


def test_a_study_with_a_finding_is_flagged_once_stable(pipe: Pipeline) -> None:
    s = StudyBuilder()
    report = s.report("No DVT. There is a 3 cm Baker's cyst in the right popliteal fossa.")
    pipe.send(report, s.image(), at=0)

    assert pipe.sweep(at=59) == 0  # still receiving
    assert pipe.study(s.uid).triage_state == TriageState.RECEIVING
    assert pipe.sweep(at=60) == 1

    study = pipe.study(s.uid)
    assert study.triage_state == TriageState.TRIAGED
    assert study.triaged_revision == study.content_revision
    assert study.triage_outcome == "flagged"
    assert study.triage_detail is None
    assert study.claimed_by is None
    assert study.claim_expires_at is None
    flags = pipe.flags(s.uid)
    assert set(flags) == {"bakers_cyst"}
    flag = flags["bakers_cyst"]
    assert flag.certainty == "definite"
    assert flag.laterality == "right"
    assert flag.priority == "routine"
    assert flag.rule.startswith("msk.")
    assert flag.rule_version
    assert flag.ruleset_version == study.ruleset_version
    assert flag.first_flagged_at == T0 + timedelta(seconds=60)
    (evidence,) = flag.evidence
    assert evidence["sop_instance_uid"] == report.SOPInstanceUID
    assert evidence["text"][slice(*evidence["span"])] == "Baker's cyst"
    item = pipe.item(s.uid)
    assert item is not None
    assert item.state == "new"
    assert item.base_priority == "routine"
    (run,) = pipe.runs(s.uid)
    assert run.outcome == "flagged"
    assert run.flag_count == 1
    assert run.content_revision == study.content_revision
    assert run.worker


def test_a_negated_finding_is_not_flagged(pipe: Pipeline) -> None:
    s = StudyBuilder()
    pipe.send(s.report("No Baker's cyst. No joint effusion. No DVT."), at=0)
    assert pipe.sweep(at=60) == 1
    assert pipe.study(s.uid).triage_outcome == "no_findings"
    assert pipe.flags(s.uid) == {}
    assert pipe.item(s.uid) is None
    assert pipe.runs(s.uid)[0].outcome == "no_findings"


def test_a_study_without_report_is_no_report(pipe: Pipeline) -> None:
    s = StudyBuilder()
    # clinical header text (the reason for the exam) is never a finding
    pipe.send(s.image(), s.image(reason="Rule out DVT, Baker's cyst?"), at=0)
    assert pipe.sweep(at=60) == 1
    study = pipe.study(s.uid)
    assert study.triage_state == TriageState.TRIAGED
    assert study.triage_outcome == "no_report"
    assert pipe.flags(s.uid) == {}


def test_image_comments_are_read_without_a_report(pipe: Pipeline) -> None:
    s = StudyBuilder()
    image = s.image("Left knee: joint effusion.")
    pipe.send(image, s.image(), at=0)
    assert pipe.sweep(at=60) == 1
    assert pipe.study(s.uid).triage_outcome == "flagged"
    flag = pipe.flags(s.uid)["joint_effusion"]
    assert flag.evidence[0]["sop_instance_uid"] == image.SOPInstanceUID
    assert flag.evidence[0]["item_path"] == "ImageComments"


def test_an_unreadable_report_is_recorded_and_not_retried_until_the_study_changes(
    pipe: Pipeline,
) -> None:
    s = StudyBuilder()
    report = s.report("Baker's cyst.")
    pipe.send(report, at=0)
    pipe.archive_file(report.SOPInstanceUID).write_bytes(b"this is not DICOM any more")

    assert pipe.sweep(at=60) == 1
    study = pipe.study(s.uid)
    assert study.triage_state == TriageState.TRIAGED
    assert study.triage_outcome == "unreadable"
    assert study.triage_detail is not None
    assert report.SOPInstanceUID in study.triage_detail
    assert pipe.runs(s.uid)[0].detail == study.triage_detail
    assert pipe.sweep(at=3600) == 0  # not retried forever

    # new content (a corrected report) is triaged again
    pipe.send(s.report("Baker's cyst.", predecessors=[report]), at=4000)
    assert pipe.sweep(at=4060) == 1
    assert pipe.study(s.uid).triage_outcome == "flagged"
    assert pipe.study(s.uid).triage_detail is None
    assert len(pipe.runs(s.uid)) == 2


def test_a_missing_archive_file_makes_the_study_unreadable(pipe: Pipeline) -> None:
    s = StudyBuilder()
    report = s.report("Baker's cyst.")
    pipe.send(report, s.image(), at=0)
    pipe.archive_file(report.SOPInstanceUID).unlink()
    assert pipe.sweep(at=60) == 1
    study = pipe.study(s.uid)
    assert study.triage_outcome == "unreadable"
    assert study.triage_detail is not None
    assert "archive file missing" in study.triage_detail


def test_a_report_purged_by_retention_is_named_as_such(pipe: Pipeline) -> None:
    s = StudyBuilder()
    report = s.report("Baker's cyst.")
    pipe.send(report, s.image(), at=0)
    assert pipe.sweep(at=60) == 1
    # archive retention removed the files later; the index rows stay, marked purged
    for path in pipe.settings.archive_dir.rglob("*.dcm"):
        path.unlink()
    with pipe.engine.begin() as conn:
        conn.execute(text("UPDATE instance SET purged_at = received_at"))
    pipe.send(s.image(), at=100)  # new content: re-triage without the report's text
    assert pipe.sweep(at=160) == 1
    study = pipe.study(s.uid)
    assert study.triage_outcome == "unreadable"
    assert study.triage_detail == (
        f"report {report.SOPInstanceUID}: file removed by archive retention (retention_days)"
    )


def test_a_finding_beside_an_unreadable_report_still_flags(pipe: Pipeline) -> None:
    s = StudyBuilder()
    broken = s.report("Nothing to see.")
    pipe.send(broken, s.report("Joint effusion."), at=0)
    pipe.archive_file(broken.SOPInstanceUID).unlink()
    assert pipe.sweep(at=60) == 1
    study = pipe.study(s.uid)
    assert study.triage_outcome == "flagged"
    assert study.triage_detail is not None
    assert broken.SOPInstanceUID in study.triage_detail


def test_an_amended_report_replaces_its_predecessor(pipe: Pipeline) -> None:
    s = StudyBuilder()
    first = s.report("Baker's cyst. Joint effusion.")
    pipe.send(first, at=0)
    assert pipe.sweep(at=60) == 1
    kept_since = pipe.flags(s.uid)["bakers_cyst"].first_flagged_at

    # the amendment drops the effusion and adds a hematoma
    amended = s.report("Baker's cyst. Calf hematoma.", predecessors=[first])
    pipe.send(amended, at=100)
    assert pipe.study(s.uid).triage_state == TriageState.RECEIVING
    assert pipe.sweep(at=160) == 1
    flags = pipe.flags(s.uid)
    assert set(flags) == {"bakers_cyst", "hematoma"}
    assert flags["bakers_cyst"].first_flagged_at == kept_since
    assert flags["hematoma"].first_flagged_at == T0 + timedelta(seconds=160)
    # the superseded report is not evaluated: all evidence comes from the amendment
    assert {e["sop_instance_uid"] for f in flags.values() for e in f.evidence} == {
        amended.SOPInstanceUID
    }
    runs = pipe.runs(s.uid)
    assert [r.content_revision for r in runs] == [1, 2]


def test_a_new_report_adds_its_findings_to_the_study(pipe: Pipeline) -> None:
    s = StudyBuilder()
    left = s.report("Left leg: Baker's cyst.")
    pipe.send(left, at=0)
    assert pipe.sweep(at=60) == 1
    right = s.report("Right leg: Baker's cyst. Possible gout (double contour sign).")
    pipe.send(right, at=100)
    assert pipe.sweep(at=160) == 1
    flags = pipe.flags(s.uid)
    assert set(flags) == {"bakers_cyst", "gout"}
    cyst = flags["bakers_cyst"]
    assert cyst.laterality == "bilateral"
    assert [e["sop_instance_uid"] for e in cyst.evidence] == [
        left.SOPInstanceUID,
        right.SOPInstanceUID,
    ]
    item = pipe.item(s.uid)
    assert item is not None
    assert item.base_priority == "high"  # gout


def test_a_resent_revision_is_triaged_from_its_latest_content(pipe: Pipeline) -> None:
    s = StudyBuilder()
    report = s.report("Baker's cyst.")
    pipe.send(report, at=0)
    assert pipe.sweep(at=60) == 1
    # the same SOP instance, different content: a new revision
    corrected = s.report("No Baker's cyst. Muscle tear of the medial gastrocnemius.")
    corrected.SOPInstanceUID = report.SOPInstanceUID
    corrected.file_meta.MediaStorageSOPInstanceUID = report.SOPInstanceUID
    pipe.send(corrected, at=100)
    assert pipe.sweep(at=160) == 1
    assert set(pipe.flags(s.uid)) == {"muscle_injury"}


def test_a_finding_withdrawn_by_an_amendment_leaves_no_flag(pipe: Pipeline) -> None:
    s = StudyBuilder()
    first = s.report("Baker's cyst.")
    pipe.send(first, at=0)
    assert pipe.sweep(at=60) == 1
    pipe.send(s.report("No Baker's cyst.", predecessors=[first]), at=100)
    assert pipe.sweep(at=160) == 1
    assert pipe.flags(s.uid) == {}
    assert pipe.study(s.uid).triage_outcome == "no_findings"
    item = pipe.item(s.uid)
    assert item is not None
    assert item.state == "closed"
    assert item.outcome == "withdrawn"


def _snapshot(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    tables = ("study", "flag", "worklist_item", "triage_run", "audit_event", "routing_cursor")
    with engine.connect() as conn:
        return {
            t: [tuple(r) for r in conn.execute(text(f"SELECT * FROM {t} ORDER BY 1"))]
            for t in tables
        }


def test_sweeping_again_changes_nothing(pipe: Pipeline) -> None:
    studies = [StudyBuilder() for _ in range(3)]
    pipe.send(studies[0].report("Baker's cyst."), at=0)
    pipe.send(studies[1].report("No effusion."), at=0)
    pipe.send(studies[2].image(), at=0)
    assert pipe.sweep(at=60) == 3
    before = _snapshot(pipe.engine)
    assert pipe.sweep(at=61) == 0
    assert pipe.sweep(at=7200) == 0
    assert _snapshot(pipe.engine) == before


def test_retriage_of_an_identical_result_rewrites_nothing(pipe: Pipeline) -> None:
    """A change that does not change the findings (another image) re-triages the study:
    the flag rows stay as they were and the item keeps its state."""
    s = StudyBuilder()
    pipe.send(s.report("Baker's cyst."), at=0)
    assert pipe.sweep(at=60) == 1
    flag_before = pipe.flags(s.uid)["bakers_cyst"]
    pipe.send(s.image(), at=100)
    assert pipe.sweep(at=160) == 1
    flag_after = pipe.flags(s.uid)["bakers_cyst"]
    assert flag_after.id == flag_before.id
    assert flag_after.updated_at == flag_before.updated_at
    assert flag_after.first_flagged_at == flag_before.first_flagged_at
    assert len(pipe.runs(s.uid)) == 2


def test_retriage_keeps_the_review(pipe: Pipeline) -> None:
    s = StudyBuilder()
    first = s.report("Baker's cyst.")
    pipe.send(first, at=0)
    assert pipe.sweep(at=60) == 1
    item = pipe.item(s.uid)
    assert item is not None
    # a radiologist took the item and is reviewing it
    with Session(pipe.engine) as session, session.begin():
        row = session.get(WorklistItem, item.id)
        assert row is not None
        row.state = "in_review"
        row.assignee = "dr_who"
        row.assigned_at = T0 + timedelta(seconds=70)
        session.add(row)

    pipe.send(s.report("Baker's cyst. Abscess in the calf.", predecessors=[first]), at=100)
    assert pipe.sweep(at=160) == 1
    after = pipe.item(s.uid)
    assert after is not None
    assert after.id == item.id
    assert after.state == "in_review"
    assert after.assignee == "dr_who"
    assert after.base_priority == "urgent"
    assert after.amended_at == T0 + timedelta(seconds=160)
    assert set(pipe.flags(s.uid)) == {"bakers_cyst", "abscess"}


def test_counts_of_rows_after_many_studies(pipe: Pipeline) -> None:
    builders = [StudyBuilder() for _ in range(25)]  # more than a batch (10)
    for i, s in enumerate(builders):
        text_ = "Baker's cyst." if i % 2 else "No Baker's cyst."
        pipe.send(s.report(text_), at=i)
    assert pipe.sweep(at=200) == 25
    with Session(pipe.engine) as session:
        assert session.execute(select(func.count()).select_from(TriageRun)).scalar() == 25
        assert session.execute(select(func.count()).select_from(Flag)).scalar() == 12
        assert session.execute(select(func.count()).select_from(WorklistItem)).scalar() == 12
        assert session.execute(select(func.count()).select_from(AuditEvent)).scalar() is not None
