from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from rules.sr import build
from triage.cli.app import cli

FINDINGS = [
    "No DVT. Incidental 2.8 cm Baker's cyst in the left popliteal fossa.",
    "No hematoma.",
]


def _report(path: Path, findings: list[str], indications: tuple[str, ...] = ()) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    content = build.diagnostic_report(findings=findings, indications=indications)
    path.write_bytes(build.to_bytes(build.sr_document(content)))
    return path


def _lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines()]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    _report(tmp_path / "a" / "report.dcm", findings=FINDINGS, indications=("? Baker's cyst",))
    image = build.us_image(image_comments="LT POP FOSSA BAKERS CYST")
    (tmp_path / "a" / "image.dcm").write_bytes(build.to_bytes(image))
    (tmp_path / "a" / "readme.txt").write_text("not DICOM")
    _report(tmp_path / "b" / "clean.dcm", findings=["No DVT."])
    return tmp_path


def test_json_is_one_contract_object_per_dicom_file(folder: Path) -> None:
    result = CliRunner().invoke(cli, ["rules", "explain", "--json", str(folder)])
    assert result.exit_code == 0, result.output
    lines = _lines(result.stdout)
    assert [Path(o["path"]).name for o in lines] == ["image.dcm", "report.dcm", "clean.dcm"]
    contract = {"path", "sop_instance_uid", "study_instance_uid", "flags", "error"}
    for obj in lines:
        assert contract <= set(obj)
        assert obj["error"] is None
        assert obj["sop_instance_uid"]
        assert obj["study_instance_uid"]

    image, report, clean = lines
    assert image["flags"] == []  # not an SR ...
    assert [f["finding"] for f in image["header_flags"]] == ["bakers_cyst"]  # ... but it says
    assert clean["flags"] == []
    (flag,) = report["flags"]
    assert {k: flag[k] for k in ("finding", "rule", "rule_version", "certainty", "laterality")} == {
        "finding": "bakers_cyst",
        "rule": "msk.bakers_cyst.named",
        "rule_version": "1",
        "certainty": "definite",
        "laterality": "left",
    }
    evidence = flag["evidence"]
    assert evidence == {
        "item_path": "1.2.1",
        "concept": {"value": "121071", "scheme": "DCM", "meaning": "Finding"},
        "text": FINDINGS[0],
        "span": [26, 38],
    }
    assert FINDINGS[0][26:38] == "Baker's cyst"
    assert flag["all_evidence"][0] == evidence


def test_unreadable_files_give_an_error_and_the_run_goes_on(folder: Path) -> None:
    broken = folder / "broken.dcm"
    broken.write_bytes(b"\x00" * 10)
    text = folder / "a" / "readme.txt"
    result = CliRunner().invoke(
        cli, ["rules", "explain", "--json", str(broken), str(text), str(folder / "b")]
    )
    assert result.exit_code == 1
    first, second, third = _lines(result.stdout)
    assert first["path"] == str(broken)
    assert first["error"].startswith("not a readable DICOM file")
    assert (first["flags"], first["sop_instance_uid"]) == ([], None)
    assert second["error"].startswith("not a readable DICOM file")  # named, so an error
    assert third["error"] is None
    assert "2 files could not be read" in result.stderr


def test_human_form_marks_spans_and_explains_every_mention(folder: Path) -> None:
    result = CliRunner().invoke(cli, ["rules", "explain", str(folder / "a")])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert f"{folder / 'a' / 'readme.txt'}: skipped (not a DICOM file)" in out
    assert "bakers_cyst (definite, left, routine) rule msk.bakers_cyst.named v1" in out
    assert "1.2.1: No DVT. Incidental 2.8 cm «Baker's cyst» in the left popliteal fossa." in out
    assert "clinical_section: in Indications for Procedure section" in out
    assert "✗ hematoma [msk.hematoma.named] negated: negated by 'No' in 'No hematoma.'" in out
    assert "ImageComments: LT POP FOSSA «BAKERS CYST»" in out


def test_custom_rules_and_invalid_rules(folder: Path, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "rules:\n  - id: x.hematoma\n    version: 7\n    finding: hematoma\n"
        "    match: {terms: [hematoma]}\n"
    )
    report = folder / "a" / "report.dcm"
    result = CliRunner().invoke(
        cli, ["rules", "explain", "--json", "--rules", str(rules), str(report)]
    )
    assert result.exit_code == 0
    assert _lines(result.stdout)[0]["flags"] == []  # "No hematoma." and no Baker's rule

    rules.write_text("rules: [")
    bad = CliRunner().invoke(cli, ["rules", "explain", "--rules", str(rules), str(report)])
    assert bad.exit_code == 1
    assert f"{rules}:1: not valid YAML" in bad.stderr
