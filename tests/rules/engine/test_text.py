"""Free-text decisions that need the whole sentence or text: descriptions and the name
they are given, comma-joined statements, structured lines, long run-on texts."""

from __future__ import annotations

import pytest

from rules.api import evaluate, load_ruleset
from rules.engine.compiled import RuleSet
from rules.flags import Decision
from tests.rules.engine import docs


@pytest.fixture(scope="module")
def pack() -> RuleSet:
    return load_ruleset()


def flags(pack: RuleSet, *texts: str) -> dict[str, str]:
    return {f.finding: f.certainty.value for f in evaluate(docs.texts(*texts), pack).flags}


def test_a_description_is_as_certain_as_its_name(pack: RuleSet) -> None:
    text = "Complex cystic structure in the popliteal fossa, likely a Baker's cyst."
    assert flags(pack, text) == {"bakers_cyst": "possible"}
    result = evaluate(docs.texts(text), pack)
    reasons = [c.reason for c in result.candidates if c.decision is Decision.FLAGGED]
    assert any("uncertain as named in the same sentence" in r for r in reasons), reasons


def test_a_plain_name_keeps_its_certainty(pack: RuleSet) -> None:
    text = "Complex knee effusion with layering debris, possibly hemarthrosis."
    assert flags(pack, text) == {"joint_effusion": "definite"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Patent veins without thrombus, a 2 cm Baker's cyst is noted.", {"bakers_cyst"}),
        ("No DVT, effusion, or Baker's cyst.", set()),
        ("Evaluation for DVT is negative, small knee joint effusion.", {"joint_effusion"}),
        ("Baker's cyst: none\nEffusion: no\nHematoma: yes", {"hematoma"}),
        ("Ruled out: foreign body.", set()),
        ("A tendon tear should be excluded with MRI.", set()),
    ],
)
def test_sentences_of_whole_reports(pack: RuleSet, text: str, expected: set[str]) -> None:
    assert set(flags(pack, text)) == expected


def test_a_long_run_on_text_is_judged_mention_by_mention(pack: RuleSet) -> None:
    unit = (
        "no thrombus no Baker's cyst there is a small knee joint effusion and a left calf "
        "hematoma measuring 2 cm possible abscess "
    )
    result = evaluate(docs.texts(unit * 300), pack)  # one sentence, ~1,500 mentions
    decisions: dict[str, set[Decision]] = {}
    for c in result.candidates:
        decisions.setdefault(c.finding, set()).add(c.decision)
    assert decisions["bakers_cyst"] == {Decision.NEGATED}
    assert decisions["joint_effusion"] == {Decision.FLAGGED}
    assert decisions["hematoma"] == {Decision.FLAGGED}
    assert decisions["abscess"] == {Decision.FLAGGED}
    by_finding = {f.finding: f for f in result.flags}
    assert by_finding["abscess"].certainty.value == "possible"
    assert len(by_finding["hematoma"].evidence) == 300
    # every hematoma measures 2 cm: the flag says so once
    hematoma = by_finding["hematoma"]
    assert [(m.value, m.unit.value if m.unit else "") for m in hematoma.measurements] == [
        (2.0, "cm")
    ]
