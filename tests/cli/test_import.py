"""``msk-triage import``: end to end through the CLI (CliRunner and the real console
script), on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, text

from tests.ingest.factory import Obj, files_under, study
from triage.cli.app import cli
from triage.settings import Settings


def _env(settings: Settings) -> dict[str, str]:
    env = {"MSK_TRIAGE_DATA_DIR": str(settings.data_dir)}
    if settings.database_url:
        env["MSK_TRIAGE_DATABASE_URL"] = settings.database_url
    return env


def _import(settings: Settings, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["import", *args], env=_env(settings))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout


def _count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "cd"
    for n, obj in enumerate(study(4)):
        obj.write(root / "study" / f"IM{n}")
    (root / "notes.txt").write_text("not DICOM")
    (root / "DICOMDIR").write_bytes(Obj().encode())  # a media directory stands in
    return root


def test_import_a_folder(db_settings: Settings, engine: Engine, folder: Path) -> None:
    code, out = _import(db_settings, str(folder))
    assert code == 0, out
    assert "6 files" in out
    assert "4 stored, 0 duplicate, 0 revision, 0 refused, 2 skipped" in out
    assert _count(engine, "instance") == 4
    assert len(files_under(db_settings.archive_dir)) == 4
    with engine.connect() as conn:
        sources = conn.execute(text("SELECT DISTINCT source FROM instance")).scalars().all()
    assert sources == ["import"]

    code, out = _import(db_settings, str(folder))  # again: nothing new
    assert code == 0
    assert "0 stored, 4 duplicate" in out
    assert _count(engine, "instance") == 4


def test_refusals_are_listed_and_exit_1(
    db_settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    good = Obj().write(tmp_path / "in" / "good.dcm")
    evil = Obj(sop_uid="../../x").write(tmp_path / "in" / "evil.dcm")
    code, out = _import(db_settings, str(good.parent))
    assert code == 1
    assert "1 stored" in out
    assert "1 refused" in out
    assert f"{evil}: 0xC001" in out
    assert "'../../x' is not a valid UID" in out
    assert _count(engine, "instance") == 1


def test_files_and_folders_mixed_and_a_revision(
    db_settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    first = Obj(text="v1")
    amended = Obj(
        study_uid=first.study_uid, series_uid=first.series_uid, sop_uid=first.sop_uid, text="v2"
    )
    a = first.write(tmp_path / "a.dcm")
    b = amended.write(tmp_path / "later" / "b.dcm")
    code, out = _import(db_settings, str(a), str(b.parent), "--calling-ae", "QA-DESK")
    assert code == 0, out
    assert "1 stored, 0 duplicate, 1 revision" in out
    with engine.connect() as conn:
        aes = conn.execute(text("SELECT DISTINCT calling_ae FROM instance")).scalars().all()
    assert aes == ["QA-DESK"]


def test_a_missing_path_is_a_usage_error(settings: Settings, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["import", str(tmp_path / "nope")], env=_env(settings))
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_a_bad_database_is_a_clear_error(settings: Settings, tmp_path: Path) -> None:
    obj = Obj().write(tmp_path / "a.dcm")
    env = _env(settings) | {"MSK_TRIAGE_DATABASE_URL": "mysql://u@h/db"}
    result = CliRunner().invoke(cli, ["import", str(obj)], env=env)
    assert result.exit_code == 1
    assert "cannot open the database" in result.output


@pytest.mark.integration
def test_the_console_script(settings: Settings, tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "msk-triage"
    assert script.exists(), "the README set-up installs the console script into .venv"
    objs = study(3)
    for n, obj in enumerate(objs):
        obj.write(tmp_path / "in" / f"{n}.dcm")
    Obj(study_uid="1.2.3/../4").write(tmp_path / "in" / "bad.dcm")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MSK_TRIAGE_")}
    env |= _env(settings)
    run = subprocess.run(
        [str(script), "import", str(tmp_path / "in")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1, run.stderr
    assert "3 stored, 0 duplicate, 0 revision, 1 refused, 0 skipped" in run.stdout
    assert "StudyInstanceUID '1.2.3/../4' is not a valid UID" in run.stdout
    assert len(files_under(settings.archive_dir)) == 3
    assert files_under(settings.tmp_dir) == []


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_memory_does_not_grow_with_the_number_of_files(
    db_settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    from triage.ingest.importer import import_paths
    from triage.ingest.service import Ingestor

    def peak_importing(count: int, name: str) -> int:
        root = tmp_path / name
        for n, obj in enumerate(study(count)):
            obj.write(root / f"{n:05d}.dcm")
        ingestor = Ingestor(settings=db_settings, engine=engine)
        tracemalloc.start()
        try:
            tally = import_paths(ingestor, [root], calling_ae="T")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert tally.stored == count
        return peak

    small = peak_importing(200, "small")
    large = peak_importing(2000, "large")
    # Streaming: ten times the files, not more memory (under 150 bytes a file at most).
    assert large - small < 256 * 1024


def test_an_unusable_archive_is_a_clear_error(settings: Settings, tmp_path: Path) -> None:
    obj = Obj().write(tmp_path / "a.dcm")
    settings.data_dir.mkdir(parents=True)
    (settings.data_dir / "archive").write_text("a file where the archive folder goes")
    result = CliRunner().invoke(cli, ["import", str(obj)], env=_env(settings))
    assert result.exit_code == 1
    assert "cannot prepare the archive" in result.output
