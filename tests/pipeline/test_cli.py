"""``msk-triage worker`` and ``msk-triage scheduler``: start-up errors, and a real worker
process on SQLite that triages and stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import Clock
from tests.pipeline.harness import Pipeline, StudyBuilder
from triage.cli.app import cli
from triage.db.engine import make_engine
from triage.db.migrate import upgrade
from triage.db.models import TriageState
from triage.settings import Settings


def _run(*args: str, **env: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), env=env)
    return result.exit_code, result.output


@pytest.mark.parametrize("command", ["worker"])
def test_invalid_rules_stop_the_worker_with_file_and_line(tmp_path: Path, command: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules: [\n")
    code, out = _run(
        command, MSK_TRIAGE_DATA_DIR=str(tmp_path / "data"), MSK_TRIAGE_RULES_PATHS=str(bad)
    )
    assert code == 1
    assert "invalid rules" in out
    assert f"{bad}:" in out


@pytest.mark.parametrize("command", ["worker", "scheduler"])
def test_an_unreachable_database_is_one_clear_line_without_the_password(
    tmp_path: Path, command: str
) -> None:
    code, out = _run(
        command,
        MSK_TRIAGE_DATA_DIR=str(tmp_path / "data"),
        MSK_TRIAGE_DATABASE_URL="postgresql://triage:hunter2@127.0.0.1:1/nowhere",
    )
    assert code == 1
    assert "cannot prepare the database postgresql://triage:***@127.0.0.1:1/nowhere" in out
    assert "hunter2" not in out
    assert "Traceback" not in out


@pytest.mark.integration
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_worker_process_triages_and_stops_on_sigterm(
    tmp_path: Path, pipeline_settings: Settings, clock: Clock
) -> None:
    engine = make_engine(pipeline_settings)
    upgrade(engine)
    try:
        pipe = Pipeline(settings=pipeline_settings, engine=engine, clock=clock)
        s = StudyBuilder()
        pipe.send(s.report("Baker's cyst."), at=0)  # "at" T0: long stable by now
        env = {k: v for k, v in os.environ.items() if not k.startswith("MSK_TRIAGE_")}
        env["MSK_TRIAGE_DATA_DIR"] = str(pipeline_settings.data_dir)
        log = tmp_path / "worker.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [str(Path(sys.executable).with_name("msk-triage")), "worker"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            deadline = time.monotonic() + 60
            while pipe.study(s.uid).triage_state != TriageState.TRIAGED:
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.05)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(30) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        assert pipe.study(s.uid).triage_outcome == "flagged"
        text = log.read_text()
        assert "is triaging with rule set" in text
        assert "stopped" in text
    finally:
        engine.dispose()


def test_status_shows_unreadable_studies_with_the_reason(pipe: Pipeline) -> None:
    s = StudyBuilder()
    report = s.report("Baker's cyst.")
    pipe.send(report, at=0)
    pipe.archive_file(report.SOPInstanceUID).write_bytes(b"garbage")
    pipe.send(StudyBuilder().report("Baker's cyst."), at=0)
    assert pipe.sweep(at=60) == 2
    env = {"MSK_TRIAGE_DATA_DIR": str(pipe.settings.data_dir), "COLUMNS": "400"}
    if pipe.settings.database_url:
        env["MSK_TRIAGE_DATABASE_URL"] = pipe.settings.database_url
    code, out = _run("status", **env)
    assert code == 0, out
    words = " ".join(out.split())
    assert "unreadable studies 1 a report could not be read" in words
    assert s.uid in words
    assert f"report {report.SOPInstanceUID}" in words
    code, out = _run("status", "--json", **env)
    assert code == 0
    assert "unreadable" not in out  # the --json contract is unchanged
