"""Sentence splitting on report-formatted text."""

from __future__ import annotations

import pytest

from rules.context import ContextEngine


def split(engine: ContextEngine, text: str) -> list[str]:
    return [text[s:e] for s, e in engine.split_sentences(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "1. No DVT. 2. Ruptured Baker's cyst. 3. Knee effusion.",
            ["1. No DVT.", "2. Ruptured Baker's cyst.", "3. Knee effusion."],
        ),
        ("1) No DVT. 2) Baker's cyst.", ["1) No DVT.", "2) Baker's cyst."]),
        ("1. No DVT 2. Baker's cyst 3. Effusion", ["1. No DVT", "2. Baker's cyst", "3. Effusion"]),
        (
            "FINDINGS: No DVT. Baker's cyst measuring 2.5 cm. Effusion.",
            ["FINDINGS: No DVT.", "Baker's cyst measuring 2.5 cm.", "Effusion."],
        ),
        ("Cyst measures 3.0 x 1.1 cm. No DVT.", ["Cyst measures 3.0 x 1.1 cm.", "No DVT."]),
        ("Cyst 0.5 cm. No DVT.", ["Cyst 0.5 cm.", "No DVT."]),
        (
            "DVT vs. Baker's cyst. Seen by Dr. Smith.",
            ["DVT vs. Baker's cyst.", "Seen by Dr. Smith."],
        ),
        (
            "Hematoma, e.g. post-traumatic. No abscess.",
            ["Hematoma, e.g. post-traumatic.", "No abscess."],
        ),
        ("Measures approx. 2 cm. No DVT.", ["Measures approx. 2 cm.", "No DVT."]),
        ("Baker's cyst at 10 a.m. No DVT.", ["Baker's cyst at 10 a.m. No DVT."]),
        (
            "NO DVT. BAKER'S CYST MEASURING 2.5 CM. SMALL EFFUSION.",
            ["NO DVT.", "BAKER'S CYST MEASURING 2.5 CM.", "SMALL EFFUSION."],
        ),
        ("no dvt. baker's cyst noted.", ["no dvt.", "baker's cyst noted."]),
        ("DVT: No. Baker's cyst: yes.", ["DVT: No.", "Baker's cyst: yes."]),
        ("No DVT; Baker's cyst.", ["No DVT; Baker's cyst."]),
        ("? Baker's cyst. Calf pain? Evaluate.", ["? Baker's cyst.", "Calf pain?", "Evaluate."]),
        ("Large effusion! Aspirated.", ["Large effusion!", "Aspirated."]),
        ('He said "no pain." Then left.', ['He said "no pain."', "Then left."]),
        ("Impression: 1) No DVT. 2) Baker's cyst.", ["Impression: 1) No DVT.", "2) Baker's cyst."]),
        ("", []),
        ("   \n  ", []),
        ("No DVT", ["No DVT"]),
    ],
)
def test_split_within_lines(context_engine: ContextEngine, text: str, expected: list[str]) -> None:
    assert split(context_engine, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "FINDINGS:\nNo DVT.\nBaker's cyst.\n\nIMPRESSION:\n1. No DVT\n2. Baker's cyst",
            ["FINDINGS:\nNo DVT.", "Baker's cyst.", "IMPRESSION:\n1. No DVT", "2. Baker's cyst"],
        ),
        (
            "The popliteal fossa contains a\ncomplex cyst measuring 2 cm\nwith internal debris.",
            ["The popliteal fossa contains a\ncomplex cyst measuring 2 cm\nwith internal debris."],
        ),
        ("No DVT\n\nBaker's cyst", ["No DVT", "Baker's cyst"]),
        ("No DVT\n  \n\nBaker's cyst", ["No DVT", "Baker's cyst"]),
        ("No DVT or\nBaker's cyst.", ["No DVT or\nBaker's cyst."]),
        (
            "Left knee: no effusion.\nRight knee: Baker's cyst.",
            ["Left knee: no effusion.", "Right knee: Baker's cyst."],
        ),
        ("No DVT\nRight knee: Baker's cyst", ["No DVT", "Right knee: Baker's cyst"]),
        ("No DVT\n- Calf hematoma\n* Effusion", ["No DVT", "- Calf hematoma", "* Effusion"]),
        ("No DVT\r\n\r\nBaker's cyst", ["No DVT", "Baker's cyst"]),
    ],
)
def test_split_across_lines(context_engine: ContextEngine, text: str, expected: list[str]) -> None:
    assert split(context_engine, text) == expected


def test_spans_point_into_the_text_and_are_trimmed(context_engine: ContextEngine) -> None:
    text = "  FINDINGS:  No DVT.   Baker's cyst.  \n\n  Effusion.  "
    spans = context_engine.split_sentences(text)
    assert [text[s:e] for s, e in spans] == ["FINDINGS:  No DVT.", "Baker's cyst.", "Effusion."]
    for s, e in spans:
        assert not text[s].isspace()
        assert not text[e - 1].isspace()
    assert spans == sorted(spans)
