"""Engine semantics on small rule sets and documents built directly."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from rules.api import evaluate, load_ruleset
from rules.engine.compiled import RuleSet, compile_rules
from rules.flags import Decision, Evaluation, Laterality
from rules.ruleset.loader import load_texts
from rules.sr import codes
from rules.sr.model import Code, SectionRole
from tests.rules.engine import docs

RULES = """\
rules:
  - id: t.bakers
    version: 3
    finding: bakers_cyst
    match:
      terms: [Baker's cyst, popliteal cyst]
  - id: t.bakers.described
    version: 1
    finding: bakers_cyst
    certainty: possible
    match:
      terms: [cyst]
      near:
        terms: [popliteal fossa]
        within: 4
      exclude:
        - phrases: [ganglion cyst]
  - id: t.ruptured
    version: 1
    finding: ruptured_bakers_cyst
    match:
      terms: [ruptured Baker's cyst]
  - id: t.effusion
    version: 1
    finding: joint_effusion
    match:
      terms: [effusion, haemarthrosis]
      exclude:
        - phrases: [pleural effusion]
        - phrases: [ascites]
          within: sentence
      coded:
        findings: ["SCT:41699000"]
        sites: ["SCT:49076000"]
  - id: t.hematoma.coded
    version: 1
    finding: hematoma
    match:
      coded:
        findings: ["SRT:M-35060"]
        presence: required
  - id: t.fb
    version: 1
    finding: foreign_body
    priority: urgent
    match:
      abbreviations: [FB]
      terms: [foreign body]
  - id: t.achilles
    version: 1
    finding: tendon_abnormality
    match:
      measurements:
        concepts: ["SCT:131197000"]
        sites: ["SCT:61352006"]
        comparator: ">"
        threshold: 6
        unit: mm
  - id: t.mass.scoped
    version: 1
    finding: soft_tissue_mass
    scope:
      modalities: [SR]
      study_descriptions: ["US * LOWER EXTREMITY"]
      section_roles: [findings, impression]
    match:
      terms: [lipoma]
"""

DEPTH = Code("131197000", "SCT", "Depth")
ACHILLES = Code("61352006", "SCT", "Achilles tendon")


@pytest.fixture(scope="module")
def rs() -> RuleSet:
    return compile_rules(load_texts([("t.yaml", RULES)]))


def _only(result: Evaluation, finding: str | None = None) -> tuple[Decision, str]:
    found = [c for c in result.candidates if finding is None or c.finding == finding]
    assert len(found) == 1, result.candidates
    return found[0].decision, found[0].reason


def test_a_term_flags_with_its_exact_span_rule_and_version(rs: RuleSet) -> None:
    doc = docs.texts("Incidental 2 cm BAKERS CYST on the left.")
    result = evaluate(doc, rs)
    (flag,) = result.flags
    assert (flag.finding, flag.rule, flag.rule_version) == ("bakers_cyst", "t.bakers", "3")
    assert (flag.certainty.value, flag.laterality, flag.priority) == ("definite", "left", "routine")
    ev = flag.evidence[0]
    assert (ev.item_path, ev.concept) == ("1.1", codes.FINDING)
    assert ev.span is not None
    assert ev.text[ev.span[0] : ev.span[1]] == "BAKERS CYST"
    assert result.ruleset_version == rs.version


def test_variants_match_british_spelling_and_plurals(rs: RuleSet) -> None:
    result = evaluate(docs.texts("Haemarthroses in both knees; Baker cysts."), rs)
    assert {f.finding for f in result.flags} == {"joint_effusion", "bakers_cyst"}


def test_near_context_is_required_and_widens_the_evidence(rs: RuleSet) -> None:
    missing = evaluate(docs.texts("A small cyst is seen."), rs)
    assert missing.flags == ()
    decision, reason = _only(missing)
    assert decision is Decision.MISSING_CONTEXT
    assert (
        reason
        == "no 'popliteal fossa' (or another of its words) within 4 words: 'A small cyst is seen.'"
    )

    found = evaluate(docs.texts("Cyst in the popliteal fossa."), rs)
    (flag,) = found.flags
    assert flag.certainty.value == "possible"  # the rule says it only suggests
    assert flag.evidence[0].span == (0, 27)


def test_exclusions_veto_with_the_reason(rs: RuleSet) -> None:
    result = evaluate(docs.texts("Small left pleural effusion."), rs)
    assert result.flags == ()
    assert _only(result) == (
        Decision.EXCLUDED,
        "excluded by 'pleural effusion' in 'Small left pleural effusion.'",
    )
    sentence = evaluate(docs.texts("Moderate ascites and a small effusion."), rs)
    assert sentence.flags == ()
    assert _only(sentence)[0] is Decision.EXCLUDED
    ganglion = evaluate(docs.texts("Ganglion cyst in the popliteal fossa."), rs)
    assert _only(ganglion)[0] is Decision.EXCLUDED


def test_context_decides_and_says_why(rs: RuleSet) -> None:
    negated = evaluate(docs.texts("No Baker's cyst is seen."), rs)
    assert negated.flags == ()
    assert _only(negated) == (Decision.NEGATED, "negated by 'No' in \"No Baker's cyst is seen.\"")
    assert _only(evaluate(docs.texts("History of Baker's cyst."), rs))[0] is Decision.HISTORICAL
    assert _only(evaluate(docs.texts("Rule out Baker's cyst."), rs))[0] is Decision.HYPOTHETICAL
    resolved = evaluate(docs.texts("The Baker's cyst has resolved."), rs)
    assert _only(resolved)[0] is Decision.RESOLVED
    other = evaluate(docs.texts("Her mother has a Baker's cyst."), rs)
    assert _only(other)[0] is Decision.OTHER_EXPERIENCER
    (flag,) = evaluate(docs.texts("Possible Baker's cyst."), rs).flags
    assert flag.certainty.value == "possible"


def test_clinical_sections_never_flag(rs: RuleSet) -> None:
    result = evaluate(docs.texts("Known Baker's cyst.", role=SectionRole.CLINICAL), rs)
    assert result.flags == ()
    assert _only(result) == (
        Decision.CLINICAL_SECTION,
        "in Clinical Information section: clinical information is never a finding",
    )
    header = evaluate(docs.document(header=[docs.history("Baker's cyst")], root=False), rs)
    assert header.flags == ()
    assert _only(header)[0] is Decision.CLINICAL_SECTION


def test_inline_headings_give_their_text_a_role(rs: RuleSet) -> None:
    doc = docs.texts("INDICATION: ? Baker's cyst.\nFINDINGS: Popliteal cyst, 2 cm.")
    result = evaluate(doc, rs)
    assert [f.finding for f in result.flags] == ["bakers_cyst"]
    decisions = [(c.decision, c.reason) for c in result.candidates]
    assert decisions[0] == (
        Decision.CLINICAL_SECTION,
        "in 'INDICATION:' heading: clinical information is never a finding",
    )
    assert decisions[1][0] is Decision.FLAGGED


def test_recommendations_state_findings_only_when_they_refer_to_one(rs: RuleSet) -> None:
    asks = evaluate(
        docs.texts(
            "MRI is recommended to look for a Baker's cyst.", role=SectionRole.RECOMMENDATION
        ),
        rs,
    )
    assert asks.flags == ()
    assert _only(asks)[0] is Decision.HYPOTHETICAL
    refers = docs.texts(
        "Follow-up of the Baker's cyst is recommended.", role=SectionRole.RECOMMENDATION
    )
    assert [f.finding for f in evaluate(refers, rs).flags] == ["bakers_cyst"]


def test_one_flag_per_finding_with_all_evidence_primary_first(rs: RuleSet) -> None:
    doc = docs.document(
        [
            docs.text_item("1.1", "Possible Baker's cyst on the right.", SectionRole.COMMENT),
            docs.text_item("1.2", "Baker's cyst.", SectionRole.FINDINGS),
            docs.text_item("1.3", "Left popliteal cyst.", SectionRole.IMPRESSION),
        ]
    )
    (flag,) = evaluate(doc, rs).flags
    assert [e.item_path for e in flag.evidence] == ["1.2", "1.3", "1.1"]
    assert flag.certainty.value == "definite"
    assert flag.laterality is Laterality.BILATERAL


def test_ruptured_supersedes_bakers(rs: RuleSet) -> None:
    result = evaluate(docs.texts("Ruptured Baker's cyst."), rs)
    assert [f.finding for f in result.flags] == ["ruptured_bakers_cyst"]
    superseded = [c for c in result.candidates if c.decision is Decision.SUPERSEDED]
    assert [(c.finding, c.reason) for c in superseded] == [
        ("bakers_cyst", "reported as ruptured_bakers_cyst instead")
    ]


def test_abbreviations_match_only_in_capitals(rs: RuleSet) -> None:
    (flag,) = evaluate(docs.texts("FB in the heel."), rs).flags
    assert (flag.finding, flag.priority) == ("foreign_body", "urgent")
    assert evaluate(docs.texts("fb in the heel."), rs).flags == ()


def test_coded_findings_sites_and_presence(rs: RuleSet) -> None:
    knee = Code("49076000", "SCT", "Knee joint")
    effusion = Code("41699000", "SCT", "Effusion")
    present = evaluate(docs.document([docs.code_item("1.1", effusion, sites=[knee])]), rs)
    (flag,) = present.flags
    assert (flag.finding, flag.evidence[0].span) == ("joint_effusion", None)
    assert flag.evidence[0].text == "Finding: Effusion (SCT 41699000) at Knee joint (SCT 49076000)"

    absent = docs.code_item("1.1", effusion, sites=[knee], presence=codes.ABSENT)
    result = evaluate(docs.document([absent]), rs)
    assert result.flags == ()
    assert _only(result) == (Decision.NEGATED, "negated by presence 'Absent'")

    elsewhere = docs.code_item("1.1", effusion, sites=[Code("10200004", "SCT", "Liver")])
    assert _only(evaluate(docs.document([elsewhere]), rs))[0] is Decision.MISSING_CONTEXT


def test_legacy_codes_in_rules_and_required_presence(rs: RuleSet) -> None:
    hematoma = Code("35566002", "SCT", "Hematoma")  # the rule wrote SRT M-35060
    bare = evaluate(docs.document([docs.code_item("1.1", hematoma)]), rs)
    assert bare.flags == ()
    assert _only(bare) == (
        Decision.MISSING_CONTEXT,
        "no presence modifier, and the rule requires one",
    )
    present = docs.code_item("1.1", hematoma, presence=codes.PRESENT, laterality="right")
    (flag,) = evaluate(docs.document([present]), rs).flags
    assert (flag.finding, flag.laterality) == ("hematoma", Laterality.RIGHT)


def test_measurement_thresholds_convert_units(rs: RuleSet) -> None:
    def depth(value: float, unit: str) -> Evaluation:
        item = docs.num_item("1.1.1", DEPTH, value, unit, sites=[ACHILLES])
        return evaluate(docs.document([docs.group("1.1", [item])]), rs)

    (flag,) = depth(0.8, "cm").flags
    assert flag.finding == "tendon_abnormality"
    assert flag.measurements[0].value == 0.8
    assert _only(depth(0.8, "cm"))[1] == "measurement 8 mm > 6"
    assert _only(depth(5, "mm")) == (Decision.BELOW_THRESHOLD, "5 mm > 6 is false")
    assert _only(depth(5, "cm/s")) == (
        Decision.BELOW_THRESHOLD,
        "unit 'cm/s' cannot be compared with 'mm'",
    )


def test_coded_findings_carry_their_group_measurements(rs: RuleSet) -> None:
    knee = Code("49076000", "SCT", "Knee joint")
    finding = docs.code_item("1.1.1", Code("41699000", "SCT", "Effusion"), sites=[knee])
    size = docs.num_item("1.1.2", DEPTH, 9, "mm", sites=[knee])
    (flag,) = evaluate(docs.document([docs.group("1.1", [finding, size])]), rs).flags
    assert [m.value for m in flag.measurements] == [9]


def test_scope_limits_where_a_rule_applies(rs: RuleSet) -> None:
    ok = docs.texts("Lipoma of the thigh.")
    assert [f.finding for f in evaluate(ok, rs).flags] == ["soft_tissue_mass"]

    ct = docs.document([docs.text_item("1.1", "Lipoma of the thigh.")], study_description="CT HEAD")
    decision, reason = _only(evaluate(ct, rs))
    assert decision is Decision.OUT_OF_SCOPE
    assert reason == (
        "rule 't.mass.scoped' applies to study descriptions 'US * LOWER EXTREMITY', not 'CT HEAD'"
    )
    us_image = docs.document([docs.text_item("1.1", "Lipoma of the thigh.")], modality="US")
    assert _only(evaluate(us_image, rs))[0] is Decision.OUT_OF_SCOPE
    comment = docs.texts("Lipoma of the thigh.", role=SectionRole.COMMENT)
    assert _only(evaluate(comment, rs)) == (
        Decision.OUT_OF_SCOPE,
        "rule 't.mass.scoped' applies to 'findings', 'impression' sections, not Summary section",
    )


def test_image_comments_are_findings_and_empty_documents_are_fine(rs: RuleSet) -> None:
    image = docs.document(header=[docs.comments("LT POP FOSSA BAKERS CYST")], root=False)
    (flag,) = evaluate(image, rs).flags
    assert (flag.evidence[0].item_path, flag.laterality) == ("ImageComments", Laterality.LEFT)
    empty = evaluate(docs.document(root=False), rs)
    assert (empty.flags, empty.candidates) == ((), ())


def test_the_reports_one_side_is_used_when_the_sentence_names_none(rs: RuleSet) -> None:
    doc = docs.texts("Right lower extremity venous duplex.", "There is a Baker's cyst.")
    (flag,) = evaluate(doc, rs).flags
    assert flag.laterality is Laterality.RIGHT
    both = docs.texts("Right leg: no DVT. Left leg: no DVT.", "There is a Baker's cyst.")
    (flag,) = evaluate(both, rs).flags
    assert flag.laterality is None


def test_a_ruleset_is_shared_safely_by_threads() -> None:
    ruleset = load_ruleset()
    documents = [
        docs.texts("Ruptured Baker's cyst. Moderate knee effusion."),
        docs.texts("No DVT. Possible small hematoma in the left calf."),
        docs.texts("Double contour sign; no effusion.", "Tear of the medial gastrocnemius."),
    ] * 20
    expected = [evaluate(d, ruleset) for d in documents]
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda d: evaluate(d, ruleset), documents))
    assert got == expected
