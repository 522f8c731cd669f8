"""The concept tables: the SRT->SCT map is the standard's, and the section table is sane."""

from __future__ import annotations

import pytest
from pydicom.sr._snomed_dict import mapping as pydicom_snomed_mapping

from rules.sr import Code, SectionRole, codes
from rules.sr.vocab import Presence, VocabularyError, _keys, vocabulary


def test_srt_table_matches_the_standard() -> None:
    """Our table is DICOM PS3.16 Table O-1 as pydicom machine-reads it from the standard."""
    assert dict(vocabulary().srt_to_sct) == pydicom_snomed_mapping["SRT"]


@pytest.mark.parametrize(
    ("srt", "sct"),
    [
        ("G-A100", codes.RIGHT),
        ("G-A101", codes.LEFT),
        ("G-A102", codes.BILATERAL),
        ("G-C0E3", codes.FINDING_SITE),
        ("G-C171", codes.LATERALITY),
        ("G-A203", codes.PRESENT),
        ("R-4089B", codes.ABSENT),
        ("M-3340A", codes.CYST),
        ("M-36700", codes.EFFUSION),
        ("M-35060", codes.HEMATOMA),
        ("M-41610", codes.ABSCESS),
        ("T-D9310", codes.POPLITEAL_FOSSA),
        ("T-15720", codes.KNEE_JOINT),
        ("T-49650", codes.POPLITEAL_VEIN),
        ("T-49403", codes.VEIN_OF_LOWER_EXTREMITY),
        ("G-D7FE", codes.LENGTH),
    ],
)
def test_legacy_codes_map_to_sct(srt: str, sct: Code) -> None:
    vocab = vocabulary()
    for scheme in ("SRT", "SNM3", "99SDM"):
        mapped = vocab.code(srt, scheme, "kept meaning")
        assert mapped == sct
        assert mapped.meaning == "kept meaning"


def test_other_schemes_are_left_alone() -> None:
    vocab = vocabulary()
    assert vocab.code("G-A101", "99LOCAL") == Code("G-A101", "99LOCAL")
    assert vocab.code("121071", "DCM") == codes.FINDING
    assert vocab.code("X-0000", "SRT") == Code("X-0000", "SRT")


def test_concept_table_contents() -> None:
    vocab = vocabulary()
    roles = vocab.section_roles
    assert roles[("59776-5", "LN")] is SectionRole.FINDINGS
    assert roles[("121071", "DCM")] is SectionRole.FINDINGS
    assert roles[("19005-8", "LN")] is SectionRole.IMPRESSION
    assert roles[("121072", "DCM")] is SectionRole.IMPRESSION
    assert roles[("121073", "DCM")] is SectionRole.IMPRESSION
    for clinical in [("55752-0", "LN"), ("121060", "DCM"), ("121109", "DCM"), ("18785-6", "LN")]:
        assert roles[clinical] is SectionRole.CLINICAL
    for recommendation in [("18783-1", "LN"), ("121074", "DCM"), ("121075", "DCM")]:
        assert roles[recommendation] is SectionRole.RECOMMENDATION
    assert roles[("121111", "DCM")] is SectionRole.COMMENT
    assert roles[("121106", "DCM")] is SectionRole.COMMENT
    assert ("272741003", "SCT") in vocab.laterality_concepts
    assert ("363698007", "SCT") in vocab.finding_site_concepts
    assert vocab.laterality_values[("7771000", "SCT")] == "left"
    assert vocab.presence_values[("121053", "DCM")] is Presence.PRESENT
    assert vocab.presence_values[("121054", "DCM")] is Presence.ABSENT
    assert ("56849005", "SCT") in vocab.anatomic_locations  # popliteal vein, CID 12103


def test_malformed_rows_are_refused() -> None:
    with pytest.raises(VocabularyError, match="quote the value"):
        _keys("t.yaml", "rows", [[121071, "DCM"]], {})
    with pytest.raises(VocabularyError, match="must be a list"):
        _keys("t.yaml", "rows", {"a": 1}, {})
    assert _keys("t.yaml", "rows", [["G-A101", "SRT", "Left"]], {"G-A101": "7771000"}) == [
        ("7771000", "SCT")
    ]
