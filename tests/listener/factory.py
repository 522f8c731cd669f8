"""Small valid DICOM objects for every SOP class the listener accepts.

Written with pydicom to Part 10 files, so senders (pynetdicom or dcmtk) send the stored
data set bytes as they are, and a test can compare them with what was archived.
Compressed transfer syntaxes get encapsulated pixel data whose frames need not decode:
the listener never decodes pixels.
"""

from __future__ import annotations

from pathlib import Path

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.sequence import Sequence
from pydicom.uid import (
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    generate_uid,
)

from dicom_listener.contexts import STORAGE_SOP_CLASSES, TRANSFER_SYNTAXES

UNCOMPRESSED = (
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
)
COMPRESSED = tuple(uid for uid, _ in TRANSFER_SYNTAXES if uid not in UNCOMPRESSED)

SR_CLASSES = {
    "1.2.840.10008.5.1.4.1.1.88.11",
    "1.2.840.10008.5.1.4.1.1.88.22",
    "1.2.840.10008.5.1.4.1.1.88.33",
    "1.2.840.10008.5.1.4.1.1.88.34",
    "1.2.840.10008.5.1.4.1.1.88.35",
}
KOS = "1.2.840.10008.5.1.4.1.1.88.59"
PDF = "1.2.840.10008.5.1.4.1.1.104.1"
CDA = "1.2.840.10008.5.1.4.1.1.104.2"
US_IMAGE = "1.2.840.10008.5.1.4.1.1.6.1"
BASIC_TEXT_SR = "1.2.840.10008.5.1.4.1.1.88.11"
MULTI_FRAME = {
    "1.2.840.10008.5.1.4.1.1.3.1",
    "1.2.840.10008.5.1.4.1.1.3",
    "1.2.840.10008.5.1.4.1.1.6.2",
    "1.2.840.10008.5.1.4.1.1.7.1",
    "1.2.840.10008.5.1.4.1.1.7.2",
    "1.2.840.10008.5.1.4.1.1.7.3",
    "1.2.840.10008.5.1.4.1.1.7.4",
}
ALL_CLASSES = tuple(uid for uid, _ in STORAGE_SOP_CLASSES)
IMAGE_CLASSES = tuple(uid for uid in ALL_CLASSES if uid not in SR_CLASSES | {KOS, PDF, CDA})


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = scheme
    item.CodeMeaning = meaning
    return item


def _common(
    ds: Dataset, sop_class: str, sop_uid: str, study_uid: str, series_uid: str, modality: str
) -> None:
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = UID(sop_class)
    ds.SOPInstanceUID = UID(sop_uid)
    ds.StudyDate = "20240102"
    ds.StudyTime = "101500"
    ds.AccessionNumber = "ACC123"
    ds.Modality = modality
    ds.Manufacturer = "TestCo"
    ds.ReferringPhysicianName = ""
    ds.StudyDescription = "US DVT LOWER EXTREMITY"
    ds.PatientName = "Doe^Jane"
    ds.PatientID = "PID-0001"
    ds.PatientBirthDate = ""
    ds.PatientSex = "F"
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.StudyID = "1"
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1


def _sr(ds: Dataset, sop_class: str, text: str) -> None:
    ds.ValueType = "CONTAINER"
    ds.ConceptNameCodeSequence = Sequence([_code("121070", "DCM", "Findings")])
    ds.ContinuityOfContent = "SEPARATE"
    ds.CompletionFlag = "COMPLETE"
    ds.VerificationFlag = "UNVERIFIED"
    ds.ContentDate = "20240102"
    ds.ContentTime = "101600"
    item = Dataset()
    item.RelationshipType = "CONTAINS"
    item.ValueType = "TEXT"
    item.ConceptNameCodeSequence = Sequence([_code("121071", "DCM", "Finding")])
    item.TextValue = text
    ds.ContentSequence = Sequence([item])
    if sop_class == KOS:
        ds.ConceptNameCodeSequence = Sequence([_code("113000", "DCM", "Of Interest")])
        ref = Dataset()
        ref.RelationshipType = "CONTAINS"
        ref.ValueType = "IMAGE"
        sop = Dataset()
        sop.ReferencedSOPClassUID = US_IMAGE
        sop.ReferencedSOPInstanceUID = generate_uid()
        ref.ReferencedSOPSequence = Sequence([sop])
        ds.ContentSequence = Sequence([ref])
        ds.CurrentRequestedProcedureEvidenceSequence = Sequence()


def _image(ds: Dataset, sop_class: str, transfer_syntax: str, frame_bytes: int) -> None:
    frames = 2 if sop_class in MULTI_FRAME else 1
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 8
    ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    side = max(8, int(frame_bytes**0.5))
    ds.Rows = side
    ds.Columns = side
    if frames > 1:
        ds.NumberOfFrames = frames
    frame = bytes(range(256)) * (side * side // 256) + bytes(side * side % 256)
    if transfer_syntax in UNCOMPRESSED:
        ds.PixelData = frame * frames
    else:
        # Stand-in for compressed frames: never decoded, only stored.
        ds.PixelData = encapsulate([b"\xff\xd8" + frame[:64] + b"\xff\xd9"] * frames)
        ds["PixelData"].VR = "OB"
        ds.LossyImageCompression = "01" if "4.50" in transfer_syntax else "00"


def make_dataset(
    sop_class: str = BASIC_TEXT_SR,
    *,
    transfer_syntax: str = ExplicitVRLittleEndian,
    sop_uid: str | None = None,
    study_uid: str | None = None,
    series_uid: str | None = None,
    text: str = "Small Baker's cyst in the left popliteal fossa.",
    frame_bytes: int = 64 * 64,
) -> Dataset:
    ds = Dataset()
    modality = (
        "SR" if sop_class in SR_CLASSES | {KOS} else "DOC" if sop_class in {PDF, CDA} else "US"
    )
    if sop_class.startswith("1.2.840.10008.5.1.4.1.1.7"):
        modality = "OT"
    _common(
        ds,
        sop_class,
        sop_uid or generate_uid(),
        study_uid or generate_uid(),
        series_uid or generate_uid(),
        modality,
    )
    if sop_class in SR_CLASSES or sop_class == KOS:
        _sr(ds, sop_class, text)
    elif sop_class == PDF:
        ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
        ds.EncapsulatedDocument = b"%PDF-1.4\n%test\n%%EOF\n"
        ds.BurnedInAnnotation = "NO"
        ds.DocumentTitle = "Report"
    elif sop_class == CDA:
        ds.MIMETypeOfEncapsulatedDocument = "text/XML"
        ds.EncapsulatedDocument = b"<ClinicalDocument xmlns='urn:hl7-org:v3'/>\n"
        ds.DocumentTitle = "Report"
    else:
        _image(ds, sop_class, transfer_syntax, frame_bytes)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(sop_class)
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = UID(transfer_syntax)
    ds.file_meta = meta
    return ds


def write(ds: Dataset, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def data_set_bytes(path: Path | bytes) -> bytes:
    """The bytes after the File Meta Information: what goes over the wire.

    The meta group starts at 132 with (0002,0000) UL, whose value (at 140) is the length
    of the rest of the group.
    """
    data = path if isinstance(path, bytes) else path.read_bytes()
    assert data[128:132] == b"DICM"
    assert data[132:136] == b"\x02\x00\x00\x00"
    group_length = int.from_bytes(data[140:144], "little")
    return data[144 + group_length :]
