"""The archive retention job on a frozen clock, on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text, update

from rules.sr import build
from tests.conftest import Clock
from triage import retention
from triage.db.crud import retention as retention_crud
from triage.db.engine import write_lock, writer
from triage.db.models import Instance, ItemState
from triage.ingest.result import IngestOutcome
from triage.jobs.registry import JOBS, job_ids
from triage.retention import JOB_ID, purge_expired_files
from triage.settings import Settings
from triage.status import collect_status

from .conftest import RETENTION_DAYS, Archive

DAY = 24 * 3600.0
PAST_RETENTION = (RETENTION_DAYS + 1) * DAY


def purge(engine: Engine, settings: Settings, clock: Clock) -> int:
    return purge_expired_files(engine=engine, settings=settings, now=clock())


def test_old_files_of_a_triaged_study_go_and_the_index_stays(
    archive: Archive, engine: Engine, retention_settings: Settings, clock: Clock
) -> None:
    old = archive.store(3)
    clock.advance(5 * DAY)
    young = archive.store(2)
    archive.triage()
    clock.advance((RETENTION_DAYS - 4) * DAY)  # old: 31 days, young: 26 days

    assert purge(engine, retention_settings, clock) == 3

    assert archive.purged_at(old.uid) == [clock.now] * 3
    assert archive.files(old.uid) == [False] * 3
    assert archive.purged_at(young.uid) == [None, None]
    assert archive.files(young.uid) == [True, True]
    # the emptied study folder is gone; the archive folder and the other study stay
    archive_dir = retention_settings.archive_dir
    assert sorted(p.name for p in archive_dir.iterdir()) == [young.uid]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM instance")).scalar() == 5
        assert conn.execute(text("SELECT count(*) FROM study")).scalar() == 2


def test_running_again_changes_nothing(
    archive: Archive, engine: Engine, retention_settings: Settings, clock: Clock
) -> None:
    stored = archive.store(2)
    archive.triage()
    clock.advance(PAST_RETENTION)
    assert purge(engine, retention_settings, clock) == 2
    first = archive.purged_at(stored.uid)
    clock.advance(DAY)
    assert purge(engine, retention_settings, clock) == 0
    assert archive.purged_at(stored.uid) == first


def test_age_is_counted_from_the_instance_received_time(
    archive: Archive, engine: Engine, retention_settings: Settings, clock: Clock
) -> None:
    stored = archive.store(1)
    archive.triage()
    clock.advance(RETENTION_DAYS * DAY)  # exactly retention_days old: kept
    assert purge(engine, retention_settings, clock) == 0
    clock.advance(1)
    assert purge(engine, retention_settings, clock) == 1
    assert archive.files(stored.uid) == [False]


def test_nothing_happens_without_retention_days(
    archive: Archive, engine: Engine, retention_settings: Settings, clock: Clock
) -> None:
    stored = archive.store(2)
    archive.triage()
    clock.advance(10 * 365 * DAY)
    keep_forever = retention_settings.model_copy(update={"retention_days": None})
    assert purge(engine, keep_forever, clock) == 0
    assert archive.files(stored.uid) == [True, True]
    # the run is still recorded, so status shows the job alive
    status = collect_status(engine, known_jobs=job_ids())
    assert [job.last_run for job in status.jobs if job.id == JOB_ID] == [clock.now]


def test_pending_studies_keep_their_files(
    archive: Archive, engine: Engine, retention_settings: Settings, clock: Clock
) -> None:
    ready = archive.store(2)  # stable, waiting for the pipeline
    triaged = archive.store(2)
    archive.triage(triaged)
    # new content makes a triaged study pending again, until it is re-triaged
    clock.advance(PAST_RETENTION)
    archive.send(build.us_image(study=build.Study(study_instance_uid=triaged.uid)))
    clock.advance(1)

    assert purge(engine, retention_settings, clock) == 0
    assert archive.files(ready.uid) == [True, True]
    assert archive.files(triaged.uid) == [True, True, True]

    archive.triage()  # (re-)triaged: the old files may go, the new one is young
    assert purge(engine, retention_settings, clock) == 4
    assert archive.files(triaged.uid) == [False, False, True]
    assert archive.files(ready.uid) == [False, False]


@pytest.mark.parametrize("state", [ItemState.NEW, ItemState.ASSIGNED, ItemState.IN_REVIEW])
def test_an_open_worklist_item_keeps_the_files_until_it_is_closed(
    archive: Archive,
    engine: Engine,
    retention_settings: Settings,
    clock: Clock,
    state: ItemState,
) -> None:
    flagged = archive.store(2)
    archive.triage()
    archive.add_item(flagged.uid, state)
    clock.advance(PAST_RETENTION)
    assert purge(engine, retention_settings, clock) == 0
    assert archive.files(flagged.uid) == [True, True]

    archive.set_item_state(flagged.uid, ItemState.CLOSED)
    assert purge(engine, retention_settings, clock) == 2
    assert archive.files(flagged.uid) == [False, False]


def test_files_already_missing_are_purged_all_the_same(
    archive: Archive, engine: Engine, retention_settings: Settings, clock: Clock
) -> None:
    stored = archive.store(2)
    archive.triage()
    first = archive.instances(stored.uid)[0]
    (retention_settings.data_dir / first.archive_path).unlink()
    clock.advance(PAST_RETENTION)
    assert purge(engine, retention_settings, clock) == 2
    assert archive.purged_at(stored.uid) == [clock.now, clock.now]


def test_a_large_archive_goes_in_batches(
    archive: Archive,
    engine: Engine,
    retention_settings: Settings,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    studies = [archive.store(2) for _ in range(4)]
    archive.triage()
    clock.advance(PAST_RETENTION)
    batches: list[int] = []
    real = retention_crud.expired_files

    def counting(conn: Connection, **kwargs: Any) -> list[retention_crud.Expired]:
        found = real(conn, **kwargs)
        batches.append(len(found))
        return found

    monkeypatch.setattr(retention, "BATCH_SIZE", 3)
    monkeypatch.setattr(retention, "expired_files", counting)
    assert purge(engine, retention_settings, clock) == 8
    assert batches == [3, 3, 2]
    assert all(archive.files(s.uid) == [False, False] for s in studies)


def test_a_file_that_cannot_be_removed_stays_unpurged_and_the_rest_go(
    archive: Archive,
    engine: Engine,
    retention_settings: Settings,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    stored = archive.store(3)
    archive.triage()
    stuck = retention_settings.data_dir / archive.instances(stored.uid)[1].archive_path
    real_unlink = Path.unlink

    def unlink(path: Path, missing_ok: bool = False) -> None:
        if path == stuck:
            raise PermissionError(13, "Permission denied")
        real_unlink(path, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", unlink)
    monkeypatch.setattr(retention, "BATCH_SIZE", 1)  # the stuck file is a batch of its own
    clock.advance(PAST_RETENTION)
    with caplog.at_level(logging.WARNING, logger="triage.retention"):
        assert purge(engine, retention_settings, clock) == 2
    assert archive.files(stored.uid) == [False, True, False]
    assert archive.purged_at(stored.uid) == [clock.now, None, clock.now]
    assert "cannot remove" in caplog.text
    assert "Permission denied" in caplog.text

    monkeypatch.setattr(Path, "unlink", real_unlink)
    clock.advance(DAY)
    assert purge(engine, retention_settings, clock) == 1  # tried again next run
    assert not any(archive.files(stored.uid))


def test_a_path_outside_the_archive_is_never_touched(
    archive: Archive,
    engine: Engine,
    retention_settings: Settings,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    stored = archive.store(1)
    archive.triage()
    outside = retention_settings.data_dir / "precious.txt"
    outside.write_text("keep me")
    with write_lock(engine), writer(engine).begin() as conn:
        conn.execute(update(Instance).values(archive_path="archive/../precious.txt"))
    clock.advance(PAST_RETENTION)
    with caplog.at_level(logging.ERROR, logger="triage.retention"):
        assert purge(engine, retention_settings, clock) == 0
    assert outside.read_text() == "keep me"
    assert archive.purged_at(stored.uid) == [None]
    assert "outside the archive" in caplog.text


def test_a_purged_instance_sent_again_is_stored_again_and_no_longer_purged(
    archive: Archive, engine: Engine, retention_settings: Settings, clock: Clock
) -> None:
    stored = archive.store(2)
    archive.triage()
    clock.advance(PAST_RETENTION)
    assert purge(engine, retention_settings, clock) == 2
    assert not (retention_settings.archive_dir / stored.uid).exists()

    clock.advance(60)
    # The same ingestor, which remembers the study's folders as made.
    assert archive.send(stored.datasets[0]) is IngestOutcome.DUPLICATE
    rows = archive.instances(stored.uid)
    assert [row.purged_at for row in rows] == [None, rows[1].purged_at]
    assert rows[1].purged_at is not None
    assert rows[0].received_at == clock.now  # its retention age starts again
    assert archive.files(stored.uid) == [True, False]
    assert (retention_settings.data_dir / rows[0].archive_path).read_bytes() == build.to_bytes(
        stored.datasets[0]
    )
    # one row per revision still: nothing duplicated, the study not re-triaged
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM instance")).scalar() == 2
        assert conn.execute(text("SELECT triage_state FROM study")).scalar() == "triaged"

    clock.advance(DAY)
    assert purge(engine, retention_settings, clock) == 0  # young again
    clock.advance(PAST_RETENTION)
    assert purge(engine, retention_settings, clock) == 1
    assert archive.files(stored.uid) == [False, False]


def test_a_purged_instance_sent_with_new_content_is_a_new_revision(
    archive: Archive, engine: Engine, retention_settings: Settings, clock: Clock
) -> None:
    stored = archive.store(1)
    archive.triage()
    clock.advance(PAST_RETENTION)
    assert purge(engine, retention_settings, clock) == 1
    changed = stored.datasets[0]
    changed.ContentTime = "235959"
    assert archive.send(changed) is IngestOutcome.REVISION
    rows = archive.instances(stored.uid)
    assert [(row.revision, row.is_latest, row.purged_at is None) for row in rows] == [
        (0, False, False),
        (1, True, True),
    ]
    assert archive.files(stored.uid) == [False, True]


def test_new_objects_arrive_in_folders_retention_removed(
    archive: Archive, engine: Engine, retention_settings: Settings, clock: Clock
) -> None:
    study = build.Study()
    first = build.us_image(study=study)
    archive.send(first)
    archive.triage()
    clock.advance(PAST_RETENTION)
    assert purge(engine, retention_settings, clock) == 1
    # another image of the same series, through the ingestor that made its folder
    later = build.us_image(study=study)
    later.SeriesInstanceUID = first.SeriesInstanceUID
    assert archive.send(later) is IngestOutcome.STORED
    assert archive.files(study.study_instance_uid) == [False, True]


def test_the_job_is_registered_and_shown_in_status(
    archive: Archive, engine: Engine, retention_settings: Settings, clock: Clock
) -> None:
    [spec] = [spec for spec in JOBS if spec.id == JOB_ID]
    assert spec.func is purge_expired_files
    assert spec.interval_seconds(retention_settings) == retention_settings.retention_sweep_seconds
    archive.store(1)
    archive.triage()
    clock.advance(PAST_RETENTION)
    purge(engine, retention_settings, clock)
    [job] = [job for job in collect_status(engine, known_jobs=job_ids()).jobs if job.id == JOB_ID]
    assert (job.last_run, job.last_error, job.run_count) == (clock.now, None, 1)


@pytest.mark.postgres
@pytest.mark.integration
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_a_study_being_written_is_skipped_on_postgres(
    archive: Archive, engine: Engine, retention_settings: Settings, clock: Clock
) -> None:
    assert engine.dialect.name == "postgresql"
    busy = archive.store(1)
    idle = archive.store(1)
    archive.triage()
    clock.advance(PAST_RETENTION)
    with engine.connect() as other, other.begin():
        # another transaction (an ingest) holds the study row
        other.execute(
            text("SELECT id FROM study WHERE study_instance_uid = :uid FOR UPDATE"),
            {"uid": busy.uid},
        )
        assert purge(engine, retention_settings, clock) == 1
    assert archive.files(busy.uid) == [True]
    assert archive.files(idle.uid) == [False]
    assert purge(engine, retention_settings, clock) == 1  # its turn next run
    assert archive.files(busy.uid) == [False]


def test_the_folder_of_a_study_with_other_files_stays(
    archive: Archive, engine: Engine, retention_settings: Settings, clock: Clock
) -> None:
    stored = archive.store(2)
    archive.triage()
    clock.advance(PAST_RETENTION)
    stray = retention_settings.archive_dir / stored.uid / "notes.txt"
    stray.write_text("not ours")
    assert purge(engine, retention_settings, clock) == 2
    assert stray.read_text() == "not ours"
    assert sorted(p.name for p in stray.parent.iterdir()) == ["notes.txt"]


def test_retention_days_is_read_from_the_settings(
    archive: Archive, engine: Engine, retention_settings: Settings, clock: Clock
) -> None:
    stored = archive.store(1)
    archive.triage()
    clock.advance(8 * DAY)
    assert purge(engine, retention_settings, clock) == 0
    weekly = retention_settings.model_copy(update={"retention_days": 7})
    assert purge(engine, weekly, clock) == 1
    assert archive.files(stored.uid) == [False]
    assert timedelta(days=7) < clock.now - archive.instances(stored.uid)[0].received_at
