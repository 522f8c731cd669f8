"""Generate the demo's studies: deterministic for a seed (and the day it runs).

    studies = generate_demo(seed=7, studies=20, today=date.today())

Each study gets its own random stream (from the seed and its number), so the first N
studies of a seed are the same whatever N is, and a re-run of a seed on the same day
sends identical objects (which the service acknowledges as duplicates). The case kinds
come from a shuffled deck, so every kind shows up in any run of 20 or more.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from rules.sr import build, codes
from triage.demo import people, phrases
from triage.demo.model import CaseKind, DemoStudy, ExpectedFlag
from triage.demo.report import (
    VESSELS,
    CodedMention,
    Mention,
    ReportSpec,
    Side,
    content,
    expected_flags,
)

# Twenty studies show every kind; larger runs repeat the deck, each time reshuffled.
DECK: tuple[CaseKind, ...] = (
    *([CaseKind.NORMAL] * 3),
    *([CaseKind.DVT] * 2),
    *([CaseKind.INCIDENTAL] * 6),
    CaseKind.TWO_FINDINGS,
    *([CaseKind.NEGATED] * 2),
    *([CaseKind.INDICATION_ONLY] * 2),
    *([CaseKind.CODED] * 2),
    CaseKind.AMENDED_ADD,
    CaseKind.AMENDED_REMOVE,
)
US_VIEWS: tuple[str, ...] = ("CFV", "FV MID", "POP", "PTV")
IMAGE_SIZE = 64  # pixels square: small, the demo is about the reports
_CODED = (
    (codes.CYST, codes.POPLITEAL_FOSSA, "bakers_cyst"),
    (codes.EFFUSION, codes.KNEE_JOINT, "joint_effusion"),
)
_SIDE_CODE = {"left": "L", "right": "R"}


def generate_demo(*, seed: int, studies: int, today: date) -> tuple[DemoStudy, ...]:
    """``studies`` synthetic DVT studies dated in the week before ``today``."""
    if studies < 1:
        raise ValueError("at least one study")
    kinds = _deal(seed, studies)
    return tuple(_study(seed, number, kind, today) for number, kind in enumerate(kinds, start=1))


def _deal(seed: int, count: int) -> list[CaseKind]:
    rng = random.Random(f"msk-triage demo deck {seed}")
    kinds: list[CaseKind] = []
    while len(kinds) < count:
        deck = list(DECK)
        rng.shuffle(deck)
        kinds.extend(deck)
    return kinds[:count]


# -- one study ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Identity:
    seed: int
    number: int
    study: build.Study
    study_time: time
    patient_sex: str
    birth_date: str
    referrer: str
    reader: str
    scanner: people.Scanner

    def uid(self, role: str) -> str:
        """A UID derived from the seed, study number and the object's role."""
        return str(
            generate_uid(entropy_srcs=["msk-triage demo", str(self.seed), str(self.number), role])
        )


def _study(seed: int, number: int, kind: CaseKind, today: date) -> DemoStudy:
    rng = random.Random(f"msk-triage demo study {seed}:{number}")
    sides = _sides(rng)
    identity = _identity(rng, seed, number, today, sides)
    before, after, summary = _specs(kind, rng, sides)
    first_report = _report(identity, before, instance=1, minutes_after=rng.randint(20, 90))
    amendment = None
    if after is not None:
        amendment = _report(
            identity, after, instance=2, minutes_after=24 * 60 + rng.randint(0, 180),
            predecessor=first_report,
        )  # fmt: skip
    images = _images(identity, rng, before, sides)
    return DemoStudy(
        number=number,
        kind=kind,
        study_instance_uid=identity.study.study_instance_uid,
        accession_number=identity.study.accession_number,
        patient_id=identity.study.patient_id,
        patient_name=identity.study.patient_name,
        study_date=_date(identity.study.study_date),
        sides=sides,
        summary=summary,
        objects=(*images, first_report),
        amendment=amendment,
        expected_before=expected_flags(before),
        expected=expected_flags(after if after is not None else before),
    )


def _sides(rng: random.Random) -> tuple[str, ...]:
    roll = rng.random()
    if roll < 0.4:
        return ("right", "left")
    return ("left",) if roll < 0.7 else ("right",)


def _identity(
    rng: random.Random, seed: int, number: int, today: date, sides: Sequence[str]
) -> _Identity:
    given, sex = rng.choice(people.GIVEN_NAMES)
    family = rng.choice(people.FAMILY_NAMES)
    study_date = today - timedelta(days=rng.randint(1, 7))
    study_time = time(rng.randint(7, 19), rng.randint(0, 59), rng.randint(0, 59))
    birth = date(study_date.year - rng.randint(25, 90), rng.randint(1, 12), rng.randint(1, 28))
    which = "BILATERAL" if len(sides) == 2 else sides[0].upper()
    partial = _Identity(
        seed=seed,
        number=number,
        study=build.Study(),  # replaced below, once the UIDs can be derived
        study_time=study_time,
        patient_sex=sex,
        birth_date=birth.strftime("%Y%m%d"),
        referrer=rng.choice(people.REFERRERS),
        reader=rng.choice(people.READERS),
        scanner=rng.choice(people.SCANNERS),
    )
    study = build.Study(
        study_instance_uid=partial.uid("study"),
        accession_number=f"DM{study_date:%y%m%d}{rng.randrange(10_000):04d}",
        patient_id=f"DEMO{rng.randrange(1_000_000):06d}",
        patient_name=f"{family}^{given}",
        study_description=f"US DUPLEX VEINS LOWER EXTREMITY {which}",
        study_date=study_date.strftime("%Y%m%d"),
    )
    return replace(partial, study=study)


def _date(value: str) -> date:
    return date(int(value[:4]), int(value[4:6]), int(value[6:]))


# -- what the report says ------------------------------------------------------------------------


def _specs(
    kind: CaseKind, rng: random.Random, sides: tuple[str, ...]
) -> tuple[ReportSpec, ReportSpec | None, str]:
    """(first report, amendment or None, a few words on what the report says)."""
    side = rng.choice(sides)
    legs = {s: _normal_side(rng, s) for s in sides}
    indication = _indication(rng, phrases.PLAIN_INDICATIONS, side)

    def spec(**changes: Side) -> ReportSpec:
        merged = {**legs, **changes}
        return ReportSpec(sides=tuple(merged[s] for s in sides), indication=indication)

    if kind is CaseKind.NORMAL:
        if rng.random() < 0.4:
            legs[side] = _with(legs[side], Mention(rng.choice(phrases.DISTRACTORS)))
        return spec(), None, "no DVT, nothing incidental"
    if kind is CaseKind.DVT:
        thrombosed = rng.choice(((2,), (2, 3), (1, 2), (3,)))
        legs[side] = replace(legs[side], thrombosed=thrombosed)
        names = " and ".join(VESSELS[i][1] for i in thrombosed)
        return spec(), None, f"{side} DVT ({names}), nothing incidental"
    if kind is CaseKind.INCIDENTAL:
        incidental = _pick_incidental(rng)
        legs[side] = _with(legs[side], _mention(rng, incidental, side))
        if rng.random() < 0.25:
            legs[side] = replace(legs[side], thrombosed=(2,))
        return spec(), None, _describe(incidental, side)
    if kind is CaseKind.TWO_FINDINGS:
        first, second = _two_incidentals(rng)
        other = rng.choice(sides)
        legs[side] = _with(legs[side], _mention(rng, first, side))
        legs[other] = _with(legs[other], _mention(rng, second, other))
        return spec(), None, f"{_describe(first, side)}; {_describe(second, other)}"
    if kind is CaseKind.NEGATED:
        said = rng.choice(phrases.NEGATED + phrases.RESOLVED)
        legs[side] = _with(legs[side], Mention(said))
        if rng.random() < 0.5:
            legs[side] = replace(
                legs[side],
                coded=(CodedMention(codes.CYST, codes.POPLITEAL_FOSSA, False, "bakers_cyst"),),
            )
        return spec(), None, f"negated: {said!r}"
    if kind is CaseKind.INDICATION_ONLY:
        indication = _indication(rng, phrases.INDICATIONS, side)
        return spec(), None, f"indication only: {indication!r}"
    if kind is CaseKind.CODED:
        finding_code, site, finding = rng.choice(_CODED)
        legs[side] = replace(legs[side], coded=(CodedMention(finding_code, site, True, finding),))
        return spec(), None, f"{side} {finding} (coded, no text)"
    if kind is CaseKind.AMENDED_ADD:
        incidental = _pick_incidental(rng)
        mention = _mention(rng, incidental, side)
        addendum = phrases.ADDENDUM.format(impression=_lower_first(mention.impression or ""))
        after = replace(
            spec(**{side: _with(legs[side], replace(mention, impression=None))}),
            addenda=(addendum,),
        )
        return spec(), after, f"amendment adds {_describe(incidental, side)}"
    if kind is CaseKind.AMENDED_REMOVE:
        incidental = _pick_incidental(rng, finding="bakers_cyst", certainty="definite")
        before = spec(**{side: _with(legs[side], _mention(rng, incidental, side))})
        after = replace(
            spec(**{side: _with(legs[side], Mention("No Baker's cyst."))}),
            addenda=(rng.choice(phrases.RETRACTIONS).format(side=side),),
        )
        return before, after, f"amendment removes {_describe(incidental, side)}"
    raise AssertionError(f"unhandled case kind {kind}")


def _normal_side(rng: random.Random, side: str) -> Side:
    return Side(
        side=side,
        velocities=(
            round(rng.uniform(20, 45), 1),
            round(rng.uniform(15, 35), 1),
            round(rng.uniform(10, 30), 1),
        ),
    )


def _with(side: Side, mention: Mention) -> Side:
    return replace(side, mentions=(*side.mentions, mention))


def _indication(rng: random.Random, choices: Sequence[str], side: str) -> str:
    return rng.choice(choices).format(side=side, Side=side.capitalize())


def _pick_incidental(
    rng: random.Random, *, finding: str | None = None, certainty: str | None = None
) -> phrases.Incidental:
    pool = [
        i
        for i in phrases.INCIDENTALS
        if (finding is None or i.finding == finding)
        and (certainty is None or i.certainty == certainty)
    ]
    return rng.choice(pool)


def _two_incidentals(rng: random.Random) -> tuple[phrases.Incidental, phrases.Incidental]:
    first = _pick_incidental(rng)
    cysts = {"bakers_cyst", "ruptured_bakers_cyst"}
    # Two different findings, and never a Baker's cyst beside a ruptured one (the
    # ruptured one is reported instead, which would leave one finding).
    pool = [
        i
        for i in phrases.INCIDENTALS
        if i.finding != first.finding and not {i.finding, first.finding} <= cysts
    ]
    return first, rng.choice(pool)


def _mention(rng: random.Random, incidental: phrases.Incidental, side: str) -> Mention:
    size = rng.uniform(1.5, 5.5)
    values = {
        "size": f"{size:.1f}",
        "dims": f"{size:.1f} x {size * rng.uniform(0.3, 0.7):.1f}",
        "side": side,
        "Side": side.capitalize(),
    }
    return Mention(
        body=incidental.body.format(**values),
        impression=incidental.impression.format(**values),
        finding=incidental.finding,
        certainty=incidental.certainty,
    )


def _describe(incidental: phrases.Incidental, side: str) -> str:
    certainty = "" if incidental.certainty == "definite" else " (possible)"
    return f"{side} {incidental.finding}{certainty}"


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


# -- the DICOM objects -----------------------------------------------------------------------


def _report(
    identity: _Identity,
    spec: ReportSpec,
    *,
    instance: int,
    minutes_after: int,
    predecessor: Dataset | None = None,
) -> Dataset:
    ds = build.sr_document(
        content(spec),
        study=identity.study,
        predecessors=[predecessor] if predecessor is not None else [],
        verified=True,
        reason_for_procedure=spec.indication,
    )
    written = _at(identity, minutes_after)
    _stamp(ds, identity, series_role="sr", series_number=99, instance=instance)
    ds.SeriesDescription = "Vascular report"
    ds.ContentDate = written.strftime("%Y%m%d")
    ds.ContentTime = written.strftime("%H%M%S")
    observer = ds.VerifyingObserverSequence[0]
    observer.VerifyingObserverName = identity.reader
    observer.VerifyingOrganization = people.INSTITUTION
    observer.VerificationDateTime = written.strftime("%Y%m%d%H%M%S")
    return ds


def _images(
    identity: _Identity, rng: random.Random, spec: ReportSpec, sides: Sequence[str]
) -> list[Dataset]:
    plan: list[tuple[str, str, str]] = []  # (side, view, body part)
    for side in sides:
        for view in sorted(rng.sample(US_VIEWS, rng.randint(2, 3)), key=US_VIEWS.index):
            plan.append((side, view, "KNEE" if view == "POP" else "LEG"))
    noted = rng.randrange(len(plan)) if rng.random() < 0.6 else None
    note = rng.choice(phrases.SONOGRAPHER_NOTES)
    images = []
    for index, (side, view, body_part) in enumerate(plan, start=1):
        ds = build.us_image(
            study=identity.study,
            image_comments=note if index - 1 == noted else None,
            reason_for_procedure=spec.indication,
            laterality=side,
            rows=IMAGE_SIZE,
            columns=IMAGE_SIZE,
        )
        _stamp(ds, identity, series_role="us", series_number=1, instance=index)
        acquired = _at(identity, index)
        ds.ContentDate = acquired.strftime("%Y%m%d")
        ds.ContentTime = acquired.strftime("%H%M%S")
        ds.AcquisitionDateTime = acquired.strftime("%Y%m%d%H%M%S")
        ds.BodyPartExamined = body_part
        ds.Laterality = _SIDE_CODE[side]
        ds.SeriesDescription = "Venous duplex"
        ds.ProtocolName = f"{_SIDE_CODE[side]} {view}"
        ds.PixelData = _speckle(rng)
        images.append(ds)
    return images


def _stamp(
    ds: Dataset, identity: _Identity, *, series_role: str, series_number: int, instance: int
) -> None:
    """Deterministic UIDs and the department's header attributes (the builder's are
    generic and random)."""
    ds.SOPInstanceUID = identity.uid(f"{series_role}-{instance}")
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.SeriesInstanceUID = identity.uid(f"series-{series_role}")
    ds.SeriesNumber = series_number
    ds.InstanceNumber = instance
    ds.StudyTime = identity.study_time.strftime("%H%M%S")
    ds.StudyID = f"{identity.number}"
    ds.InstitutionName = people.INSTITUTION
    ds.StationName = identity.scanner.station
    ds.Manufacturer = identity.scanner.manufacturer
    ds.ManufacturerModelName = identity.scanner.model
    ds.ReferringPhysicianName = identity.referrer
    ds.PatientBirthDate = identity.birth_date
    ds.PatientSex = identity.patient_sex


def _at(identity: _Identity, minutes_after: int) -> datetime:
    start = datetime.combine(_date(identity.study.study_date), identity.study_time)
    return start + timedelta(minutes=minutes_after)


def _speckle(rng: random.Random) -> bytes:
    """Ultrasound-like noise: dark near field fading in, brighter speckle below."""
    rows: Iterator[bytes] = (
        bytes(min(255, int(rng.random() * (40 + 3 * r))) for _ in range(IMAGE_SIZE))
        for r in range(IMAGE_SIZE)
    )
    return b"".join(rows)


__all__ = ["DECK", "ExpectedFlag", "generate_demo"]
