"""Each SR class and each template shape reads into the tree the rules expect."""

from __future__ import annotations

import pytest

from rules.sr import (
    Code,
    ContentItem,
    Measurement,
    Relationship,
    SectionRole,
    SRDocument,
    ValueType,
    build,
    codes,
    iter_items,
    read_document,
)
from tests.rules.sr import samples


def _read(content: object, **kwargs: object) -> SRDocument:
    ds = build.sr_document(content, **kwargs)  # type: ignore[arg-type]
    return read_document(build.to_bytes(ds))


def _by_path(doc: SRDocument) -> dict[str, ContentItem]:
    return {item.path: item for item in iter_items(doc.root)}


def test_tid_2000_sections_items_and_roles() -> None:
    doc = _read(samples.diagnostic_content())
    items = _by_path(doc)
    root = doc.root
    assert root is not None
    assert root.concept == codes.DIAGNOSTIC_IMAGING_REPORT
    assert root.relationship is None
    assert [c.concept for c in root.children] == [
        codes.CLINICAL_INFORMATION,
        codes.FINDINGS,
        codes.IMPRESSIONS,
        codes.RECOMMENDATIONS,
        codes.SUMMARY,
    ]
    indication = items["1.1.1"]
    assert indication.value_type is ValueType.TEXT
    assert indication.concept == codes.INDICATIONS_FOR_PROCEDURE
    assert indication.text == "Swelling of the left calf; evaluate for Baker's cyst."
    assert indication.section_role is SectionRole.CLINICAL
    assert indication.sections == (codes.DIAGNOSTIC_IMAGING_REPORT, codes.CLINICAL_INFORMATION)
    assert items["1.1.2"].concept == codes.HISTORY
    assert items["1.1.2"].section_role is SectionRole.CLINICAL
    assert items["1.2.2"].text == "Small Baker's cyst."
    assert items["1.2.2"].section_role is SectionRole.FINDINGS
    assert items["1.3.1"].section_role is SectionRole.IMPRESSION
    assert items["1.4.1"].section_role is SectionRole.RECOMMENDATION
    assert items["1.5.1"].section_role is SectionRole.COMMENT
    assert items["1.5.1"].concept == codes.COMMENT
    assert doc.item_count == len(items) == 16
    assert doc.problems == ()


def test_coded_finding_keeps_its_modifiers_as_children() -> None:
    items = _by_path(_read(samples.diagnostic_content()))
    finding = items["1.2.3"]
    assert finding.value_type is ValueType.CODE
    assert finding.concept == codes.FINDING
    assert finding.code == codes.EFFUSION
    assert [(c.relationship, c.concept, c.code) for c in finding.children] == [
        (Relationship.HAS_CONCEPT_MOD, codes.FINDING_SITE, codes.KNEE_JOINT),
        (Relationship.HAS_PROPERTIES, codes.PRESENCE, codes.ABSENT),
    ]
    assert finding.finding_sites == (codes.KNEE_JOINT,)


def test_tid_5100_sections_carry_laterality_and_site_to_their_content() -> None:
    doc = _read(samples.vascular_content())
    assert doc.root is not None
    assert doc.root.concept == codes.VASCULAR_ULTRASOUND_REPORT
    sections = [c for c in doc.root.children if c.concept == codes.FINDINGS_DCM]
    assert [s.laterality for s in sections] == ["right", "left"]
    for section in sections:
        assert section.section_role is SectionRole.FINDINGS
        assert section.finding_sites == (codes.VEIN_OF_LOWER_EXTREMITY,)
        vessel = next(c for c in section.children if c.value_type is ValueType.CONTAINER)
        assert vessel.concept == codes.COMMON_FEMORAL_VEIN
        # A measurement group named by its vessel makes that vessel the site below it.
        assert vessel.finding_sites == (codes.COMMON_FEMORAL_VEIN,)
        velocity = vessel.children[0]
        assert velocity.value_type is ValueType.NUM
        assert velocity.concept == codes.PEAK_SYSTOLIC_VELOCITY
        assert velocity.measurement == Measurement(30.0, codes.CM_PER_S)
        assert velocity.laterality == section.laterality
        assert velocity.sections[-1] == codes.COMMON_FEMORAL_VEIN
        text = next(c for c in section.children if c.value_type is ValueType.TEXT)
        assert text.laterality == section.laterality
        assert text.finding_sites == (codes.VEIN_OF_LOWER_EXTREMITY,)
    cyst = next(
        i for i in iter_items(doc.root) if i.value_type is ValueType.CODE and i.code == codes.CYST
    )
    assert cyst.laterality == "left"
    assert cyst.finding_sites == (codes.POPLITEAL_FOSSA,)
    characteristics = next(
        c for c in doc.root.children if c.concept == codes.PATIENT_CHARACTERISTICS
    )
    assert characteristics.children[0].section_role is SectionRole.CLINICAL
    summary = doc.root.children[-1]
    assert summary.children[0].section_role is SectionRole.COMMENT
    assert 45 <= doc.item_count <= 55
    assert doc.problems == ()


def test_tid_1500_measurement_groups() -> None:
    doc = _read(samples.measurement_content())
    items = list(iter_items(doc.root))
    groups = [i for i in items if i.concept == codes.MEASUREMENT_GROUP]
    assert len(groups) == 2
    first, second = groups
    assert first.section_role is SectionRole.FINDINGS  # under Imaging Measurements
    assert first.finding_sites == (codes.POPLITEAL_FOSSA,)
    assert first.laterality == "right"  # from the laterality on its finding site
    finding = next(c for c in first.children if c.concept == codes.FINDING)
    assert finding.code == codes.CYST
    assert finding.finding_sites == (codes.POPLITEAL_FOSSA,)
    assert finding.laterality == "right"
    lengths = [c.measurement for c in first.children if c.value_type is ValueType.NUM]
    assert lengths == [Measurement(2.8, codes.CM), Measurement(1.1, codes.CM)]
    tracking = [c for c in first.children if c.relationship is Relationship.HAS_OBS_CONTEXT]
    assert tracking[0].text == "cyst-1"
    assert tracking[1].value_type is ValueType.UIDREF
    assert tracking[1].text is not None
    assert tracking[1].text.startswith("1.2.")
    assert second.finding_sites == (codes.KNEE_JOINT,)
    assert second.laterality is None
    observer = next(i for i in items if i.value_type is ValueType.PNAME)
    assert observer.text == "Sonographer^Sam"
    assert doc.problems == ()


@pytest.mark.parametrize(
    "sop_class",
    [
        build.BASIC_TEXT_SR,
        build.ENHANCED_SR,
        build.COMPREHENSIVE_SR,
        build.COMPREHENSIVE_3D_SR,
        build.EXTENSIBLE_SR,
    ],
)
def test_every_sr_class_reads(sop_class: str) -> None:
    content = build.diagnostic_report(findings=["Small Baker's cyst."])
    doc = _read(content, sop_class=sop_class)
    assert doc.sop_class_uid == sop_class
    assert doc.modality == "SR"
    items = _by_path(doc)
    assert items["1.1.1"].text == "Small Baker's cyst."
    assert items["1.1.1"].section_role is SectionRole.FINDINGS


def test_enhanced_sr_with_measurements() -> None:
    content = build.root(
        codes.DIAGNOSTIC_IMAGING_REPORT,
        [
            build.container(
                codes.FINDINGS,
                [
                    build.text(codes.FINDING, "Cyst measures 3 cm."),
                    build.num(codes.LENGTH, 3.0, codes.CM),
                ],
            )
        ],
    )
    doc = _read(content, sop_class=build.ENHANCED_SR)
    num = _by_path(doc)["1.1.2"]
    assert num.measurement == Measurement(3.0, codes.CM)
    assert num.section_role is SectionRole.FINDINGS


def test_other_sr_like_class_is_read_gracefully() -> None:
    """Key Object Selection (not a class our builder makes) still reads as a tree."""
    ds = build.sr_document(build.diagnostic_report(comments=["Key images."]))
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.88.59"
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    doc = read_document(build.to_bytes(ds))
    assert doc.sop_class_uid == "1.2.840.10008.5.1.4.1.1.88.59"
    assert doc.root is not None
    assert doc.root.children[0].children[0].text == "Key images."


def test_us_image_has_no_tree_but_header_text() -> None:
    ds = build.us_image(
        image_comments="Baker's cyst left",
        additional_patient_history="Gout",
        reason_for_procedure="Calf pain",
        laterality="left",
    )
    doc = read_document(build.to_bytes(ds))
    assert doc.root is None
    assert doc.item_count == 0
    assert doc.modality == "US"
    assert doc.laterality == "left"
    assert [(h.path, h.text, h.section_role) for h in doc.header_text] == [
        ("ImageComments", "Baker's cyst left", SectionRole.FINDINGS),
        ("AdditionalPatientHistory", "Gout", SectionRole.CLINICAL),
        ("ReasonForTheRequestedProcedure", "Calf pain", SectionRole.CLINICAL),
    ]
    assert doc.problems == ()


def test_codes_compare_on_value_and_scheme_only() -> None:
    items = _by_path(_read(samples.diagnostic_content()))
    assert items["1.2.1"].concept == Code("121071", "DCM", "a different meaning")
    assert items["1.2.1"].concept is not None
    assert items["1.2.1"].concept.meaning == "Finding"
