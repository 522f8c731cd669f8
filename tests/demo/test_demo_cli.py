"""``msk-triage demo`` against an in-process listener (the real one, with the real ingest)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from pydicom import dcmread
from sqlalchemy import Engine, text

from dicom_listener.server import Listener
from triage.cli import demo_cmd
from triage.cli.app import cli
from triage.db.engine import make_engine
from triage.db.migrate import upgrade
from triage.demo.generate import generate_demo
from triage.ingest.result import IngestOutcome, IngestResult, StoreStatus
from triage.ingest.service import Ingestor
from triage.settings import Settings, load_settings

AE_TITLE = "MSKTRIAGE"


@pytest.fixture
def service_settings(tmp_path: Path) -> Settings:
    return load_settings(
        environ={}, data_dir=tmp_path / "service", bind_address="127.0.0.1", ae_title=AE_TITLE
    )


@pytest.fixture
def service_engine(service_settings: Settings) -> Iterator[Engine]:
    engine = make_engine(service_settings)
    upgrade(engine)
    yield engine
    engine.dispose()


def start(settings: Settings, ingest: Any) -> Listener:
    listener = Listener(settings, ingest)
    listener.start(port=0)
    return listener


@pytest.fixture
def listener(service_settings: Settings, service_engine: Engine) -> Iterator[Listener]:
    server = start(service_settings, Ingestor(settings=service_settings, engine=service_engine))
    yield server
    server.stop(timeout=5)


def run_demo(tmp_path: Path, *args: str, **env: str) -> Result:
    environ = {"MSK_TRIAGE_DATA_DIR": str(tmp_path / "client"), **env}
    return CliRunner().invoke(cli, ["demo", *args], env=environ)


def port_args(listener: Listener) -> list[str]:
    return ["--port", str(listener.address[1])]


def counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        studies = conn.execute(text("SELECT count(*) FROM study")).scalar_one()
        instances = conn.execute(text("SELECT count(*) FROM instance")).scalar_one()
    return int(studies), int(instances)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_sends_every_study_and_says_what_the_worklist_will_show(
    tmp_path: Path, listener: Listener, service_engine: Engine
) -> None:
    result = run_demo(tmp_path, *port_args(listener), "--studies", "20", "--seed", "7")
    assert result.exit_code == 0, result.output
    studies = generate_demo(seed=7, studies=20, today=date.today())
    objects = sum(len(s.objects) for s in studies) + sum(s.amendment is not None for s in studies)
    assert counts(service_engine) == (20, objects)
    with service_engine.connect() as conn:
        assert set(conn.execute(text("SELECT DISTINCT calling_ae FROM instance")).scalars()) == {
            "DEMO"
        }
    out = result.output
    assert "Generated 20 synthetic DVT studies (seed 7)." in out
    for study in studies:
        assert f"] {study.accession_number}  " in out
    flagged = sum(bool(s.expected) for s in studies)
    assert f"{flagged} of 20 studies should be flagged, each with a worklist item" in out
    assert f"Done: {objects} of {objects} objects stored by {AE_TITLE} at 127.0.0.1:" in out
    assert "Sent 2 amended reports" in out
    assert "msk-triage status" in out


def test_the_same_seed_again_sends_duplicates_only(
    tmp_path: Path, listener: Listener, service_engine: Engine
) -> None:
    args = [*port_args(listener), "--studies", "3", "--seed", "12"]
    assert run_demo(tmp_path, *args).exit_code == 0
    before = counts(service_engine)
    again = run_demo(tmp_path, *args)
    assert again.exit_code == 0, again.output
    assert counts(service_engine) == before


def test_port_and_ae_title_default_to_the_settings(
    tmp_path: Path, listener: Listener, service_engine: Engine
) -> None:
    result = run_demo(
        tmp_path,
        "--studies",
        "1",
        "--seed",
        "1",
        MSK_TRIAGE_DICOM_PORT=str(listener.address[1]),
        MSK_TRIAGE_AE_TITLE=AE_TITLE,
    )
    assert result.exit_code == 0, result.output
    assert counts(service_engine)[0] == 1


def test_amendments_wait_as_asked(
    tmp_path: Path, listener: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []
    monkeypatch.setattr(demo_cmd, "pause", slept.append)
    result = run_demo(
        tmp_path, *port_args(listener), "--studies", "20", "--seed", "3", "--amend-after", "45"
    )
    assert result.exit_code == 0, result.output
    assert slept == [45.0]
    assert "Waiting 45 s before sending 2 amended reports..." in result.output


def test_a_service_that_is_not_running_is_a_clear_error(tmp_path: Path) -> None:
    port = free_port()
    result = run_demo(tmp_path, "--port", str(port), "--studies", "2")
    assert result.exit_code == 1
    assert f"cannot reach the DICOM service at 127.0.0.1:{port}" in result.output
    assert "msk-triage serve" in result.output


def test_a_refused_association_says_which_setting_to_check(
    tmp_path: Path, listener: Listener, service_engine: Engine
) -> None:
    result = run_demo(tmp_path, *port_args(listener), "--called-aet", "SOMEONEELSE")
    assert result.exit_code == 1
    assert "refused the association" in result.output
    assert "--called-aet" in result.output
    assert counts(service_engine) == (0, 0)


class Refusing:
    """An ingest that runs out of resources for every object."""

    def ingest_bytes(self, data: bytes, *, calling_ae: str, source: str = "dicom") -> IngestResult:
        return IngestResult(StoreStatus.OUT_OF_RESOURCES, IngestOutcome.REFUSED, reason="disk full")

    def ingest_file(
        self, path: Path, *, calling_ae: str, source: str = "dicom", move: bool = False
    ) -> IngestResult:
        if move:
            path.unlink()
        return self.ingest_bytes(b"", calling_ae=calling_ae)


def test_objects_the_service_does_not_store_are_reported(
    tmp_path: Path, service_settings: Settings
) -> None:
    server = start(service_settings, Refusing())
    try:
        result = run_demo(tmp_path, "--port", str(server.address[1]), "--studies", "2")
    finally:
        server.stop(timeout=5)
    assert result.exit_code == 1
    assert "NOT STORED" in result.output
    assert "(status 0xA700)" in result.output
    assert "objects were not stored" in result.output


def test_out_writes_the_files_and_the_ground_truth(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = run_demo(tmp_path, "--studies", "20", "--seed", "5", "--out", str(out), "--no-send")
    assert result.exit_code == 0, result.output
    studies = generate_demo(seed=5, studies=20, today=date.today())
    files = sorted(out.rglob("*.dcm"))
    assert len(files) == sum(len(s.objects) + (s.amendment is not None) for s in studies)
    for path in files:
        assert dcmread(path, stop_before_pixels=True).AccessionNumber == path.parent.name
    manifest = json.loads((out / "expected.json").read_text())
    assert manifest["seed"] == 5
    assert manifest["studies"] == [s.to_json() for s in studies]
    assert len(list(out.rglob("*-amended.dcm"))) == 2
    assert "Sending" not in result.output


def test_no_send_needs_out(tmp_path: Path) -> None:
    result = run_demo(tmp_path, "--no-send")
    assert result.exit_code == 2
    assert "--no-send needs --out" in result.output
