"""The small query API over a content tree."""

from __future__ import annotations

from pydicom.dataset import Dataset

from rules.sr import (
    Code,
    ContentItem,
    Presence,
    Relationship,
    build,
    codes,
    iter_items,
    modifier_codes,
    modifiers,
    presence,
    read_document,
)

UNDETERMINED = Code("121059", "DCM", "Presence Undetermined")


def _first(content: Dataset) -> ContentItem:
    doc = read_document(build.sr_document(build.root(codes.FINDINGS, [content])))
    assert doc.root is not None
    return doc.root.children[0]


def test_modifiers_and_their_codes() -> None:
    finding = _first(
        build.coded_finding(
            codes.CYST, site=codes.POPLITEAL_FOSSA, presence=Presence.PRESENT, laterality="left"
        )
    )
    (site,) = modifiers(finding, [codes.FINDING_SITE])
    assert site.code == codes.POPLITEAL_FOSSA
    assert modifier_codes(finding, [codes.FINDING_SITE]) == (codes.POPLITEAL_FOSSA,)
    # Legacy codes are accepted in the question too.
    assert modifier_codes(finding, [Code("G-C171", "SRT")]) == (codes.LEFT,)
    assert modifier_codes(finding, [codes.FINDING_SITE, codes.LATERALITY]) == (
        codes.POPLITEAL_FOSSA,
        codes.LEFT,
    )
    assert modifiers(finding, [codes.COMMENT]) == ()


def test_contains_children_are_not_modifiers() -> None:
    item = _first(
        build.text(codes.FINDING, "x", children=[build.code(codes.FINDING_SITE, codes.KNEE_JOINT)])
    )
    assert modifiers(item, [codes.FINDING_SITE]) == ()


def test_presence() -> None:
    assert presence(_first(build.coded_finding(codes.CYST, presence=Presence.ABSENT))) is (
        Presence.ABSENT
    )
    assert presence(_first(build.coded_finding(codes.CYST, presence=Presence.PRESENT))) is (
        Presence.PRESENT
    )
    assert presence(_first(build.coded_finding(codes.CYST))) is None
    older = build.code(
        codes.FINDING,
        codes.CYST,
        children=[build.code(codes.PRESENCE, UNDETERMINED, Relationship.HAS_PROPERTIES)],
    )
    assert presence(_first(older)) is Presence.UNDETERMINED
    legacy = build.to_legacy_snomed(build.coded_finding(codes.CYST, presence=Presence.PRESENT))
    assert presence(_first(legacy)) is Presence.PRESENT


def test_iter_items_is_pre_order() -> None:
    content = build.container(
        codes.FINDINGS,
        [
            build.text(codes.FINDING, "a", children=[build.text(codes.COMMENT, "a1")]),
            build.text(codes.FINDING, "b"),
        ],
    )
    doc = read_document(build.sr_document(build.root(codes.DIAGNOSTIC_IMAGING_REPORT, [content])))
    assert [i.path for i in iter_items(doc.root)] == ["1", "1.1", "1.1.1", "1.1.1.1", "1.1.2"]
    assert list(iter_items(None)) == []
