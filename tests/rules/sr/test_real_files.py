"""SR files written by other software (dcmtk's, shipped with pydicom as test data)."""

from __future__ import annotations

import pydicom
from pydicom.data import get_testdata_file

from rules.sr import ContentItem, Relationship, ValueType, build, iter_items, read_document


def _path(name: str) -> str:
    path = get_testdata_file(name)
    assert isinstance(path, str)
    return path


def test_offis_sr_test_document() -> None:
    """dcmtk's feature demo: every value type, by-reference SELECTED FROM / INFERRED FROM."""
    doc = read_document(_path("test-SR.dcm"))
    assert doc.sop_class_uid == build.COMPREHENSIVE_SR
    assert (doc.completion_flag, doc.verification_flag) == ("COMPLETE", "VERIFIED")
    assert doc.predecessor_sop_instance_uids == (
        "1.2.276.0.7230010.3.1.4.2139363186.7819.982086466.1",
    )
    assert doc.problems == ()
    assert doc.item_count == 27
    items: dict[str, ContentItem] = {i.path: i for i in iter_items(doc.root)}
    assert items["1.3"].text == "Sample Text\rA\nB\r\nC\n\r"
    assert items["1.2.2"].measurement is not None
    assert items["1.2.2"].measurement.value == 3.0
    assert items["1.4.1"].value_type is ValueType.DATE
    assert items["1.4.1"].text == "20001206"
    (selected,) = items["1.3.3"].children
    assert (selected.path, selected.referenced_from, selected.relationship) == (
        "1.3.2",
        "1.3.3",
        Relationship.SELECTED_FROM,
    )
    (inferred,) = items["1.5.1.1"].children
    assert (inferred.path, inferred.relationship) == ("1.2.2.1", Relationship.INFERRED_FROM)
    assert read_document(pydicom.dcmread(_path("test-SR.dcm"))) == doc


def test_ihe_basic_text_report() -> None:
    doc = read_document(_path("reportsi.dcm"))
    assert doc.sop_class_uid == build.BASIC_TEXT_SR
    assert doc.item_count == 9
    assert doc.problems == ()
    texts = [i.text for i in iter_items(doc.root) if i.value_type is ValueType.TEXT]
    assert texts == ["Enter text", "Enter text"]


def test_truncated_objects_from_elsewhere() -> None:
    truncated_plan = read_document(_path("rtplan_truncated.dcm"))
    assert ("file", "file is truncated") in [(p.path, p.reason) for p in truncated_plan.problems]
    # Truncated inside the pixel data, which is never read: nothing is missing for us.
    assert read_document(_path("MR_truncated.dcm")).problems == ()
