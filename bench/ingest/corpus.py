"""The benchmark corpus: small SR reports and ~900 KB ultrasound images, as Part 10 files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid

BASIC_TEXT_SR = "1.2.840.10008.5.1.4.1.1.88.11"
US_IMAGE = "1.2.840.10008.5.1.4.1.1.6.1"

_SENTENCES = (
    "Normal compressibility of the common femoral, femoral and popliteal veins.",
    "No evidence of deep venous thrombosis in the left lower extremity.",
    "Incidental 3.1 x 1.2 cm anechoic collection in the popliteal fossa.",
    "Findings are consistent with a Baker's cyst.",
    "Small knee joint effusion.",
    "Calf veins are patent with normal flow.",
)


@dataclass(frozen=True)
class Corpus:
    name: str
    files: tuple[Path, ...]
    total_bytes: int


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = scheme
    item.CodeMeaning = meaning
    return item


def _base(sop_class: str, study: str, series: str, number: int, modality: str) -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = UID(sop_class)
    ds.SOPInstanceUID = generate_uid()
    ds.StudyDate = "20240102"
    ds.StudyTime = "101500"
    ds.AccessionNumber = f"A{number:06d}"
    ds.Modality = modality
    ds.StudyDescription = "US VENOUS DOPPLER LOWER EXTREMITY LEFT"
    ds.PatientName = f"Bench^Patient{number // 10}"
    ds.PatientID = f"P{number // 10:05d}"
    ds.StudyInstanceUID = UID(study)
    ds.SeriesInstanceUID = UID(series)
    ds.SeriesNumber = 1
    ds.InstanceNumber = number
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    return ds


def small_sr(number: int, study: str, series: str) -> Dataset:
    """A DVT report: a container of a dozen TEXT findings (about 3 KB)."""
    ds = _base(BASIC_TEXT_SR, study, series, number, "SR")
    ds.ValueType = "CONTAINER"
    ds.ConceptNameCodeSequence = Sequence([_code("121070", "DCM", "Findings")])
    ds.ContinuityOfContent = "SEPARATE"
    ds.CompletionFlag = "COMPLETE"
    ds.VerificationFlag = "UNVERIFIED"
    items = []
    for i in range(12):
        item = Dataset()
        item.RelationshipType = "CONTAINS"
        item.ValueType = "TEXT"
        item.ConceptNameCodeSequence = Sequence([_code("121071", "DCM", "Finding")])
        item.TextValue = _SENTENCES[(number + i) % len(_SENTENCES)]
        items.append(item)
    ds.ContentSequence = Sequence(items)
    return ds


def us_image(number: int, study: str, series: str) -> Dataset:
    """A 640 x 480 RGB ultrasound frame: 921,600 bytes of pixel data."""
    ds = _base(US_IMAGE, study, series, number, "US")
    ds.SamplesPerPixel = 3
    ds.PhotometricInterpretation = "RGB"
    ds.PlanarConfiguration = 0
    ds.Rows = 480
    ds.Columns = 640
    ds.BitsAllocated = 8
    ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    row = bytes((x * 7 + number) % 256 for x in range(640 * 3))
    ds.PixelData = row * 480
    return ds


def build(folder: Path, *, reports: int = 500, images: int = 200) -> tuple[Corpus, Corpus]:
    """Write the two corpora under ``folder``; 10 instances per study."""
    sr_files: list[Path] = []
    image_files: list[Path] = []
    for kind, count, make, out in (
        ("sr", reports, small_sr, sr_files),
        ("us", images, us_image, image_files),
    ):
        target = folder / kind
        target.mkdir(parents=True, exist_ok=True)
        study = series = ""
        for i in range(count):
            if i % 10 == 0:
                study, series = generate_uid(), generate_uid()
            path = target / f"{i:05d}.dcm"
            make(i, study, series).save_as(path, enforce_file_format=True)
            out.append(path)
    return (
        Corpus(f"{reports} small SR", tuple(sr_files), _size(sr_files)),
        Corpus(f"{images} US images", tuple(image_files), _size(image_files)),
    )


def _size(files: list[Path]) -> int:
    return sum(f.stat().st_size for f in files)
