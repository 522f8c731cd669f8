"""A DVT report as data (what each leg shows), its SR content (TID 5100), and the flags it
must give.

The report spec is the single source of both the SR and the ground truth, so the two
cannot drift apart: every sentence that names a finding carries its finding id.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydicom.dataset import Dataset

from rules.sr import build, codes
from rules.sr.model import Code
from rules.sr.vocab import Presence
from triage.demo import phrases
from triage.demo.model import ExpectedFlag

# The deep veins a lower-extremity venous Doppler examines, proximal to distal.
VESSELS: tuple[tuple[Code, str], ...] = (
    (codes.COMMON_FEMORAL_VEIN, "common femoral vein"),
    (codes.FEMORAL_VEIN, "femoral vein"),
    (codes.POPLITEAL_VEIN, "popliteal vein"),
    (codes.POSTERIOR_TIBIAL_VEIN, "posterior tibial veins"),
)
# Which vessels carry a velocity measurement (the ones a sonographer samples).
MEASURED = 3


@dataclass(frozen=True, slots=True)
class Mention:
    """A Findings sentence of one side, and its Impression line (None: not repeated)."""

    body: str
    impression: str | None = None
    finding: str | None = None  # the finding id it asserts, if any
    certainty: str | None = None


@dataclass(frozen=True, slots=True)
class CodedMention:
    """A coded Finding at a site with a presence modifier, in one side's section."""

    finding_code: Code
    site: Code
    present: bool
    finding: str | None  # the finding id it asserts when present


@dataclass(frozen=True, slots=True)
class Side:
    side: str  # "left" or "right"
    velocities: tuple[float, ...]  # cm/s, one per measured vessel
    thrombosed: tuple[int, ...] = ()  # indexes into VESSELS
    mentions: tuple[Mention, ...] = ()
    coded: tuple[CodedMention, ...] = ()


@dataclass(frozen=True, slots=True)
class ReportSpec:
    sides: tuple[Side, ...]
    indication: str
    addenda: tuple[str, ...] = ()  # summary lines an amendment adds (first)


# -- the SR content --------------------------------------------------------------------------


def content(spec: ReportSpec) -> Dataset:
    """The TID 5100 root container: a Findings section per side (vessels with velocities and
    compressibility, incidental findings), the Summary (impressions), the indication."""
    sections = [_section(side) for side in spec.sides]
    return build.vascular_report(sections, summary=impressions(spec), indications=[spec.indication])


def impressions(spec: ReportSpec) -> list[str]:
    lines = list(spec.addenda)
    for side in spec.sides:
        if side.thrombosed:
            names = [VESSELS[i][1] for i in side.thrombosed]
            vessels = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
            lines.append(phrases.IMPRESSION_DVT.format(side=side.side, vessels=vessels))
        else:
            lines.append(phrases.IMPRESSION_NORMAL.format(side=side.side))
    for side in spec.sides:
        lines.extend(m.impression for m in side.mentions if m.impression)
    return lines


def _section(side: Side) -> build.VascularSection:
    vessels = []
    for index, (code, _name) in enumerate(VESSELS):
        thrombus = index in side.thrombosed
        findings = [
            build.text(
                codes.FINDING, phrases.VESSEL_THROMBUS if thrombus else phrases.VESSEL_NORMAL
            )
        ]
        if thrombus:
            findings.append(build.coded_finding(codes.THROMBUS, presence=Presence.PRESENT))
        velocities = (
            ((codes.PEAK_SYSTOLIC_VELOCITY, side.velocities[index]),)
            if index < MEASURED and not thrombus
            else ()
        )
        vessels.append(build.Vessel(code, velocities, tuple(findings)))
    coded = tuple(
        build.coded_finding(
            c.finding_code,
            site=c.site,
            presence=Presence.PRESENT if c.present else Presence.ABSENT,
        )
        for c in side.coded
    )
    return build.VascularSection(
        side.side,
        vessels=tuple(vessels),
        texts=tuple(m.body for m in side.mentions),
        coded=coded,
    )


# -- the ground truth ------------------------------------------------------------------------


def expected_flags(spec: ReportSpec) -> tuple[ExpectedFlag, ...]:
    """The flags this report must give: one per finding id, definite over possible, both
    sides giving "bilateral", a ruptured Baker's cyst reported instead of the plain one."""
    found: dict[str, ExpectedFlag] = {}
    for side in spec.sides:
        asserted = [(m.finding, m.certainty or "definite") for m in side.mentions if m.finding]
        asserted += [(c.finding, "definite") for c in side.coded if c.present and c.finding]
        for finding, certainty in asserted:
            old = found.get(finding)
            if old is None:
                found[finding] = ExpectedFlag(finding, certainty, side.side)
                continue
            found[finding] = ExpectedFlag(
                finding,
                "definite" if "definite" in (old.certainty, certainty) else "possible",
                old.laterality if old.laterality == side.side else "bilateral",
            )
    if "ruptured_bakers_cyst" in found:
        found.pop("bakers_cyst", None)
    return tuple(sorted(found.values()))
