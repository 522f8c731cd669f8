"""The header reader: what it extracts, what it refuses, and that its fast path and
the pydicom fallback agree."""

from __future__ import annotations

import io
from datetime import date, time
from pathlib import Path

import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import (
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEGBaseline8Bit,
)

from triage.ingest import header as header_module
from triage.ingest.header import (
    FILE_PREFIX_BYTES,
    HeaderError,
    InstanceHeader,
    parse_da,
    parse_is,
    parse_tm,
    read_header,
)
from triage.ingest.result import StoreStatus

from .factory import Obj, with_uid

SYNTAXES = [
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    JPEGBaseline8Bit,  # any encapsulated syntax is explicit VR little endian
]


def _pydicom(data: bytes) -> InstanceHeader:
    return header_module._from_pydicom(io.BytesIO(data))


@pytest.mark.parametrize("syntax", SYNTAXES, ids=lambda s: s.name)
def test_reads_what_the_index_needs(syntax: str) -> None:
    obj = Obj(transfer_syntax=syntax)
    h = read_header(obj.encode())
    assert h.sop_instance_uid == obj.sop_uid
    assert h.sop_class_uid == obj.sop_class
    assert h.transfer_syntax_uid == syntax
    assert h.instance_number == 1
    assert h.study.study_instance_uid == obj.study_uid
    assert h.study.patient_name == "Doe^Jane"
    assert h.study.patient_id == "PID-1"
    assert h.study.accession_number == "ACC-1"
    assert h.study.study_date == date(2024, 3, 15)
    assert h.study.study_time == time(10, 15)
    assert h.study.study_description == "US DOPPLER LOWER EXTREMITY VENOUS"
    assert h.study.institution_name == "General Hospital"
    assert h.study.referring_physician_name == "Smith^John"
    assert h.study.procedure_codes == (
        {"value": "RPID2251", "scheme": "RADLEX", "meaning": "US Doppler lower extremity veins"},
    )
    assert h.series.series_instance_uid == obj.series_uid
    assert h.series.modality == "SR"
    assert h.series.series_number == 1
    assert h.series.series_description == "Report"
    assert h.series.body_part_examined == "LEG"
    assert h.series.station_name == "US01"
    assert h.series.manufacturer == "Acme"
    assert h.series.manufacturer_model_name == "Sono 9"
    assert h == _pydicom(obj.encode())


def _undefined_lengths(obj: Obj) -> bytes:
    """Sequences and items of undefined length, one nested inside another."""
    inner = Dataset()
    inner.CodeValue = "X"
    inner.CodingSchemeDesignator = "99TEST"
    inner.CodeMeaning = "nested"
    ref = Dataset()
    ref.ReferencedSOPClassUID = "1.2.840.10008.3.1.2.3.1"
    ref.ReferencedSOPInstanceUID = "1.2.3.4"
    ref.PurposeOfReferenceCodeSequence = Sequence([inner])
    obj.extra = {"ReferencedStudySequence": Sequence([ref])}
    ds = obj.dataset()
    for keyword in ("ProcedureCodeSequence", "ReferencedStudySequence"):
        ds[keyword].is_undefined_length = True
        for item in ds[keyword].value:
            item.is_undefined_length_sequence_item = True
    ref.PurposeOfReferenceCodeSequence  # noqa: B018 - nested one too
    ds.ReferencedStudySequence[0]["PurposeOfReferenceCodeSequence"].is_undefined_length = True
    from pydicom.dataset import FileMetaDataset

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(obj.sop_class)
    meta.MediaStorageSOPInstanceUID = UID(obj.sop_uid)
    meta.TransferSyntaxUID = UID(obj.transfer_syntax)
    ds.file_meta = meta
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


@pytest.mark.parametrize("syntax", [ExplicitVRLittleEndian, ImplicitVRLittleEndian])
def test_undefined_length_sequences(syntax: str) -> None:
    obj = Obj(transfer_syntax=syntax)
    data = _undefined_lengths(obj)
    assert b"\xfe\xff\xdd\xe0" in data  # a sequence delimiter is really there
    h = read_header(data)
    assert h.study.procedure_codes[0]["value"] == "RPID2251"
    assert h.series.series_instance_uid == obj.series_uid
    assert h == _pydicom(data)


@pytest.mark.parametrize(
    ("charset", "name"),
    [
        ("ISO_IR 192", "Müller^Jürgen"),
        ("ISO_IR 100", "Ørsted^Åse"),
        (["", "ISO 2022 IR 87"], "Yamada^Tarou=山田^太郎=やまだ^たろう"),
    ],
)
def test_character_sets(charset: str | list[str], name: str) -> None:
    obj = Obj(patient_name=name, extra={"SpecificCharacterSet": charset})
    data = obj.encode()
    h = read_header(data)
    assert h.study.patient_name == name
    assert h == _pydicom(data)


def test_long_header_in_a_file_falls_back_to_pydicom(tmp_path: Path) -> None:
    # A private element bigger than what the fast path reads, before the last needed tag.
    obj = Obj(extra={})
    ds_bytes = obj.encode()
    big = Obj(sop_uid=obj.sop_uid, study_uid=obj.study_uid, series_uid=obj.series_uid)
    big.extra = {"ContentDate": "20240315"}
    ds = big.dataset()
    ds.add_new(0x00090010, "LO", "ACME")
    ds.add_new(0x00091001, "OB", b"\0" * (FILE_PREFIX_BYTES + 10))
    from pydicom.dataset import FileMetaDataset

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(big.sop_class)
    meta.MediaStorageSOPInstanceUID = UID(big.sop_uid)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    path = tmp_path / "big.dcm"
    ds.save_as(path, enforce_file_format=True)
    h = read_header(path)
    assert h.series.series_instance_uid == obj.series_uid
    assert h == read_header(ds_bytes)


def test_reads_a_file_like_bytes(tmp_path: Path) -> None:
    obj = Obj()
    path = obj.write(tmp_path / "a.dcm")
    assert read_header(path) == read_header(obj.encode())


def _refusal(data: bytes) -> HeaderError:
    with pytest.raises(HeaderError) as info:
        read_header(data)
    return info.value


@pytest.mark.parametrize(
    "uid", ["../../x", "1.2.3/../4", "1." + "2" * 63, "1.02.3", "1.2\x003", "1.2.3 4"]
)
@pytest.mark.parametrize("where", ["sop_uid", "study_uid", "series_uid"])
def test_hostile_uids_are_refused(uid: str, where: str) -> None:
    obj = with_uid(where, uid)
    error = _refusal(obj.encode())
    assert error.status is StoreStatus.INVALID_UID


def test_a_uid_padded_with_nul_is_fine() -> None:
    obj = Obj(sop_uid="1.2.3.4.5")  # odd length: encoded with one trailing NUL
    data = obj.encode()
    assert b"1.2.3.4.5\x00" in data
    assert read_header(data).sop_instance_uid == "1.2.3.4.5"


def test_empty_uid_is_missing() -> None:
    obj = Obj(omit=("SeriesInstanceUID",))
    error = _refusal(obj.encode())
    assert error.status is StoreStatus.DATASET_DOES_NOT_MATCH_SOP_CLASS
    assert "SeriesInstanceUID" in error.reason


def test_missing_study_uid() -> None:
    error = _refusal(Obj(omit=("StudyInstanceUID",)).encode())
    assert error.status is StoreStatus.DATASET_DOES_NOT_MATCH_SOP_CLASS


def test_meta_and_data_set_must_agree() -> None:
    obj = Obj(sop_uid="1.2.3.4.5")
    obj.media_sop_uid = "1.2.3.4.6"
    error = _refusal(obj.encode())
    assert error.status is StoreStatus.SOP_INSTANCE_MISMATCH
    # Comprehensive SR (…88.33) announced as Enhanced SR (…88.22) in the file meta
    error = _refusal(Obj(media_sop_class="1.2.840.10008.5.1.4.1.1.88.22").encode())
    assert error.status is StoreStatus.DATASET_DOES_NOT_MATCH_SOP_CLASS


def test_not_part10() -> None:
    assert _refusal(b"hello").status is StoreStatus.CANNOT_UNDERSTAND
    assert _refusal(b"\0" * 128 + b"DICX" + b"\0" * 100).status is StoreStatus.CANNOT_UNDERSTAND


def test_truncated_object() -> None:
    data = Obj().encode()
    error = _refusal(data[:200])
    assert error.status in (
        StoreStatus.CANNOT_UNDERSTAND,
        StoreStatus.DATASET_DOES_NOT_MATCH_SOP_CLASS,
    )


def test_garbage_after_meta_is_refused_not_raised() -> None:
    data = Obj().encode()
    meta_end = data.index(b"\x08\x00\x05\x00")  # (0008,0005) starts the data set
    error = _refusal(data[:meta_end] + b"\xff" * 64)
    assert error.status in (
        StoreStatus.CANNOT_UNDERSTAND,
        StoreStatus.DATASET_DOES_NOT_MATCH_SOP_CLASS,
    )


def test_values_are_cleaned() -> None:
    obj = Obj(patient_name="Doe^Jane\x00", extra={"InstitutionName": "   "})
    h = read_header(obj.encode())
    assert h.study.patient_name == "Doe^Jane"
    assert h.study.institution_name is None


def test_overlong_text_is_cut_not_refused() -> None:
    h = read_header(Obj(extra={"StudyDescription": "x" * 5000}).encode())
    assert h.study.study_description == "x" * header_module.MAX_TEXT_LENGTH


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("20240315", date(2024, 3, 15)),
        ("2024.03.15", date(2024, 3, 15)),
        ("20241315", None),
        ("2024", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_da(value: str | None, expected: date | None) -> None:
    assert parse_da(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("101500", time(10, 15)),
        ("1015", time(10, 15)),
        ("10", time(10)),
        ("101500.5", time(10, 15, 0, 500000)),
        ("101560", time(10, 15, 59)),  # leap second
        ("10:15:00", time(10, 15)),
        ("2515", None),
        ("10150", None),
        ("abc", None),
        (None, None),
    ],
)
def test_parse_tm(value: str | None, expected: time | None) -> None:
    assert parse_tm(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("12", 12), (" 7 ", 7), ("3\\4", 3), ("x", None), ("99999999999", None), (None, None)],
)
def test_parse_is(value: str | None, expected: int | None) -> None:
    assert parse_is(value) == expected
