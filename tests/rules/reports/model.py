"""Whole DVT ultrasound reports as labelled test cases: the data shape of ``cases/*.yaml``
and how each report becomes a real DICOM object (built with ``rules.sr.build``).

A report is written the way it is dictated (headings, numbered impressions, side
subheadings, all capitals ...) and stored in one of the shapes reporting systems send:

- ``text``: Basic Text SR whose one TEXT item holds the whole report, inline headings
  included (``concept``: ``finding`` (default) or ``narrative`` for a concept the
  reader does not classify);
- ``sections``: TID 2000 in a Comprehensive SR (``basic: true``: Basic Text SR), one
  TEXT item per string of each section (a section may be one string or a list);
- ``vascular``: TID 5100, the text of each side in that side's Findings section
  (laterality on the container), ``summary`` and ``indications`` beside them.

``expect`` is the EXACT set of flags: each finding once with its certainty,
laterality and the measurements the flag must carry (value and UCUM unit, in order;
``[]`` when the report gives the finding no size in its clause).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field
from pydicom.dataset import Dataset

from rules.sr import build, codes
from rules.sr.model import Code

Side = Literal["left", "right", "bilateral"]
SectionName = Literal[
    "indication", "history", "comparison", "technique", "findings", "impression",
    "recommendation", "comment",
]  # fmt: skip

CASES_DIR = Path(__file__).parent / "cases"
HELDOUT_DIR = Path(__file__).parent / "heldout"

NARRATIVE = Code("111412", "DCM", "Narrative Summary")
PRIOR_PROCEDURES = Code("121066", "DCM", "Prior Procedure Descriptions")
CURRENT_PROCEDURES = Code("121064", "DCM", "Current Procedure Descriptions")
PROCEDURE_DESCRIPTION = Code("121065", "DCM", "Procedure Description")


class Expected(BaseModel):
    model_config = ConfigDict(extra="forbid")
    finding: str
    certainty: Literal["definite", "possible"] = "definite"
    laterality: Side | None
    measurements: list[tuple[float, str]] = []


class Report(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    note: str = ""
    shape: Literal["text", "sections", "vascular"]
    study: str = "US DUPLEX VEINS LOWER EXTREMITY"
    # text
    text: str | None = None
    concept: Literal["finding", "narrative"] = "finding"
    # sections
    basic: bool = False
    sections: dict[SectionName, str | list[str]] = {}
    # vascular
    sides: dict[Side, str | list[str]] = {}
    summary: list[str] = []
    indications: list[str] = []
    expect: list[Expected] = Field(default_factory=list)
    features: list[str] = []
    """What the report exercises (for the coverage test): e.g. comma_splice, all_caps."""


def _texts(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _sections(report: Report) -> Dataset:
    s = {k: _texts(v) for k, v in report.sections.items()}
    children: list[Dataset] = []
    clinical = [build.text(codes.INDICATIONS_FOR_PROCEDURE, t) for t in s.get("indication", [])]
    clinical += [build.text(codes.HISTORY, t) for t in s.get("history", [])]
    if clinical:
        children.append(build.container(codes.CLINICAL_INFORMATION, clinical))
    for key, container in (("comparison", PRIOR_PROCEDURES), ("technique", CURRENT_PROCEDURES)):
        if key in s:
            items = [build.text(PROCEDURE_DESCRIPTION, t) for t in s[key]]
            children.append(build.container(container, items))
    for key, container, concept in (
        ("findings", codes.FINDINGS, codes.FINDING),
        ("impression", codes.IMPRESSIONS, codes.IMPRESSION),
        ("recommendation", codes.RECOMMENDATIONS, codes.RECOMMENDATION),
        ("comment", codes.SUMMARY, codes.COMMENT),
    ):
        if key in s:
            children.append(build.container(container, [build.text(concept, t) for t in s[key]]))
    return build.root(codes.DIAGNOSTIC_IMAGING_REPORT, children)


def dataset(report: Report) -> Dataset:
    """The DICOM object for ``report``."""
    study = build.Study(study_description=report.study)
    if report.shape == "text":
        assert report.text is not None, f"{report.id}: a text report needs text"
        concept = codes.FINDING if report.concept == "finding" else NARRATIVE
        content = build.root(codes.DIAGNOSTIC_IMAGING_REPORT, [build.text(concept, report.text)])
        return build.sr_document(content, study=study, sop_class=build.BASIC_TEXT_SR)
    if report.shape == "sections":
        sop = build.BASIC_TEXT_SR if report.basic else build.COMPREHENSIVE_SR
        return build.sr_document(_sections(report), study=study, sop_class=sop)
    vascular = [
        build.VascularSection(laterality=side, texts=tuple(_texts(texts)))
        for side, texts in report.sides.items()
    ]
    content = build.vascular_report(
        vascular, summary=report.summary, indications=report.indications
    )
    return build.sr_document(content, study=study)


def load_reports(folder: Path = CASES_DIR) -> list[Report]:
    reports: list[Report] = []
    for path in sorted(folder.glob("*.yaml")):
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(data, list):
            raise ValueError(f"{path.name}: a report file is a list of reports")
        reports.extend(Report.model_validate(item) for item in data)
    return reports
