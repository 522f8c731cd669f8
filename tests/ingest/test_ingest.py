"""Durable ingest, end to end against a real database (SQLite and PostgreSQL) and a
real archive folder: every outcome, and that a refusal leaves nothing behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.conftest import Clock
from triage.ingest import statements
from triage.ingest.result import IngestOutcome, StoreStatus
from triage.ingest.service import Ingestor
from triage.settings import Settings

from .conftest import Rows
from .factory import Obj, files_under, study, with_uid


def _only_file(settings: Settings) -> Path:
    files = files_under(settings.archive_dir)
    assert len(files) == 1
    return files[0]


def test_stores_bytes_exactly_as_received(
    ingestor: Ingestor, db_settings: Settings, rows: Rows, clock: Clock
) -> None:
    obj = Obj()
    data = obj.encode()
    result = ingestor.ingest_bytes(data, calling_ae="PACS1")
    assert result.ok
    assert result.outcome is IngestOutcome.STORED
    assert (result.sop_instance_uid, result.study_instance_uid) == (obj.sop_uid, obj.study_uid)
    assert result.revision == 0

    path = _only_file(db_settings)
    assert path == db_settings.archive_dir / obj.study_uid / obj.series_uid / f"{obj.sop_uid}.dcm"
    assert path.read_bytes() == data
    assert files_under(db_settings.tmp_dir) == []

    (instance,) = rows("instance")
    assert instance["sop_instance_uid"] == obj.sop_uid
    assert instance["revision"] == 0
    assert instance["is_latest"]
    assert instance["archive_path"] == path.relative_to(db_settings.data_dir).as_posix()
    assert instance["size_bytes"] == len(data)
    assert instance["calling_ae"] == "PACS1"
    assert instance["source"] == "dicom"
    assert instance["sop_class_uid"] == obj.sop_class
    assert instance["transfer_syntax_uid"] == obj.transfer_syntax
    assert instance["instance_number"] == 1
    import hashlib

    assert instance["content_digest"] == hashlib.sha256(data).hexdigest()

    (study_row,) = rows("study")
    assert study_row["study_instance_uid"] == obj.study_uid
    assert study_row["patient_name"] == "Doe^Jane"
    assert study_row["accession_number"] == "ACC-1"
    assert study_row["instance_count"] == 1
    assert study_row["content_revision"] == 1
    assert study_row["triage_state"] == "receiving"
    (series_row,) = rows("series")
    assert series_row["series_instance_uid"] == obj.series_uid
    assert series_row["study_id"] == study_row["id"]
    assert series_row["modality"] == "SR"
    assert series_row["station_name"] == "US01"


def test_study_index_fields_through_the_model(ingestor: Ingestor, engine: Engine) -> None:
    from sqlmodel import Session

    from triage.db.crud.studies import get_study, latest_instances

    objs = study(2)
    objs[1].series_uid = "1.2.3.99"
    objs[1].modality = "US"
    objs[1].sop_class = "1.2.840.10008.5.1.4.1.1.6.1"
    for obj in objs:
        assert ingestor.ingest_bytes(obj.encode(), calling_ae="PACS").ok
    with Session(engine) as session:
        found = get_study(session, study_instance_uid=objs[0].study_uid)
        assert found is not None
        assert found.id is not None
        assert found.modalities == ["SR", "US"]
        assert found.procedure_codes == [
            {"value": "RPID2251", "scheme": "RADLEX", "meaning": "US Doppler lower extremity veins"}
        ]
        assert found.study_description == "US DOPPLER LOWER EXTREMITY VENOUS"
        assert found.institution_name == "General Hospital"
        assert found.referring_physician_name == "Smith^John"
        assert found.first_received_at.tzinfo is not None
        instances = latest_instances(session, study_id=found.id)
        assert sorted(i.sop_instance_uid for i in instances) == sorted(o.sop_uid for o in objs)


def test_identical_resend_is_a_duplicate(
    ingestor: Ingestor, db_settings: Settings, rows: Rows, clock: Clock
) -> None:
    data = Obj().encode()
    assert ingestor.ingest_bytes(data, calling_ae="PACS").outcome is IngestOutcome.STORED
    clock.advance(30)
    again = ingestor.ingest_bytes(data, calling_ae="PACS")
    assert again.ok
    assert again.outcome is IngestOutcome.DUPLICATE
    assert again.revision == 0
    assert len(files_under(db_settings.archive_dir)) == 1
    assert files_under(db_settings.tmp_dir) == []
    assert len(rows("instance")) == 1
    (study_row,) = rows("study")
    assert study_row["content_revision"] == 1  # nothing changed, so no re-triage


def test_different_content_is_kept_as_a_revision(
    ingestor: Ingestor, db_settings: Settings, rows: Rows
) -> None:
    first = Obj(text="No DVT.")
    amended = Obj(
        study_uid=first.study_uid,
        series_uid=first.series_uid,
        sop_uid=first.sop_uid,
        text="No DVT. Addendum: ruptured Baker's cyst.",
    )
    assert ingestor.ingest_bytes(first.encode(), calling_ae="PACS").ok
    result = ingestor.ingest_bytes(amended.encode(), calling_ae="PACS")
    assert result.ok
    assert result.outcome is IngestOutcome.REVISION
    assert result.revision == 1

    folder = db_settings.archive_dir / first.study_uid / first.series_uid
    assert (folder / f"{first.sop_uid}.dcm").read_bytes() == first.encode()
    assert (folder / f"{first.sop_uid}.r1.dcm").read_bytes() == amended.encode()
    revisions = {r["revision"]: r["is_latest"] for r in rows("instance")}
    assert revisions == {0: False, 1: True}
    (study_row,) = rows("study")
    assert study_row["instance_count"] == 1
    assert study_row["content_revision"] == 2

    # the first content sent again is a change again: kept, nothing lost
    third = ingestor.ingest_bytes(first.encode(), calling_ae="PACS")
    assert third.outcome is IngestOutcome.REVISION
    assert third.revision == 2
    assert ingestor.ingest_bytes(first.encode(), calling_ae="PACS").outcome is (
        IngestOutcome.DUPLICATE
    )


def test_a_revision_corrects_study_attributes(ingestor: Ingestor, rows: Rows) -> None:
    first = Obj(accession="ACC-OLD")
    fixed = Obj(
        study_uid=first.study_uid,
        series_uid=first.series_uid,
        sop_uid=first.sop_uid,
        accession="ACC-NEW",
    )
    other = Obj(study_uid=first.study_uid, series_uid=first.series_uid, accession="ACC-OTHER")
    assert ingestor.ingest_bytes(first.encode(), calling_ae="PACS").ok
    assert ingestor.ingest_bytes(other.encode(), calling_ae="PACS").ok
    assert rows("study")[0]["accession_number"] == "ACC-OLD"  # a new instance only fills gaps
    assert ingestor.ingest_bytes(fixed.encode(), calling_ae="PACS").ok
    assert rows("study")[0]["accession_number"] == "ACC-NEW"  # a revision corrects


def test_missing_attributes_are_filled_by_later_instances(ingestor: Ingestor, rows: Rows) -> None:
    first = Obj(omit=("AccessionNumber", "InstitutionName", "ProcedureCodeSequence"))
    second = Obj(study_uid=first.study_uid, series_uid=first.series_uid)
    assert ingestor.ingest_bytes(first.encode(), calling_ae="PACS").ok
    (row,) = rows("study")
    assert row["accession_number"] is None
    assert ingestor.ingest_bytes(second.encode(), calling_ae="PACS").ok
    (row,) = rows("study")
    assert row["accession_number"] == "ACC-1"
    assert row["institution_name"] == "General Hospital"
    assert "RPID2251" in str(row["procedure_codes"])


def test_a_sop_instance_resent_under_another_study(ingestor: Ingestor, rows: Rows) -> None:
    first = Obj()
    moved = Obj(sop_uid=first.sop_uid, text="other content")  # new study and series UIDs
    assert ingestor.ingest_bytes(first.encode(), calling_ae="PACS").ok
    result = ingestor.ingest_bytes(moved.encode(), calling_ae="PACS")
    assert result.outcome is IngestOutcome.REVISION
    counts = {r["study_instance_uid"]: r["instance_count"] for r in rows("study")}
    assert counts == {first.study_uid: 0, moved.study_uid: 1}
    revisions = {r["content_revision"] for r in rows("study")}
    assert revisions == {2, 1}  # the first study changed too: it lost an instance


@pytest.mark.parametrize(
    ("field", "uid"),
    [
        ("sop_uid", "../../x"),
        ("study_uid", "1.2.3/../4"),
        ("series_uid", "1." + "2" * 63),
        ("sop_uid", "1.02.3"),
        ("study_uid", "1.2\x003"),
    ],
)
def test_hostile_uids_write_nothing(
    ingestor: Ingestor, db_settings: Settings, rows: Rows, field: str, uid: str
) -> None:
    result = ingestor.ingest_bytes(with_uid(field, uid).encode(), calling_ae="EVIL")
    assert result.status is StoreStatus.INVALID_UID
    assert result.outcome is IngestOutcome.REFUSED
    assert files_under(db_settings.data_dir / "archive") == []
    assert files_under(db_settings.tmp_dir) == []
    assert not (db_settings.data_dir.parent / "x").exists()
    assert rows("instance") == []
    assert rows("study") == []


def test_an_empty_study_uid_is_refused(ingestor: Ingestor, db_settings: Settings) -> None:
    result = ingestor.ingest_bytes(Obj(extra={"StudyInstanceUID": ""}).encode(), calling_ae="PACS")
    assert result.status is StoreStatus.DATASET_DOES_NOT_MATCH_SOP_CLASS
    assert files_under(db_settings.archive_dir) == []


def test_garbage_is_refused(ingestor: Ingestor, db_settings: Settings, rows: Rows) -> None:
    result = ingestor.ingest_bytes(b"not dicom at all", calling_ae="PACS")
    assert result.status is StoreStatus.CANNOT_UNDERSTAND
    assert not result.ok
    assert files_under(db_settings.archive_dir) == []
    assert rows("instance") == []


# files ------------------------------------------------------------------------------
def test_import_copies_and_leaves_the_source(
    ingestor: Ingestor, db_settings: Settings, rows: Rows, tmp_path: Path
) -> None:
    obj = Obj()
    source = obj.write(tmp_path / "in" / "a.dcm")
    result = ingestor.ingest_file(source, calling_ae="alice", source="import")
    assert result.outcome is IngestOutcome.STORED
    assert source.read_bytes() == obj.encode()
    assert _only_file(db_settings).read_bytes() == obj.encode()
    assert rows("instance")[0]["source"] == "import"
    assert files_under(db_settings.tmp_dir) == []
    again = ingestor.ingest_file(source, calling_ae="alice", source="import")
    assert again.outcome is IngestOutcome.DUPLICATE
    assert files_under(db_settings.tmp_dir) == []


def test_move_takes_ownership(ingestor: Ingestor, db_settings: Settings) -> None:
    obj = Obj()
    spooled = db_settings.tmp_dir / "rx-1" / "x.part"
    spooled.parent.mkdir(parents=True)
    spooled.write_bytes(obj.encode())
    result = ingestor.ingest_file(spooled, calling_ae="PACS", move=True)
    assert result.outcome is IngestOutcome.STORED
    assert not spooled.exists()
    assert _only_file(db_settings).read_bytes() == obj.encode()

    # a duplicate and a refusal delete the file they were given
    spooled.write_bytes(obj.encode())
    assert ingestor.ingest_file(spooled, calling_ae="PACS", move=True).outcome is (
        IngestOutcome.DUPLICATE
    )
    assert not spooled.exists()
    spooled.write_bytes(Obj(sop_uid="../../x").encode())
    assert not ingestor.ingest_file(spooled, calling_ae="PACS", move=True).ok
    assert not spooled.exists()
    assert len(files_under(db_settings.archive_dir)) == 1


def test_move_from_outside_the_temp_dir_copies_then_deletes(
    ingestor: Ingestor, db_settings: Settings, tmp_path: Path
) -> None:
    obj = Obj()
    elsewhere = obj.write(tmp_path / "elsewhere.dcm")
    assert ingestor.ingest_file(elsewhere, calling_ae="PACS", move=True).ok
    assert not elsewhere.exists()
    assert _only_file(db_settings).read_bytes() == obj.encode()
    assert files_under(db_settings.tmp_dir) == []


def test_unreadable_file_is_refused(ingestor: Ingestor, tmp_path: Path) -> None:
    result = ingestor.ingest_file(tmp_path / "missing.dcm", calling_ae="PACS")
    assert not result.ok
    assert result.status is StoreStatus.OUT_OF_RESOURCES


def test_invalid_source_is_refused(ingestor: Ingestor) -> None:
    result = ingestor.ingest_bytes(Obj().encode(), calling_ae="PACS", source="carrier-pigeon")
    assert not result.ok


# failures: answered 0xA700, nothing left behind --------------------------------------
def _assert_nothing_left(settings: Settings, rows: Rows) -> None:
    assert files_under(settings.archive_dir) == []
    assert files_under(settings.tmp_dir) == []
    assert rows("instance") == []


def test_fsync_failure(
    ingestor: Ingestor, db_settings: Settings, rows: Rows, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_space(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_space)
    result = ingestor.ingest_bytes(Obj().encode(), calling_ae="PACS")
    assert result.status is StoreStatus.OUT_OF_RESOURCES
    assert "No space left" in result.reason
    monkeypatch.undo()
    _assert_nothing_left(db_settings, rows)


def test_archive_name_failure(
    ingestor: Ingestor, db_settings: Settings, rows: Rows, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(src: object, dst: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "link", refuse)  # how a file gets its archive name
    result = ingestor.ingest_bytes(Obj().encode(), calling_ae="PACS")
    monkeypatch.undo()
    assert result.status is StoreStatus.OUT_OF_RESOURCES
    assert "Permission denied" in result.reason
    _assert_nothing_left(db_settings, rows)
    assert rows("study") == []


def test_folder_fsync_failure_after_rename(
    ingestor: Ingestor, db_settings: Settings, rows: Rows, monkeypatch: pytest.MonkeyPatch
) -> None:
    from triage.ingest import archive

    real = archive.fsync_dir
    obj = Obj()

    def fail_on_series(path: Path) -> None:
        if path.name == obj.series_uid:
            raise OSError(5, "Input/output error")
        real(path)

    monkeypatch.setattr(archive, "fsync_dir", fail_on_series)
    result = ingestor.ingest_bytes(obj.encode(), calling_ae="PACS")
    monkeypatch.undo()
    assert result.status is StoreStatus.OUT_OF_RESOURCES
    _assert_nothing_left(db_settings, rows)


def test_archive_folder_blocked(ingestor: Ingestor, db_settings: Settings, rows: Rows) -> None:
    obj = Obj()
    blocker = db_settings.archive_dir / obj.study_uid
    blocker.write_bytes(b"a file where a folder should be")
    result = ingestor.ingest_bytes(obj.encode(), calling_ae="PACS")
    assert result.status is StoreStatus.OUT_OF_RESOURCES
    assert files_under(db_settings.archive_dir) == [blocker]
    assert files_under(db_settings.tmp_dir) == []
    assert rows("instance") == []


def test_database_failure(
    ingestor: Ingestor, db_settings: Settings, rows: Rows, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import OperationalError

    def broken(*args: object, **kwargs: object) -> None:
        raise OperationalError("UPDATE study", {}, Exception("disk I/O error"))

    monkeypatch.setattr(statements, "touch_study", broken)
    result = ingestor.ingest_bytes(Obj().encode(), calling_ae="PACS")
    monkeypatch.undo()
    assert result.status is StoreStatus.OUT_OF_RESOURCES
    assert "disk I/O error" in result.reason
    _assert_nothing_left(db_settings, rows)


def test_commit_failure(
    ingestor: Ingestor, engine: Engine, db_settings: Settings, rows: Rows
) -> None:
    from sqlalchemy import event

    def refuse(conn: object) -> None:
        raise RuntimeError("commit refused")

    event.listen(engine, "commit", refuse)
    try:
        result = ingestor.ingest_bytes(Obj().encode(), calling_ae="PACS")
    finally:
        event.remove(engine, "commit", refuse)
    assert result.status is StoreStatus.OUT_OF_RESOURCES
    assert rows("study") == []
    _assert_nothing_left(db_settings, rows)


def test_a_commit_of_unknown_outcome_keeps_the_file(
    ingestor: Ingestor,
    engine: Engine,
    db_settings: Settings,
    rows: Rows,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The commit reports failure and the database cannot say whether it happened (the
    # connection dropped): deleting the file could orphan a committed row, so it stays.
    from sqlalchemy import event

    def refuse(conn: object) -> None:
        raise RuntimeError("connection lost during commit")

    from triage.ingest.commit import Committer

    monkeypatch.setattr(Committer, "_committed", lambda self, *args: None)
    event.listen(engine, "commit", refuse)
    try:
        result = ingestor.ingest_bytes(Obj().encode(), calling_ae="PACS")
    finally:
        event.remove(engine, "commit", refuse)
    assert result.status is StoreStatus.OUT_OF_RESOURCES
    assert len(files_under(db_settings.archive_dir)) == 1
    assert files_under(db_settings.tmp_dir) == []


def test_later_ingest_works_after_a_failure(
    ingestor: Ingestor, db_settings: Settings, rows: Rows, monkeypatch: pytest.MonkeyPatch
) -> None:
    obj = Obj()

    def refuse(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(os, "link", refuse)
        assert not ingestor.ingest_bytes(obj.encode(), calling_ae="PACS").ok
    result = ingestor.ingest_bytes(obj.encode(), calling_ae="PACS")  # the PACS retries
    assert result.outcome is IngestOutcome.STORED
    assert len(rows("instance")) == 1


def test_an_identical_resend_restores_a_missing_file(
    ingestor: Ingestor, db_settings: Settings
) -> None:
    obj = Obj()
    assert ingestor.ingest_bytes(obj.encode(), calling_ae="PACS").ok
    path = _only_file(db_settings)
    path.unlink()
    assert ingestor.ingest_bytes(obj.encode(), calling_ae="PACS").outcome is (
        IngestOutcome.DUPLICATE
    )
    assert path.read_bytes() == obj.encode()


def test_an_orphan_file_from_a_crash_is_replaced_by_the_resend(
    ingestor: Ingestor, db_settings: Settings, rows: Rows
) -> None:
    # A crash between the rename and the commit leaves a file no row points to; the
    # sender was not answered, sends again, and that reuses the name.
    obj = Obj()
    orphan = db_settings.archive_dir / obj.study_uid / obj.series_uid / f"{obj.sop_uid}.dcm"
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(obj.encode()[:100])  # the half that made it
    assert ingestor.ingest_bytes(obj.encode(), calling_ae="PACS").outcome is (IngestOutcome.STORED)
    assert files_under(db_settings.archive_dir) == [orphan]
    assert orphan.read_bytes() == obj.encode()
    (row,) = rows("instance")
    assert db_settings.data_dir / str(row["archive_path"]) == orphan
    assert files_under(db_settings.tmp_dir) == []


def test_a_leftover_that_cannot_be_replaced_stays_as_it_was(
    ingestor: Ingestor, db_settings: Settings, rows: Rows, monkeypatch: pytest.MonkeyPatch
) -> None:
    obj = Obj()
    orphan = db_settings.archive_dir / obj.study_uid / obj.series_uid / f"{obj.sop_uid}.dcm"
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"half")

    def refuse(src: object, dst: object) -> None:
        raise PermissionError(13, "Permission denied")

    with monkeypatch.context() as patch:
        patch.setattr(os, "replace", refuse)  # the leftover is replaced in the transaction
        result = ingestor.ingest_bytes(obj.encode(), calling_ae="PACS")
    assert result.status is StoreStatus.OUT_OF_RESOURCES
    assert files_under(db_settings.archive_dir) == [orphan]
    assert orphan.read_bytes() == b"half"
    assert rows("instance") == []
    assert files_under(db_settings.tmp_dir) == []
    assert ingestor.ingest_bytes(obj.encode(), calling_ae="PACS").ok  # the re-send
    assert orphan.read_bytes() == obj.encode()


# start-up ---------------------------------------------------------------------------
def test_stale_temp_files_are_removed_at_start(db_settings: Settings, engine: Engine) -> None:
    db_settings.tmp_dir.mkdir(parents=True)
    stale = db_settings.tmp_dir / "ingest-old.part"
    fresh = db_settings.tmp_dir / "ingest-new.part"
    foreign = db_settings.tmp_dir / "rx-1" / "x.part"  # the listener's spool: not ours
    foreign.parent.mkdir()
    for path in (stale, fresh, foreign):
        path.write_bytes(b"partial")
    old = os.stat(stale).st_mtime - 7200
    os.utime(stale, (old, old))
    os.utime(foreign, (old, old))
    Ingestor(settings=db_settings, engine=engine)
    assert not stale.exists()
    assert fresh.exists()
    assert foreign.exists()


def test_start_creates_the_folders(db_settings: Settings, engine: Engine) -> None:
    Ingestor(settings=db_settings, engine=engine)
    assert db_settings.archive_dir.is_dir()
    assert db_settings.tmp_dir.is_dir()


def test_move_of_a_large_object(ingestor: Ingestor, db_settings: Settings, rows: Rows) -> None:
    import hashlib

    obj = Obj(sop_class="1.2.840.10008.5.1.4.1.1.6.1", modality="US")
    obj.extra = {
        "Rows": 500,
        "Columns": 1000,
        "SamplesPerPixel": 3,
        "BitsAllocated": 8,
        "BitsStored": 8,
        "HighBit": 7,
        "PixelRepresentation": 0,
        "PhotometricInterpretation": "RGB",
        "PixelData": b"\x7f" * 1_500_000,
    }
    # a private element larger than the header window, before the last tag we read
    obj.tagged = {0x00090010: ("LO", "ACME"), 0x00091001: ("OB", b"\0" * 300_000)}
    ds_bytes = obj.encode()
    spooled = db_settings.tmp_dir / "rx-2" / "big.part"
    spooled.parent.mkdir(parents=True)
    spooled.write_bytes(ds_bytes)
    result = ingestor.ingest_file(spooled, calling_ae="PACS", move=True)
    assert result.outcome is IngestOutcome.STORED
    assert _only_file(db_settings).read_bytes() == ds_bytes
    (row,) = rows("instance")
    assert row["content_digest"] == hashlib.sha256(ds_bytes).hexdigest()
    assert row["size_bytes"] == len(ds_bytes)
    assert not spooled.exists()


def test_a_series_uid_reused_under_another_study(
    ingestor: Ingestor, db_settings: Settings, engine: Engine, rows: Rows
) -> None:
    first = Obj()
    stray = Obj(series_uid=first.series_uid)  # another study UID, same series UID
    assert ingestor.ingest_bytes(first.encode(), calling_ae="PACS").ok
    fresh = Ingestor(settings=db_settings, engine=engine)  # nothing cached
    assert fresh.ingest_bytes(stray.encode(), calling_ae="PACS").ok
    (study_row,) = rows("study")  # no empty study row for the stray header's study UID
    assert study_row["instance_count"] == 2
    # the stray header's study is still its own study for a series of its own
    own = Obj(study_uid=stray.study_uid)
    for ing in (ingestor, fresh):
        assert ing.ingest_bytes(Obj(study_uid=own.study_uid).encode(), calling_ae="P").ok
    counts = {r["study_instance_uid"]: r["instance_count"] for r in rows("study")}
    assert counts == {first.study_uid: 2, stray.study_uid: 2}
