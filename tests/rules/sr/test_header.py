"""Header fields and header free text, for SR and image objects alike."""

from __future__ import annotations

import pytest
from pydicom.dataset import Dataset

from rules.sr import Code, SectionRole, TextSource, build, codes, read_document
from tests.rules.sr import samples


def test_sr_header_fields() -> None:
    study = build.Study(
        study_description="US VENOUS DUPLEX LEFT",
        procedure_code=Code("X-99999", "SRT", "Unmapped legacy code"),
    )
    first = build.sr_document(samples.diagnostic_content(), study=study)
    second = build.sr_document(samples.diagnostic_content(), study=study, predecessors=[first])
    third = build.sr_document(
        samples.diagnostic_content(), study=study, predecessors=[first, second], verified=True
    )
    doc = read_document(build.to_bytes(third))
    assert doc.sop_class_uid == build.COMPREHENSIVE_SR
    assert doc.sop_instance_uid == third.SOPInstanceUID
    assert doc.study_instance_uid == study.study_instance_uid
    assert doc.series_instance_uid == third.SeriesInstanceUID
    assert doc.modality == "SR"
    assert doc.study_description == "US VENOUS DUPLEX LEFT"
    assert doc.procedure_codes == (Code("X-99999", "SRT"),)  # no SCT equivalent: kept
    assert doc.predecessor_sop_instance_uids == (first.SOPInstanceUID, second.SOPInstanceUID)
    assert doc.completion_flag == "COMPLETE"
    assert doc.verification_flag == "VERIFIED"
    assert doc.item_count == 16
    assert doc.header_text == ()


def test_procedure_codes_are_mapped_to_sct() -> None:
    study = build.Study(procedure_code=Code("T-49403", "SRT", "Vein of lower extremity"))
    doc = read_document(build.to_bytes(build.us_image(study=study)))
    assert doc.procedure_codes == (codes.VEIN_OF_LOWER_EXTREMITY,)
    assert doc.procedure_codes[0].meaning == "Vein of lower extremity"


def test_partial_unverified_flags() -> None:
    ds = build.sr_document(samples.diagnostic_content(), complete=False)
    doc = read_document(build.to_bytes(ds))
    assert (doc.completion_flag, doc.verification_flag) == ("PARTIAL", "UNVERIFIED")


def test_sr_header_text_from_request() -> None:
    ds = build.sr_document(
        samples.diagnostic_content(),
        reason_for_procedure="Calf pain, ? Baker's cyst",
        additional_patient_history="Known gout",
    )
    doc = read_document(build.to_bytes(ds))
    assert [(h.source, h.text, h.section_role) for h in doc.header_text] == [
        (TextSource.ADDITIONAL_PATIENT_HISTORY, "Known gout", SectionRole.CLINICAL),
        (
            TextSource.REASON_FOR_REQUESTED_PROCEDURE,
            "Calf pain, ? Baker's cyst",
            SectionRole.CLINICAL,
        ),
    ]
    assert doc.header_text[1].path == "ReasonForTheRequestedProcedure"


def test_reasons_from_every_place_are_read_once_each() -> None:
    ds = build.us_image(reason_for_procedure="Swelling")
    ds.ReasonForTheRequestedProcedure = "Top level reason"
    again = Dataset()
    again.ReasonForTheRequestedProcedure = "Swelling"  # the same text, another place
    other = Dataset()
    other.ReasonForTheRequestedProcedure = "  Pain  "
    blank = Dataset()
    blank.ReasonForTheRequestedProcedure = "   "
    ds.ReferencedRequestSequence = [again, other, blank]
    doc = read_document(build.to_bytes(ds))
    assert [h.text for h in doc.header_text] == ["Top level reason", "Swelling", "Pain"]
    assert {h.section_role for h in doc.header_text} == {SectionRole.CLINICAL}


def test_image_comments_are_findings() -> None:
    doc = read_document(build.to_bytes(build.us_image(image_comments="Popliteal cyst.\n")))
    (comment,) = doc.header_text
    assert (comment.source, comment.text, comment.section_role) == (
        TextSource.IMAGE_COMMENTS,
        "Popliteal cyst.",
        SectionRole.FINDINGS,
    )


@pytest.mark.parametrize(
    ("keyword", "value", "side"),
    [
        ("ImageLaterality", "L", "left"),
        ("ImageLaterality", "R", "right"),
        ("ImageLaterality", "B", "bilateral"),
        ("ImageLaterality", "U", None),
        ("Laterality", "R", "right"),
        ("Laterality", "L", "left"),
    ],
)
def test_header_laterality(keyword: str, value: str, side: str | None) -> None:
    ds = build.us_image()
    setattr(ds, keyword, value)
    assert read_document(build.to_bytes(ds)).laterality == side


def test_image_laterality_wins_over_series_laterality() -> None:
    ds = build.us_image(laterality="left")
    ds.Laterality = "R"
    assert read_document(build.to_bytes(ds)).laterality == "left"


def test_sop_uids_fall_back_to_the_file_meta() -> None:
    ds = build.us_image()
    sop_class, sop_instance = ds.SOPClassUID, ds.SOPInstanceUID
    del ds.SOPClassUID
    del ds.SOPInstanceUID
    doc = read_document(build.to_bytes(ds))
    assert (doc.sop_class_uid, doc.sop_instance_uid) == (sop_class, sop_instance)
