"""A minimal, iterative DICOM Part 10 parser: bytes -> nested dicts of raw values.

Why not ``pydicom.dcmread``: it parses undefined-length sequences recursively (a deeply
nested SR hits Python's recursion limit), accepts truncated values silently, and builds a
full ``Dataset`` per content item, which is most of the cost of reading an SR. This parser
keeps an explicit stack, checks every length against its container, stores leaf values as
raw ``bytes`` (decoded later, only when needed) and sequences as lists of item dicts.

Problems never raise: they are written into the innermost item dict under the key
``PROBLEM`` (a string), and parsing resumes at the end of the nearest enclosing item or
sequence of known length. Only input that is not DICOM at all raises ``NotDicomError``.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field
from struct import Struct
from typing import TypeAlias

# A parsed data set: tag (group << 16 | element) -> raw value. Leaf values are bytes as
# read (or, from a pydicom Dataset, already-decoded str / tuple of ints); sequences are
# lists of item dicts. Negative keys carry parser notes.
RawValue: TypeAlias = "bytes | str | tuple[int, ...] | list[RawItem]"
RawItem: TypeAlias = "dict[int, RawValue]"
_Frame: TypeAlias = "tuple[bool, RawItem | list[RawItem], int | None, bool]"

PROBLEM = -1  # str: what went wrong while reading this item
_AT_PIXELS = -2  # top level only: parsing stopped at the pixel data, all before it is read

ITEM = 0xFFFEE000
ITEM_DELIMITER = 0xFFFEE00D
SEQUENCE_DELIMITER = 0xFFFEE0DD
_UNDEFINED = 0xFFFFFFFF
_PIXEL_DATA_GROUP = 0x7FE00000

# Nested sequences deeper than this are skipped (a content tree level is two frames).
MAX_FRAMES = 600
# A deflated data set may not inflate beyond this (a "zip bomb" is refused, not read).
MAX_INFLATED = 256 * 1024 * 1024

# Sequences we need even when the transfer syntax is implicit VR and their length is
# defined (then nothing in the bytes says "sequence"). Others stay raw bytes, unread.
SEQUENCE_TAGS = frozenset(
    {
        0x0040A730,  # ContentSequence
        0x0040A043,  # ConceptNameCodeSequence
        0x0040A168,  # ConceptCodeSequence
        0x0040A300,  # MeasuredValueSequence
        0x004008EA,  # MeasurementUnitsCodeSequence
        0x0040A301,  # NumericValueQualifierCodeSequence
        0x00081032,  # ProcedureCodeSequence
        0x0040A360,  # PredecessorDocumentsSequence
        0x00081115,  # ReferencedSeriesSequence
        0x00081199,  # ReferencedSOPSequence
        0x00400275,  # RequestAttributesSequence
        0x0040A370,  # ReferencedRequestSequence
    }
)

# Explicit VRs with a 2-byte reserved field and a 4-byte length.
_LONG_VRS = frozenset(
    {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}
)
# Explicit VRs with a 2-byte length (checked first: a set lookup, not the regex below).
_SHORT_VRS = frozenset(
    {
        b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FD", b"FL", b"IS", b"LO", b"LT",
        b"PN", b"SH", b"SL", b"SS", b"ST", b"TM", b"UI", b"UL", b"US",
    }
)  # fmt: skip
_VR_RE = re.compile(rb"[A-Z]{2}")

IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
DEFLATED_LE = "1.2.840.10008.1.2.1.99"
EXPLICIT_BE = "1.2.840.10008.1.2.2"

_META_TRANSFER_SYNTAX = 0x00020010


class NotDicomError(Exception):
    """The bytes are not a DICOM file or data set at all."""


@dataclass(slots=True)
class Parsed:
    dataset: RawItem
    meta: RawItem = field(default_factory=dict)
    little_endian: bool = True
    problems: list[str] = field(default_factory=list)
    # Parsing stopped at the pixel data: bytes after it were not needed.
    stopped_at_pixels: bool = False


def add_problem(item: RawItem, reason: str) -> None:
    """Note a problem on an item (several are kept one per line, each once)."""
    old = item.get(PROBLEM)
    if not isinstance(old, str):
        item[PROBLEM] = reason
    elif reason not in old.split("\n"):
        item[PROBLEM] = f"{old}\n{reason}"


def problems_of(item: RawItem) -> list[str]:
    old = item.get(PROBLEM)
    return old.split("\n") if isinstance(old, str) else []


def tag_str(tag: int) -> str:
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


def parse_file(buf: bytes) -> Parsed:
    """Parse a Part 10 file (preamble + "DICM" + meta) or a bare data set."""
    if len(buf) >= 132 and buf[128:132] == b"DICM":
        pos = 132
    elif buf[:4] == b"DICM":
        pos = 4
    else:
        return _parse_bare(buf)
    meta, pos = _parse_meta(buf, pos)
    ts_raw = meta.get(_META_TRANSFER_SYNTAX)
    ts = ts_raw.rstrip(b"\x00 ").decode("ascii", "replace") if isinstance(ts_raw, bytes) else ""
    problems: list[str] = []
    if ts == DEFLATED_LE:
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        try:
            body = inflater.decompress(buf[pos:], MAX_INFLATED)
        except zlib.error as exc:
            raise NotDicomError(f"deflated data set cannot be inflated: {exc}") from exc
        if inflater.unconsumed_tail:
            raise NotDicomError(f"deflated data set inflates beyond {MAX_INFLATED} bytes")
        if not inflater.eof:
            problems.append("deflated data set is truncated")
        buf, pos = body, 0
    little = ts != EXPLICIT_BE
    implicit = _looks_implicit(buf, pos, little, default=ts == IMPLICIT_LE)
    dataset = parse_dataset(buf, pos, implicit=implicit, little_endian=little)
    if not _has_elements(dataset):
        raise NotDicomError("no readable data elements after the file meta information")
    at_pixels = dataset.pop(_AT_PIXELS, None) is not None
    return Parsed(dataset, meta, little, problems, at_pixels)


def _parse_bare(buf: bytes) -> Parsed:
    """A data set without preamble or meta (e.g. written by old software). Only accepted
    when its first element looks like a real header element, so random bytes are refused."""
    if len(buf) < 8:
        raise NotDicomError("too short to be DICOM")
    group = int.from_bytes(buf[0:2], "little")
    if group not in (0x0002, 0x0008):
        raise NotDicomError("no 'DICM' marker and no recognisable data set")
    implicit = _looks_implicit(buf, 0, True, default=True)
    dataset = parse_dataset(buf, 0, implicit=implicit, little_endian=True)
    if not _has_elements(dataset):
        raise NotDicomError("no readable data elements")
    at_pixels = dataset.pop(_AT_PIXELS, None) is not None
    return Parsed(dataset, stopped_at_pixels=at_pixels)


def _has_elements(item: RawItem) -> bool:
    return any(key >= 0 for key in item)


def _looks_implicit(buf: bytes, pos: int, little: bool, *, default: bool) -> bool:
    """Trust the transfer syntax unless the first element plainly says otherwise (some
    writers label implicit data sets explicit, and the reverse). Stray delimiters, which
    have no VR either way, are looked past."""
    delimiter = b"\xfe\xff" if little else b"\xff\xfe"
    while buf[pos : pos + 2] == delimiter:
        pos += 8
    if len(buf) < pos + 8:
        return default
    vr_ok = _VR_RE.fullmatch(buf[pos + 4 : pos + 6]) is not None
    if default and vr_ok:
        # An implicit length whose low bytes spell two capitals is possible but rare; the
        # same heuristic pydicom uses.
        return False
    if not default and not vr_ok:
        return True
    return default


def _parse_meta(buf: bytes, pos: int) -> tuple[RawItem, int]:
    """Group 0002 is always explicit VR little endian."""
    meta: RawItem = {}
    n = len(buf)
    while pos + 8 <= n:
        group = int.from_bytes(buf[pos : pos + 2], "little")
        if group != 0x0002:
            break
        elem = int.from_bytes(buf[pos + 2 : pos + 4], "little")
        vr = buf[pos + 4 : pos + 6]
        if vr in _LONG_VRS:
            if pos + 12 > n:
                raise NotDicomError("file meta information is truncated")
            length = int.from_bytes(buf[pos + 8 : pos + 12], "little")
            start = pos + 12
        else:
            length = int.from_bytes(buf[pos + 6 : pos + 8], "little")
            start = pos + 8
        if length == _UNDEFINED or start + length > n:
            raise NotDicomError("file meta information is truncated or malformed")
        meta[group << 16 | elem] = buf[start : start + length]
        pos = start + length
    return meta, pos


def parse_dataset(
    buf: bytes, pos: int = 0, *, implicit: bool, little_endian: bool, stop_at_pixels: bool = True
) -> RawItem:
    """Parse the data set in ``buf[pos:]`` without recursion.

    A frame is (is_sequence, container, end or None if undefined length, implicit).
    """
    order = "<" if little_endian else ">"
    explicit_header = Struct(order + "HH2sH").unpack_from
    implicit_header = Struct(order + "HHI").unpack_from
    long_length = Struct(order + "I").unpack_from
    n = len(buf)
    top: RawItem = {}
    stack: list[_Frame] = [(False, top, n, implicit)]

    while stack:
        is_seq, container, end, frame_implicit = stack[-1]
        if end is not None and pos >= end:
            if pos > end:
                add_problem(_item_of(stack), "element runs past the end of its item")
            stack.pop()
            continue
        limit = n if end is None else end
        if pos + 8 > limit:
            if limit == n:
                add_problem(_item_of(stack), "data ends inside an element header (truncated)")
                add_problem(top, "file is truncated")
                break
            add_problem(_item_of(stack), "stray bytes at the end of an item")
            pos = _resync(stack, top)
            continue

        if is_seq:
            assert isinstance(container, list)
            group, elem, length = implicit_header(buf, pos)
            tag = group << 16 | elem
            if tag == ITEM:
                pos += 8
                child: RawItem = {}
                container.append(child)
                child_end = None if length == _UNDEFINED else pos + length
                if child_end is not None and child_end > limit:
                    add_problem(child, "item runs past the end of its sequence (truncated)")
                    child_end = limit
                stack.append((False, child, child_end, frame_implicit))
            elif tag == SEQUENCE_DELIMITER:
                pos += 8
                stack.pop()
            else:
                add_problem(_item_of(stack), f"expected a sequence item, found {tag_str(tag)}")
                pos = _resync(stack, top)
            continue

        # An element inside an item (or the top-level data set).
        assert isinstance(container, dict)
        item = container
        vr: bytes | None
        header = 8
        if frame_implicit:
            group, elem, length = implicit_header(buf, pos)
            vr = None
        else:
            group, elem, vr, length = explicit_header(buf, pos)
            if group == 0xFFFE:
                (length,) = long_length(buf, pos + 4)
                vr = None
            elif vr in _SHORT_VRS:
                pass
            elif vr in _LONG_VRS:
                if pos + 12 > limit:
                    add_problem(item, "data ends inside an element header (truncated)")
                    pos = _resync(stack, top)
                    continue
                (length,) = long_length(buf, pos + 8)
                header = 12
            elif _VR_RE.fullmatch(vr) is None:
                # Some writers switch to implicit VR inside sequences.
                group, elem, length = implicit_header(buf, pos)
                vr = None
        tag = group << 16 | elem

        if group == 0xFFFE:
            if len(stack) == 1:
                add_problem(top, f"stray delimiter {tag_str(tag)} in the data set: skipped")
                pos += 8
            elif tag == ITEM_DELIMITER:
                pos += 8
                stack.pop()
            elif tag == SEQUENCE_DELIMITER:
                # The item was never closed: let the enclosing sequence take the delimiter.
                add_problem(item, "item not closed before the end of its sequence")
                stack.pop()
            else:
                add_problem(item, f"unexpected delimiter {tag_str(tag)}")
                pos = _resync(stack, top)
            continue
        if stop_at_pixels and len(stack) == 1 and tag >= _PIXEL_DATA_GROUP:
            top[_AT_PIXELS] = b""
            break  # pixel data and what follows it are of no use here

        start = pos + header
        sequence = (
            vr == b"SQ"
            or (vr is None and (tag in SEQUENCE_TAGS or length == _UNDEFINED))
            or (vr == b"UN" and (tag in SEQUENCE_TAGS or length == _UNDEFINED))
        )
        seq_end: int | None = None
        if length == _UNDEFINED:
            if not sequence:
                # Encapsulated pixel data and the like: fragments, then a delimiter.
                pos = _skip_fragments(buf, start, order, limit)
            elif vr is None and not _starts_item(buf, start, order):
                # An implicit-VR value of undefined length that is not a sequence.
                sequence = False
                pos = _skip_to_sequence_delimiter(buf, start, order)
            if not sequence:
                if pos < 0:
                    add_problem(item, f"{tag_str(tag)} has no end (truncated)")
                    add_problem(top, "file is truncated")
                    break
                continue
        else:
            seq_end = start + length
            if seq_end > limit:
                add_problem(item, f"value of {tag_str(tag)} is truncated")
                if limit == n:
                    add_problem(top, "file is truncated")
                if not sequence:
                    pos = _resync(stack, top)
                    continue
                seq_end = limit  # read the items that are there
            if not sequence:
                item[tag] = buf[start:seq_end]
                pos = seq_end
                continue

        # A sequence. UN-encoded sequences are always implicit VR little endian.
        seq_implicit = frame_implicit if vr == b"SQ" else True
        items: list[RawItem] = []
        if len(stack) >= MAX_FRAMES:
            add_problem(item, f"sequences nested more than {MAX_FRAMES // 2} deep: skipped")
            if seq_end is not None:
                pos = seq_end
                continue
            # Undefined length: read it into a detached list only to find where it ends.
        else:
            item[tag] = items
        stack.append((True, items, seq_end, seq_implicit))
        pos = start
    return top


def _item_of(stack: list[_Frame]) -> RawItem:
    """The innermost item (where a problem is written)."""
    for is_seq, container, _end, _implicit in reversed(stack):
        if not is_seq:
            assert isinstance(container, dict)
            return container
    raise AssertionError("the top frame is an item")


def _resync(stack: list[_Frame], top: RawItem) -> int:
    """Drop frames up to the nearest one whose end is known and continue from that end
    (the rest of that frame cannot be trusted). The top frame always has an end."""
    while len(stack) > 1 and stack[-1][2] is None:
        stack.pop()
    end = stack[-1][2]
    assert end is not None
    if len(stack) == 1 and "file is truncated" not in problems_of(top):
        add_problem(top, "the rest of the data set could not be read")
    return end


def _starts_item(buf: bytes, pos: int, order: str) -> bool:
    if pos + 4 > len(buf):
        return False
    group, elem = Struct(order + "HH").unpack_from(buf, pos)
    return (group << 16 | elem) in (ITEM, SEQUENCE_DELIMITER)


def _skip_fragments(buf: bytes, pos: int, order: str, limit: int) -> int:
    """Skip an undefined-length non-sequence value (encapsulated pixel data): a run of
    defined-length items closed by a sequence delimiter. -1 if it never ends."""
    header = Struct(order + "HHI").unpack_from
    while pos + 8 <= limit:
        group, elem, length = header(buf, pos)
        tag = group << 16 | elem
        pos += 8
        if tag == SEQUENCE_DELIMITER:
            return pos
        if tag != ITEM or length == _UNDEFINED:
            return -1
        pos += length
    return -1


def _skip_to_sequence_delimiter(buf: bytes, pos: int, order: str) -> int:
    marker = Struct(order + "HHI").pack(0xFFFE, 0xE0DD, 0)
    found = buf.find(marker, pos)
    return -1 if found < 0 else found + 8
