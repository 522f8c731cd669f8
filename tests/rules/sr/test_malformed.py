"""Malformed content is skipped with a recorded problem; reading goes on. Only input that
is not DICOM at all raises DocumentReadError."""

from __future__ import annotations

import io
import zlib
from struct import pack

import pytest

from rules.sr import (
    DocumentReadError,
    SRDocument,
    ValueType,
    build,
    codes,
    iter_items,
    read_document,
)
from rules.sr.reader import MAX_DEPTH
from tests.rules.sr import rawdicom as raw
from tests.rules.sr import samples

GOOD = raw.content_item("TEXT", text="Still read.")


def _read(*children: bytes) -> SRDocument:
    return read_document(raw.sr_file([*children, GOOD]))


def _problems(doc: SRDocument) -> list[tuple[str, str]]:
    return [(p.path, p.reason) for p in doc.problems]


def _texts(doc: SRDocument) -> list[str]:
    return [i.text for i in iter_items(doc.root) if i.text is not None]


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (
            raw.content_item("TEXT", concept=None, text="x"),
            "skipped: concept name is missing or empty",
        ),
        (
            raw.content_item("TEXT", concept=("", "DCM", "Finding"), text="x"),
            "skipped: concept name has an empty code value",
        ),
        (
            raw.content_item("TEXT", concept=("121071", "", "Finding"), text="x"),
            "skipped: concept name has an empty coding scheme designator",
        ),
        (raw.content_item("FOO", text="x"), "skipped: missing or unknown ValueType"),
        (raw.content_item(None, text="x"), "skipped: missing or unknown ValueType"),
        (
            raw.content_item("TEXT", relationship="IS FRIENDS WITH", text="x"),
            "skipped: missing or unknown RelationshipType",
        ),
        (
            raw.content_item("TEXT", relationship=None, text="x"),
            "skipped: missing or unknown RelationshipType",
        ),
        (raw.content_item("TEXT"), "skipped: TEXT item without its value"),
        (
            raw.content_item("CODE"),
            "skipped: coded value is missing or empty",
        ),
        (
            raw.content_item("NUM", concept=("410668003", "SCT", "Length")),
            "skipped: NUM item without a Measured Value Sequence",
        ),
        (
            raw.content_item(
                "NUM",
                concept=("410668003", "SCT", "Length"),
                extra=raw.sequence(0x0040A300, [raw.element(0x0040A30A, "DS", "abc")]),
            ),
            "skipped: Numeric Value 'abc' is not a number",
        ),
        (
            raw.content_item(
                "NUM",
                concept=("410668003", "SCT", "Length"),
                extra=raw.sequence(0x0040A300, [raw.element(0x0040A30A, "DS", "inf")]),
            ),
            "skipped: Numeric Value 'inf' is not finite",
        ),
        (
            # A sequence where a code item belongs: ConceptNameCodeSequence written as LO.
            raw.content_item("TEXT", concept=None, text="x", extra=raw.element(
                raw.CONCEPT_NAME, "LO", "Finding"
            )),
            "skipped: concept name is missing or empty",
        ),
    ],
)  # fmt: skip
def test_bad_item_is_skipped_and_recorded(bad: bytes, reason: str) -> None:
    doc = _read(bad)
    assert _problems(doc) == [("1.1", reason)]
    assert _texts(doc) == ["Still read."]
    assert doc.root is not None
    assert [c.path for c in doc.root.children] == ["1.2"]  # positions are kept


def test_skipped_item_takes_its_subtree_with_it() -> None:
    bad = raw.content_item("FOO", children=[raw.content_item("TEXT", text="lost")])
    doc = _read(bad)
    assert _texts(doc) == ["Still read."]
    assert len(doc.problems) == 1


def test_num_with_empty_measured_value_sequence_is_kept_without_value() -> None:
    empty = raw.content_item(
        "NUM", concept=("410668003", "SCT", "Length"), extra=raw.sequence(0x0040A300, [])
    )
    doc = _read(empty)
    assert doc.problems == ()
    assert doc.root is not None
    num = doc.root.children[0]
    assert (num.value_type, num.measurement) == (ValueType.NUM, None)


def test_value_longer_than_its_item_is_truncated_not_trusted() -> None:
    """pydicom would hand back the short value; we drop it and resume after the item."""
    text = raw.element(raw.TEXT_VALUE, "UT", "Effusion")
    lying = text[:8] + pack("<I", 400) + text[12:]  # claims 400 bytes, has 8
    body = raw.content_item("TEXT", extra=lying)
    data = raw.sr_file([body, GOOD])
    # Make the first item defined-length, so the parser knows where it really ends.
    undefined_item = raw.item(body)
    defined_item = raw.item(body, undefined=False)
    data = data.replace(undefined_item, defined_item)
    doc = read_document(data)
    assert ("1.1", "value of (0040,A160) is truncated") in _problems(doc)
    assert ("1.1", "skipped: TEXT item without its value") in _problems(doc)
    assert _texts(doc) == ["Still read."]


def test_truncated_file_keeps_what_came_before() -> None:
    data = build.to_bytes(build.sr_document(samples.diagnostic_content()))
    for cut in (len(data) // 2, len(data) - 3, len(data) - 40):
        doc = read_document(data[:cut])
        assert ("file", "file is truncated") in _problems(doc)
        assert doc.root is not None
        assert _texts(doc)[0] == "Swelling of the left calf; evaluate for Baker's cyst."


def test_truncated_file_with_undefined_lengths() -> None:
    data = build.to_bytes(build.sr_document(samples.diagnostic_content()), undefined_lengths=True)
    doc = read_document(data[: len(data) * 2 // 3])
    assert ("file", "file is truncated") in _problems(doc)
    assert _texts(doc)[:2] == [
        "Swelling of the left calf; evaluate for Baker's cyst.",
        "History of gout.",
    ]


def test_deep_nesting_is_capped_and_reading_goes_on() -> None:
    deep = raw.content_item("TEXT", text="bottom")
    for _ in range(1000):
        deep = raw.content_item("CONTAINER", concept=("99", "99LOCAL", "x"), children=[deep])
    doc = read_document(raw.sr_file([deep, GOOD]))
    capped = [p for p in doc.problems if "deeper than" in p.reason]
    assert len(capped) == 1
    assert capped[0].path.count(".") == MAX_DEPTH
    assert _texts(doc) == ["Still read."]
    assert doc.item_count == 1 + MAX_DEPTH + 1
    # The view itself is walked without recursion too.
    assert sum(1 for _ in iter_items(doc.root)) == doc.item_count


def test_bad_specific_character_set_decodes_leniently() -> None:
    header = raw.element(0x00080005, "CS", "KLINGON")
    latin1 = raw.content_item(
        "TEXT", text=None, extra=raw.element(raw.TEXT_VALUE, "UT", b"Zyste \xe4")
    )
    doc = read_document(raw.sr_file([latin1], header=header))
    assert _problems(doc) == [
        ("SpecificCharacterSet", "unknown Specific Character Set 'KLINGON'; decoded leniently")
    ]
    assert _texts(doc) == ["Zyste ä"]


def test_root_that_is_not_a_container_is_read_with_a_problem() -> None:
    data = raw.sr_file([GOOD]).replace(
        raw.element(raw.VALUE_TYPE, "CS", "CONTAINER"), raw.element(raw.VALUE_TYPE, "CS", "TEXT")
    )
    doc = read_document(data)
    assert ("1", "the root content item is not a CONTAINER") in _problems(doc)
    assert _texts(doc) == ["Still read."]


def test_sr_without_content_tree() -> None:
    ds = build.sr_document(build.root(codes.FINDINGS))
    del ds.ValueType
    del ds.ConceptNameCodeSequence
    doc = read_document(build.to_bytes(ds))
    assert doc.root is None
    assert _problems(doc) == [("1", "SR object without a content tree")]


def test_unexpected_element_in_a_sequence() -> None:
    garbage = raw.sequence(raw.CONTENT_SEQUENCE, [])[:-8] + raw.element(0x00100010, "PN", "X^Y")
    body = raw.content_item("TEXT", text="Broken children.") + garbage
    data = raw.sr_file([body, GOOD])
    data = data.replace(raw.item(body), raw.item(body, undefined=False))
    doc = read_document(data)
    assert _problems(doc) == [("1.1", "expected a sequence item, found (0010,0010)")]
    assert _texts(doc) == ["Broken children.", "Still read."]


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello",
        b"%PDF-1.7\n" + b"x" * 300,
        b"\x00" * 128 + b"DICM",
        b"\x00" * 128 + b"DICM" + b"\x02\x00\x10\x00UI\xff\x00short",
        b"\x00" * 128 + b"DICM" + raw.element(0x00020010, "UI", "1.2.840.10008.1.2") + b"\xff" * 7,
        raw.part10(b"\x00\x01" * 40, sop_class="1.2", transfer_syntax="1.2.840.10008.1.2.1"),
    ],
)
def test_not_dicom_raises(data: bytes) -> None:
    with pytest.raises(DocumentReadError):
        read_document(data)


def test_deflate_bomb_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("rules.sr._dicom.MAX_INFLATED", 4096)
    data = build.to_bytes(
        build.sr_document(samples.vascular_content()),
        transfer_syntax=build.DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
    )
    with pytest.raises(DocumentReadError, match="inflates beyond 4096 bytes"):
        read_document(data)


def test_deflated_garbage_raises() -> None:
    data = raw.part10(b"not deflate", sop_class="1.2", transfer_syntax="1.2.840.10008.1.2.1.99")
    with pytest.raises(DocumentReadError, match="inflated"):
        read_document(data)


def test_truncated_deflate_stream_keeps_what_it_can() -> None:
    body = raw.element(0x00080016, "UI", "1.2.3") + raw.element(0x00080060, "CS", "US") * 1
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    deflated = compressor.compress(body) + compressor.flush()
    data = raw.part10(deflated[:-2], sop_class="1.2.3", transfer_syntax="1.2.840.10008.1.2.1.99")
    doc = read_document(data)
    assert ("file", "deflated data set is truncated") in _problems(doc)


def test_unreadable_sources_raise() -> None:
    with pytest.raises(DocumentReadError, match="cannot read"):
        read_document("/nonexistent/file.dcm")
    with pytest.raises(DocumentReadError, match="'rb'"):
        read_document(io.StringIO("text"))  # type: ignore[arg-type]


def test_sloppy_code_strings_are_understood() -> None:
    sloppy = raw.content_item("text", relationship="contains  ", text="Lower case.")
    doc = _read(sloppy)
    assert doc.problems == ()
    assert _texts(doc) == ["Lower case.", "Still read."]


def test_bad_bytes_in_a_code_meaning_keep_the_item() -> None:
    item = raw.content_item(
        "CODE",
        extra=raw.sequence(raw.CONCEPT_CODE, [raw.code("367643001", "SCT", "x")]).replace(
            b"LO\x02\x00x ", b"LO\x02\x00\xff\xfe"
        ),
    )
    doc = read_document(raw.sr_file([item], header=raw.element(0x00080005, "CS", "ISO_IR 192")))
    assert doc.root is not None
    coded = doc.root.children[0].code
    assert coded == codes.CYST
    assert coded is not None
    assert coded.meaning == "\ufffd\ufffd"


def test_problems_in_late_header_fields_are_kept() -> None:
    flag_as_sequence = raw.sequence(0x0040A491, [raw.element(0x00080100, "SH", "X")])
    data = raw.sr_file([GOOD]) + flag_as_sequence
    doc = read_document(data)
    assert doc.completion_flag is None
    assert ("CompletionFlag", "a text value is malformed") in _problems(doc)


def test_stray_delimiter_at_the_top_level_is_skipped() -> None:
    doc = read_document(raw.sr_file([GOOD], header=raw.ITEM_DELIMITER))
    assert _problems(doc) == [("file", "stray delimiter (FFFE,E00D) in the data set: skipped")]
    assert doc.sop_instance_uid == "1.2.3.4.5"
    assert _texts(doc) == ["Still read."]


def test_implicit_vr_undefined_length_value_that_is_not_a_sequence() -> None:
    def implicit(group: int, element: int, value: bytes, length: int | None = None) -> bytes:
        return pack("<HHI", group, element, len(value) if length is None else length) + value

    body = (
        implicit(0x0008, 0x0016, b"1.2.840.10008.5.1.4.1.1.6.1\x00")
        + implicit(0x0008, 0x0060, b"US")
        + implicit(0x0009, 0x1001, b"opaque!!" + raw.SEQUENCE_DELIMITER, 0xFFFFFFFF)
        + implicit(0x0020, 0x000D, b"1.2.3.4\x00")
        + implicit(0x0020, 0x4000, b"Cyst")
    )
    doc = read_document(
        raw.part10(
            body, sop_class="1.2.840.10008.5.1.4.1.1.6.1", transfer_syntax="1.2.840.10008.1.2"
        )
    )
    assert doc.problems == ()
    assert (doc.modality, doc.study_instance_uid) == ("US", "1.2.3.4")
    assert [h.text for h in doc.header_text] == ["Cyst"]
