"""Synthetic DVT studies for the pipeline benchmark: one SR each (a mix of positive,
negated and normal reports), optionally with ultrasound images."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rules.sr import build

# Positive, negated and normal findings, in the proportions the bench cycles through.
REPORTS = (
    ("No DVT. There is a 3 cm Baker's cyst in the right popliteal fossa.", True),
    ("No deep vein thrombosis. No Baker's cyst. No joint effusion.", False),
    ("Left calf: intramuscular hematoma. Possible small knee joint effusion.", True),
    ("Normal compressibility of the deep veins of both legs.", False),
    ("Right: ruptured Baker's cyst tracking into the calf. No DVT.", True),
)

ROSTER = """
[[radiologist]]
id = "msk1"
name = "MSK Reader One"
subspecialties = ["msk"]
max_open_items = 100000

[[radiologist.shifts]]
days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
start = "00:00"
end = "24:00"

[[radiologist]]
id = "msk2"
name = "MSK Reader Two"
subspecialties = ["msk"]
max_open_items = 100000

[[radiologist.shifts]]
days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
start = "00:00"
end = "24:00"
"""


@dataclass(frozen=True)
class BenchStudy:
    uid: str
    files: tuple[Path, ...]
    flagged: bool  # the report carries a finding


def make_study(
    folder: Path, index: int, *, images: int = 0, always_flagged: bool = False
) -> BenchStudy:
    """Write one study's Part 10 files under ``folder``."""
    text, flagged = REPORTS[index % len(REPORTS)]
    if always_flagged and not flagged:
        text, flagged = REPORTS[0]
    study = build.Study(accession_number=f"BENCH{index:06d}", patient_id=f"P{index:06d}")
    folder.mkdir(parents=True, exist_ok=True)
    datasets = [build.us_image(study=study, rows=480, columns=640) for _ in range(images)] + [
        build.sr_document(
            build.diagnostic_report(
                findings=[text],
                impressions=["Negative for DVT."],
                indications=["Leg swelling, rule out DVT."],
            ),
            study=study,
        )
    ]
    files = []
    for n, ds in enumerate(datasets):
        path = folder / f"{n:03d}.dcm"
        path.write_bytes(build.to_bytes(ds))
        files.append(path)
    return BenchStudy(study.study_instance_uid, tuple(files), flagged)
