"""The demo's ground truth against the real rule pack.

What the generator says each study must flag has to be exactly what
``rules.api.evaluate`` over ``rules.sr.reader.read_document`` flags: finding, certainty
and laterality. This guards both sides: the demo's promises to a newcomer, and the rule
pack on sentences written the way DVT reports are written.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import pytest
from pydicom.dataset import Dataset

from rules.sr import build, codes
from rules.sr.model import Code
from triage.demo import phrases
from triage.demo.generate import generate_demo
from triage.demo.model import DemoStudy, ExpectedFlag
from triage.demo.report import CodedMention, Mention, ReportSpec, Side, content, expected_flags

from .truth import Flags, flags_of

TODAY = date(2026, 3, 15)


def expected(flags: Sequence[ExpectedFlag]) -> Flags:
    return {flag.finding: (flag.certainty, flag.laterality) for flag in flags}


def current(study: DemoStudy, *, amended: bool) -> list[Dataset]:
    """The study's documents once the first report, or its amendment, has arrived: an
    amendment replaces the report it names as its predecessor."""
    if not amended or study.amendment is None:
        return list(study.objects)
    replaced = {
        str(sop.ReferencedSOPInstanceUID)
        for ref in study.amendment.PredecessorDocumentsSequence
        for series in ref.ReferencedSeriesSequence
        for sop in series.ReferencedSOPSequence
    }
    kept = [ds for ds in study.objects if str(ds.SOPInstanceUID) not in replaced]
    return [*kept, study.amendment]


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_every_generated_study_flags_what_the_generator_says(seed: int) -> None:
    disagreements = []
    for study in generate_demo(seed=seed, studies=40, today=TODAY):
        for amended in (False, True):
            truth = study.expected if amended else study.expected_before
            got = flags_of(current(study, amended=amended))
            if got != expected(truth):
                disagreements.append((study.number, study.summary, amended, expected(truth), got))
    assert disagreements == []


def test_the_runs_cover_flagged_and_unflagged_studies() -> None:
    studies = generate_demo(seed=1, studies=40, today=TODAY)
    flagged = [s for s in studies if s.expected]
    assert 10 <= len(flagged) <= 30
    assert {f.certainty for s in flagged for f in s.expected} == {"definite", "possible"}
    assert {f.laterality for s in flagged for f in s.expected} == {"left", "right"}


# -- every sentence of the catalogue, on its own -------------------------------------------


def report(
    side: str,
    *,
    mentions: Sequence[Mention] = (),
    coded: Sequence[CodedMention] = (),
    indication: str = "Leg swelling.",
    addenda: Sequence[str] = (),
) -> ReportSpec:
    leg = Side(side, (30.0, 25.0, 15.0), mentions=tuple(mentions), coded=tuple(coded))
    return ReportSpec(sides=(leg,), indication=indication, addenda=tuple(addenda))


def sr(spec: ReportSpec) -> Dataset:
    return build.sr_document(content(spec), reason_for_procedure=spec.indication)


def render(template: str, side: str) -> str:
    return template.format(size="3.1", dims="3.1 x 1.4", side=side, Side=side.capitalize())


@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize(
    "incidental", phrases.INCIDENTALS, ids=lambda i: f"{i.finding}:{i.body[:30]}"
)
def test_each_incidental_finding_is_flagged_with_its_certainty_and_side(
    incidental: phrases.Incidental, side: str
) -> None:
    mention = Mention(
        render(incidental.body, side),
        render(incidental.impression, side),
        incidental.finding,
        incidental.certainty,
    )
    spec = report(side, mentions=[mention])
    assert (
        flags_of([sr(spec)])
        == expected(expected_flags(spec))
        == {incidental.finding: (incidental.certainty, side)}
    )


@pytest.mark.parametrize(
    "incidental", phrases.INCIDENTALS, ids=lambda i: f"{i.finding}:{i.body[:30]}"
)
def test_each_incidental_finding_is_flagged_from_an_addendum_alone(
    incidental: phrases.Incidental,
) -> None:
    impression = render(incidental.impression, "left")
    addendum = phrases.ADDENDUM.format(impression=impression[:1].lower() + impression[1:])
    spec = report("left", addenda=[addendum])
    assert flags_of([sr(spec)]) == {incidental.finding: (incidental.certainty, "left")}


@pytest.mark.parametrize(
    "sentence",
    [*phrases.NEGATED, *phrases.RESOLVED, *phrases.DISTRACTORS, phrases.VESSEL_THROMBUS],
)
def test_negated_resolved_and_non_msk_sentences_flag_nothing(sentence: str) -> None:
    assert flags_of([sr(report("left", mentions=[Mention(sentence)]))]) == {}


@pytest.mark.parametrize("template", [*phrases.INDICATIONS, *phrases.PLAIN_INDICATIONS])
def test_indications_flag_nothing(template: str) -> None:
    spec = report("right", indication=render(template, "right"))
    image = build.us_image(reason_for_procedure=spec.indication)
    assert flags_of([sr(spec), image]) == {}


@pytest.mark.parametrize("note", phrases.SONOGRAPHER_NOTES)
def test_sonographer_notes_flag_nothing(note: str) -> None:
    assert flags_of([build.us_image(image_comments=note, laterality="left")]) == {}


@pytest.mark.parametrize("retraction", phrases.RETRACTIONS)
def test_the_retraction_of_a_bakers_cyst_flags_nothing(retraction: str) -> None:
    spec = report(
        "left",
        mentions=[Mention("No Baker's cyst.")],
        addenda=[retraction.format(side="left")],
    )
    assert flags_of([sr(spec)]) == {}


@pytest.mark.parametrize(
    ("finding_code", "site", "finding"),
    [
        (codes.CYST, codes.POPLITEAL_FOSSA, "bakers_cyst"),
        (codes.EFFUSION, codes.KNEE_JOINT, "joint_effusion"),
    ],
)
@pytest.mark.parametrize("present", [True, False])
def test_coded_findings_flag_when_present(
    finding_code: Code, site: Code, finding: str, present: bool
) -> None:
    spec = report("right", coded=[CodedMention(finding_code, site, present, finding)])
    want = {finding: ("definite", "right")} if present else {}
    assert flags_of([sr(spec)]) == expected(expected_flags(spec)) == want
