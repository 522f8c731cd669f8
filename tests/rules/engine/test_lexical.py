from __future__ import annotations

import pytest

from rules.ruleset.lexical import MAX_VARIANTS, plurals, spellings, tokens, variants


def _joined(text: str, *, plural: bool = True) -> set[str]:
    return {" ".join(v) for v in variants(text, plural=plural)}


def test_possessive_gives_three_spellings() -> None:
    assert _joined("Baker's cyst", plural=False) == {"bakers cyst", "baker cyst"}
    # The text side drops apostrophes the same way, so "Baker's" == "Bakers".
    assert tokens("BAKER'S Bakers’ baker") == ["bakers", "bakers", "baker"]


def test_hyphenated_words_match_split_and_joined() -> None:
    assert _joined("thick-walled", plural=False) == {"thick walled", "thickwalled"}
    assert tokens("thick-walled") == tokens("thick walled")


def test_british_and_american_spellings_both_ways() -> None:
    assert {"haematoma", "hematoma"} <= _joined("hematoma")
    assert {"haematoma", "hematoma"} <= _joined("haematoma")
    assert spellings("oedema") >= {"edema", "oedema"}
    assert spellings("tumour") >= {"tumor", "tumour"}
    assert spellings("hyperemic") >= {"hyperaemic", "hyperemic"}
    assert spellings("lipohaemarthrosis") >= {"lipohemarthrosis"}
    assert spellings("orthopaedic") >= {"orthopedic"}


def test_plurals_of_medical_nouns() -> None:
    assert plurals("cyst") == {"cysts"}
    assert plurals("bursa") == {"bursae", "bursas"}
    assert "tophi" in plurals("tophus")
    assert plurals("body") == {"bodies"}
    assert plurals("tendinosis") == {"tendinoses"}
    assert "abscesses" in plurals("abscess")
    assert plurals("synovitis") == set()
    assert plurals("aggregates") == set()


def test_plural_applies_to_the_last_word_only() -> None:
    assert _joined("foreign body") == {"foreign body", "foreign bodies"}
    assert _joined("foreign body", plural=False) == {"foreign body"}


def test_empty_and_exploding_terms_are_refused() -> None:
    with pytest.raises(ValueError, match="no words"):
        variants(" - ")
    with pytest.raises(ValueError, match=str(MAX_VARIANTS)):
        variants("a-b c-d e-f g-h i-j k-l m-n o-p q-r")
