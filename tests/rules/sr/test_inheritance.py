"""Laterality and finding sites are inherited from the nearest level that states them."""

from __future__ import annotations

from pydicom.dataset import Dataset

from rules.sr import (
    Code,
    ContentItem,
    Relationship,
    SRDocument,
    build,
    codes,
    iter_items,
    read_document,
)
from rules.sr.vocab import Presence
from tests.rules.sr import samples

LOCAL = Code("99003", "99LOCAL", "Local text")


def _doc(*children: Dataset, header_laterality: str | None = None) -> SRDocument:
    ds = build.sr_document(build.root(codes.VASCULAR_ULTRASOUND_REPORT, children))
    if header_laterality is not None:
        ds.Laterality = header_laterality
    return read_document(build.to_bytes(ds))


def _texts(doc: SRDocument) -> dict[str, ContentItem]:
    return {i.text: i for i in iter_items(doc.root) if i.text is not None}


def _section(side: str | None, site: Code | None, *items: Dataset) -> Dataset:
    mods = []
    if site is not None:
        mods.append(build.code(codes.FINDING_SITE, site, Relationship.HAS_CONCEPT_MOD))
    if side is not None:
        mods.append(build.laterality_modifier(side))
    return build.container(codes.FINDINGS_DCM, [*mods, *items])


def test_item_level_modifiers_beat_the_section() -> None:
    doc = _doc(
        _section(
            "left",
            codes.VEIN_OF_LOWER_EXTREMITY,
            build.text(LOCAL, "plain"),
            build.text(
                LOCAL,
                "own side",
                children=[build.laterality_modifier("right")],
            ),
            build.text(
                LOCAL,
                "own site",
                children=[build.finding_site(codes.POPLITEAL_FOSSA)],
            ),
            build.container(
                LOCAL, [build.laterality_modifier("bilateral"), build.text(LOCAL, "deeper")]
            ),
        )
    )
    texts = _texts(doc)
    assert (texts["plain"].laterality, texts["plain"].finding_sites) == (
        "left",
        (codes.VEIN_OF_LOWER_EXTREMITY,),
    )
    assert texts["own side"].laterality == "right"
    assert texts["own site"].laterality == "left"
    assert texts["own site"].finding_sites == (codes.POPLITEAL_FOSSA,)
    assert texts["deeper"].laterality == "bilateral"
    assert texts["deeper"].finding_sites == (codes.VEIN_OF_LOWER_EXTREMITY,)


def test_header_laterality_is_the_fallback() -> None:
    doc = _doc(
        _section(None, None, build.text(LOCAL, "no side")),
        _section("left", None, build.text(LOCAL, "left side")),
        header_laterality="R",
    )
    assert doc.laterality == "right"
    texts = _texts(doc)
    assert texts["no side"].laterality == "right"
    assert texts["left side"].laterality == "left"


def test_unilateral_is_not_a_side() -> None:
    unilateral = build.code(
        codes.LATERALITY, Code("66459002", "SCT", "Unilateral"), Relationship.HAS_CONCEPT_MOD
    )
    doc = _doc(build.container(codes.FINDINGS_DCM, [unilateral, build.text(LOCAL, "t")]))
    assert _texts(doc)["t"].laterality is None


def test_several_sites_are_kept_in_order() -> None:
    doc = _doc(
        build.text(
            LOCAL,
            "two sites",
            children=[
                build.finding_site(codes.POPLITEAL_FOSSA),
                build.finding_site(codes.KNEE_JOINT),
            ],
        )
    )
    assert _texts(doc)["two sites"].finding_sites == (codes.POPLITEAL_FOSSA, codes.KNEE_JOINT)


def test_site_laterality_lifts_to_the_item() -> None:
    finding = build.coded_finding(codes.CYST, presence=Presence.PRESENT)
    finding.ContentSequence.insert(0, build.finding_site(codes.POPLITEAL_FOSSA, laterality="left"))
    doc = _doc(finding)
    cyst = next(i for i in iter_items(doc.root) if i.code == codes.CYST)
    assert cyst.laterality == "left"
    assert cyst.finding_sites == (codes.POPLITEAL_FOSSA,)


def test_legacy_srt_codes_give_the_same_tree() -> None:
    ds = build.sr_document(samples.vascular_content())
    modern = read_document(build.to_bytes(ds))
    legacy_ds = build.to_legacy_snomed(ds)
    section = legacy_ds.ContentSequence[3]
    site = section.ContentSequence[0]
    assert site.ConceptNameCodeSequence[0].CodeValue == "G-C0E3"
    assert site.ConceptNameCodeSequence[0].CodingSchemeDesignator == "SRT"
    legacy = read_document(build.to_bytes(legacy_ds))
    assert legacy.root is not None
    assert legacy.root == modern.root
    sides = [s.laterality for s in legacy.root.children if s.concept == codes.FINDINGS_DCM]
    assert sides == ["right", "left"]
