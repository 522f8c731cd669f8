from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from rules.api import load_ruleset
from triage.cli.app import cli

BAD = """\
rules:
  - id: t.one
    version: 1
    finding: bakers_cysts
    match:
      terms: [Baker's cyst]
"""
GOOD = BAD.replace("bakers_cysts", "bakers_cyst")


def test_default_pack_is_valid_and_reports_count_and_version() -> None:
    result = CliRunner().invoke(cli, ["rules", "check"])
    ruleset = load_ruleset()
    assert result.exit_code == 0, result.output
    assert result.output == (
        f"ok: {len(ruleset)} rules in {len(ruleset.files)} files, version {ruleset.version}\n"
    )


def test_errors_are_file_line_message_and_exit_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD)
    good = tmp_path / "good.yaml"
    good.write_text(GOOD.replace("t.one", "t.two"))
    result = CliRunner().invoke(cli, ["rules", "check", str(good), str(bad)])
    assert result.exit_code == 1
    assert result.stdout == (
        f"{bad}:4: rule 't.one': finding: unknown finding 'bakers_cysts'; "
        "did you mean 'bakers_cyst'?\n"
    )
    assert result.stderr == "1 error\n"


def test_a_folder_of_files_and_duplicate_ids(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD)
    (tmp_path / "b.yaml").write_text(GOOD)
    result = CliRunner().invoke(cli, ["rules", "check", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stdout == (
        f"{tmp_path / 'b.yaml'}:2: duplicate rule id 't.one'; also at {tmp_path / 'a.yaml'}:2\n"
    )
    (tmp_path / "b.yaml").unlink()
    ok = CliRunner().invoke(cli, ["rules", "check", str(tmp_path)])
    assert ok.exit_code == 0
    assert ok.stdout.startswith("ok: 1 rules in 1 file, version ")


def test_missing_path_is_an_error_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["rules", "check", str(tmp_path / "none.yaml")])
    assert result.exit_code == 1
    assert result.stdout.startswith(f"{tmp_path / 'none.yaml'}:0: cannot read")
