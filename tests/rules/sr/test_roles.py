"""Section roles come from the concept table; the nearest classified level wins."""

from __future__ import annotations

import pytest

from rules.sr import Code, Relationship, SectionRole, SRDocument, build, codes, read_document

UNKNOWN_HEADING = Code("99001", "99LOCAL", "Local heading")
UNKNOWN_TEXT = Code("99002", "99LOCAL", "Local text")


def _doc(*sections: object) -> SRDocument:
    content = build.root(codes.DIAGNOSTIC_IMAGING_REPORT, sections)  # type: ignore[arg-type]
    return read_document(build.to_bytes(build.sr_document(content)))


@pytest.mark.parametrize(
    ("heading", "role"),
    [
        (Code("59776-5", "LN", "Findings"), SectionRole.FINDINGS),
        (Code("121070", "DCM", "Findings"), SectionRole.FINDINGS),
        (Code("19005-8", "LN", "Impressions"), SectionRole.IMPRESSION),
        (Code("121072", "DCM", "Impressions"), SectionRole.IMPRESSION),
        (Code("55110-1", "LN", "Conclusions"), SectionRole.IMPRESSION),
        (Code("55752-0", "LN", "Clinical Information"), SectionRole.CLINICAL),
        (Code("121060", "DCM", "History"), SectionRole.CLINICAL),
        (Code("11329-0", "LN", "History"), SectionRole.CLINICAL),
        (Code("121109", "DCM", "Indications for Procedure"), SectionRole.CLINICAL),
        (Code("18785-6", "LN", "Indications for Procedure"), SectionRole.CLINICAL),
        (Code("122139", "DCM", "Reason for Study"), SectionRole.CLINICAL),
        (Code("55111-9", "LN", "Current Procedure Descriptions"), SectionRole.CLINICAL),
        (Code("121064", "DCM", "Current Procedure Descriptions"), SectionRole.CLINICAL),
        (Code("18834-2", "LN", "Previous Findings"), SectionRole.CLINICAL),
        (Code("18783-1", "LN", "Recommendations"), SectionRole.RECOMMENDATION),
        (Code("121074", "DCM", "Recommendations"), SectionRole.RECOMMENDATION),
        (Code("121111", "DCM", "Summary"), SectionRole.COMMENT),
        (Code("55107-7", "LN", "Addendum"), SectionRole.COMMENT),
        (UNKNOWN_HEADING, SectionRole.UNKNOWN),
    ],
)
def test_heading_sets_the_role_of_its_content(heading: Code, role: SectionRole) -> None:
    doc = _doc(build.container(heading, [build.text(UNKNOWN_TEXT, "Some text.")]))
    assert doc.root is not None
    section = doc.root.children[0]
    assert section.section_role is role
    assert section.children[0].section_role is role
    assert section.children[0].sections == (codes.DIAGNOSTIC_IMAGING_REPORT, heading)


@pytest.mark.parametrize(
    ("concept", "role"),
    [
        (Code("121071", "DCM", "Finding"), SectionRole.FINDINGS),
        (Code("121073", "DCM", "Impression"), SectionRole.IMPRESSION),
        (Code("121075", "DCM", "Recommendation"), SectionRole.RECOMMENDATION),
        (Code("121106", "DCM", "Comment"), SectionRole.COMMENT),
        (Code("121109", "DCM", "Indications for Procedure"), SectionRole.CLINICAL),
        (Code("121060", "DCM", "History"), SectionRole.CLINICAL),
    ],
)
def test_an_items_own_concept_counts(concept: Code, role: SectionRole) -> None:
    """A TEXT "Indications for Procedure" is clinical even directly under the root."""
    doc = _doc(build.text(concept, "Text."))
    assert doc.root is not None
    assert doc.root.children[0].section_role is role


def test_own_concept_beats_the_enclosing_section() -> None:
    doc = _doc(
        build.container(
            codes.FINDINGS, [build.text(codes.INDICATIONS_FOR_PROCEDURE, "Rule out cyst.")]
        )
    )
    assert doc.root is not None
    assert doc.root.children[0].children[0].section_role is SectionRole.CLINICAL


def test_nearest_classified_section_wins() -> None:
    doc = _doc(
        build.container(
            codes.FINDINGS,
            [
                build.container(
                    codes.CLINICAL_INFORMATION,
                    [build.container(UNKNOWN_HEADING, [build.text(UNKNOWN_TEXT, "Gout.")])],
                ),
                build.container(UNKNOWN_HEADING, [build.text(UNKNOWN_TEXT, "Cyst.")]),
            ],
        ),
        build.container(
            codes.CLINICAL_INFORMATION,
            [build.container(codes.FINDINGS, [build.text(UNKNOWN_TEXT, "Effusion.")])],
        ),
    )
    assert doc.root is not None
    findings, clinical = doc.root.children
    gout = findings.children[0].children[0].children[0]
    assert gout.text == "Gout."
    assert gout.section_role is SectionRole.CLINICAL
    assert gout.sections == (
        codes.DIAGNOSTIC_IMAGING_REPORT,
        codes.FINDINGS,
        codes.CLINICAL_INFORMATION,
        UNKNOWN_HEADING,
    )
    assert findings.children[1].children[0].section_role is SectionRole.FINDINGS
    assert clinical.children[0].children[0].section_role is SectionRole.FINDINGS


def test_non_container_ancestors_pass_their_role_down() -> None:
    """Content under a coded Indication item is clinical too, though that item is not a
    container (so it is not in ``sections``)."""
    doc = _doc(
        build.code(
            codes.INDICATIONS_FOR_PROCEDURE,
            codes.CYST,
            children=[build.text(UNKNOWN_TEXT, "Known cyst.", Relationship.HAS_PROPERTIES)],
        )
    )
    assert doc.root is not None
    child = doc.root.children[0].children[0]
    assert child.section_role is SectionRole.CLINICAL
    assert child.sections == (codes.DIAGNOSTIC_IMAGING_REPORT,)


def test_role_concept_names_what_gave_the_role() -> None:
    doc = _doc(
        build.container(
            codes.FINDINGS,
            [
                build.code(
                    codes.INDICATIONS_FOR_PROCEDURE,
                    codes.CYST,
                    children=[build.text(UNKNOWN_TEXT, "Known cyst.", Relationship.HAS_PROPERTIES)],
                ),
                build.text(UNKNOWN_TEXT, "Plain."),
            ],
        ),
        build.text(UNKNOWN_TEXT, "Outside."),
    )
    assert doc.root is not None
    findings, outside = doc.root.children
    indication, plain = findings.children
    assert findings.role_concept == codes.FINDINGS
    assert indication.role_concept == codes.INDICATIONS_FOR_PROCEDURE
    assert indication.children[0].role_concept == codes.INDICATIONS_FOR_PROCEDURE
    assert plain.role_concept == codes.FINDINGS
    assert (outside.section_role, outside.role_concept) == (SectionRole.UNKNOWN, None)


def test_container_without_a_heading_is_kept() -> None:
    """Concept names are optional on containers below the root (PS3.3 C.17.3)."""
    untitled = build.container(codes.FINDINGS, [build.text(codes.FINDING, "Cyst.")])
    del untitled.ConceptNameCodeSequence
    doc = _doc(build.container(codes.IMPRESSIONS, [untitled]))
    assert doc.problems == ()
    assert doc.root is not None
    inner = doc.root.children[0].children[0]
    assert inner.concept is None
    assert inner.children[0].text == "Cyst."
    assert inner.children[0].sections == (codes.DIAGNOSTIC_IMAGING_REPORT, codes.IMPRESSIONS)
    assert inner.children[0].section_role is SectionRole.FINDINGS  # its own concept
