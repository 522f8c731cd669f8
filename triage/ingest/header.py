"""Read just what the index needs from a DICOM Part 10 object, and validate it.

The header is parsed up to (0020,0013) Instance Number and no further: no content tree,
no pixel data, no full decode. Values are taken from the raw elements and decoded here,
so pydicom's value validation never runs (its warnings would put patient names in logs).
Every UID is checked against the UID grammar before anything builds a path from it.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, time
from pathlib import Path
from typing import Any, BinaryIO

from pydicom.charset import convert_encodings, decode_bytes
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.filereader import read_partial
from pydicom.multival import MultiValue
from pydicom.tag import BaseTag

from triage.db.crud.index import SeriesAttributes, StudyAttributes
from triage.ingest.part10 import RawHeader, UnsupportedError, read_raw_header
from triage.ingest.result import StoreStatus
from triage.ingest.uid import is_valid_uid

PREAMBLE_LENGTH = 128
MAGIC = b"DICM"
# How much of a file the fast reader looks at; longer headers go through pydicom.
FILE_PREFIX_BYTES = 256 * 1024

# file meta
_MEDIA_SOP_CLASS = 0x00020002
_MEDIA_SOP_INSTANCE = 0x00020003
_TRANSFER_SYNTAX = 0x00020010
# data set, ascending; reading stops after the last one
_CHARSET = 0x00080005
_SOP_CLASS = 0x00080016
_SOP_INSTANCE = 0x00080018
_STUDY_DATE = 0x00080020
_STUDY_TIME = 0x00080030
_ACCESSION = 0x00080050
_MODALITY = 0x00080060
_MANUFACTURER = 0x00080070
_INSTITUTION = 0x00080080
_REFERRING = 0x00080090
_STATION = 0x00081010
_STUDY_DESCRIPTION = 0x00081030
_PROCEDURE_CODES = 0x00081032
_SERIES_DESCRIPTION = 0x0008103E
_MODEL = 0x00081090
_PATIENT_NAME = 0x00100010
_PATIENT_ID = 0x00100020
_BODY_PART = 0x00180015
_STUDY_UID = 0x0020000D
_SERIES_UID = 0x0020000E
_SERIES_NUMBER = 0x00200011
_INSTANCE_NUMBER = 0x00200013
_LAST_NEEDED = _INSTANCE_NUMBER
# code sequence items
_CODE_VALUE = 0x00080100
_CODING_SCHEME = 0x00080102
_CODE_MEANING = 0x00080104
_LONG_CODE_VALUE = 0x00080119
_URN_CODE_VALUE = 0x00080120

_PN_DELIMITERS = {0x5C, 0x5E, 0x3D}  # \ ^ =
_TEXT_DELIMITERS = {0x5C}
# Descriptive values longer than this are cut: a non-conformant header must not make
# an instance unstorable.
MAX_TEXT_LENGTH = 1024


class HeaderError(Exception):
    """The object cannot be indexed; ``status`` is what to answer."""

    def __init__(self, status: StoreStatus, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True, slots=True)
class InstanceHeader:
    sop_class_uid: str
    sop_instance_uid: str
    transfer_syntax_uid: str
    instance_number: int | None
    study: StudyAttributes
    series: SeriesAttributes


def read_header(source: bytes | Path) -> InstanceHeader:
    """Parse and validate the header of Part 10 bytes or a Part 10 file.

    Raises ``HeaderError`` (never anything else) when the object cannot be indexed.
    """
    if isinstance(source, bytes):
        return read_header_start(source, complete=True, file=None)
    try:
        with source.open("rb") as fh:
            prefix = fh.read(FILE_PREFIX_BYTES)
    except OSError as exc:
        raise HeaderError(
            StoreStatus.OUT_OF_RESOURCES, f"cannot read the file: {exc.strerror or exc}"
        ) from exc
    return read_header_start(prefix, complete=len(prefix) < FILE_PREFIX_BYTES, file=source)


def read_header_start(start: bytes, *, complete: bool, file: Path | None) -> InstanceHeader:
    """Parse the header from the first bytes of an object (all of it when ``complete``);
    when they do not suffice, pydicom reads ``file`` (or ``start`` itself)."""
    try:
        if not is_part10_prefix(start):
            raise HeaderError(
                StoreStatus.CANNOT_UNDERSTAND, "not a DICOM Part 10 object (no DICM prefix)"
            )
        try:
            return _from_raw(read_raw_header(start, complete=complete, **_FAST))
        except UnsupportedError:
            if file is None or complete:
                return _from_pydicom(io.BytesIO(start))
            with file.open("rb") as fh:
                return _from_pydicom(fh)
    except HeaderError:
        raise
    except OSError as exc:
        raise HeaderError(
            StoreStatus.OUT_OF_RESOURCES, f"cannot read the file: {exc.strerror or exc}"
        ) from exc
    except Exception as exc:  # pydicom raises many kinds on malformed input
        raise HeaderError(
            StoreStatus.CANNOT_UNDERSTAND,
            f"unreadable DICOM header: {type(exc).__name__}: {str(exc)[:200]}",
        ) from exc


def is_part10_prefix(prefix: bytes) -> bool:
    """Whether the first 132 bytes of a file look like DICOM Part 10."""
    return prefix[PREAMBLE_LENGTH : PREAMBLE_LENGTH + 4] == MAGIC


# Getter: the raw value of a tag (bytes, or str when pydicom already converted it).
_Getter = Callable[[int], "bytes | str | None"]

_WANTED = frozenset(
    {
        _CHARSET,
        _SOP_CLASS,
        _SOP_INSTANCE,
        _STUDY_DATE,
        _STUDY_TIME,
        _ACCESSION,
        _MODALITY,
        _MANUFACTURER,
        _INSTITUTION,
        _REFERRING,
        _STATION,
        _STUDY_DESCRIPTION,
        _SERIES_DESCRIPTION,
        _MODEL,
        _PATIENT_NAME,
        _PATIENT_ID,
        _BODY_PART,
        _STUDY_UID,
        _SERIES_UID,
        _SERIES_NUMBER,
        _INSTANCE_NUMBER,
    }
)
_FAST: dict[str, Any] = {"wanted": _WANTED, "last": _LAST_NEEDED, "sequence": _PROCEDURE_CODES}


def _from_raw(raw: RawHeader) -> InstanceHeader:
    return _build(raw.meta.get, raw.elements.get, [item.get for item in raw.items])


def _stop(tag: BaseTag, vr: str | None, length: int) -> bool:
    return bool(tag > _LAST_NEEDED)


def _from_pydicom(fh: BinaryIO) -> InstanceHeader:
    ds = read_partial(fh, stop_when=_stop)
    meta = ds.file_meta
    if meta is None or len(meta) == 0:
        raise HeaderError(StoreStatus.CANNOT_UNDERSTAND, "no file meta information")
    items: list[_Getter] = []
    if _PROCEDURE_CODES in ds:
        for item in ds[_PROCEDURE_CODES].value or ():
            items.append(_pydicom_getter(item))
    return _build(_pydicom_getter(meta), _pydicom_getter(ds), items)


def _pydicom_getter(ds: Dataset) -> _Getter:
    def get(tag: int) -> bytes | str | None:
        if tag not in ds:
            return None
        elem: DataElement | RawDataElement = ds.get_item(tag)
        if isinstance(elem, RawDataElement):
            return elem.value
        value = elem.value
        if value is None:
            return None
        if isinstance(value, MultiValue | list | tuple):  # converted multi-valued element
            return "\\".join(str(v) for v in value)
        return str(value)

    return get


def _build(meta: _Getter, ds: _Getter, code_items: list[_Getter]) -> InstanceHeader:
    transfer_syntax = _uid(meta, _TRANSFER_SYNTAX, "TransferSyntaxUID")
    media_class = _uid(meta, _MEDIA_SOP_CLASS, "MediaStorageSOPClassUID")
    media_instance = _uid(meta, _MEDIA_SOP_INSTANCE, "MediaStorageSOPInstanceUID")
    sop_class = _uid(ds, _SOP_CLASS, "SOPClassUID")
    sop_instance = _uid(ds, _SOP_INSTANCE, "SOPInstanceUID")
    study_uid = _uid(ds, _STUDY_UID, "StudyInstanceUID")
    series_uid = _uid(ds, _SERIES_UID, "SeriesInstanceUID")
    if media_instance != sop_instance:
        raise HeaderError(
            StoreStatus.SOP_INSTANCE_MISMATCH,
            "MediaStorageSOPInstanceUID differs from SOPInstanceUID",
        )
    if media_class != sop_class:
        raise HeaderError(
            StoreStatus.DATASET_DOES_NOT_MATCH_SOP_CLASS,
            "MediaStorageSOPClassUID differs from SOPClassUID",
        )

    encodings = _encodings(_ascii(ds, _CHARSET))
    study = StudyAttributes(
        study_instance_uid=study_uid,
        patient_id=_text(ds, _PATIENT_ID, encodings),
        patient_name=_text(ds, _PATIENT_NAME, encodings, _PN_DELIMITERS),
        accession_number=_text(ds, _ACCESSION, encodings),
        study_date=parse_da(_ascii(ds, _STUDY_DATE)),
        study_time=parse_tm(_ascii(ds, _STUDY_TIME)),
        study_description=_text(ds, _STUDY_DESCRIPTION, encodings),
        procedure_codes=_codes(code_items, encodings),
        institution_name=_text(ds, _INSTITUTION, encodings),
        referring_physician_name=_text(ds, _REFERRING, encodings, _PN_DELIMITERS),
    )
    series = SeriesAttributes(
        series_instance_uid=series_uid,
        modality=_ascii(ds, _MODALITY),
        series_number=parse_is(_ascii(ds, _SERIES_NUMBER)),
        series_description=_text(ds, _SERIES_DESCRIPTION, encodings),
        body_part_examined=_ascii(ds, _BODY_PART),
        station_name=_text(ds, _STATION, encodings),
        manufacturer=_text(ds, _MANUFACTURER, encodings),
        manufacturer_model_name=_text(ds, _MODEL, encodings),
    )
    return InstanceHeader(
        sop_class_uid=sop_class,
        sop_instance_uid=sop_instance,
        transfer_syntax_uid=transfer_syntax,
        instance_number=parse_is(_ascii(ds, _INSTANCE_NUMBER)),
        study=study,
        series=series,
    )


@functools.lru_cache(maxsize=64)
def _encodings(charset: str | None) -> list[str]:
    terms = [t.strip() for t in charset.split("\\")] if charset else []
    return convert_encodings(terms or None)


def _uid(get: _Getter, tag: int, name: str) -> str:
    raw = get(tag)
    if raw is None or len(raw) == 0:
        raise HeaderError(StoreStatus.DATASET_DOES_NOT_MATCH_SOP_CLASS, f"{name} is missing")
    if isinstance(raw, bytes):
        try:
            value = raw.decode("ascii")
        except UnicodeDecodeError:
            raise HeaderError(StoreStatus.INVALID_UID, f"{name} is not ASCII") from None
    else:
        value = raw
    # A UID is padded to even length with one trailing NUL; spaces are a common slip.
    value = value.rstrip("\x00 ")
    if not is_valid_uid(value):
        raise HeaderError(StoreStatus.INVALID_UID, f"{name} {value!r} is not a valid UID")
    return value


def _clean(value: str) -> str | None:
    # NUL cannot be stored in PostgreSQL text; padding and blank values mean "absent".
    value = value.replace("\x00", "").strip()
    if not value:
        return None
    return value[:MAX_TEXT_LENGTH]


def _ascii(get: _Getter, tag: int) -> str | None:
    raw = get(tag)
    if raw is None:
        return None
    return _clean(raw.decode("latin-1") if isinstance(raw, bytes) else raw)


def _text(
    get: _Getter,
    tag: int,
    encodings: list[str],
    delimiters: set[int] = _TEXT_DELIMITERS,
) -> str | None:
    raw = get(tag)
    if raw is None:
        return None
    if isinstance(raw, bytes):
        raw = decode_bytes(raw, encodings, delimiters) if raw else ""
    return _clean(raw)


def _codes(items: list[_Getter], encodings: list[str]) -> tuple[dict[str, str], ...]:
    codes = []
    for item in items:
        value = (
            _text(item, _CODE_VALUE, encodings)
            or _text(item, _LONG_CODE_VALUE, encodings)
            or _text(item, _URN_CODE_VALUE, encodings)
        )
        if value is None:
            continue
        codes.append(
            {
                "value": value,
                "scheme": _text(item, _CODING_SCHEME, encodings) or "",
                "meaning": _text(item, _CODE_MEANING, encodings) or "",
            }
        )
    return tuple(codes)


def parse_da(value: str | None) -> date | None:
    """A DA value (YYYYMMDD; the ACR-NEMA YYYY.MM.DD too), or None when not a date."""
    if not value:
        return None
    digits = value.replace(".", "")
    if len(digits) != 8 or not digits.isascii() or not digits.isdigit():
        return None
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return None


def parse_tm(value: str | None) -> time | None:
    """A TM value (HH[MM[SS[.F{1,6}]]]; HH:MM:SS too), or None when not a time."""
    if not value:
        return None
    main, _, fraction = value.replace(":", "").partition(".")
    if not main.isascii() or not main.isdigit() or len(main) not in (2, 4, 6):
        return None
    if fraction and (not fraction.isascii() or not fraction.isdigit() or len(fraction) > 6):
        return None
    try:
        return time(
            int(main[:2]),
            int(main[2:4] or 0),
            min(int(main[4:6] or 0), 59),  # leap second 60 folds into 59
            int(fraction.ljust(6, "0")) if fraction else 0,
        )
    except ValueError:
        return None


def parse_is(value: str | None) -> int | None:
    """An IS value, or None when it is not an integer (or too big for the index)."""
    if not value:
        return None
    try:
        number = int(value.split("\\")[0].strip())
    except ValueError:
        return None
    return number if -(2**31) <= number < 2**31 else None
