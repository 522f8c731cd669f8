"""By-reference relationships: resolved as children, without loops."""

from __future__ import annotations

from pydicom.dataset import Dataset

from rules.sr import (
    ContentItem,
    Relationship,
    SectionRole,
    SRDocument,
    build,
    codes,
    iter_items,
    read_document,
)
from rules.sr.vocab import Presence
from tests.rules.sr import rawdicom as raw


def _doc(*sections: Dataset) -> SRDocument:
    content = build.root(codes.DIAGNOSTIC_IMAGING_REPORT, sections)
    return read_document(build.to_bytes(build.sr_document(content)))


def _items(doc: SRDocument) -> dict[str, ContentItem]:
    return {i.path: i for i in iter_items(doc.root)}


def _findings_and_impression(*impression_children: Dataset) -> SRDocument:
    return _doc(
        build.container(
            codes.FINDINGS,
            [
                build.text(codes.FINDING, "Baker's cyst."),
                build.coded_finding(
                    codes.CYST, site=codes.POPLITEAL_FOSSA, presence=Presence.PRESENT
                ),
            ],
        ),
        build.container(
            codes.IMPRESSIONS,
            [build.text(codes.IMPRESSION, "Cyst.", children=list(impression_children))],
        ),
    )


def test_reference_appears_as_a_child_with_its_source() -> None:
    doc = _findings_and_impression(build.reference("1.1.1"))
    impression = _items(doc)["1.2.1"]
    (copy,) = impression.children
    assert copy.path == "1.1.1"
    assert copy.referenced_from == "1.2.1"
    assert copy.relationship is Relationship.INFERRED_FROM
    assert copy.text == "Baker's cyst."
    assert copy.section_role is SectionRole.FINDINGS  # its own place decides its context
    assert doc.problems == ()
    assert doc.item_count == 8  # copies are not counted


def test_referenced_subtree_comes_along() -> None:
    doc = _findings_and_impression(build.reference("1.1.2", Relationship.HAS_PROPERTIES))
    (copy,) = _items(doc)["1.2.1"].children
    assert copy.code == codes.CYST
    assert copy.relationship is Relationship.HAS_PROPERTIES
    assert [c.concept for c in copy.children] == [codes.FINDING_SITE, codes.PRESENCE]
    assert copy.finding_sites == (codes.POPLITEAL_FOSSA,)


def test_forward_reference_resolves() -> None:
    doc = _doc(
        build.container(codes.FINDINGS, [build.text(codes.FINDING, "A.", children=[
            build.reference("1.2.1")
        ])]),
        build.container(codes.IMPRESSIONS, [build.text(codes.IMPRESSION, "B.")]),
    )  # fmt: skip
    (copy,) = _items(doc)["1.1.1"].children
    assert copy.path == "1.2.1"
    assert copy.text == "B."


def test_iter_items_skips_copies_unless_asked() -> None:
    doc = _findings_and_impression(build.reference("1.1.1"))
    plain = [i.path for i in iter_items(doc.root)]
    assert plain.count("1.1.1") == 1
    with_refs = [i.path for i in iter_items(doc.root, references=True)]
    assert with_refs.count("1.1.1") == 2


def test_dangling_reference_is_recorded_and_skipped() -> None:
    doc = _findings_and_impression(build.reference("1.7.3"))
    assert _items(doc)["1.2.1"].children == ()
    assert [(p.path, p.reason) for p in doc.problems] == [
        ("1.2.1.1", "reference to 1.7.3, which does not exist")
    ]


def test_reference_to_an_ancestor_is_a_loop() -> None:
    doc = _findings_and_impression(build.reference("1.2"))
    assert _items(doc)["1.2.1"].children == ()
    assert [(p.path, p.reason) for p in doc.problems] == [
        ("1.2.1.1", "reference to 1.2 loops back on itself")
    ]


def test_cycle_between_subtrees_is_broken_once() -> None:
    """1.1.1 shows 1.2.1 (whose subtree shows 1.1.1 again): one of them must go."""
    doc = _doc(
        build.container(codes.FINDINGS, [
            build.text(codes.FINDING, "A.", children=[build.reference("1.2.1")])
        ]),
        build.container(codes.IMPRESSIONS, [
            build.text(codes.IMPRESSION, "B.", children=[build.reference("1.1.1")])
        ]),
    )  # fmt: skip
    assert len(doc.problems) == 1
    assert doc.problems[0].reason.endswith("makes a cycle: skipped")
    items = _items(doc)
    a, b = items["1.1.1"], items["1.2.1"]
    assert len(a.children) + len(b.children) == 1
    all_items = list(iter_items(doc.root, references=True))
    assert len(all_items) == doc.item_count + 1  # one copy, its own reference broken


def test_three_way_cycle() -> None:
    doc = _doc(
        build.container(codes.FINDINGS, [
            build.text(codes.FINDING, "A.", children=[build.reference("1.1.2")]),
            build.text(codes.FINDING, "B.", children=[build.reference("1.1.3")]),
            build.text(codes.FINDING, "C.", children=[build.reference("1.1.1")]),
        ]),
    )  # fmt: skip
    cycles = [p for p in doc.problems if "cycle" in p.reason]
    assert len(cycles) == 1
    assert sum(len(i.children) for i in iter_items(doc.root)) == 1 + 3 + 2  # +2 copies


def test_two_references_to_one_target() -> None:
    doc = _findings_and_impression(build.reference("1.1.1"), build.reference("1.1.2"))
    copies = _items(doc)["1.2.1"].children
    assert [c.path for c in copies] == ["1.1.1", "1.1.2"]
    assert doc.problems == ()


def test_malformed_reference_identifier() -> None:
    bad = raw.content_item(
        None,
        relationship="INFERRED FROM",
        concept=None,
        extra=raw.element(raw.REFERENCED_ID, "UL", b"\x01\x00\x00\x00\x02\x00"),
    )
    not_a_path = raw.content_item(
        None,
        relationship="INFERRED FROM",
        concept=None,
        extra=raw.element(raw.REFERENCED_ID, "UL", b"\x02\x00\x00\x00"),
    )
    data = raw.sr_file([raw.content_item("TEXT", text="A.", children=[bad, not_a_path])])
    doc = read_document(data)
    assert doc.root is not None
    assert doc.root.children[0].children == ()
    assert [p.path for p in doc.problems] == ["1.1.1", "1.1.2"]
    assert "malformed" in doc.problems[0].reason
    assert "not a path" in doc.problems[1].reason
