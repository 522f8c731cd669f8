"""Sizes in report text and which flagged mention each belongs to."""

from __future__ import annotations

import pytest

from rules.api import evaluate, load_ruleset
from rules.engine.compiled import RuleSet
from rules.engine.matcher import tokenize
from rules.engine.sizes import find_sizes
from tests.rules.engine import docs


@pytest.fixture(scope="module")
def pack() -> RuleSet:
    return load_ruleset()


@pytest.mark.parametrize(
    ("text", "sizes"),
    [
        ("Baker's cyst 2.8 cm.", [[(2.8, "cm")]]),
        ("A 3.2 x 1.1 x 2.0 cm cyst", [[(3.2, "cm"), (1.1, "cm"), (2.0, "cm")]]),
        ("3.3 X 1.2 CM", [[(3.3, "cm"), (1.2, "cm")]]),
        ("2cm cyst and 8 mm nodule", [[(2.0, "cm")], [(8.0, "mm")]]),
        ("3 cm x 2 cm", [[(3.0, "cm"), (2.0, "cm")]]),
        ("5 by 3 millimeters", [[(5.0, "mm"), (3.0, "mm")]]),
        ("20 mL of fluid", [[(20.0, "mL")]]),
        ("now 2.1 x 1.0 cm (previously 4.5 x 2.2 cm)", [[(2.1, "cm"), (1.0, "cm")]]),
        ("decreased from 3 cm", []),
        ("peak velocity 20 cm/s", []),
        ("L4 level, 2.5 x 1.0", []),
        ("area 3 cm2", []),
    ],
)
def test_find_sizes(text: str, sizes: list[list[tuple[float, str]]]) -> None:
    tt = tokenize(text)
    found = [
        [(m.value, m.unit.value if m.unit else "") for m in s.values]
        for s in find_sizes(tt, 0, len(text))
    ]
    assert found == sizes


def measurements(pack: RuleSet, *texts: str) -> dict[str, list[tuple[float, str]]]:
    result = evaluate(docs.texts(*texts), pack)
    return {
        f.finding: [(m.value, m.unit.value if m.unit else "") for m in f.measurements]
        for f in result.flags
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Incidental 2.8 x 1.2 cm Baker's cyst.", {"bakers_cyst": [(2.8, "cm"), (1.2, "cm")]}),
        ("Baker's cyst measuring 3 cm in length.", {"bakers_cyst": [(3.0, "cm")]}),
        ("Left Baker's cyst, 3.0 x 1.1 cm.", {"bakers_cyst": [(3.0, "cm"), (1.1, "cm")]}),
        (
            "Collection in the calf measuring 6 cm, likely hematoma.",
            {"hematoma": [(6.0, "cm")]},
        ),
        (
            "A 2 cm Baker's cyst and a 4 cm calf hematoma.",
            {"bakers_cyst": [(2.0, "cm")], "hematoma": [(4.0, "cm")]},
        ),
        (
            "Baker's cyst is noted, the popliteal vein measures 1.1 cm.",
            {"bakers_cyst": []},
        ),
        ("Lymph node 2 cm, small Baker's cyst.", {"bakers_cyst": []}),
        ("No hematoma. The vein measures 8 mm.", {}),
    ],
)
def test_sizes_belong_to_their_mention(
    pack: RuleSet, text: str, expected: dict[str, list[tuple[float, str]]]
) -> None:
    assert measurements(pack, text) == expected


def test_a_flag_gathers_sizes_without_repeating_them(pack: RuleSet) -> None:
    got = measurements(pack, "Baker's cyst 2 x 2 cm.", "Impression: 2 cm Baker's cyst.")
    assert got == {"bakers_cyst": [(2.0, "cm"), (2.0, "cm")]}


def test_the_superseded_cyst_gives_its_size_to_the_ruptured_one(pack: RuleSet) -> None:
    got = measurements(
        pack,
        "The Baker's cyst has enlarged, now 4.1 cm.",
        "Fluid dissecting from the Baker's cyst into the calf, in keeping with rupture.",
    )
    assert got == {"ruptured_bakers_cyst": [(4.1, "cm")]}
