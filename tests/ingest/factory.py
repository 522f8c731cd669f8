"""DICOM Part 10 objects for the ingest, database and CLI tests, hostile ones included."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid

COMPREHENSIVE_SR = "1.2.840.10008.5.1.4.1.1.88.33"
US_IMAGE = "1.2.840.10008.5.1.4.1.1.6.1"


@dataclass
class Obj:
    """One object to build; change fields, then call ``encode``."""

    study_uid: str = field(default_factory=generate_uid)
    series_uid: str = field(default_factory=generate_uid)
    sop_uid: str = field(default_factory=generate_uid)
    sop_class: str = COMPREHENSIVE_SR
    modality: str = "SR"
    transfer_syntax: str = ExplicitVRLittleEndian
    text: str = "No DVT. Baker's cyst 2 cm."
    patient_name: str = "Doe^Jane"
    patient_id: str = "PID-1"
    accession: str = "ACC-1"
    instance_number: int = 1
    # file meta overrides, to build inconsistent objects
    media_sop_uid: str | None = None
    media_sop_class: str | None = None
    # extra data set attributes by keyword, and by tag: {tag: (VR, value)}
    extra: dict[str, Any] = field(default_factory=dict)
    tagged: dict[int, tuple[str, Any]] = field(default_factory=dict)
    omit: tuple[str, ...] = ()

    def dataset(self) -> Dataset:
        ds = Dataset()
        ds.SpecificCharacterSet = "ISO_IR 100"
        ds.SOPClassUID = self.sop_class
        ds.SOPInstanceUID = self.sop_uid
        ds.StudyDate = "20240315"
        ds.StudyTime = "101500"
        ds.AccessionNumber = self.accession
        ds.Modality = self.modality
        ds.Manufacturer = "Acme"
        ds.InstitutionName = "General Hospital"
        ds.ReferringPhysicianName = "Smith^John"
        ds.StationName = "US01"
        ds.StudyDescription = "US DOPPLER LOWER EXTREMITY VENOUS"
        code = Dataset()
        code.CodeValue = "RPID2251"
        code.CodingSchemeDesignator = "RADLEX"
        code.CodeMeaning = "US Doppler lower extremity veins"
        ds.ProcedureCodeSequence = Sequence([code])
        ds.SeriesDescription = "Report"
        ds.ManufacturerModelName = "Sono 9"
        ds.PatientName = self.patient_name
        ds.PatientID = self.patient_id
        ds.BodyPartExamined = "LEG"
        ds.StudyInstanceUID = self.study_uid
        ds.SeriesInstanceUID = self.series_uid
        ds.SeriesNumber = 1
        ds.InstanceNumber = self.instance_number
        ds.TextValue = self.text  # stands in for the report content
        for keyword, value in self.extra.items():
            setattr(ds, keyword, value)
        for tag, (vr, value) in self.tagged.items():
            ds.add_new(tag, vr, value)
        for keyword in self.omit:
            if keyword in ds:
                delattr(ds, keyword)
        return ds

    def encode(self) -> bytes:
        buffer = io.BytesIO()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # hostile values are the point of some tests
            ds = self.dataset()
            meta = FileMetaDataset()
            meta.MediaStorageSOPClassUID = UID(self.sop_class)
            meta.MediaStorageSOPInstanceUID = UID(self.sop_uid)
            meta.TransferSyntaxUID = UID(self.transfer_syntax)
            ds.file_meta = meta
            ds.save_as(buffer, enforce_file_format=True)
        data = buffer.getvalue()
        # pydicom keeps the file meta consistent, so inconsistency is patched in: the
        # first occurrence of a UID is its file meta copy.
        for wanted, actual in (
            (self.media_sop_uid, self.sop_uid),
            (self.media_sop_class, self.sop_class),
        ):
            if wanted is not None:
                if len(wanted) != len(actual):
                    raise ValueError("a file meta override must have the length of the UID")
                data = data.replace(actual.encode(), wanted.encode(), 1)
        return data

    def write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.encode())
        return path


def with_uid(field_name: str, uid: str) -> Obj:
    """An object whose ``sop_uid``, ``study_uid`` or ``series_uid`` is ``uid``."""
    obj = Obj()
    setattr(obj, field_name, uid)
    return obj


def study(n: int, **kwargs: Any) -> list[Obj]:
    """``n`` objects of one study and series."""
    first = Obj(**kwargs)
    return [first] + [
        Obj(
            study_uid=first.study_uid,
            series_uid=first.series_uid,
            instance_number=i + 2,
            **kwargs,
        )
        for i in range(n - 1)
    ]


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []
