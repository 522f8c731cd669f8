"""Write DICOM bytes by hand (explicit VR little endian), for inputs pydicom would not
write: malformed items, 1,000-deep nesting, broken lengths."""

from __future__ import annotations

from struct import pack

from rules.sr.build import EXPLICIT_VR_LITTLE_ENDIAN

_LONG_VRS = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"}
ITEM_DELIMITER = pack("<HHI", 0xFFFE, 0xE00D, 0)
SEQUENCE_DELIMITER = pack("<HHI", 0xFFFE, 0xE0DD, 0)

CONTENT_SEQUENCE = 0x0040A730
CONCEPT_NAME = 0x0040A043
CONCEPT_CODE = 0x0040A168
VALUE_TYPE = 0x0040A040
RELATIONSHIP = 0x0040A010
TEXT_VALUE = 0x0040A160
REFERENCED_ID = 0x0040DB73
COMPREHENSIVE_SR = "1.2.840.10008.5.1.4.1.1.88.33"


def element(tag: int, vr: str, value: bytes | str) -> bytes:
    raw = value.encode("utf-8") if isinstance(value, str) else value
    if len(raw) % 2:
        raw += b"\x00" if vr == "UI" else b" "
    head = pack("<HH", tag >> 16, tag & 0xFFFF) + vr.encode("ascii")
    if vr in _LONG_VRS:
        return head + pack("<HI", 0, len(raw)) + raw
    return head + pack("<H", len(raw)) + raw


def item(body: bytes, *, undefined: bool = True) -> bytes:
    if undefined:
        return pack("<HHI", 0xFFFE, 0xE000, 0xFFFFFFFF) + body + ITEM_DELIMITER
    return pack("<HHI", 0xFFFE, 0xE000, len(body)) + body


def sequence(tag: int, items: list[bytes], *, undefined: bool = True) -> bytes:
    body = b"".join(item(i, undefined=undefined) for i in items)
    head = pack("<HH", tag >> 16, tag & 0xFFFF) + b"SQ" + b"\x00\x00"
    if undefined:
        return head + pack("<I", 0xFFFFFFFF) + body + SEQUENCE_DELIMITER
    return head + pack("<I", len(body)) + body


def code(value: str, scheme: str, meaning: str) -> bytes:
    return (
        element(0x00080100, "SH", value)
        + element(0x00080102, "SH", scheme)
        + element(0x00080104, "LO", meaning)
    )


def content_item(
    value_type: str | None,
    *,
    relationship: str | None = "CONTAINS",
    concept: tuple[str, str, str] | None = ("121071", "DCM", "Finding"),
    text: str | None = None,
    extra: bytes = b"",
    children: list[bytes] | None = None,
) -> bytes:
    """The body of one content item (elements in tag order)."""
    body = b""
    if relationship is not None:
        body += element(RELATIONSHIP, "CS", relationship)
    if value_type is not None:
        body += element(VALUE_TYPE, "CS", value_type)
    if concept is not None:
        body += sequence(CONCEPT_NAME, [code(*concept)])
    body += extra
    if text is not None:
        body += element(TEXT_VALUE, "UT", text)
    if children is not None:
        body += sequence(CONTENT_SEQUENCE, children)
    return body


def sr_file(
    children: list[bytes],
    *,
    header: bytes = b"",
    sop_class: str = COMPREHENSIVE_SR,
    transfer_syntax: str = EXPLICIT_VR_LITTLE_ENDIAN,
) -> bytes:
    """A Part 10 SR file whose root container holds ``children`` (item bodies).
    ``header`` is inserted after (0008,0005) position: give elements of groups 0008-0020
    in tag order."""
    body = (
        header
        + element(0x00080016, "UI", sop_class)
        + element(0x00080018, "UI", "1.2.3.4.5")
        + element(0x00080060, "CS", "SR")
        + element(0x0020000D, "UI", "1.2.3.4")
        + element(0x0020000E, "UI", "1.2.3.4.1")
        + element(VALUE_TYPE, "CS", "CONTAINER")
        + sequence(CONCEPT_NAME, [code("18748-4", "LN", "Diagnostic Imaging Report")])
        + sequence(CONTENT_SEQUENCE, children)
    )
    return part10(body, sop_class=sop_class, transfer_syntax=transfer_syntax)


def part10(body: bytes, *, sop_class: str, transfer_syntax: str) -> bytes:
    meta = (
        element(0x00020001, "OB", b"\x00\x01")
        + element(0x00020002, "UI", sop_class)
        + element(0x00020003, "UI", "1.2.3.4.5")
        + element(0x00020010, "UI", transfer_syntax)
    )
    group_length = element(0x00020000, "UL", pack("<I", len(meta)))
    return b"\x00" * 128 + b"DICM" + group_length + meta + body
