"""The public API of the context engine: scan once, ask about many targets."""

from __future__ import annotations

import pytest

from rules.context import (
    AFFIRMED,
    Certainty,
    ContextEngine,
    Cue,
    CueKind,
    Experiencer,
    Temporality,
    TriggerCategory,
    locate,
)


def span(sentence: str, target: str, nth: int = 1) -> tuple[int, int]:
    start = -1
    for _ in range(nth):
        start = sentence.index(target, start + 1)
    return (start, start + len(target))


def test_default_engine_is_compiled_once() -> None:
    assert ContextEngine.default() is ContextEngine.default()


def test_one_scan_answers_every_target(context_engine: ContextEngine) -> None:
    sentence = "No DVT or hematoma; however, a large Baker's cyst and possible tendon tear."
    scan = context_engine.scan(sentence)
    assert scan.context(span(sentence, "DVT")).negated
    assert scan.context(span(sentence, "hematoma")).negated
    cyst = scan.context(span(sentence, "Baker's cyst"))
    assert cyst == AFFIRMED
    assert cyst.is_finding
    tear = scan.context(span(sentence, "tendon tear"))
    assert (tear.negated, tear.certainty) == (False, Certainty.POSSIBLE)
    assert tear.is_finding


def test_analyze_equals_scan_then_context(context_engine: ContextEngine) -> None:
    sentence = "Remote history of gout; evaluate for Baker's cyst."
    for target in ("gout", "Baker's cyst"):
        assert context_engine.analyze(sentence, span(sentence, target)) == context_engine.scan(
            sentence
        ).context(span(sentence, target))


def test_cues_carry_kind_text_and_span_into_the_sentence(context_engine: ContextEngine) -> None:
    sentence = "The previously noted Baker's cyst is no longer visualized."
    result = context_engine.analyze(sentence, span(sentence, "Baker's cyst"))
    assert result.negated
    assert not result.is_finding
    assert result.cues == (Cue(CueKind.RESOLVED, "is no longer visualized", (34, 57)),)
    for cue in result.cues:
        assert sentence[cue.span[0] : cue.span[1]] == cue.text


def test_cues_are_in_text_order_and_explain_every_field(context_engine: ContextEngine) -> None:
    sentence = "Family history of DVT; her mother possibly had a Baker's cyst in the past."
    result = context_engine.analyze(sentence, span(sentence, "Baker's cyst"))
    assert result.experiencer is Experiencer.OTHER
    assert result.certainty is Certainty.POSSIBLE
    assert result.temporality is Temporality.HISTORICAL
    assert [c.kind for c in result.cues] == [
        CueKind.EXPERIENCER,
        CueKind.UNCERTAINTY,
        CueKind.HISTORICAL,
    ]
    assert [c.span for c in result.cues] == sorted(c.span for c in result.cues)


def test_nearest_temporal_trigger_wins(context_engine: ContextEngine) -> None:
    sentence = "History of DVT, evaluate for recurrent DVT."
    first = context_engine.analyze(sentence, span(sentence, "DVT"))
    second = context_engine.analyze(sentence, span(sentence, "DVT", 2))
    assert first.temporality is Temporality.HISTORICAL
    assert second.temporality is Temporality.HYPOTHETICAL


def test_triggers_are_exposed_with_their_scope(context_engine: ContextEngine) -> None:
    sentence = "No DVT; possible Baker's cyst."
    triggers = context_engine.scan(sentence).triggers
    assert [(t.category, t.text) for t in triggers] == [
        (TriggerCategory.NEGATION, "No"),
        (TriggerCategory.UNCERTAINTY, "possible"),
    ]
    assert triggers[0].scope == span(sentence, "DVT")
    assert triggers[1].scope == (span(sentence, "Baker's")[0], len(sentence))


def test_a_sentence_end_inside_the_text_limits_scope(context_engine: ContextEngine) -> None:
    text = "IMPRESSION: No DVT. Baker's cyst. No effusion."
    scan = context_engine.scan(text)
    assert scan.context(span(text, "DVT")).negated
    assert not scan.context(span(text, "Baker's cyst")).negated
    assert scan.context(span(text, "effusion")).negated


def test_a_long_text_with_many_triggers_keeps_every_scope_local(
    context_engine: ContextEngine,
) -> None:
    unit = "No DVT; possible cyst but history of gout. Baker's cyst. "
    text = unit * 800
    scan = context_engine.scan(text)
    middle = len(unit) * 400
    dvt = (middle + 3, middle + 6)
    cyst = (middle + unit.index("Baker's"), middle + unit.index(". ", unit.index("Baker's")))
    gout = (middle + unit.index("gout"), middle + unit.index("gout") + 4)
    assert scan.context(dvt).negated
    assert scan.context(cyst) == AFFIRMED
    assert scan.context(gout).temporality is Temporality.HISTORICAL
    assert len(scan.triggers) == 800 * 3


def test_a_trigger_overlapping_the_start_of_the_target_still_applies(
    context_engine: ContextEngine,
) -> None:
    # "no focal" is one trigger; the target starts inside it.
    sentence = "No focal fluid collection."
    assert context_engine.analyze(sentence, span(sentence, "focal fluid collection")).negated


def test_a_trigger_inside_the_target_does_not_apply_to_it(context_engine: ContextEngine) -> None:
    sentence = "Baker's cyst is not seen."
    assert context_engine.analyze(sentence, (0, len(sentence) - 1)) == AFFIRMED


def test_sentence_without_triggers_is_affirmed(context_engine: ContextEngine) -> None:
    sentence = "Large complex Baker's cyst measuring 4.5 x 2.0 cm."
    scan = context_engine.scan(sentence)
    assert scan.triggers == ()
    assert scan.context(span(sentence, "Baker's cyst")) is AFFIRMED


@pytest.mark.parametrize("bad", [(-1, 3), (3, 3), (5, 2), (0, 100)])
def test_a_target_outside_the_sentence_is_an_error(
    context_engine: ContextEngine, bad: tuple[int, int]
) -> None:
    with pytest.raises(ValueError, match="is not a span"):
        context_engine.analyze("No DVT.", bad)


def test_scan_is_reusable_and_deterministic(context_engine: ContextEngine) -> None:
    sentence = "Cannot exclude a small hematoma."
    scan = context_engine.scan(sentence)
    first = scan.context(span(sentence, "hematoma"))
    assert scan.context(span(sentence, "hematoma")) == first
    assert context_engine.scan(sentence).context(span(sentence, "hematoma")) == first


def test_unicode_text_keeps_correct_spans(context_engine: ContextEngine) -> None:
    sentence = "Kein Erguss — no Baker’s cyst, but ⅰ small hæmatoma."
    cyst = context_engine.analyze(sentence, span(sentence, "Baker’s cyst"))
    assert cyst.negated
    assert cyst.cues[0].text == "no"
    assert not context_engine.analyze(sentence, span(sentence, "hæmatoma")).negated


@pytest.mark.parametrize(
    ("sentence", "target", "expected"),
    [
        ("No DVT;   Baker's   cyst.", "baker's cyst", (10, 24)),
        ("NO DVT. BAKER'S\nCYST.", "Baker's cyst", (8, 20)),
        ("No DVT.", "cyst", None),
        ("No DVT.", "   ", None),
    ],
)
def test_locate_is_case_insensitive_and_whitespace_tolerant(
    sentence: str, target: str, expected: tuple[int, int] | None
) -> None:
    assert locate(sentence, target) == expected
