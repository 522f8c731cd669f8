from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from rules.sr import build, codes
from rules.sr.model import Code
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
    lines = result.stdout.splitlines()
    assert f"{folder / 'a' / 'readme.txt'}: skipped (not a DICOM file)" in lines
    assert "  bakers_cyst (definite, left, routine) rule msk.bakers_cyst.named v1" in lines
    # the evidence: item path, section, and the sentence that holds it (not the item)
    assert (
        "      @1.2.1 · Finding section · Incidental 2.8 cm «Baker's cyst» in the left "
        "popliteal fossa."
    ) in lines
    assert (
        "    ✗ bakers_cyst [msk.bakers_cyst.named] clinical_section: in Indications for "
        "Procedure section: clinical information is never a finding"
    ) in lines
    assert "        @1.1.1 · Indications for Procedure section · ? «Baker's cyst»" in lines
    # the reason names its cue once, and the cue is marked in the sentence
    assert "    ✗ hematoma [msk.hematoma.named] negated: negated by 'No'" in lines
    assert "        @1.2.2 · Finding section · ‹No› «hematoma»." in lines
    assert "      @ImageComments · ImageComments header · LT POP FOSSA «BAKERS CYST»" in lines


ONE_ITEM = """\
EXAM: Right lower extremity venous duplex.
INDICATION: Right calf pain. Rule out DVT. ? Baker's cyst.
COMPARISON: Right knee MRI 2022.
FINDINGS: The common femoral, femoral and popliteal veins are compressible
with normal flow. Small Baker's cyst was present on the prior study from 2023. A 2 cm
hematoma is seen in the medial gastrocnemius. No joint effusion.
IMPRESSION: No DVT. Calf hematoma.
"""


def _one_item(path: Path, text: str) -> Path:
    """A Basic Text SR whose one TEXT item holds the whole dictated report."""
    content = build.root(codes.DIAGNOSTIC_IMAGING_REPORT, [build.text(codes.FINDING, text)])
    path.write_bytes(build.to_bytes(build.sr_document(content, sop_class=build.BASIC_TEXT_SR)))
    return path


def test_human_form_of_a_one_item_report_shows_sentences_not_the_report(tmp_path: Path) -> None:
    report = _one_item(tmp_path / "basic.dcm", ONE_ITEM)
    result = CliRunner().invoke(cli, ["rules", "explain", str(report)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "  hematoma (definite, right, routine) rule msk.hematoma.named v1" in lines
    assert (
        "      @1.1 · 'FINDINGS:' heading · A 2 cm «hematoma» is seen in the medial gastrocnemius."
    ) in lines
    assert "      @1.1 · 'IMPRESSION:' heading · Calf «hematoma»." in lines
    # a past-tense statement about an earlier exam: the reason, and its cue marked
    assert (
        "    ✗ bakers_cyst [msk.bakers_cyst.named] historical: historical ('was present on the "
        "prior')"
    ) in lines
    assert (
        "        @1.1 · 'FINDINGS:' heading · Small «Baker's cyst» ‹was present on the prior› "
        "study from 2023."
    ) in lines
    assert (
        "    ✗ bakers_cyst [msk.bakers_cyst.named] clinical_section: in 'INDICATION:' heading: "
        "clinical information is never a finding"
    ) in lines
    assert "        @1.1 · 'INDICATION:' heading · ? «Baker's cyst»." in lines
    assert "        @1.1 · 'FINDINGS:' heading · ‹No› «joint effusion»." in lines
    # the hard-wrapped first sentence is one line; the whole report is never printed
    assert not any("EXAM:" in line or "compressible\n" in line for line in lines)
    assert all(len(line) < 160 for line in lines[1:])


def test_json_of_a_one_item_report_is_unchanged(tmp_path: Path) -> None:
    report = _one_item(tmp_path / "basic.dcm", ONE_ITEM)
    result = CliRunner().invoke(cli, ["rules", "explain", "--json", str(report)])
    assert result.exit_code == 0, result.output
    (obj,) = _lines(result.stdout)
    assert set(obj) == {"path", "sop_instance_uid", "study_instance_uid", "flags", "error"}
    (flag,) = obj["flags"]
    assert set(flag) == {
        "finding", "rule", "rule_version", "certainty", "laterality", "evidence", "priority",
        "all_evidence", "measurements",
    }  # fmt: skip
    evidence = flag["evidence"]
    assert set(evidence) == {"item_path", "concept", "text", "span"}
    assert evidence["item_path"] == "1.1"
    assert evidence["text"] == ONE_ITEM  # the whole item, as the contract says
    start, end = evidence["span"]
    assert ONE_ITEM[start:end] == "hematoma"
    assert [e["span"] for e in flag["all_evidence"]] == [
        evidence["span"],
        [ONE_ITEM.index("Calf hematoma") + 5, ONE_ITEM.index("Calf hematoma") + 13],
    ]


def test_a_long_sentence_is_shown_around_its_marks(tmp_path: Path) -> None:
    filler = ", ".join(f"vein {n} compressible" for n in range(30))
    text = (
        f"FINDINGS: No thrombus in the {filler}, there is no Baker's cyst in the popliteal fossa."
    )
    report = _one_item(tmp_path / "long.dcm", text)
    result = CliRunner().invoke(cli, ["rules", "explain", str(report)])
    assert result.exit_code == 0, result.output
    (line,) = [x for x in result.stdout.splitlines() if x.startswith("        @1.1")]
    assert line.startswith("        @1.1 · 'FINDINGS:' heading · … ")
    assert line.endswith(
        "vein 29 compressible, ‹there is no› «Baker's cyst» in the popliteal fossa."
    )
    assert "vein 0 " not in line
    assert len(line) < 250
    first = line.split(" · … ", 1)[1].split(" ", 1)[0]
    assert first in {"vein", "compressible,"} or first.rstrip(",").isdigit()  # a whole word


def test_human_form_of_coded_content_names_item_and_section(tmp_path: Path) -> None:
    cyst = build.coded_finding(
        Code("367643001", "SCT", "Cyst"), site=Code("32361000", "SCT", "Popliteal fossa")
    )
    content = build.diagnostic_report(findings=["No DVT."], coded_findings=[cyst])
    path = tmp_path / "coded.dcm"
    path.write_bytes(build.to_bytes(build.sr_document(content)))
    result = CliRunner().invoke(cli, ["rules", "explain", str(path)])
    assert result.exit_code == 0, result.output
    evidence = [x for x in result.stdout.splitlines() if x.startswith("      @")]
    assert len(evidence) == 1
    assert evidence[0] == (
        "      @1.1.2 · Finding section · Finding: Cyst (SCT 367643001) at Popliteal fossa "
        "(SCT 32361000)"
    )


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
