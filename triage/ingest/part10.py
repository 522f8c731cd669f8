"""A minimal reader for the start of a DICOM Part 10 object: the fast path of ingest.

It walks the file meta group and the top-level data elements up to a given tag and
returns the raw values of the ones asked for, plus the items of one code sequence. No
value is decoded, nothing after the last wanted tag is touched. It handles implicit and
explicit VR little endian (every syntax a listener meets but two); anything else, or
anything odd, raises ``UnsupportedError`` and the caller falls back to pydicom, which is
slower (~200 µs more per object) but more forgiving.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from struct import error as StructError  # noqa: N812 - keep the name apart from ours
from struct import unpack_from

PREAMBLE = 128
MAGIC = b"DICM"
UNDEFINED = 0xFFFFFFFF
ITEM = 0xFFFEE000
ITEM_END = 0xFFFEE00D
SEQUENCE_END = 0xFFFEE0DD
IMPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2"
# Explicit VR big endian and deflate need more than this reader does.
_NOT_HANDLED = {"1.2.840.10008.1.2.2", "1.2.840.10008.1.2.1.99"}
_LONG_VRS = frozenset(
    {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}
)
_MAX_DEPTH = 32


class UnsupportedError(Exception):
    """This reader cannot (or will not) read the object; use the general one."""


@dataclass(slots=True)
class RawHeader:
    meta: dict[int, bytes] = field(default_factory=dict)
    elements: dict[int, bytes] = field(default_factory=dict)
    # items of the requested sequence, each {tag: raw value} of its direct elements
    items: list[dict[int, bytes]] = field(default_factory=list)
    transfer_syntax: str = ""


def read_raw_header(
    data: bytes,
    *,
    wanted: frozenset[int],
    last: int,
    sequence: int,
    complete: bool = True,
) -> RawHeader:
    """Raw values of ``wanted`` top-level tags (all <= ``last``) and the items of
    ``sequence``. ``complete`` False: ``data`` is only the start of the object."""
    try:
        return _Reader(data, complete).read(wanted, last, sequence)
    except (StructError, IndexError, UnicodeDecodeError) as exc:
        raise UnsupportedError(f"malformed: {exc}") from exc


class _Reader:
    def __init__(self, data: bytes, complete: bool) -> None:
        self.data = data
        self.end = len(data)
        self.complete = complete
        self.implicit = False

    def read(self, wanted: frozenset[int], last: int, sequence: int) -> RawHeader:
        data = self.data
        if data[PREAMBLE : PREAMBLE + 4] != MAGIC:
            raise UnsupportedError("no DICM prefix")
        header = RawHeader()
        pos = self._read_meta(PREAMBLE + 4, header.meta)
        syntax = header.meta.get(0x00020010, b"").rstrip(b"\x00 ").decode("ascii")
        if not syntax or syntax in _NOT_HANDLED:
            raise UnsupportedError(f"transfer syntax {syntax!r}")
        header.transfer_syntax = syntax
        self.implicit = syntax == IMPLICIT_VR_LITTLE_ENDIAN

        reached_end = True
        while pos < self.end:
            group, element = unpack_from("<HH", data, pos)
            if (group << 16) | element > last:  # before reading anything else of it
                reached_end = False
                break
            tag, length, value = self._element(pos)
            if length == UNDEFINED:
                items, pos = self._items(value, None, 0, collect=tag == sequence)
                if tag == sequence:
                    header.items = items
                continue
            end = self._bounded(value, length)
            if tag in wanted:
                header.elements[tag] = data[value:end]
            elif tag == sequence:
                header.items, _ = self._items(value, end, 0, collect=True)
            pos = end
        if reached_end and not self.complete:
            raise UnsupportedError("header runs past the bytes read")
        return header

    def _read_meta(self, pos: int, meta: dict[int, bytes]) -> int:
        data = self.data
        while pos + 8 <= self.end:
            group, element = unpack_from("<HH", data, pos)
            if group != 0x0002:
                return pos
            vr = data[pos + 4 : pos + 6]
            if vr in _LONG_VRS:
                (length,) = unpack_from("<I", data, pos + 8)
                pos += 12
            else:
                (length,) = unpack_from("<H", data, pos + 6)
                pos += 8
            if length == UNDEFINED:
                raise UnsupportedError("undefined length in file meta")
            end = self._bounded(pos, length)
            meta[(group << 16) | element] = data[pos:end]
            pos = end
        raise UnsupportedError("file meta runs past the bytes read")

    def _element(self, pos: int) -> tuple[int, int, int]:
        """(tag, length, position of the value) of the element at ``pos``."""
        data = self.data
        group, element = unpack_from("<HH", data, pos)
        tag = (group << 16) | element
        if group == 0xFFFE or self.implicit:
            (length,) = unpack_from("<I", data, pos + 4)
            return tag, length, pos + 8
        vr = data[pos + 4 : pos + 6]
        if vr in _LONG_VRS:
            (length,) = unpack_from("<I", data, pos + 8)
            return tag, length, pos + 12
        if len(vr) != 2 or not (65 <= vr[0] <= 90 and 65 <= vr[1] <= 90):
            raise UnsupportedError(f"not a VR at offset {pos + 4}")
        (length,) = unpack_from("<H", data, pos + 6)
        return tag, length, pos + 8

    def _bounded(self, pos: int, length: int) -> int:
        end = pos + length
        if end > self.end:
            raise UnsupportedError("value runs past the bytes read")
        return end

    def _items(
        self, pos: int, end: int | None, depth: int, *, collect: bool
    ) -> tuple[list[dict[int, bytes]], int]:
        """Walk a sequence's items from ``pos`` to ``end`` (None: to its delimiter).

        Returns the items' direct elements (when ``collect``) and the position after the
        sequence. Encapsulated pixel data has the same shape and is skipped the same way.
        """
        if depth > _MAX_DEPTH:
            raise UnsupportedError("sequences nested too deep")
        data = self.data
        items: list[dict[int, bytes]] = []
        while end is None or pos < end:
            group, element = unpack_from("<HH", data, pos)
            (length,) = unpack_from("<I", data, pos + 4)
            tag = (group << 16) | element
            pos += 8
            if tag == SEQUENCE_END:
                if end is not None:
                    raise UnsupportedError("sequence delimiter in a defined-length sequence")
                return items, pos
            if tag != ITEM:
                raise UnsupportedError(f"expected an item, found tag {tag:08X}")
            item_end = None if length == UNDEFINED else self._bounded(pos, length)
            values: dict[int, bytes] = {}
            while item_end is None or pos < item_end:
                tag, length, value = self._element(pos)
                if tag == ITEM_END:
                    pos = value
                    break
                if length == UNDEFINED:
                    _, pos = self._items(value, None, depth + 1, collect=False)
                    continue
                pos = self._bounded(value, length)
                if collect:
                    values[tag] = data[value:pos]
            if collect:
                items.append(values)
        if end is not None and pos != end:
            raise UnsupportedError("sequence length does not match its items")
        return items, pos
