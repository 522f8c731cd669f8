"""Word classes in lexicon phrases (``<name>``, the built-in ``<date>``), date tokens, and
the ``earlier_exam`` / ``present`` pair that dates a statement about an earlier exam."""

from __future__ import annotations

import re
from collections.abc import Container
from pathlib import Path

import pytest

from rules.context import ContextEngine, CueKind, LexiconError, Temporality, load_lexicon
from rules.context.matcher import TokenTrie
from rules.context.phrases import PhraseSyntaxError, expand
from rules.context.tokens import DATES, is_date, tokenize

LEXICON = """\
version: 1
classes:
  seen: [seen, noted]
  exam: [study, mri]
groups:
  - category: historical
    direction: backward
    earlier_exam: true
    phrases:
      - "was <seen> on the prior"
      - "was <seen> on the <exam> of <date>"
  - category: historical
    direction: forward
    phrases: [history of]
  - category: negation
    direction: backward
    phrases: [is no longer seen]
  - category: termination
    applies_to: [historical]
    present: true
    phrases: [now, today]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "lexicon.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def errors_of(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(LexiconError) as info:
        load_lexicon(write(tmp_path, text))
    return list(info.value.errors)


def analyze(engine: ContextEngine, sentence: str, target: str) -> tuple[Temporality, bool]:
    start = sentence.index(target)
    result = engine.analyze(sentence, (start, start + len(target)))
    return result.temporality, result.negated


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("seen on 03/04/2022.", ["seen", "on", "03/04/2022", "."]),
        ("MRI 2022-03-04, US 3/2022", ["mri", "2022-03-04", ",", "us", "3/2022"]),
        ("dated 04.03.2024", ["dated", "04.03.2024"]),
        ("on 1/5/25", ["on", "1/5/25"]),
        # sizes, ranges and fractions stay numbers
        (
            "2.5 cm, 3.0 x 1.1 cm",
            ["2", ".", "5", "cm", ",", "3", ".", "0", "x", "1", ".", "1", "cm"],
        ),
        ("2-3 mm, 1/2", ["2", "-", "3", "mm", ",", "1", "/", "2"]),
    ],
)
def test_numeric_dates_are_one_token(text: str, words: list[str]) -> None:
    assert list(tokenize(text).words) == words


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("2023", True),
        ("1999", True),
        ("03/04/2022", True),
        ("3/2022", True),
        ("2022-03-04", True),
        ("2150", False),
        ("23", False),
        ("12345", False),
        ("cm", False),
    ],
)
def test_the_date_class(word: str, expected: bool) -> None:
    assert is_date(word) is expected
    assert (word in DATES) is expected


def test_a_class_is_one_token_of_a_phrase() -> None:
    assert expand("on the <exam> of <date>") == [("on", "the", "<exam>", "of", "<date>")]
    assert expand("seen [on] <Date>") == [("seen", "on", "<date>"), ("seen", "<date>")]
    with pytest.raises(PhraseSyntaxError, match="only enclose a word class name"):
        expand("size < 2")
    with pytest.raises(PhraseSyntaxError, match="only enclose a word class name"):
        expand("on the <prior exam>")


def test_trie_class_edges_take_the_longest_path_and_literals_win_ties() -> None:
    classes: dict[str, Container[str]] = {"exam": frozenset({"mri", "study"}), "date": DATES}
    trie = TokenTrie(
        [
            (("on", "the", "<exam>"), 1),
            (("on", "the", "mri", "of", "<date>"), 2),
            (("on", "the", "study"), 3),
            (("seen",), 4),
        ],
        classes,
    )
    assert trie.find(("on", "the", "mri", "of", "2022")) == [(0, 5, 2)]
    assert trie.find(("on", "the", "mri", "of", "knee")) == [(0, 3, 1)]
    assert trie.find(("on", "the", "study", "seen")) == [(0, 3, 3), (3, 4, 4)]
    assert trie.find(("on", "the", "ct")) == []
    with pytest.raises(ValueError, match="cannot start a phrase"):
        TokenTrie([(("<exam>", "x"), 1)], classes)


def test_classes_and_dates_drive_an_engine(tmp_path: Path) -> None:
    engine = ContextEngine.from_lexicon(write(tmp_path, LEXICON))
    assert analyze(engine, "A cyst was noted on the MRI of 2022.", "cyst") == (
        Temporality.HISTORICAL,
        False,
    )
    assert analyze(engine, "A cyst was seen on the study of 03/04/2022.", "cyst")[0] is (
        Temporality.HISTORICAL
    )
    assert analyze(engine, "A cyst was seen on the MRI of the knee.", "cyst")[0] is (
        Temporality.CURRENT
    )
    assert analyze(engine, "A cyst was found on the MRI of 2022.", "cyst")[0] is (
        Temporality.CURRENT
    )


def test_a_present_word_after_an_earlier_exam_makes_it_a_prior_mention(tmp_path: Path) -> None:
    engine = ContextEngine.from_lexicon(write(tmp_path, LEXICON))
    assert analyze(engine, "A cyst was seen on the prior study, now 3 cm.", "cyst") == (
        Temporality.CURRENT,
        False,
    )
    # up to a ";" only: a new clause speaks of something else
    assert analyze(engine, "A cyst was seen on the prior study; now 3 cm.", "cyst")[0] is (
        Temporality.HISTORICAL
    )
    # a prior mention turns a negation into "resolved"
    sentence = "The cyst that was seen on the prior study is no longer seen today."
    start = sentence.index("cyst")
    result = engine.analyze(sentence, (start, start + 4))
    assert result.negated
    assert result.temporality is Temporality.CURRENT
    assert [c.kind for c in result.cues] == [CueKind.RESOLVED]
    # other historical groups are not affected ("history of X, now ...")
    assert analyze(engine, "History of cyst, now with pain.", "cyst")[0] is Temporality.HISTORICAL


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("on the <exam> of <date>", "on the <exams> of <date>"),
            "unknown word class '<exams>' (did you mean '<exam>'?); known: <date>, <seen>, <exam>",
        ),
        (("was <seen> on the prior", "<seen> on the prior"), "cannot start a phrase"),
        (("  exam: [study, mri]", "  date: [today]"), "'date' is built in"),
        (("  exam: [study, mri]", "  Exam: [study, mri]"), "lower-case letters and '_' only"),
        (
            ("  exam: [study, mri]", "  exam: [study, prior study]"),
            "'prior study' must be one word",
        ),
        (
            (
                "    applies_to: [historical]\n    present: true",
                "    present: true\n    direction: forward",
            ),
            "a termination group has no scope",
        ),
        (("phrases: [history of]", "phrases: [history of]\n    present: true"), "present is only"),
        (
            (
                "phrases: [is no longer seen]",
                "phrases: [is no longer seen]\n    earlier_exam: true",
            ),
            "earlier_exam is only for historical groups",
        ),
        (("  exam: [study, mri]", "  exma: [study, mri]"), "did you mean '<exma>'?"),
    ],
)
def test_class_and_flag_errors(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    old, new = change
    assert old in LEXICON
    errors = errors_of(tmp_path, LEXICON.replace(old, new))
    assert any(message in e for e in errors), errors
    assert all(re.match(rf"{re.escape(str(tmp_path))}/lexicon.yaml:\d+: ", e) for e in errors)


def test_class_words_stay_text_not_yaml_booleans(tmp_path: Path) -> None:
    lexicon = load_lexicon(write(tmp_path, LEXICON.replace("[seen, noted]", "[seen, no, yes]")))
    assert lexicon.classes["seen"] == frozenset({"seen", "no", "yes"})
