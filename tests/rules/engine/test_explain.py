"""``explain_document``: the same evaluation as ``evaluate``, plus for each mention its
sentence, its section, the words that decided it and the reason without the sentence."""

from __future__ import annotations

import pytest

from rules.api import evaluate, load_ruleset
from rules.context import ContextEngine
from rules.engine.compiled import RuleSet
from rules.engine.explain import Detail, Explained, explain_document
from rules.flags import Decision
from rules.sr.model import Code, SectionRole, SRDocument
from tests.rules.engine import docs

ONE_ITEM = (
    "INDICATION: Left calf pain, ? Baker's cyst.\n"
    "FINDINGS: No DVT. Small Baker's cyst was present on the prior study from 2023.\n"
    "Small left pleural effusion. Possible hematoma in the calf.\n"
    "Left knee effusion.\n"
    "RECOMMENDATION: Consider MRI for a tendon tear.\n"
)


@pytest.fixture(scope="module")
def ruleset() -> RuleSet:
    return load_ruleset()


def explain(doc: SRDocument, ruleset: RuleSet) -> Explained:
    return explain_document(doc, ruleset, ContextEngine.default())


def by_decision(explained: Explained) -> dict[Decision, list[tuple[str, str | None, Detail]]]:
    """decision -> (sentence, cue words, detail) of each candidate."""
    out: dict[Decision, list[tuple[str, str | None, Detail]]] = {}
    for c, d in zip(explained.evaluation.candidates, explained.candidates, strict=True):
        text = c.evidence.text
        sentence = text[d.sentence[0] : d.sentence[1]] if d.sentence else ""
        cue = text[d.cue[0] : d.cue[1]] if d.cue else None
        out.setdefault(c.decision, []).append((sentence, cue, d))
    return out


def test_the_evaluation_is_the_one_evaluate_returns(ruleset: RuleSet) -> None:
    doc = docs.texts(ONE_ITEM)
    explained = explain(doc, ruleset)
    assert explained.evaluation == evaluate(doc, ruleset)
    assert len(explained.candidates) == len(explained.evaluation.candidates)


def test_each_mention_has_its_sentence_section_and_deciding_words(ruleset: RuleSet) -> None:
    found = by_decision(explain(docs.texts(ONE_ITEM), ruleset))
    ((sentence, cue, d),) = found[Decision.HISTORICAL]
    assert sentence == "Small Baker's cyst was present on the prior study from 2023."
    assert cue == "was present on the prior"
    assert d.section == "'FINDINGS:' heading"
    assert d.summary == "historical ('was present on the prior')"

    ((sentence, cue, d),) = found[Decision.CLINICAL_SECTION]
    assert sentence == "INDICATION: Left calf pain, ? Baker's cyst."
    assert (cue, d.section) == (None, "'INDICATION:' heading")
    assert d.summary == "in 'INDICATION:' heading: clinical information is never a finding"

    pleural, tendon = found[Decision.EXCLUDED]
    assert pleural[:2] == ("Small left pleural effusion.", "pleural")
    assert pleural[2].summary == "excluded by 'pleural'"
    assert tendon[1] == "tendon"  # a tendon tear is not a muscle tear

    ((sentence, cue, d),) = found[Decision.HYPOTHETICAL]
    # the first recommendation word of the sentence (here the heading's own word)
    assert (sentence, cue) == (
        "RECOMMENDATION: Consider MRI for a tendon tear.",
        "RECOMMENDATION",
    )
    assert d.section == "'RECOMMENDATION:' heading"
    assert d.summary == (
        "in 'RECOMMENDATION:' heading: asks for something ('RECOMMENDATION') rather than "
        "stating a finding"
    )

    flagged = {c: (s, d.summary) for s, c, d in found[Decision.FLAGGED]}
    assert flagged == {
        "Possible": ("Possible hematoma in the calf.", "uncertain ('Possible')"),
        None: ("Left knee effusion.", "affirmed"),
    }


def test_negated_and_resolved_mentions_name_their_cue(ruleset: RuleSet) -> None:
    doc = docs.texts("No Baker's cyst.", "The previously seen hematoma has resolved.")
    found = by_decision(explain(doc, ruleset))
    ((sentence, cue, d),) = found[Decision.NEGATED]
    assert (sentence, cue, d.summary) == ("No Baker's cyst.", "No", "negated by 'No'")
    assert d.section == "Finding section"
    ((sentence, cue, d),) = found[Decision.RESOLVED]
    assert cue == "has resolved"
    assert d.summary == "resolved ('has resolved')"


def test_flag_evidence_has_its_detail(ruleset: RuleSet) -> None:
    explained = explain(docs.texts(ONE_ITEM), ruleset)
    for flag in explained.evaluation.flags:
        for evidence in flag.evidence:
            d = explained.evidence[evidence]
            assert d.sentence is not None
            assert evidence.span is not None
            assert d.sentence[0] <= evidence.span[0] < evidence.span[1] <= d.sentence[1]


def test_coded_content_has_a_section_and_no_sentence(ruleset: RuleSet) -> None:
    cyst = docs.code_item(
        "1.2.1",
        Code("367643001", "SCT", "Cyst"),
        sites=[Code("32361000", "SCT", "Popliteal fossa")],
        role=SectionRole.FINDINGS,
    )
    explained = explain(docs.document([cyst]), ruleset)
    ((candidate,),) = [explained.evaluation.candidates]
    (d,) = explained.candidates
    assert candidate.decision is Decision.FLAGGED
    assert (d.sentence, d.cue, d.summary) == (None, None, "coded finding")
    assert d.section == "Finding section"


def test_a_superseded_mention_keeps_no_cue(ruleset: RuleSet) -> None:
    doc = docs.texts("Possible ruptured Baker's cyst. Baker's cyst, possibly leaking.")
    found = by_decision(explain(doc, ruleset))
    for _, cue, d in found[Decision.SUPERSEDED]:
        assert cue is None
        assert d.summary == "reported as ruptured_bakers_cyst instead"
