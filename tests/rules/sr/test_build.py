"""The builder makes valid SR documents and US images."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset

from rules.sr import build, codes, read_document
from rules.sr.build import MeasurementGroup
from tests.rules.sr import samples

ITEM_DELIMITER = b"\xfe\xff\x0d\xe0\x00\x00\x00\x00"


def test_content_the_class_cannot_hold_is_refused() -> None:
    with_num = build.root(codes.DIAGNOSTIC_IMAGING_REPORT, [build.num(codes.LENGTH, 1.0, codes.CM)])
    with pytest.raises(ValueError, match="NUM items are not allowed"):
        build.sr_document(with_num, sop_class=build.BASIC_TEXT_SR)
    build.sr_document(with_num, sop_class=build.ENHANCED_SR)
    with_reference = build.root(
        codes.DIAGNOSTIC_IMAGING_REPORT,
        [build.text(codes.FINDING, "a"), build.text(codes.FINDING, "b", children=[
            build.reference("1.1")
        ])],
    )  # fmt: skip
    with pytest.raises(ValueError, match="by-reference items are not allowed"):
        build.sr_document(with_reference, sop_class=build.ENHANCED_SR)
    build.sr_document(with_reference, sop_class=build.COMPREHENSIVE_SR)
    with pytest.raises(ValueError, match="not an SR storage class"):
        build.sr_document(with_num, sop_class=build.US_IMAGE)


def test_to_bytes_leaves_the_dataset_alone() -> None:
    ds = build.sr_document(samples.diagnostic_content())
    before = build.to_bytes(ds)
    undefined = build.to_bytes(
        ds, transfer_syntax=build.IMPLICIT_VR_LITTLE_ENDIAN, undefined_lengths=True
    )
    assert ds.file_meta.TransferSyntaxUID == build.EXPLICIT_VR_LITTLE_ENDIAN
    assert build.to_bytes(ds) == before
    assert ITEM_DELIMITER in undefined
    assert ITEM_DELIMITER not in before
    again = pydicom.dcmread(io.BytesIO(undefined))
    assert again.file_meta.TransferSyntaxUID == build.IMPLICIT_VR_LITTLE_ENDIAN


def test_sr_document_header() -> None:
    study = build.Study(accession_number="A42", patient_id="P42")
    old = build.sr_document(samples.diagnostic_content(), study=study)
    other_series = build.sr_document(samples.diagnostic_content(), study=study)
    ds = build.sr_document(
        samples.measurement_content(),
        study=study,
        predecessors=[old, other_series],
        verified=True,
    )
    read = pydicom.dcmread(io.BytesIO(build.to_bytes(ds)))
    assert read.SOPClassUID == build.COMPREHENSIVE_SR
    assert read.file_meta.MediaStorageSOPInstanceUID == read.SOPInstanceUID
    assert (read.AccessionNumber, read.PatientID, read.Modality) == ("A42", "P42", "SR")
    assert read.StudyInstanceUID == old.StudyInstanceUID
    assert read.VerificationFlag == "VERIFIED"
    assert read.VerifyingObserverSequence[0].VerifyingObserverName == "Reader^Rita"
    (study_item,) = read.PredecessorDocumentsSequence
    assert [s.SeriesInstanceUID for s in study_item.ReferencedSeriesSequence] == [
        old.SeriesInstanceUID,
        other_series.SeriesInstanceUID,
    ]
    assert read.ContentSequence[0].ConceptNameCodeSequence[0].CodeValue == "121049"


def test_measurement_group_defaults() -> None:
    first = MeasurementGroup("a", codes.CYST)
    second = MeasurementGroup("b", codes.CYST)
    assert first.tracking_uid != second.tracking_uid


def test_us_image() -> None:
    ds = build.us_image(rows=8, columns=4, laterality="right", image_comments="c")
    read = pydicom.dcmread(io.BytesIO(build.to_bytes(ds)))
    assert read.SOPClassUID == build.US_IMAGE
    assert (read.Rows, read.Columns, len(read.PixelData)) == (8, 4, 32)
    assert (read.ImageLaterality, read.ImageComments) == ("R", "c")


def _dicom_tool(tool: str, *args: str) -> str:
    if shutil.which(tool) is None:
        pytest.fail(f"{tool} (dcmtk) is not installed: apt-get install dcmtk")
    result = subprocess.run([tool, *args], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr + result.stdout
    complaints = [
        line
        for line in (result.stderr + result.stdout).splitlines()
        if line[:2] in ("W:", "E:", "F:") and "VR checker does not support" not in line
    ]
    assert complaints == []
    return result.stdout


@pytest.mark.integration
@pytest.mark.parametrize(
    ("name", "content", "sop_class", "title"),
    [
        ("tid2000", samples.diagnostic_content, build.COMPREHENSIVE_SR, "Comprehensive SR"),
        ("tid5100", samples.vascular_content, build.COMPREHENSIVE_SR, "Comprehensive SR"),
        ("tid1500", samples.measurement_content, build.COMPREHENSIVE_SR, "Comprehensive SR"),
        ("enhanced", samples.measurement_content, build.ENHANCED_SR, "Enhanced SR"),
        ("comp3d", samples.vascular_content, build.COMPREHENSIVE_3D_SR, "Comprehensive 3D SR"),
    ],
)
@pytest.mark.parametrize("undefined_lengths", [False, True])
def test_dcmtk_accepts_our_sr(
    tmp_path: Path,
    name: str,
    content: object,
    sop_class: str,
    title: str,
    undefined_lengths: bool,
) -> None:
    root: Dataset = content()  # type: ignore[operator]
    first = build.sr_document(root, sop_class=sop_class, charset="ISO_IR 100")
    ds = build.sr_document(
        root, sop_class=sop_class, predecessors=[first], verified=True, charset="ISO_IR 100"
    )
    path = tmp_path / f"{name}.dcm"
    path.write_bytes(build.to_bytes(ds, undefined_lengths=undefined_lengths))
    out = _dicom_tool("dsrdump", str(path))
    assert f"{title} Document" in out
    assert "Predecessor Docs    : 1" in out
    doc = read_document(path)
    assert doc.problems == ()


@pytest.mark.integration
def test_dcmtk_parses_extensible_sr(tmp_path: Path) -> None:
    """dsrdump (dcmtk 3.6.7) does not know Extensible SR yet; dcmdump checks the encoding."""
    ds = build.sr_document(samples.vascular_content(), sop_class=build.EXTENSIBLE_SR)
    path = tmp_path / "extensible.dcm"
    path.write_bytes(build.to_bytes(ds, undefined_lengths=True))
    out = _dicom_tool("dcmdump", "+E", str(path))
    assert "(0040,a730) SQ" in out
    assert read_document(path).problems == ()


@pytest.mark.integration
def test_dcmtk_accepts_basic_text_sr(tmp_path: Path) -> None:
    ds = build.sr_document(
        build.diagnostic_report(findings=["Bäker's cyst."], indications=["Swelling"]),
        sop_class=build.BASIC_TEXT_SR,
        charset="ISO_IR 100",
    )
    path = tmp_path / "basic.dcm"
    path.write_bytes(build.to_bytes(ds))
    out = _dicom_tool("dsrdump", "+U8", str(path))
    assert "Basic Text SR Document" in out
    assert "Bäker's cyst." in out


@pytest.mark.integration
def test_dcmtk_accepts_our_us_image(tmp_path: Path) -> None:
    ds = build.us_image(
        image_comments="Cyst", additional_patient_history="Gout", reason_for_procedure="Pain"
    )
    path = tmp_path / "us.dcm"
    path.write_bytes(build.to_bytes(ds))
    out = _dicom_tool("dcmdump", "+E", str(path))
    assert "=UltrasoundImageStorage" in out
    assert "ImageComments" in out
    assert "ReasonForTheRequestedProcedure" in out
