"""Build valid DICOM SR documents and US images (for tests, benchmarks and demos).

Content is made of small item constructors (``text``, ``code``, ``num``, ``container``,
``reference``) and template-shaped helpers (``diagnostic_report`` for TID 2000,
``vascular_report`` for TID 5100, ``measurement_report`` for TID 1500, ``coded_finding``);
``sr_document`` wraps a root container into a full SR object with header and file meta,
``us_image`` makes an ultrasound image, and ``to_bytes`` encodes either as a Part 10 file.

    ds = sr_document(diagnostic_report(findings=["Small Baker's cyst."]))
    data = to_bytes(ds)
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from io import BytesIO

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filewriter import dcmwrite
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import UID, generate_uid

from rules.sr import codes
from rules.sr.model import Code, Relationship, ValueType
from rules.sr.vocab import Presence, vocabulary

BASIC_TEXT_SR = "1.2.840.10008.5.1.4.1.1.88.11"
ENHANCED_SR = "1.2.840.10008.5.1.4.1.1.88.22"
COMPREHENSIVE_SR = "1.2.840.10008.5.1.4.1.1.88.33"
COMPREHENSIVE_3D_SR = "1.2.840.10008.5.1.4.1.1.88.34"
EXTENSIBLE_SR = "1.2.840.10008.5.1.4.1.1.88.35"
US_IMAGE = "1.2.840.10008.5.1.4.1.1.6.1"

IMPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2"
EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1"
DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1.99"
EXPLICIT_VR_BIG_ENDIAN = "1.2.840.10008.1.2.2"

IMPLEMENTATION_CLASS_UID = "1.2.826.0.1.3680043.10.1447.1"  # msk-triage builder
_SIDES = {"left": codes.LEFT, "right": codes.RIGHT, "bilateral": codes.BILATERAL}
_PRESENCE = {Presence.PRESENT: codes.PRESENT, Presence.ABSENT: codes.ABSENT}

# Value types each SR storage class may hold, and whether it allows by-reference items
# (PS3.3 A.35: Basic Text, Enhanced, Comprehensive, Comprehensive 3D, Extensible).
_BASIC_TYPES = frozenset(
    {
        ValueType.CONTAINER, ValueType.TEXT, ValueType.CODE, ValueType.DATETIME,
        ValueType.DATE, ValueType.TIME, ValueType.UIDREF, ValueType.PNAME,
        ValueType.COMPOSITE, ValueType.IMAGE, ValueType.WAVEFORM,
    }
)  # fmt: skip
_ENHANCED_TYPES = _BASIC_TYPES | {ValueType.NUM, ValueType.SCOORD, ValueType.TCOORD}
_ALLOWED: dict[str, tuple[frozenset[ValueType], bool]] = {
    BASIC_TEXT_SR: (_BASIC_TYPES, False),
    ENHANCED_SR: (_ENHANCED_TYPES, False),
    COMPREHENSIVE_SR: (_ENHANCED_TYPES, True),
    COMPREHENSIVE_3D_SR: (frozenset(ValueType), True),
    EXTENSIBLE_SR: (frozenset(ValueType), True),
}


# -- codes and items ---------------------------------------------------------------------


def code_dataset(code: Code) -> Dataset:
    item = Dataset()
    item.CodeValue = code.value
    item.CodingSchemeDesignator = code.scheme
    item.CodeMeaning = code.meaning or code.value
    return item


def _item(value_type: ValueType, concept: Code | None, relationship: Relationship) -> Dataset:
    item = Dataset()
    item.RelationshipType = relationship.value
    item.ValueType = value_type.value
    if concept is not None:
        item.ConceptNameCodeSequence = [code_dataset(concept)]
    return item


def _with_children(item: Dataset, children: Iterable[Dataset]) -> Dataset:
    children = list(children)
    if children:
        item.ContentSequence = children
    return item


def text(
    concept: Code,
    value: str,
    relationship: Relationship = Relationship.CONTAINS,
    children: Iterable[Dataset] = (),
) -> Dataset:
    item = _item(ValueType.TEXT, concept, relationship)
    item.TextValue = value
    return _with_children(item, children)


def code(
    concept: Code,
    value: Code,
    relationship: Relationship = Relationship.CONTAINS,
    children: Iterable[Dataset] = (),
) -> Dataset:
    item = _item(ValueType.CODE, concept, relationship)
    item.ConceptCodeSequence = [code_dataset(value)]
    return _with_children(item, children)


def num(
    concept: Code,
    value: float,
    unit: Code,
    relationship: Relationship = Relationship.CONTAINS,
    children: Iterable[Dataset] = (),
) -> Dataset:
    item = _item(ValueType.NUM, concept, relationship)
    measured = Dataset()
    measured.NumericValue = _ds_value(value)
    measured.MeasurementUnitsCodeSequence = [code_dataset(unit)]
    item.MeasuredValueSequence = [measured]
    return _with_children(item, children)


def uidref(
    concept: Code, value: str, relationship: Relationship = Relationship.CONTAINS
) -> Dataset:
    item = _item(ValueType.UIDREF, concept, relationship)
    item.UID = value
    return item


def pname(
    concept: Code, value: str, relationship: Relationship = Relationship.HAS_OBS_CONTEXT
) -> Dataset:
    item = _item(ValueType.PNAME, concept, relationship)
    item.PersonName = value
    return item


def container(
    concept: Code,
    children: Iterable[Dataset] = (),
    relationship: Relationship = Relationship.CONTAINS,
) -> Dataset:
    item = _item(ValueType.CONTAINER, concept, relationship)
    item.ContinuityOfContent = "SEPARATE"
    return _with_children(item, children)


def reference(target_path: str, relationship: Relationship = Relationship.INFERRED_FROM) -> Dataset:
    """A by-reference item pointing at the item at ``target_path`` ("1.2.3")."""
    item = Dataset()
    item.RelationshipType = relationship.value
    item.ReferencedContentItemIdentifier = [int(part) for part in target_path.split(".")]
    return item


def _ds_value(value: float) -> str:
    text_value = f"{value:.6g}"
    return text_value if len(text_value) <= 16 else f"{value:.10e}"[:16]


# -- template-shaped content ---------------------------------------------------------------


def laterality_modifier(side: str) -> Dataset:
    return code(codes.LATERALITY, _SIDES[side], Relationship.HAS_CONCEPT_MOD)


def finding_site(site: Code, *, laterality: str | None = None) -> Dataset:
    """HAS CONCEPT MOD Finding Site, optionally with its own laterality (TID 1419 style)."""
    children = [laterality_modifier(laterality)] if laterality else []
    return code(codes.FINDING_SITE, site, Relationship.HAS_CONCEPT_MOD, children)


def coded_finding(
    finding: Code,
    *,
    site: Code | None = None,
    presence: Presence | None = None,
    laterality: str | None = None,
    concept: Code = codes.FINDING,
    relationship: Relationship = Relationship.CONTAINS,
) -> Dataset:
    """CODE "Finding" = ``finding`` with Finding Site / Laterality (HAS CONCEPT MOD) and
    Presence of property (HAS PROPERTIES) children."""
    children: list[Dataset] = []
    if site is not None:
        children.append(finding_site(site))
    if laterality is not None:
        children.append(laterality_modifier(laterality))
    if presence is not None and presence in _PRESENCE:
        children.append(code(codes.PRESENCE, _PRESENCE[presence], Relationship.HAS_PROPERTIES))
    return code(concept, finding, relationship, children)


def diagnostic_report(
    *,
    findings: Sequence[str] = (),
    impressions: Sequence[str] = (),
    indications: Sequence[str] = (),
    history: Sequence[str] = (),
    recommendations: Sequence[str] = (),
    comments: Sequence[str] = (),
    coded_findings: Sequence[Dataset] = (),
    title: Code = codes.DIAGNOSTIC_IMAGING_REPORT,
) -> Dataset:
    """TID 2000 Basic Diagnostic Imaging Report: Clinical Information (indications,
    history), Findings (TEXT and coded findings), Impressions, Recommendations and a
    Summary with comments; empty sections are left out."""
    sections: list[Dataset] = []
    clinical = [text(codes.INDICATIONS_FOR_PROCEDURE, t) for t in indications] + [
        text(codes.HISTORY, t) for t in history
    ]
    if clinical:
        sections.append(container(codes.CLINICAL_INFORMATION, clinical))
    if findings or coded_findings:
        items = [text(codes.FINDING, t) for t in findings] + list(coded_findings)
        sections.append(container(codes.FINDINGS, items))
    if impressions:
        sections.append(
            container(codes.IMPRESSIONS, [text(codes.IMPRESSION, t) for t in impressions])
        )
    if recommendations:
        sections.append(
            container(
                codes.RECOMMENDATIONS, [text(codes.RECOMMENDATION, t) for t in recommendations]
            )
        )
    if comments:
        sections.append(container(codes.SUMMARY, [text(codes.COMMENT, t) for t in comments]))
    return root(title, sections)


def root(title: Code, children: Iterable[Dataset] = ()) -> Dataset:
    """The root CONTAINER (the document title), to pass to ``sr_document``."""
    item = Dataset()
    item.ValueType = ValueType.CONTAINER.value
    item.ConceptNameCodeSequence = [code_dataset(title)]
    item.ContinuityOfContent = "SEPARATE"
    return _with_children(item, children)


@dataclass(frozen=True, slots=True)
class Vessel:
    """A TID 5104 vascular measurement group: a CONTAINER named by the vessel, holding
    velocities (cm/s) and any findings about it."""

    vessel: Code
    velocities: tuple[tuple[Code, float], ...] = ()
    findings: tuple[Dataset, ...] = ()


@dataclass(frozen=True, slots=True)
class VascularSection:
    """A TID 5103 vascular ultrasound section for one side: Findings with Finding Site and
    Laterality on the container."""

    laterality: str
    site: Code = codes.VEIN_OF_LOWER_EXTREMITY
    vessels: tuple[Vessel, ...] = ()
    texts: tuple[str, ...] = ()
    coded: tuple[Dataset, ...] = ()


def vascular_report(
    sections: Sequence[VascularSection],
    *,
    summary: Sequence[str] = (),
    indications: Sequence[str] = (),
    procedure: Code = codes.US_LOWER_EXTREMITY_VESSELS,
) -> Dataset:
    """TID 5100 Vascular Ultrasound Report."""
    children: list[Dataset] = [
        code(codes.LANGUAGE, codes.ENGLISH_US, Relationship.HAS_CONCEPT_MOD),
        code(codes.PROCEDURE_REPORTED, procedure, Relationship.HAS_CONCEPT_MOD),
    ]
    if indications:
        children.append(
            container(
                codes.PATIENT_CHARACTERISTICS,
                [text(codes.INDICATIONS_FOR_PROCEDURE, t) for t in indications],
            )
        )
    for section in sections:
        items: list[Dataset] = [
            code(codes.FINDING_SITE, section.site, Relationship.HAS_CONCEPT_MOD),
            laterality_modifier(section.laterality),
        ]
        for vessel in section.vessels:
            measurements = [num(c, v, codes.CM_PER_S) for c, v in vessel.velocities]
            items.append(container(vessel.vessel, [*measurements, *vessel.findings]))
        items.extend(text(codes.FINDING, t) for t in section.texts)
        items.extend(section.coded)
        children.append(container(codes.FINDINGS_DCM, items))
    if summary:
        children.append(container(codes.SUMMARY, [text(codes.COMMENT, t) for t in summary]))
    return root(codes.VASCULAR_ULTRASOUND_REPORT, children)


@dataclass(frozen=True, slots=True)
class MeasurementGroup:
    """A TID 1501 measurement group: tracking identifiers, a Finding with its site
    (laterality on the site, TID 1419 style) and NUM measurements (concept, value, unit)."""

    tracking_id: str
    finding: Code
    site: Code | None = None
    laterality: str | None = None
    measurements: tuple[tuple[Code, float, Code], ...] = ()
    tracking_uid: str = field(default_factory=lambda: str(generate_uid()))


def measurement_report(
    groups: Sequence[MeasurementGroup],
    *,
    procedure: Code = codes.US_LOWER_EXTREMITY_VESSELS,
    observer: str = "Sonographer^Sam",
) -> Dataset:
    """TID 1500 Measurement Report."""
    measurement_groups: list[Dataset] = []
    for group in groups:
        items = [
            text(codes.TRACKING_IDENTIFIER, group.tracking_id, Relationship.HAS_OBS_CONTEXT),
            uidref(codes.TRACKING_UID, group.tracking_uid, Relationship.HAS_OBS_CONTEXT),
            code(codes.FINDING, group.finding),
        ]
        if group.site is not None:
            items.append(finding_site(group.site, laterality=group.laterality))
        items.extend(num(concept, value, unit) for concept, value, unit in group.measurements)
        measurement_groups.append(container(codes.MEASUREMENT_GROUP, items))
    return root(
        codes.IMAGING_MEASUREMENT_REPORT,
        [
            code(codes.LANGUAGE, codes.ENGLISH_US, Relationship.HAS_CONCEPT_MOD),
            pname(codes.PERSON_OBSERVER_NAME, observer),
            code(codes.PROCEDURE_REPORTED, procedure, Relationship.HAS_CONCEPT_MOD),
            container(codes.IMAGE_LIBRARY),
            container(codes.IMAGING_MEASUREMENTS, measurement_groups),
        ],
    )


# -- whole objects -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Study:
    """Patient and study attributes shared by the objects of one study."""

    study_instance_uid: str = field(default_factory=lambda: str(generate_uid()))
    accession_number: str = "ACC0001"
    patient_id: str = "PID0001"
    patient_name: str = "Test^Patient"
    study_description: str = "US DUPLEX VEINS LOWER EXTREMITY"
    procedure_code: Code | None = None
    study_date: str = "20250101"


def _header(
    ds: Dataset, study: Study, *, sop_class: str, modality: str, charset: str | None
) -> None:
    if charset:
        ds.SpecificCharacterSet = charset
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = generate_uid()
    ds.StudyDate = study.study_date
    ds.StudyTime = "120000"
    ds.AccessionNumber = study.accession_number
    ds.Modality = modality
    ds.Manufacturer = "msk-triage builder"
    ds.ReferringPhysicianName = ""
    ds.StudyDescription = study.study_description
    if study.procedure_code is not None:
        ds.ProcedureCodeSequence = [code_dataset(study.procedure_code)]
    ds.PatientName = study.patient_name
    ds.PatientID = study.patient_id
    ds.PatientBirthDate = ""
    ds.PatientSex = ""
    ds.StudyInstanceUID = study.study_instance_uid
    ds.SeriesInstanceUID = generate_uid()
    ds.StudyID = "1"
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1


def _file_meta(ds: Dataset) -> None:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = UID(EXPLICIT_VR_LITTLE_ENDIAN)
    meta.ImplementationClassUID = UID(IMPLEMENTATION_CLASS_UID)
    ds.file_meta = meta


def sr_document(
    content: Dataset,
    *,
    study: Study | None = None,
    sop_class: str = COMPREHENSIVE_SR,
    predecessors: Sequence[Dataset] = (),
    verified: bool = False,
    complete: bool = True,
    charset: str | None = "ISO_IR 192",
    reason_for_procedure: str | None = None,
    additional_patient_history: str | None = None,
) -> Dataset:
    """A full SR object around ``content`` (a root container from ``root`` or a template
    helper). ``predecessors`` are earlier versions of this report (an amendment)."""
    _check_content(content, sop_class)
    study = study or Study()
    ds = Dataset()
    _header(ds, study, sop_class=sop_class, modality="SR", charset=charset)
    ds.ContentDate = study.study_date
    ds.ContentTime = "121500"
    ds.CompletionFlag = "COMPLETE" if complete else "PARTIAL"
    ds.VerificationFlag = "VERIFIED" if verified else "UNVERIFIED"
    if verified:
        observer = Dataset()
        observer.VerifyingObserverName = "Reader^Rita"
        observer.VerifyingOrganization = "msk-triage"
        observer.VerificationDateTime = study.study_date + "130000"
        observer.VerifyingObserverIdentificationCodeSequence = []
        ds.VerifyingObserverSequence = [observer]
    ds.PerformedProcedureCodeSequence = []
    ds.ReferencedPerformedProcedureStepSequence = []
    if additional_patient_history is not None:
        ds.AdditionalPatientHistory = additional_patient_history
    if reason_for_procedure is not None:
        request = Dataset()
        request.StudyInstanceUID = study.study_instance_uid
        request.AccessionNumber = study.accession_number
        request.ReferencedStudySequence = []
        request.RequestedProcedureDescription = study.study_description
        request.RequestedProcedureCodeSequence = []
        request.RequestedProcedureID = "RP1"
        request.PlacerOrderNumberImagingServiceRequest = ""
        request.FillerOrderNumberImagingServiceRequest = ""
        request.ReasonForTheRequestedProcedure = reason_for_procedure
        ds.ReferencedRequestSequence = [request]
    if predecessors:
        ds.PredecessorDocumentsSequence = _predecessor_sequence(predecessors)
    for keyword in ("ValueType", "ConceptNameCodeSequence", "ContinuityOfContent"):
        setattr(ds, keyword, content[keyword].value)
    if "ContentSequence" in content:
        ds.ContentSequence = content.ContentSequence
    _file_meta(ds)
    return ds


def _predecessor_sequence(predecessors: Sequence[Dataset]) -> DicomSequence:
    studies: dict[str, dict[str, list[Dataset]]] = {}
    for old in predecessors:
        sop = Dataset()
        sop.ReferencedSOPClassUID = old.SOPClassUID
        sop.ReferencedSOPInstanceUID = old.SOPInstanceUID
        studies.setdefault(old.StudyInstanceUID, {}).setdefault(old.SeriesInstanceUID, []).append(
            sop
        )
    items: list[Dataset] = []
    for study_uid, series in studies.items():
        study_item = Dataset()
        study_item.StudyInstanceUID = study_uid
        series_items: list[Dataset] = []
        for series_uid, sops in series.items():
            series_item = Dataset()
            series_item.SeriesInstanceUID = series_uid
            series_item.ReferencedSOPSequence = sops
            series_items.append(series_item)
        study_item.ReferencedSeriesSequence = series_items
        items.append(study_item)
    return DicomSequence(items)


def _check_content(content: Dataset, sop_class: str) -> None:
    """Refuse content the SR class cannot hold (e.g. NUM in Basic Text SR)."""
    if sop_class not in _ALLOWED:
        raise ValueError(f"{sop_class} is not an SR storage class this builder knows")
    allowed, references = _ALLOWED[sop_class]
    stack = [content]
    while stack:
        item = stack.pop()
        if "ValueType" in item:
            value_type = ValueType(item.ValueType)
            if value_type not in allowed:
                raise ValueError(f"{value_type.value} items are not allowed in {sop_class}")
        elif not references:
            raise ValueError(f"by-reference items are not allowed in {sop_class}")
        stack.extend(item.get("ContentSequence", []))


def us_image(
    *,
    study: Study | None = None,
    image_comments: str | None = None,
    additional_patient_history: str | None = None,
    reason_for_procedure: str | None = None,
    laterality: str | None = None,
    charset: str | None = "ISO_IR 192",
    rows: int = 16,
    columns: int = 16,
) -> Dataset:
    """A small uncompressed US image (8-bit MONOCHROME2) with optional header text."""
    study = study or Study()
    ds = Dataset()
    _header(ds, study, sop_class=US_IMAGE, modality="US", charset=charset)
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.ContentDate = study.study_date
    ds.ContentTime = "120500"
    ds.PatientOrientation = ""
    if laterality is not None:
        ds.ImageLaterality = {"left": "L", "right": "R", "bilateral": "B"}[laterality]
    if image_comments is not None:
        ds.ImageComments = image_comments
    if additional_patient_history is not None:
        ds.AdditionalPatientHistory = additional_patient_history
    if reason_for_procedure is not None:
        request = Dataset()
        request.RequestedProcedureID = "RP1"
        request.ReasonForTheRequestedProcedure = reason_for_procedure
        ds.RequestAttributesSequence = [request]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = rows
    ds.Columns = columns
    ds.BitsAllocated = 8
    ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    row = bytes((c * 3) % 256 for c in range(columns))
    ds.PixelData = b"".join(row[r % columns :] + row[: r % columns] for r in range(rows))
    _file_meta(ds)
    return ds


# -- encoding ------------------------------------------------------------------------------


def to_bytes(
    ds: Dataset,
    *,
    transfer_syntax: str = EXPLICIT_VR_LITTLE_ENDIAN,
    undefined_lengths: bool = False,
) -> bytes:
    """Encode as a Part 10 file (preamble, file meta, data set) in ``transfer_syntax``.
    ``undefined_lengths`` writes every sequence and item with delimiters instead of
    lengths (as many modalities do). ``ds`` is not changed."""
    ds = _copy(ds, undefined_lengths)
    ds.file_meta.TransferSyntaxUID = UID(transfer_syntax)
    buffer = BytesIO()
    dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()


def _copy(ds: Dataset, undefined_lengths: bool) -> Dataset:
    """A copy whose sequences (not their leaf values) are new objects, so flags can be
    set and the file meta changed without touching the caller's dataset. Iterative."""
    top = Dataset()
    top.file_meta = copy.deepcopy(ds.file_meta)
    stack = [(ds, top)]
    while stack:
        source, target = stack.pop()
        for element in source:
            if element.VR != "SQ":
                target.add(element)
                continue
            items: list[Dataset] = []
            for child in element.value:
                copied = Dataset()
                copied.is_undefined_length_sequence_item = undefined_lengths
                items.append(copied)
                stack.append((child, copied))
            target[element.tag] = element.__class__(element.tag, "SQ", items)
            target[element.tag].is_undefined_length = undefined_lengths
    return top


def to_legacy_snomed(ds: Dataset) -> Dataset:
    """Rewrite, in place, every SCT code that has a legacy SNOMED RT identifier into its
    SRT form (as older modalities write them); returns ``ds``."""
    reverse = {sct: srt for srt, sct in vocabulary().srt_to_sct.items()}
    stack = [ds]
    while stack:
        item = stack.pop()
        if item.get("CodingSchemeDesignator") == "SCT" and item.get("CodeValue") in reverse:
            item.CodeValue = reverse[item.CodeValue]
            item.CodingSchemeDesignator = "SRT"
        for element in item:
            if element.VR == "SQ":
                stack.extend(element.value)
    return ds
