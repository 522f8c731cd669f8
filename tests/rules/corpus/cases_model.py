"""Labelled corpus cases: the data shape of ``cases/*.yaml`` and how each case becomes a
real DICOM object (built with ``rules.sr.build``, encoded to bytes).

A case names its shape and its content, and the EXACT set of findings that must be
flagged (``expect``); ``certainty`` / ``laterality`` pin those where the case is about
them. Shapes:

- ``tid2000`` (default): Comprehensive SR, TID 2000 sections. ``text`` goes in
  ``section`` (findings, impression, indication, history, recommendation, comment), or
  ``sections`` maps several sections to lists of sentences.
- ``basic_text``: the same in a Basic Text SR.
- ``blob``: Basic Text SR whose one TEXT item is a whole report with inline headings.
- ``vascular``: TID 5100, ``text`` in a findings section with ``side`` on the container
  (``summary`` adds Summary comments; ``indications`` go under Patient Characteristics).
- ``coded``: TID 2000 with CODE findings (``coded``: finding, site, presence,
  laterality, as ``SCHEME:VALUE``); ``legacy: true`` rewrites the codes to SRT.
- ``tid1500``: TID 1500 measurement groups (``groups``).
- ``image``: a US image with ImageComments / AdditionalPatientHistory /
  ReasonForTheRequestedProcedure header text.
- ``sr_header``: TID 2000 plus clinical header text on the SR object itself.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydicom.dataset import Dataset

from rules.ruleset.codes import parse_code
from rules.sr import build, codes
from rules.sr.model import Code, Relationship
from rules.sr.vocab import Presence

Section = Literal["findings", "impression", "indication", "history", "recommendation", "comment"]
Shape = Literal[
    "tid2000", "basic_text", "blob", "vascular", "coded", "tid1500", "image", "sr_header"
]
Side = Literal["left", "right", "bilateral"]


class CodedCase(BaseModel):
    model_config = ConfigDict(extra="forbid")
    finding: str
    site: str | None = None
    presence: Literal["present", "absent", "undetermined"] | None = None
    laterality: Side | None = None


class Group(BaseModel):
    model_config = ConfigDict(extra="forbid")
    finding: str
    site: str | None = None
    laterality: Side | None = None
    measurements: list[tuple[str, float, str]] = []


class Case(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    note: str = ""
    shape: Shape = "tid2000"
    section: Section = "findings"
    text: str | None = None
    sections: dict[Section, list[str]] = {}
    side: Side = "left"
    summary: list[str] = []
    indications: list[str] = []
    coded: list[CodedCase] = []
    legacy: bool = False
    groups: list[Group] = []
    image_comments: str | None = None
    history: str | None = None
    reason: str | None = None
    expect: list[str] = Field(default_factory=list)
    certainty: dict[str, Literal["definite", "possible"]] = {}
    laterality: dict[str, Side | None] = {}


def _code(text: str) -> Code:
    return parse_code(text)


def _sections(case: Case) -> dict[Section, list[str]]:
    out: dict[Section, list[str]] = {k: list(v) for k, v in case.sections.items()}
    if case.text is not None:
        out.setdefault(case.section, []).append(case.text)
    return out


def _report(case: Case, coded: list[Dataset]) -> Dataset:
    s = _sections(case)
    return build.diagnostic_report(
        findings=s.get("findings", []),
        impressions=s.get("impression", []),
        indications=s.get("indication", []),
        history=s.get("history", []),
        recommendations=s.get("recommendation", []),
        comments=s.get("comment", []),
        coded_findings=coded,
    )


UNDETERMINED = Code("373068000", "SCT", "Undetermined")


def _coded(case: Case) -> list[Dataset]:
    out: list[Dataset] = []
    for c in case.coded:
        item = build.coded_finding(
            _code(c.finding),
            site=_code(c.site) if c.site else None,
            presence=Presence(c.presence) if c.presence else None,
            laterality=c.laterality,
        )
        if c.presence == "undetermined":  # the builder writes only Present / Absent
            undetermined = build.code(codes.PRESENCE, UNDETERMINED, Relationship.HAS_PROPERTIES)
            item.ContentSequence = [*item.get("ContentSequence", []), undetermined]
        out.append(item)
    return out


def dataset(case: Case) -> Dataset:
    """The DICOM object for ``case``."""
    if case.shape == "image":
        return build.us_image(
            image_comments=case.image_comments,
            additional_patient_history=case.history,
            reason_for_procedure=case.reason,
        )
    if case.shape in ("tid2000", "coded"):
        ds = build.sr_document(_report(case, _coded(case)))
        return build.to_legacy_snomed(ds) if case.legacy else ds
    if case.shape == "sr_header":
        return build.sr_document(
            _report(case, []),
            additional_patient_history=case.history,
            reason_for_procedure=case.reason,
        )
    if case.shape == "basic_text":
        return build.sr_document(_report(case, []), sop_class=build.BASIC_TEXT_SR)
    if case.shape == "blob":
        assert case.text is not None, f"{case.id}: a blob case needs text"
        blob = build.text(codes.FINDING, case.text)
        content = build.root(codes.DIAGNOSTIC_IMAGING_REPORT, [blob])
        return build.sr_document(content, sop_class=build.BASIC_TEXT_SR)
    if case.shape == "vascular":
        texts = [case.text] if case.text is not None else []
        section = build.VascularSection(
            laterality=case.side, texts=tuple(texts), coded=tuple(_coded(case))
        )
        return build.sr_document(
            build.vascular_report([section], summary=case.summary, indications=case.indications)
        )
    groups = [
        build.MeasurementGroup(
            tracking_id=f"{case.id}-{i}",
            finding=_code(g.finding),
            site=_code(g.site) if g.site else None,
            laterality=g.laterality,
            measurements=tuple((_code(c), v, Code(u, "UCUM", u)) for c, v, u in g.measurements),
        )
        for i, g in enumerate(case.groups)
    ]
    ds = build.sr_document(build.measurement_report(groups))
    return build.to_legacy_snomed(ds) if case.legacy else ds


def parse_cases(data: Any, source: str) -> list[Case]:
    if not isinstance(data, list):
        raise ValueError(f"{source}: a case file is a list of cases")
    return [Case.model_validate(item) for item in data]
