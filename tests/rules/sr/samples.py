"""Sample documents built with rules.sr.build, shared by the SR tests and the benchmark."""

from __future__ import annotations

from pydicom.dataset import Dataset

from rules.sr import build, codes
from rules.sr.build import MeasurementGroup, VascularSection, Vessel
from rules.sr.vocab import Presence

LEG_VEINS = (
    codes.COMMON_FEMORAL_VEIN,
    codes.FEMORAL_VEIN,
    codes.POPLITEAL_VEIN,
    codes.POSTERIOR_TIBIAL_VEIN,
    codes.GREAT_SAPHENOUS_VEIN,
)


def vascular_content(*, vessels_per_side: int = 5) -> Dataset:
    """A bilateral TID 5100 venous duplex report (~50 items with 5 vessels a side)."""
    sections = []
    for side in ("right", "left"):
        vessels = tuple(
            Vessel(
                LEG_VEINS[i % len(LEG_VEINS)],
                (
                    (codes.PEAK_SYSTOLIC_VELOCITY, 30.0 + i),
                    (codes.END_DIASTOLIC_VELOCITY, 8.5 + i),
                ),
            )
            for i in range(vessels_per_side)
        )
        texts: tuple[str, ...] = ("Veins are compressible with normal flow.",)
        coded: tuple[Dataset, ...] = ()
        if side == "left":
            texts += ("Incidental 2.5 cm Baker's cyst in the popliteal fossa.",)
            coded = (
                build.coded_finding(
                    codes.CYST, site=codes.POPLITEAL_FOSSA, presence=Presence.PRESENT
                ),
            )
        sections.append(VascularSection(side, vessels=vessels, texts=texts, coded=coded))
    return build.vascular_report(
        sections,
        summary=["No deep vein thrombosis. Left Baker's cyst."],
        indications=["Left calf swelling, rule out DVT."],
    )


def diagnostic_content() -> Dataset:
    return build.diagnostic_report(
        indications=["Swelling of the left calf; evaluate for Baker's cyst."],
        history=["History of gout."],
        findings=["No DVT.", "Small Baker's cyst."],
        coded_findings=[
            build.coded_finding(codes.EFFUSION, site=codes.KNEE_JOINT, presence=Presence.ABSENT)
        ],
        impressions=["Small left Baker's cyst."],
        recommendations=["Follow-up ultrasound to evaluate for rupture."],
        comments=["Discussed with the referring physician."],
    )


def measurement_content() -> Dataset:
    return build.measurement_report(
        [
            MeasurementGroup(
                "cyst-1",
                codes.CYST,
                site=codes.POPLITEAL_FOSSA,
                laterality="right",
                measurements=((codes.LENGTH, 2.8, codes.CM), (codes.LENGTH, 1.1, codes.CM)),
            ),
            MeasurementGroup(
                "effusion-1",
                codes.EFFUSION,
                site=codes.KNEE_JOINT,
                measurements=((codes.LENGTH, 6.0, codes.MM),),
            ),
        ]
    )
