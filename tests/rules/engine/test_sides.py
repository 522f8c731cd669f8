"""Sides in report text: words, abbreviations, single letters in context, side
subheadings, section headings inside one text, and supersession side by side."""

from __future__ import annotations

import pytest

from rules.api import evaluate, load_ruleset
from rules.engine.compiled import RuleSet
from rules.engine.layout import layout
from rules.engine.matcher import tokenize
from rules.engine.sides import document_sides, token_side
from rules.engine.walk import TextSource
from rules.flags import Decision, Laterality
from rules.sr.model import SectionRole
from tests.rules.engine import docs

L, R, B = Laterality.LEFT, Laterality.RIGHT, Laterality.BILATERAL


@pytest.fixture(scope="module")
def pack() -> RuleSet:
    return load_ruleset()


@pytest.mark.parametrize(
    ("text", "word", "side"),
    [
        ("Small left Baker's cyst", "left", L),
        ("Lt calf", "Lt", L),
        ("RLE venous duplex", "RLE", R),
        ("Bilat effusions", "Bilat", B),
        ("R knee effusion", "R", R),
        ("small L calf hematoma", "L", L),
        ("Baker's cyst (L) 2 cm", "L", L),
        ("Baker's cyst L", "L", L),
        ("Calf pain, R/O DVT", "R", None),
        ("Disc at L4", "L4", None),
        ("r knee", "r", None),
        ("Grade R and L knee", "R", R),
        ("Type L lesion here", "L", None),
    ],
)
def test_token_side(text: str, word: str, side: Laterality | None) -> None:
    tt = tokenize(text)
    k = next(i for i in range(len(tt.tokens)) if tt.raw(i) == word)
    assert token_side(tt, k, k == len(tt.tokens) - 1) is side


def test_document_sides() -> None:
    assert document_sides("RLE venous duplex. R/O DVT.") == {R}
    assert document_sides("Calf pain, r/o DVT, L knee swelling") == {L}
    assert document_sides("Both the femoral and popliteal veins") == set()
    assert document_sides("Bilateral exam; (R) side first") == {B, R}


def source(text: str, role: SectionRole = SectionRole.FINDINGS) -> TextSource:
    return TextSource("1.1", None, text, role, (), None, 1)


def test_section_headings_and_where_clinical_text_ends() -> None:
    text = (
        "EXAM: Venous duplex.\n"
        "COMPARISON: 2024, which showed a Baker's cyst.\n"
        "FINDINGS: No DVT.\n"
        "INDICATION: Calf pain\n"
        "CFV: compressible\n"
        "HISTORY: gout\n"
        "\n"
        "Small Baker's cyst.\n"
        "IMPRESSION: Baker's cyst."
    )
    place = layout(source(text))

    def role(words: str) -> SectionRole:
        return place.role_at(text.index(words))[0]

    assert role("Venous duplex") is SectionRole.CLINICAL
    assert role("which showed") is SectionRole.CLINICAL
    assert role("No DVT") is SectionRole.FINDINGS
    assert role("Calf pain") is SectionRole.CLINICAL
    assert role("compressible") is SectionRole.FINDINGS  # a labelled line ends the indication
    assert role("gout") is SectionRole.CLINICAL
    assert role("Small Baker's") is SectionRole.FINDINGS  # a blank line ends the history
    assert place.role_at(text.rindex("Baker's cyst"))[0] is SectionRole.IMPRESSION
    assert "'COMPARISON:' heading" in place.role_at(text.index("which showed"))[1]


@pytest.mark.parametrize("heading", ["Reason", "Question", "Query", "Hx", "Technique"])
def test_request_headings_are_clinical(heading: str) -> None:
    text = f"{heading}: Baker's cyst?\nFindings: No DVT."
    assert layout(source(text)).role_at(text.index("Baker"))[0] is SectionRole.CLINICAL


def test_side_subheadings_last_until_the_next_side_or_section() -> None:
    text = (
        "FINDINGS:\nRIGHT: Deep veins patent.\nBaker's cyst.\n"
        "Left leg: effusion.\nIMPRESSION: Baker's cyst. LLE: hematoma. R: abscess."
    )
    place = layout(source(text))
    assert place.side_at(text.index("Deep veins")) is R
    assert place.side_at(text.index("Baker's cyst.")) is R
    assert place.side_at(text.index("effusion")) is L
    assert place.side_at(text.rindex("Baker's cyst")) is None
    assert place.side_at(text.index("hematoma")) is L
    assert place.side_at(text.index("abscess")) is R


def sides(pack: RuleSet, *texts: str) -> dict[str, Laterality | None]:
    return {f.finding: f.laterality for f in evaluate(docs.texts(*texts), pack).flags}


def test_flags_take_sides_from_subheadings_and_letters(pack: RuleSet) -> None:
    report = (
        "Bilateral venous duplex.\nRIGHT:\nNo DVT. Moderate knee joint effusion.\n"
        "LEFT:\nNo DVT. 3 cm intramuscular hematoma in the L calf."
    )
    assert sides(pack, report) == {"joint_effusion": R, "hematoma": L}


def test_ruptured_and_intact_cysts_on_two_sides_are_both_reported(pack: RuleSet) -> None:
    result = evaluate(docs.texts("RIGHT: 1.8 cm Baker's cyst.\nLEFT: Ruptured Baker's cyst."), pack)
    flags = {f.finding: f.laterality for f in result.flags}
    assert flags == {"bakers_cyst": R, "ruptured_bakers_cyst": L}
    superseded = [c for c in result.candidates if c.decision is Decision.SUPERSEDED]
    assert len(superseded) == 1
    assert superseded[0].evidence.span is not None


def test_a_ruptured_cyst_of_unknown_side_supersedes_every_cyst(pack: RuleSet) -> None:
    assert sides(pack, "Right Baker's cyst. Left Baker's cyst.", "Ruptured Baker's cyst.") == {
        "ruptured_bakers_cyst": None
    }


def test_an_unsided_cyst_is_the_ruptured_one(pack: RuleSet) -> None:
    assert sides(pack, "Baker's cyst.", "Ruptured left Baker's cyst.") == {
        "ruptured_bakers_cyst": L
    }
