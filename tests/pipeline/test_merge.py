"""Per-document flags merged into one flag per finding per study (pure)."""

from __future__ import annotations

from rules.context.model import Certainty
from rules.flags import Evidence, Flag, Laterality
from rules.sr.model import Code, Measurement
from triage.pipeline.merge import DocumentFlags, combine_sides, merge_flags, most_urgent

CM = Code("cm", "UCUM", "centimeter")


def _flag(
    finding: str = "bakers_cyst",
    *,
    certainty: Certainty = Certainty.DEFINITE,
    side: Laterality | None = None,
    priority: str = "routine",
    rule: str = "r1",
    text: str = "Baker's cyst.",
    measurements: tuple[Measurement, ...] = (),
) -> Flag:
    return Flag(
        finding=finding,
        rule=rule,
        rule_version="1",
        priority=priority,
        certainty=certainty,
        laterality=side,
        evidence=(Evidence("1.1", Code("121071", "DCM", "Finding"), text, (0, 5)),),
        measurements=measurements,
    )


def test_one_document_passes_through_with_its_uid() -> None:
    (flag,) = merge_flags([DocumentFlags("1.2.3", (_flag(side=Laterality.LEFT),))])
    assert flag.finding == "bakers_cyst"
    assert flag.certainty == "definite"
    assert flag.laterality == "left"
    assert flag.evidence == (
        {
            "sop_instance_uid": "1.2.3",
            "item_path": "1.1",
            "concept": {"value": "121071", "scheme": "DCM", "meaning": "Finding"},
            "text": "Baker's cyst.",
            "span": [0, 5],
        },
    )


def test_definite_wins_and_leads_the_evidence() -> None:
    possible = _flag(certainty=Certainty.POSSIBLE, rule="possible-rule", text="Possible cyst.")
    definite = _flag(rule="definite-rule", text="Cyst.")
    (flag,) = merge_flags([DocumentFlags("1.1", (possible,)), DocumentFlags("1.2", (definite,))])
    assert flag.certainty == "definite"
    assert flag.rule == "definite-rule"
    assert [e["sop_instance_uid"] for e in flag.evidence] == ["1.2", "1.1"]


def test_possible_everywhere_stays_possible() -> None:
    docs = [DocumentFlags(uid, (_flag(certainty=Certainty.POSSIBLE),)) for uid in ("1", "2")]
    (flag,) = merge_flags(docs)
    assert flag.certainty == "possible"
    assert len(flag.evidence) == 2


def test_sides_combine() -> None:
    docs = [
        DocumentFlags("1", (_flag(side=Laterality.LEFT),)),
        DocumentFlags("2", (_flag(side=None),)),
        DocumentFlags("3", (_flag(side=Laterality.RIGHT),)),
    ]
    assert merge_flags(docs)[0].laterality == "bilateral"
    assert combine_sides(["left", None, "left"]) == "left"
    assert combine_sides([None]) is None
    assert combine_sides(["bilateral", "left"]) == "bilateral"


def test_the_most_urgent_priority_wins() -> None:
    docs = [
        DocumentFlags("1", (_flag("soft_tissue_mass", priority="routine"),)),
        DocumentFlags("2", (_flag("soft_tissue_mass", priority="urgent"),)),
    ]
    assert merge_flags(docs)[0].priority == "urgent"
    assert most_urgent(["routine", "high"]) == "high"


def test_findings_in_vocabulary_order_and_measurements_once() -> None:
    size = Measurement(3.0, CM)
    docs = [
        DocumentFlags("1", (_flag("gout"), _flag(measurements=(size,)))),
        DocumentFlags("2", (_flag(measurements=(size,)),)),
    ]
    flags = merge_flags(docs)
    assert [f.finding for f in flags] == ["bakers_cyst", "gout"]
    assert flags[0].measurements == (
        {"value": 3.0, "unit": {"value": "cm", "scheme": "UCUM", "meaning": "centimeter"}},
    )


def test_supersession_applies_across_documents() -> None:
    docs = [
        DocumentFlags("1", (_flag("bakers_cyst"),)),
        DocumentFlags("2", (_flag("ruptured_bakers_cyst", priority="high"),)),
    ]
    flags = merge_flags(docs, {"bakers_cyst": "ruptured_bakers_cyst"})
    assert [f.finding for f in flags] == ["ruptured_bakers_cyst"]
    assert merge_flags(docs[:1], {"bakers_cyst": "ruptured_bakers_cyst"})[0].finding == (
        "bakers_cyst"
    )


def test_nothing_in_nothing_out() -> None:
    assert merge_flags([]) == ()
    assert merge_flags([DocumentFlags("1", ())]) == ()
