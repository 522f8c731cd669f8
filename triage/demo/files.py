"""``msk-triage demo --out DIR``: the generated objects as DICOM Part 10 files, and the
ground truth beside them (``expected.json``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from rules.sr.build import to_bytes
from triage.demo.model import DemoStudy

MANIFEST = "expected.json"


def write_demo(studies: Sequence[DemoStudy], folder: Path, *, seed: int) -> int:
    """Write every object under ``folder/<accession>/`` (images, the report, and the
    amended report as ``*-amended.dcm``) and ``expected.json``; how many files."""
    folder.mkdir(parents=True, exist_ok=True)
    written = 0
    for study in studies:
        target = folder / study.accession_number
        target.mkdir(exist_ok=True)
        for ds in study.objects:
            kind = "report" if ds.Modality == "SR" else "image"
            name = f"{int(ds.SeriesNumber):02d}-{int(ds.InstanceNumber):02d}-{kind}.dcm"
            (target / name).write_bytes(to_bytes(ds))
            written += 1
        if study.amendment is not None:
            number = int(study.amendment.InstanceNumber)
            name = f"{int(study.amendment.SeriesNumber):02d}-{number:02d}-report-amended.dcm"
            (target / name).write_bytes(to_bytes(study.amendment))
            written += 1
    manifest = {"seed": seed, "studies": [study.to_json() for study in studies]}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return written
