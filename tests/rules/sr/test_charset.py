"""Text is decoded with the data set's Specific Character Set."""

from __future__ import annotations

import pytest

from rules.sr import Code, SRDocument, build, codes, iter_items, read_document
from tests.rules.sr import rawdicom as raw


def _sr(text: str, charset: str | None) -> SRDocument:
    content = build.diagnostic_report(findings=[text])
    ds = build.sr_document(content, charset=charset)
    return read_document(build.to_bytes(ds))


def _texts(doc: SRDocument) -> list[str]:
    return [i.text for i in iter_items(doc.root) if i.text is not None]


@pytest.mark.parametrize(
    ("charset", "text"),
    [
        (None, "Plain ASCII Baker's cyst."),
        ("ISO_IR 100", "Bäker-Zyste, Kniegelenkerguss."),
        ("ISO_IR 192", "Киста Бейкера; 膝窩嚢胞."),
        ("ISO_IR 144", "Киста Бейкера."),
        ("GB18030", "腘窝囊肿。"),
        ("ISO 2022 IR 6\\ISO 2022 IR 87", "膝窩嚢胞あり"),
        ("\\ISO 2022 IR 149", "베이커 낭종"),
    ],
)
def test_declared_character_sets(charset: str | None, text: str) -> None:
    doc = _sr(text, charset)
    assert _texts(doc) == [text]
    assert doc.problems == ()


def test_code_meanings_are_decoded_too() -> None:
    content = build.root(
        codes.DIAGNOSTIC_IMAGING_REPORT,
        [build.code(codes.FINDING, Code("367643001", "SCT", "Zyste (Bäker)"))],
    )
    doc = read_document(build.to_bytes(build.sr_document(content, charset="ISO_IR 100")))
    assert doc.root is not None
    coded = doc.root.children[0].code
    assert coded == codes.CYST
    assert coded is not None
    assert coded.meaning == "Zyste (Bäker)"


@pytest.mark.parametrize(
    ("charset", "raw_text", "expected"),
    [
        ("ISO-IR 100", b"Erguss \xe4", "Erguss ä"),  # misspelt names are forgiven
        ("ISO_IR100", b"Erguss \xe4", "Erguss ä"),
        ("UTF-8", "Киста".encode(), "Киста"),
    ],
)
def test_misspelt_character_sets(charset: str, raw_text: bytes, expected: str) -> None:
    item = raw.content_item("TEXT", extra=raw.element(raw.TEXT_VALUE, "UT", raw_text))
    doc = read_document(raw.sr_file([item], header=raw.element(0x00080005, "CS", charset)))
    assert _texts(doc) == [expected]
    assert doc.problems == ()


@pytest.mark.parametrize(
    ("raw_text", "expected"),
    [("Киста".encode(), "Киста"), (b"Erguss \xe4", "Erguss ä")],
)
def test_undeclared_eight_bit_text_is_read_leniently(raw_text: bytes, expected: str) -> None:
    item = raw.content_item("TEXT", extra=raw.element(raw.TEXT_VALUE, "UT", raw_text))
    assert _texts(read_document(raw.sr_file([item]))) == [expected]


def test_invalid_bytes_for_the_declared_set_are_replaced_and_recorded() -> None:
    item = raw.content_item("TEXT", extra=raw.element(raw.TEXT_VALUE, "UT", b"Cyst \xff\xfe"))
    doc = read_document(raw.sr_file([item], header=raw.element(0x00080005, "CS", "ISO_IR 192")))
    assert _texts(doc) == ["Cyst \ufffd\ufffd"]
    assert len(doc.problems) == 1
    assert doc.problems[0].path == "1.1"
    assert doc.problems[0].reason.startswith("text is not valid ISO_IR 192")


def test_item_level_character_set_applies_to_its_subtree() -> None:
    child = raw.content_item("TEXT", extra=raw.element(raw.TEXT_VALUE, "UT", b"Zyste \xe4"))
    parent = raw.element(0x00080005, "CS", "ISO_IR 100") + raw.content_item(
        "CONTAINER", concept=("59776-5", "LN", "Findings"), children=[child]
    )
    sibling = raw.content_item("TEXT", extra=raw.element(raw.TEXT_VALUE, "UT", "Киста".encode()))
    doc = read_document(
        raw.sr_file([parent, sibling], header=raw.element(0x00080005, "CS", "ISO_IR 192"))
    )
    assert _texts(doc) == ["Zyste ä", "Киста"]
    assert doc.problems == ()
