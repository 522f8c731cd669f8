"""The demo's studies: deterministic, varied, and with realistic, valid headers."""

from __future__ import annotations

import io
import re
from collections import Counter
from datetime import date, timedelta

import pytest
from pydicom import config, dcmread
from pydicom.dataset import Dataset

from rules.sr import build
from triage.demo import people
from triage.demo.generate import DECK, generate_demo
from triage.demo.model import CaseKind, DemoStudy
from triage.ingest.uid import is_valid_uid

TODAY = date(2026, 3, 15)
US_IMAGE = "1.2.840.10008.5.1.4.1.1.6.1"


def encoded(studies: tuple[DemoStudy, ...]) -> list[bytes]:
    out: list[bytes] = []
    for study in studies:
        out.extend(build.to_bytes(ds) for ds in study.objects)
        if study.amendment is not None:
            out.append(build.to_bytes(study.amendment))
    return out


def test_a_seed_always_gives_the_same_objects() -> None:
    assert encoded(generate_demo(seed=11, studies=20, today=TODAY)) == encoded(
        generate_demo(seed=11, studies=20, today=TODAY)
    )


def test_fewer_studies_are_the_first_ones_of_a_larger_run() -> None:
    small = generate_demo(seed=11, studies=5, today=TODAY)
    large = generate_demo(seed=11, studies=20, today=TODAY)
    assert encoded(small) == encoded(large[:5])


def test_seeds_give_different_studies_and_uids() -> None:
    one = generate_demo(seed=1, studies=20, today=TODAY)
    two = generate_demo(seed=2, studies=20, today=TODAY)
    assert not sop_uids(one) & sop_uids(two)
    assert [s.kind for s in one] != [s.kind for s in two]


def sop_uids(studies: tuple[DemoStudy, ...]) -> set[str]:
    return {
        str(ds.SOPInstanceUID)
        for study in studies
        for ds in (*study.objects, study.amendment)
        if ds is not None
    }


def test_twenty_studies_show_every_kind_as_the_deck_says() -> None:
    studies = generate_demo(seed=5, studies=20, today=TODAY)
    assert Counter(s.kind for s in studies) == Counter(DECK)
    assert set(CaseKind) == set(DECK)
    assert [s.number for s in studies] == list(range(1, 21))


def test_larger_runs_repeat_the_deck() -> None:
    studies = generate_demo(seed=5, studies=45, today=TODAY)
    counts = Counter(s.kind for s in studies[:40])
    assert counts == Counter({kind: 2 * n for kind, n in Counter(DECK).items()})


def test_at_least_one_study() -> None:
    with pytest.raises(ValueError, match="at least one"):
        generate_demo(seed=1, studies=0, today=TODAY)


def test_uids_are_unique_and_valid_and_the_study_hangs_together() -> None:
    studies = generate_demo(seed=3, studies=40, today=TODAY)
    sop_uids: list[str] = []
    for study in studies:
        objects = [*study.objects, *([study.amendment] if study.amendment else [])]
        assert is_valid_uid(study.study_instance_uid)
        for ds in objects:
            assert ds.StudyInstanceUID == study.study_instance_uid
            assert ds.AccessionNumber == study.accession_number
            assert ds.PatientID == study.patient_id
            assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
            assert is_valid_uid(str(ds.SOPInstanceUID))
            assert is_valid_uid(str(ds.SeriesInstanceUID))
            sop_uids.append(str(ds.SOPInstanceUID))
        series = {(ds.Modality, ds.SeriesInstanceUID) for ds in objects}
        assert len(series) == 2  # one US series, one SR series
    assert len(sop_uids) == len(set(sop_uids))
    accessions = [s.accession_number for s in studies]
    assert len(set(accessions)) == len(accessions)


def test_headers_look_like_a_real_department_with_synthetic_patients() -> None:
    studies = generate_demo(seed=8, studies=20, today=TODAY)
    comments = 0
    for study in studies:
        family, given = study.patient_name.split("^")
        assert family in people.FAMILY_NAMES
        assert given in {name for name, _sex in people.GIVEN_NAMES}
        assert re.fullmatch(r"DM\d{10}", study.accession_number)
        assert re.fullmatch(r"DEMO\d{6}", study.patient_id)
        assert TODAY - timedelta(days=7) <= study.study_date < TODAY
        images = [ds for ds in study.objects if ds.Modality == "US"]
        [report] = [ds for ds in study.objects if ds.Modality == "SR"]
        assert 2 <= len(images) <= 6
        assert [int(ds.InstanceNumber) for ds in images] == list(range(1, len(images) + 1))
        for ds in images:
            assert ds.SOPClassUID == US_IMAGE
            assert ds.BodyPartExamined in {"LEG", "KNEE"}
            assert ds.ImageLaterality in {"L", "R"}
            assert ds.Manufacturer in {s.manufacturer for s in people.SCANNERS}
            assert ds.StationName in {s.station for s in people.SCANNERS}
            assert ds.InstitutionName == people.INSTITUTION
            assert len(ds.PixelData) == ds.Rows * ds.Columns
            comments += "ImageComments" in ds
        assert report.StudyDate == study.study_date.strftime("%Y%m%d")
        assert report.VerificationFlag == "VERIFIED"
        assert report.ReferencedRequestSequence[0].ReasonForTheRequestedProcedure
    assert comments > 0  # some images carry a sonographer's note


def test_reports_are_vascular_ultrasound_reports_with_a_section_per_leg() -> None:
    for study in generate_demo(seed=4, studies=20, today=TODAY):
        report = study.objects[-1]
        assert report.ConceptNameCodeSequence[0].CodeValue == "125100"  # TID 5100
        sections = [
            item
            for item in report.ContentSequence
            if item.ValueType == "CONTAINER"
            and item.ConceptNameCodeSequence[0].CodeValue == "121070"
        ]
        assert len(sections) == len(study.sides)
        sides = [_laterality(section) for section in sections]
        assert sides == [{"left": "7771000", "right": "24028007"}[s] for s in study.sides]
        vessels = [item for item in sections[0].ContentSequence if item.ValueType == "CONTAINER"]
        assert len(vessels) == 4
        assert any(item.ValueType == "NUM" for v in vessels for item in v.ContentSequence)


def _laterality(section: Dataset) -> str:
    [item] = [
        i for i in section.ContentSequence if i.ConceptNameCodeSequence[0].CodeValue == "272741003"
    ]
    return str(item.ConceptCodeSequence[0].CodeValue)


def test_amended_reports_name_the_report_they_replace() -> None:
    studies = generate_demo(seed=9, studies=20, today=TODAY)
    amended = [s for s in studies if s.amendment is not None]
    assert {s.kind for s in amended} == {CaseKind.AMENDED_ADD, CaseKind.AMENDED_REMOVE}
    for study in amended:
        first = study.objects[-1]
        later = study.amendment
        assert later is not None
        [ref_study] = later.PredecessorDocumentsSequence
        [ref_series] = ref_study.ReferencedSeriesSequence
        [ref_sop] = ref_series.ReferencedSOPSequence
        assert ref_sop.ReferencedSOPInstanceUID == first.SOPInstanceUID
        assert ref_series.SeriesInstanceUID == first.SeriesInstanceUID
        assert later.SOPInstanceUID != first.SOPInstanceUID
        assert (later.ContentDate, later.ContentTime) > (first.ContentDate, first.ContentTime)
        assert study.expected != study.expected_before


def test_every_object_is_valid_dicom_that_reads_back(monkeypatch: pytest.MonkeyPatch) -> None:
    # Values too long for their VR etc. are errors, not warnings, while encoding.
    monkeypatch.setattr(config.settings, "writing_validation_mode", config.RAISE)
    for data in encoded(generate_demo(seed=6, studies=40, today=TODAY)):
        ds = dcmread(io.BytesIO(data))
        assert ds.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
