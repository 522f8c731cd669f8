"""The labelled corpus, end to end: each case is built as a real DICOM object, encoded
to bytes, read back with ``read_document`` and evaluated with the default pack. Every
case asserts the exact set of flagged findings (and certainty / laterality where the
case is about them)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from rules.api import RuleSet, evaluate, load_ruleset
from rules.ruleset.vocabulary import FINDING_IDS
from rules.sr import build
from rules.sr.reader import read_document
from tests.rules.corpus.cases_model import Case, dataset, parse_cases

CASES_DIR = Path(__file__).parent / "cases"


def load_cases() -> list[Case]:
    cases: list[Case] = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        cases.extend(parse_cases(yaml.safe_load(path.read_text(encoding="utf-8")), path.name))
    return cases


CASES = load_cases()


@pytest.fixture(scope="module")
def ruleset() -> RuleSet:
    return load_ruleset()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case(case: Case, ruleset: RuleSet) -> None:
    document = read_document(build.to_bytes(dataset(case)))
    result = evaluate(document, ruleset)
    flags = {f.finding: f for f in result.flags}
    explain = "\n".join(
        f"  {c.finding} {c.decision.value} [{c.rule}]: {c.reason}" for c in result.candidates
    )
    assert set(flags) == set(case.expect), f"{case.id}: candidates were\n{explain}"
    for finding, certainty in case.certainty.items():
        assert flags[finding].certainty.value == certainty, explain
    for finding, side in case.laterality.items():
        got = flags[finding].laterality
        assert (got.value if got is not None else None) == side, explain
    for flag in result.flags:
        assert flag.rule_version, flag
        assert flag.evidence, flag
        assert result.ruleset_version == ruleset.version


def test_corpus_covers_what_it_must() -> None:
    assert len(CASES) >= 300
    ids = Counter(c.id for c in CASES)
    assert [i for i, n in ids.items() if n > 1] == []
    flagged = {f for c in CASES for f in c.expect}
    assert flagged == set(FINDING_IDS)
    # Every finding also has cases where it must NOT flag (negated, historical ...).
    assert sum(1 for c in CASES if not c.expect) >= 100
    shapes = {c.shape for c in CASES}
    assert shapes == {
        "tid2000", "basic_text", "blob", "vascular", "coded", "tid1500", "image", "sr_header"
    }  # fmt: skip
    sections = {c.section for c in CASES if c.text} | {s for c in CASES for s in c.sections}
    assert sections == {
        "findings", "impression", "indication", "history", "recommendation", "comment"
    }  # fmt: skip
    assert any(c.legacy for c in CASES)
    presences = {p.presence for c in CASES for p in c.coded}
    assert presences == {None, "present", "absent", "undetermined"}
