"""``msk-triage rules context --jsonl``: through click's runner and the real console script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from triage.cli import cli

KEYS = ["id", "negated", "certainty", "temporality", "experiencer", "cues"]


def run(stdin: bytes | str, *args: str) -> tuple[int, list[dict[str, Any]], str]:
    result = CliRunner().invoke(cli, ["rules", "context", *args], input=stdin)
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    return result.exit_code, lines, result.stderr


def jsonl(*items: object) -> str:
    return "".join(json.dumps(item) + "\n" for item in items)


def test_answers_each_line_with_the_contract_fields() -> None:
    stdin = jsonl(
        {"id": "a", "sentence": "No DVT; Baker's cyst.", "target": "Baker's cyst"},
        {"id": "b", "sentence": "No DVT, effusion or Baker's cyst.", "target": "effusion"},
        {"id": 3, "sentence": "Cannot exclude a small hematoma.", "target": "hematoma"},
        {"id": "d", "sentence": "History of gout, now with calf pain.", "target": "gout"},
        {
            "id": "e",
            "sentence": "Calf swelling; evaluate for DVT vs Baker's cyst.",
            "target": "DVT",
        },
        {"id": "f", "sentence": "Mother has gout.", "target": "gout"},
    )
    code, out, err = run(stdin, "--jsonl", "-")
    assert code == 0, err
    assert [list(o) for o in out] == [KEYS] * 6
    assert out[0] == {
        "id": "a",
        "negated": False,
        "certainty": "definite",
        "temporality": "current",
        "experiencer": "patient",
        "cues": [],
    }
    assert out[1]["negated"] is True
    assert out[1]["cues"] == [{"kind": "negation", "text": "No", "span": [0, 2]}]
    assert out[2]["id"] == 3
    assert out[2]["certainty"] == "possible"
    assert out[2]["cues"] == [{"kind": "uncertainty", "text": "Cannot exclude", "span": [0, 14]}]
    assert out[3]["temporality"] == "historical"
    assert out[4]["temporality"] == "hypothetical"
    assert out[4]["certainty"] == "possible"
    assert out[5]["experiencer"] == "other"


def test_target_is_found_case_insensitively_and_whitespace_tolerant() -> None:
    stdin = jsonl({"id": 1, "sentence": "NO DVT. BAKER'S   CYST.", "target": "baker's cyst"})
    code, out, _ = run(stdin, "--jsonl", "-")
    assert code == 0
    assert out[0]["negated"] is False


def test_bad_lines_are_reported_and_every_line_is_processed() -> None:
    stdin = (
        jsonl({"id": 1, "sentence": "No DVT.", "target": "DVT"})
        + "{not json\n"
        + "\n"
        + jsonl(
            {"id": 2, "sentence": "No DVT.", "target": "Baker's cyst"},
            [1, 2],
            {"id": 3, "sentence": "No DVT."},
            {"id": 4, "sentence": "Possible hematoma.", "target": "hematoma"},
        )
    )
    code, out, err = run(stdin, "--jsonl", "-")
    assert code == 1
    assert len(out) == 6  # the blank line gives none
    assert out[0]["negated"] is True
    assert out[1] == {
        "id": None,
        "line": 2,
        "error": "invalid JSON: Expecting property name enclosed in double quotes (column 2)",
    }
    assert out[2] == {
        "id": 2,
        "line": 4,
        "error": 'target "Baker\'s cyst" not found in the sentence',
    }
    assert out[3] == {"id": None, "line": 5, "error": "expected a JSON object"}
    assert out[4]["line"] == 6
    assert "must both be strings" in out[4]["error"]
    assert out[5]["certainty"] == "possible"
    assert "line 2: invalid JSON" in err
    assert "line 4: target" in err
    assert "4 line(s) could not be answered" in err


def test_undecodable_bytes_are_an_error_for_that_line_only() -> None:
    stdin = (
        b'{"id": 1, "sentence": "No \xff DVT.", "target": "DVT"}\n'
        + jsonl({"id": 2, "sentence": "No DVT.", "target": "DVT"}).encode()
    )
    code, out, _ = run(stdin, "--jsonl", "-")
    assert code == 1
    assert out[0] == {"id": None, "line": 1, "error": "not UTF-8 text"}
    assert out[1]["negated"] is True


def test_reads_a_file_and_streams_many_lines(tmp_path: Path) -> None:
    path = tmp_path / "mentions.jsonl"
    items = [
        {"id": i, "sentence": f"No DVT. Baker's cyst number {i}.", "target": "Baker's cyst"}
        for i in range(2000)
    ]
    path.write_text(jsonl(*items), encoding="utf-8")
    code, out, _ = run("", "--jsonl", str(path))
    assert code == 0
    assert [o["id"] for o in out] == list(range(2000))
    assert not any(o["negated"] for o in out)


def test_a_custom_lexicon_is_used(tmp_path: Path) -> None:
    lexicon = tmp_path / "lexicon.yaml"
    lexicon.write_text(
        "version: 1\ngroups:\n  - category: negation\n    direction: forward\n"
        "    phrases: [sans]\n",
        encoding="utf-8",
    )
    stdin = jsonl(
        {"id": 1, "sentence": "Knee sans effusion.", "target": "effusion"},
        {"id": 2, "sentence": "No effusion.", "target": "effusion"},
    )
    code, out, _ = run(stdin, "--jsonl", "-", "--lexicon", str(lexicon))
    assert code == 0
    assert [o["negated"] for o in out] == [True, False]


def test_a_bad_lexicon_stops_with_file_and_line(tmp_path: Path) -> None:
    lexicon = tmp_path / "lexicon.yaml"
    lexicon.write_text(
        "version: 1\ngroups:\n  - category: negaton\n    direction: forward\n    phrases: [sans]\n",
        encoding="utf-8",
    )
    code, out, err = run(
        jsonl({"id": 1, "sentence": "x", "target": "x"}), "--jsonl", "-", "--lexicon", str(lexicon)
    )
    assert code == 1
    assert out == []
    assert f"{lexicon}:3: groups[0].category: unknown category 'negaton'" in err
    assert "did you mean 'negation'?" in err


def test_missing_input_file_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = run("", "--jsonl", str(tmp_path / "nope.jsonl"))
    assert code == 2
    assert "nope.jsonl" in err


@pytest.mark.integration
def test_the_installed_console_script(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("msk-triage")
    assert script.exists(), f"{script} missing: run scripts/bootstrap dev"
    stdin = jsonl(
        {"id": "x", "sentence": "1. No DVT. 2. Ruptured Baker's cyst.", "target": "Baker's cyst"},
        {"id": "y", "sentence": "The mass is not a lipoma.", "target": "lipoma"},
        {"id": "z", "sentence": "No DVT.", "target": "cyst"},
    )
    proc = subprocess.run(
        [str(script), "rules", "context", "--jsonl", "-"],
        input=stdin.encode(),
        capture_output=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
    )
    assert proc.returncode == 1
    out = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert [o["id"] for o in out] == ["x", "y", "z"]
    assert out[0]["negated"] is False
    assert out[1]["negated"] is True
    assert "error" in out[2]
    assert b"line 3: target 'cyst' not found" in proc.stderr
