"""Lexicon files: validation with ``file:line`` errors, phrase syntax, custom lexicons."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rules.context import ContextEngine, LexiconError, TriggerCategory, load_lexicon
from rules.context.matcher import TokenTrie
from rules.context.phrases import PhraseSyntaxError, expand

GOOD = """\
version: 1
categories:
  negation: {terminated_by: [uncertainty]}
groups:
  - category: negation
    direction: forward
    phrases:
      - no
      - sans
  - category: uncertainty
    direction: forward
    phrases: [maybe]
  - category: termination
    phrases: [but]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "lexicon.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def errors_of(tmp_path: Path, text: str) -> list[str]:
    path = write(tmp_path, text)
    with pytest.raises(LexiconError) as info:
        load_lexicon(path)
    assert str(info.value) == "\n".join(info.value.errors)
    for error in info.value.errors:
        assert error.startswith(f"{path}:"), error
        assert re.match(rf"{re.escape(str(path))}:\d+: ", error), error
    return list(info.value.errors)


def test_a_good_lexicon_loads_and_drives_an_engine(tmp_path: Path) -> None:
    engine = ContextEngine.from_lexicon(write(tmp_path, GOOD))
    sentence = "Knee sans effusion but maybe a cyst."
    scan = engine.scan(sentence)
    effusion = scan.context((sentence.index("effusion"), sentence.index("effusion") + 8))
    cyst = scan.context((sentence.index("cyst"), sentence.index("cyst") + 4))
    assert effusion.negated
    assert not cyst.negated
    assert cyst.certainty.value == "possible"


def test_unquoted_no_stays_a_phrase_not_yaml_false(tmp_path: Path) -> None:
    lexicon = load_lexicon(write(tmp_path, GOOD))
    assert (("no",), 0) in lexicon.entries


def test_misspelt_category_names_the_line_and_a_close_match(tmp_path: Path) -> None:
    text = GOOD.replace("category: uncertainty", "category: uncertanity")
    (error,) = errors_of(tmp_path, text)
    assert error.endswith(
        ":10: groups[1].category: unknown category 'uncertanity' (did you mean "
        "'uncertainty'?); expected one of: negation, uncertainty, historical, hypothetical, "
        "resolved, experiencer, current, prior_mention, pseudo, termination"
    )


def test_misspelt_direction_and_key_get_suggestions(tmp_path: Path) -> None:
    text = GOOD.replace(
        "direction: forward\n    phrases:\n      - no",
        "direction: forwards\n    phrase:\n      - no",
    )
    errors = errors_of(tmp_path, text)
    assert any(
        ":6: groups[0].direction: unknown direction 'forwards' (did you mean 'forward'?)" in e
        for e in errors
    )
    assert any(
        ":7: groups[0].phrase: unknown key 'phrase' (did you mean 'phrases'?)" in e for e in errors
    )


def test_terminated_by_category_is_checked_with_a_suggestion(tmp_path: Path) -> None:
    text = GOOD.replace("terminated_by: [uncertainty]", "terminated_by: [hypothetic]")
    (error,) = errors_of(tmp_path, text)
    assert ":3: categories.negation.terminated_by[0]: unknown category 'hypothetic'" in error
    assert "(did you mean 'hypothetical'?)" in error


def test_every_error_is_reported_not_just_the_first(tmp_path: Path) -> None:
    text = GOOD.replace("category: uncertainty", "category: doubt").replace(
        "phrases: [but]", "phrases: []"
    )
    errors = errors_of(tmp_path, text)
    assert len(errors) == 2
    assert any(":10: groups[1].category: unknown category 'doubt'" in e for e in errors)
    assert any(":14: groups[2].phrases:" in e for e in errors)


def test_bad_phrase_syntax_points_at_the_phrase_line(tmp_path: Path) -> None:
    text = GOOD.replace("      - sans", "      - sans {a|b")
    (error,) = errors_of(tmp_path, text)
    assert (
        ":9: groups[0].phrases[1]: bad phrase 'sans {a|b': '{' at column 6 is never closed" in error
    )


def test_duplicate_phrases_name_both_lines(tmp_path: Path) -> None:
    text = GOOD.replace("phrases: [maybe]", "phrases: [maybe, sans]")
    (error,) = errors_of(tmp_path, text)
    assert error.endswith(":12: phrase 'sans' is already a negation trigger at line 9")


def test_duplicate_after_expansion_is_caught(tmp_path: Path) -> None:
    text = GOOD.replace("phrases: [maybe]", "phrases: [maybe, '{sans|avec} rien', sans rien]")
    (error,) = errors_of(tmp_path, text)
    assert "phrase 'sans rien' is already a uncertainty trigger at line 12" in error


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("    direction: forward\n    phrases: [maybe]", "    phrases: [maybe]"),
            "needs a direction",
        ),
        (
            ("  - category: termination\n", "  - category: termination\n    direction: forward\n"),
            "has no scope: remove direction",
        ),
        (
            ("phrases: [maybe]", "phrases: [maybe]\n    hedged: true"),
            "hedged is only for negation groups",
        ),
        (
            ("phrases: [maybe]", "phrases: [maybe]\n    applies_to: [negation]"),
            "applies_to is only for termination groups",
        ),
        (
            ("phrases: [but]", "phrases: [but]\n    applies_to: [pseudo]"),
            "applies_to names scoped categories only",
        ),
        (("version: 1", "version: 2"), "version: Input should be 1"),
        (
            (
                "    direction: forward\n    phrases: [maybe]",
                "    direction: forward\n    max_scope: 0\n    phrases: [maybe]",
            ),
            "greater than or equal to 1",
        ),
        (
            ("negation: {terminated_by: [uncertainty]}", "pseudo: {terminated_by: [negation]}"),
            "pseudo has no scope to terminate",
        ),
        (
            ("phrases: [maybe]", "phrases: [maybe]\n    answered: true"),
            "answered is only for hypothetical groups",
        ),
        (("      - sans\n", "      - sans $ rien\n"), "can only be the last word"),
        (
            ("groups:\n", "clauses:\n  openers: [the, a an]\ngroups:\n"),
            "clauses.openers[1]: 'a an' must be one word",
        ),
        (
            ("groups:\n", "clauses:\n  opener: [the]\ngroups:\n"),
            "unknown key 'opener' (did you mean 'openers'?)",
        ),
    ],
)
def test_group_rules(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    old, new = change
    assert old in GOOD
    errors = errors_of(tmp_path, GOOD.replace(old, new))
    assert any(message in e for e in errors), errors


def test_yaml_syntax_error_has_its_line(tmp_path: Path) -> None:
    text = GOOD.replace("      - sans", "      - sans: [oops")
    (error,) = errors_of(tmp_path, text)
    assert re.search(r":(9|10): YAML: ", error), error


def test_duplicate_keys_are_errors(tmp_path: Path) -> None:
    text = GOOD.replace("    phrases: [maybe]", "    phrases: [maybe]\n    phrases: [perhaps]")
    (error,) = errors_of(tmp_path, text)
    assert error.endswith(":13: duplicate key 'phrases'")


def test_empty_and_unreadable_files(tmp_path: Path) -> None:
    assert errors_of(tmp_path, "") == [f"{tmp_path / 'lexicon.yaml'}:1: empty lexicon file"]
    with pytest.raises(LexiconError, match="cannot read"):
        load_lexicon(tmp_path / "missing.yaml")


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    (error,) = errors_of(tmp_path, "- just\n- a list\n")
    assert ":1: file: Input should be a valid dictionary" in error


def test_packaged_lexicon_is_valid_and_covers_every_category() -> None:
    lexicon = ContextEngine.default().lexicon
    assert {g.category for g in lexicon.groups} == set(TriggerCategory)
    assert len(lexicon.entries) > 1000
    assert {"vs", "e.g", "dr"} <= lexicon.abbreviations


@pytest.mark.parametrize(
    ("phrase", "variants"),
    [
        ("no", [("no",)]),
        ("no {evidence|sign} of", [("no", "evidence", "of"), ("no", "sign", "of")]),
        ("[is] not seen", [("is", "not", "seen"), ("not", "seen")]),
        ("r/o", [("r", "/", "o")]),
        ("{h/o|h / o}", [("h", "/", "o")]),
        ("past medical history :", [("past", "medical", "history", ":")]),
        ("?", [("?",)]),
        ("NO   Change", [("no", "change")]),
        ("{a|b} [c|d]", [("a", "c"), ("a", "d"), ("a",), ("b", "c"), ("b", "d"), ("b",)]),
    ],
)
def test_phrase_expansion(phrase: str, variants: list[tuple[str, ...]]) -> None:
    assert expand(phrase) == variants


@pytest.mark.parametrize(
    ("phrase", "message"),
    [
        ("no {a|b", "never closed"),
        ("no [a", "never closed"),
        ("no {a|[b]}", "cannot be nested"),
        ("no {a}", "two or more non-empty alternatives"),
        ("no {a|}", "two or more non-empty alternatives"),
        ("no [a|]", "empty alternative"),
        ("no a}", "unexpected '}'"),
        ("a | b", "unexpected '|'"),
        ("   ", "no words"),
        ("[no] :", "only punctuation"),
        (
            "{a|b|c|d|e|f|g|h|i|j} {a|b|c|d|e|f|g|h|i|j} {a|b|c|d|e|f|g|h|i|j} {k|l}",
            "more than 1000",
        ),
    ],
)
def test_phrase_syntax_errors(phrase: str, message: str) -> None:
    with pytest.raises(PhraseSyntaxError, match=re.escape(message)):
        expand(phrase)


def test_clause_words_stay_text_not_yaml_booleans(tmp_path: Path) -> None:
    text = GOOD.replace(
        "groups:\n", "clauses:\n  list_words: [or, no, yes]\n  window: 3\ngroups:\n"
    )
    lexicon = load_lexicon(write(tmp_path, text))
    assert lexicon.clauses is not None
    assert lexicon.clauses.list_words == ("or", "no", "yes")
    assert lexicon.clauses.window == 3


def test_end_of_sentence_phrases_match_only_at_an_end() -> None:
    trie = TokenTrie([((":", "no", "$"), 1), (("no",), 2)])
    assert trie.find((":", "no")) == [(0, 2, 1)]
    assert trie.find((":", "no", "dvt")) == [(1, 2, 2)]
    # an inner sentence end counts too ("Effusion: no" then a new line)
    assert trie.find((":", "no", "cyst"), ends={2}) == [(0, 2, 1)]


def test_trie_matches_leftmost_longest_without_overlap() -> None:
    trie = TokenTrie([(("no",), 1), (("no", "change", "in"), 2), (("change",), 3), (("in",), 4)])
    words = ("no", "change", "in", "size", "no", "change", "x", "in")
    assert trie.find(words) == [(0, 3, 2), (4, 5, 1), (5, 6, 3), (7, 8, 4)]
    assert trie.find(()) == []
    assert trie.find(("nothing", "here")) == []
