"""Every kind of source, transfer syntax and length encoding reads into the same view."""

from __future__ import annotations

import io
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset

from rules.sr import SRDocument, ValueType, build, codes, iter_items, read_document
from rules.sr.reader import MAX_DEPTH
from tests.rules.sr import samples

TRANSFER_SYNTAXES = [
    build.EXPLICIT_VR_LITTLE_ENDIAN,
    build.IMPLICIT_VR_LITTLE_ENDIAN,
    build.DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
    build.EXPLICIT_VR_BIG_ENDIAN,
]


@pytest.fixture(scope="module")
def vascular() -> Dataset:
    return build.sr_document(samples.vascular_content(), charset="ISO_IR 100")


@pytest.fixture(scope="module")
def reference(vascular: Dataset) -> SRDocument:
    return read_document(build.to_bytes(vascular))


@pytest.mark.parametrize("transfer_syntax", TRANSFER_SYNTAXES)
@pytest.mark.parametrize("undefined_lengths", [False, True])
def test_encodings_read_the_same(
    vascular: Dataset, reference: SRDocument, transfer_syntax: str, undefined_lengths: bool
) -> None:
    data = build.to_bytes(
        vascular, transfer_syntax=transfer_syntax, undefined_lengths=undefined_lengths
    )
    assert read_document(data) == reference
    assert reference.problems == ()


def test_source_kinds(tmp_path: Path, vascular: Dataset, reference: SRDocument) -> None:
    data = build.to_bytes(vascular)
    path = tmp_path / "report.dcm"
    path.write_bytes(data)
    assert read_document(bytearray(data)) == reference
    assert read_document(memoryview(data)) == reference
    assert read_document(path) == reference
    assert read_document(str(path)) == reference
    with path.open("rb") as handle:
        assert read_document(handle) == reference
    assert read_document(io.BytesIO(data)) == reference


def test_datasets_read_like_their_bytes(vascular: Dataset, reference: SRDocument) -> None:
    assert read_document(vascular) == reference


@pytest.mark.parametrize("transfer_syntax", TRANSFER_SYNTAXES)
@pytest.mark.parametrize("undefined_lengths", [False, True])
def test_dcmread_datasets_with_unconverted_elements(
    vascular: Dataset, reference: SRDocument, transfer_syntax: str, undefined_lengths: bool
) -> None:
    data = build.to_bytes(
        vascular, transfer_syntax=transfer_syntax, undefined_lengths=undefined_lengths
    )
    assert read_document(pydicom.dcmread(io.BytesIO(data))) == reference


def test_bare_data_set_without_preamble_or_meta(vascular: Dataset, reference: SRDocument) -> None:
    buffer = DicomBytesIO()
    buffer.is_little_endian = True
    buffer.is_implicit_VR = True
    write_dataset(buffer, vascular)
    doc = read_document(buffer.getvalue())
    assert doc.root == reference.root
    assert doc.sop_instance_uid == reference.sop_instance_uid


def test_us_image_pixel_data_is_not_read(vascular: Dataset) -> None:
    image = build.us_image(image_comments="Cyst.", rows=256, columns=256)
    data = build.to_bytes(image)
    assert len(data) > 256 * 256
    doc = read_document(data)
    assert doc.root is None
    assert doc.header_text[0].text == "Cyst."


def test_deeply_nested_dataset_in_memory() -> None:
    """A Dataset built in memory 1,000 levels deep: no recursion on the way in either."""
    leaf = build.text(codes.FINDING, "bottom")
    for _ in range(1000):
        leaf = build.container(codes.FINDINGS, [leaf])
    ds = build.sr_document(build.root(codes.DIAGNOSTIC_IMAGING_REPORT, [leaf]))
    doc = read_document(ds)
    assert doc.item_count == 1 + MAX_DEPTH
    assert [p.reason for p in doc.problems] == [
        f"content nested deeper than {MAX_DEPTH} levels skipped"
    ]
    kinds = {i.value_type for i in iter_items(doc.root)}
    assert kinds == {ValueType.CONTAINER}


class _CountingReader(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.bytes_read += len(data)
        return data


def test_large_image_pixel_data_is_not_read_from_files(tmp_path: Path) -> None:
    image = build.us_image(image_comments="Cyst.", rows=1024, columns=1536)
    data = build.to_bytes(image)
    stream = _CountingReader(data)
    doc = read_document(stream)
    assert doc.header_text[0].text == "Cyst."
    assert stream.bytes_read < len(data)  # stopped at the pixel data
    path = tmp_path / "big.dcm"
    path.write_bytes(data)
    assert read_document(path) == doc


def test_files_longer_than_the_first_read_are_read_whole(
    monkeypatch: pytest.MonkeyPatch, vascular: Dataset, reference: SRDocument
) -> None:
    monkeypatch.setattr("rules.sr.reader.FIRST_READ", 600)
    for transfer_syntax in TRANSFER_SYNTAXES:
        data = build.to_bytes(vascular, transfer_syntax=transfer_syntax)
        assert read_document(io.BytesIO(data)) == reference
    image = build.to_bytes(build.us_image(image_comments="Cyst.", rows=64, columns=64))
    stream = _CountingReader(image)
    assert read_document(stream).header_text[0].text == "Cyst."


class _Trickle(io.RawIOBase):
    """An unbuffered stream that hands out at most 1,000 bytes a read."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return self._data.read(1000 if size < 0 else min(size, 1000))


def test_short_reads_are_completed(
    monkeypatch: pytest.MonkeyPatch, vascular: Dataset, reference: SRDocument
) -> None:
    monkeypatch.setattr("rules.sr.reader.FIRST_READ", 4096)
    data = build.to_bytes(vascular)
    assert read_document(_Trickle(data)) == reference  # type: ignore[arg-type]
