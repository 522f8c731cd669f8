from __future__ import annotations

from pathlib import Path

import pytest

from rules.api import default_pack, load_ruleset
from rules.ruleset.loader import RuleSetError, load_files, load_texts
from rules.ruleset.vocabulary import FINDING_IDS

GOOD = """\
rules:
  - id: t.bakers
    version: 2
    finding: bakers_cyst
    match:
      terms: [Baker's cyst, popliteal cyst]
"""


def _errors(text: str, name: str = "r.yaml") -> list[str]:
    with pytest.raises(RuleSetError) as info:
        load_texts([(name, text)])
    return [str(e) for e in info.value.errors]


def test_a_good_file_loads() -> None:
    loaded = load_texts([("r.yaml", GOOD)])
    assert [r.id for r in loaded.rules] == ["t.bakers"]
    assert loaded.sources["t.bakers"].line == 2
    assert loaded.rules[0].effective_priority.value == "routine"


def test_errors_name_file_line_and_suggest_the_closest_word() -> None:
    errors = _errors(
        """\
rules:
  - id: t.one
    version: 1
    finding: bakers_cysts
    priorty: high
    match:
      terms:
        - Baker's cyst
      measurements:
        concepts: [SCT:131197000]
        comparator: "=>"
        threshold: 4
        unit: mmm
"""
    )
    assert errors == [
        "r.yaml:4: rule 't.one': finding: unknown finding 'bakers_cysts'; "
        "did you mean 'bakers_cyst'?",
        "r.yaml:5: rule 't.one': priorty: unknown key 'priorty'; did you mean 'priority'?",
        "r.yaml:11: rule 't.one': match.measurements[0].comparator: Input should be '>', "
        "'>=', '<' or '<='; did you mean '>='?",
        "r.yaml:13: rule 't.one': match.measurements[0].unit: unknown unit 'mmm'; "
        "did you mean 'mm'?",
    ]


def test_nested_keys_and_enums_get_suggestions_too() -> None:
    errors = _errors(
        """\
rules:
  - id: t.two
    version: 1
    finding: joint_effusion
    scope:
      section_roles: [finding]
      sop_classes: [ComprehensivSRStorage]
    match:
      terms:
        - text: effusion
          plurl: false
      exclude:
        phrases: [pleural effusion]
        within: sentense
"""
    )
    assert errors == [
        "r.yaml:6: rule 't.two': scope.section_roles[0]: Input should be 'findings', "
        "'impression', 'clinical', 'recommendation', 'comment' or 'unknown'; "
        "did you mean 'findings'?",
        "r.yaml:7: rule 't.two': scope.sop_classes: unknown SOP class "
        "'ComprehensivSRStorage'; did you mean 'ComprehensiveSRStorage'?",
        "r.yaml:11: rule 't.two': match.terms[0].plurl: unknown key 'plurl'; "
        "did you mean 'plural'?",
        "r.yaml:14: rule 't.two': match.exclude[0].within: within is a number of words "
        "(0 = overlapping the mention) or 'sentence'; did you mean 'sentence'?",
    ]


def test_missing_fields_bad_codes_and_empty_terms() -> None:
    errors = _errors(
        """\
rules:
  - id: t.three
    finding: gout
    match:
      terms: ["  ", "-"]
      coded:
        findings: ["SCT 90560007"]
"""
    )
    assert errors == [
        "r.yaml:2: rule 't.three': missing 'version'",
        "r.yaml:5: rule 't.three': match.terms[0]: String should have at least 1 character",
        "r.yaml:5: rule 't.three': match.terms[1]: term '-' has no words",
        "r.yaml:7: rule 't.three': match.coded[0].findings[0]: 'SCT 90560007' is not a code; "
        "write SCHEME:VALUE, e.g. SCT:367643001",
    ]


def test_yaml_problems_are_located() -> None:
    assert _errors("rules:\n  - id: [unclosed\n") == [
        "r.yaml:3: not valid YAML: expected ',' or ']', but got '<stream end>'"
    ]
    assert _errors("rules:\n  - id: a\n    id: b\n") == [
        "r.yaml:3: key 'id' repeated (first at line 2)"
    ]
    assert _errors("- id: a\n") == ["r.yaml:1: a rule file is a mapping with a 'rules' list"]
    assert _errors("") == ["r.yaml:1: empty file; a rule file is a mapping with 'rules'"]


def test_rule_ids_must_be_unique_across_files() -> None:
    other = GOOD.replace("version: 2", "version: 3")
    with pytest.raises(RuleSetError) as info:
        load_texts([("a.yaml", GOOD), ("b.yaml", other)])
    assert [str(e) for e in info.value.errors] == [
        "b.yaml:2: duplicate rule id 't.bakers'; also at a.yaml:2"
    ]


def test_bad_rule_id_and_unsafe_yaml_tags() -> None:
    errors = _errors(GOOD.replace("t.bakers", "Bad Id!"))
    assert len(errors) == 1
    assert errors[0].startswith("r.yaml:2: rule 'Bad Id!': id: rule id must be lower-case")
    tagged = _errors("rules: !!python/object:os.system {}\n")
    assert len(tagged) == 1
    assert tagged[0].startswith("r.yaml:1: ")


def test_version_is_a_hash_of_content_not_layout() -> None:
    v1 = load_texts([("r.yaml", GOOD)]).version
    reformatted = (
        '# a comment\nrules:\n- {match: {terms: ["Baker\'s cyst", popliteal cyst]}, '
        "finding: bakers_cyst, version: 2, id: t.bakers, description: prose is not content}\n"
    )
    assert load_texts([("other.yaml", reformatted)]).version == v1
    assert load_texts([("r.yaml", GOOD.replace("version: 2", "version: 3"))]).version != v1
    assert load_texts([("r.yaml", GOOD.replace("popliteal cyst", "Baker cyst"))]).version != v1


def test_code_meanings_are_documentation_not_content() -> None:
    def coded(site: str) -> str:
        return (
            "rules:\n  - id: t.c\n    version: 1\n    finding: bakers_cyst\n    match:\n"
            f"      coded:\n        findings: [{{value: '367643001', scheme: SCT, {site}}}]\n"
        )

    named = load_texts([("r.yaml", coded("meaning: Cyst"))]).version
    assert load_texts([("r.yaml", coded("meaning: A cyst"))]).version == named
    other_code = coded("meaning: Cyst").replace("367643001", "1")
    assert load_texts([("r.yaml", other_code)]).version != named


def test_folders_load_recursively_and_anchors_work(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.yaml").write_text(GOOD)
    (tmp_path / "sub" / "b.yml").write_text(
        """\
rules:
  - id: t.effusion
    version: 1
    finding: joint_effusion
    match:
      terms: &words [joint effusion]
      exclude:
        - phrases: *words
          within: sentence
"""
    )
    (tmp_path / "notes.txt").write_text("not a rule file")
    loaded = load_files([tmp_path])
    assert [r.id for r in loaded.rules] == ["t.bakers", "t.effusion"]
    assert loaded.files == (str(tmp_path / "a.yaml"), str(tmp_path / "sub" / "b.yml"))


def test_unreadable_and_missing_paths(tmp_path: Path) -> None:
    with pytest.raises(RuleSetError) as info:
        load_files([tmp_path / "nope.yaml"])
    assert str(info.value.errors[0]).startswith(f"{tmp_path / 'nope.yaml'}:0: cannot read")
    with pytest.raises(RuleSetError, match="no rule files"):
        load_files([tmp_path])


def test_default_pack_covers_the_whole_vocabulary() -> None:
    ruleset = load_ruleset()
    assert {r.finding for r in ruleset.rules} == set(FINDING_IDS)
    assert ruleset.files
    assert all(Path(f).parent == default_pack() for f in ruleset.files)
    assert len(ruleset.version) == 16
    assert load_ruleset([default_pack()]).version == ruleset.version
