"""The fast Part 10 reader: it stops where asked and gives up (for pydicom) on anything
it does not fully understand."""

from __future__ import annotations

import struct

import pytest

from triage.ingest.part10 import UnsupportedError, read_raw_header

from .factory import Obj

LAST = 0x00200013
SEQUENCE = 0x00081032
WANTED = frozenset({0x00080018, 0x0020000D})


def _read(data: bytes, *, complete: bool = True) -> dict[int, bytes]:
    raw = read_raw_header(data, wanted=WANTED, last=LAST, sequence=SEQUENCE, complete=complete)
    return raw.elements


def _explicit(tag: int, vr: bytes, value: bytes) -> bytes:
    group, element = tag >> 16, tag & 0xFFFF
    if vr in (b"SQ", b"OB", b"UN", b"UT"):
        return struct.pack("<HH2sHI", group, element, vr, 0, len(value)) + value
    return struct.pack("<HH2sH", group, element, vr, len(value)) + value


def _meta(syntax: bytes = b"1.2.840.10008.1.2.1\x00") -> bytes:
    body = _explicit(0x00020002, b"UI", b"1.2.3\x00") + _explicit(0x00020003, b"UI", b"1.2.4\x00")
    body += _explicit(0x00020010, b"UI", syntax)
    return b"\0" * 128 + b"DICM" + _explicit(0x00020000, b"UL", struct.pack("<I", len(body))) + body


def test_stops_after_the_last_tag_and_never_reads_further() -> None:
    data = Obj().encode()
    end = data.index(b"\x40\x00\x60\xa1")  # (0040,A160) Text Value, after the last tag
    assert _read(data[:end] + b"\xff" * 50) == _read(data)


def test_returns_only_what_was_asked() -> None:
    obj = Obj()
    elements = _read(obj.encode())
    assert set(elements) == set(WANTED)
    assert elements[0x0020000D].rstrip(b"\0") == obj.study_uid.encode()


def test_a_prefix_that_ends_before_the_last_tag_is_not_trusted() -> None:
    data = Obj().encode()
    cut = data.index(b"\x20\x00\x0d\x00")  # right before (0020,000D)
    with pytest.raises(UnsupportedError):
        _read(data[:cut], complete=False)


def test_a_value_running_past_the_end() -> None:
    data = _meta() + _explicit(0x00080018, b"UI", b"1.2.3.4\x00")[:-3]
    with pytest.raises(UnsupportedError):
        _read(data)


def test_item_lengths_must_add_up() -> None:
    item = struct.pack("<HHI", 0xFFFE, 0xE000, 4) + b"\0\0\0\0"
    bad = _explicit(SEQUENCE, b"SQ", item + b"\0\0")  # sequence 2 bytes longer than its item
    with pytest.raises(UnsupportedError):
        _read(_meta() + bad)


def test_nesting_is_bounded() -> None:
    undefined_item = struct.pack("<HHI", 0xFFFE, 0xE000, 0xFFFFFFFF)
    nested = b""
    for _ in range(100):
        nested = (
            struct.pack("<HH2sHI", 0x0008, 0x1110, b"SQ", 0, 0xFFFFFFFF) + undefined_item + nested
        )
    with pytest.raises(UnsupportedError):
        _read(_meta() + nested)


@pytest.mark.parametrize(
    "syntax", [b"1.2.840.10008.1.2.2\x00", b"1.2.840.10008.1.2.1.99", b""], ids=str
)
def test_syntaxes_left_to_pydicom(syntax: bytes) -> None:
    with pytest.raises(UnsupportedError):
        _read(_meta(syntax) + _explicit(0x00080018, b"UI", b"1.2\x00"))


def test_not_a_vr() -> None:
    with pytest.raises(UnsupportedError):
        _read(_meta() + struct.pack("<HH2sH", 0x0008, 0x0018, b"\x01\x02", 2) + b"12")
