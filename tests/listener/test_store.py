"""C-STORE end to end: pynetdicom SCUs -> our listener -> the real ingestor."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid
from sqlalchemy import Engine

from dicom_listener.receive import part10_header
from triage.ingest.result import StoreStatus
from triage.settings import Settings

from .conftest import StartListener, associate, files_under, index_rows
from .factory import (
    ALL_CLASSES,
    BASIC_TEXT_SR,
    COMPRESSED,
    IMAGE_CLASSES,
    UNCOMPRESSED,
    US_IMAGE,
    data_set_bytes,
    make_dataset,
    write,
)

CASES = [(c, ts) for c in ALL_CLASSES for ts in UNCOMPRESSED] + [
    (c, ts) for c in IMAGE_CLASSES for ts in COMPRESSED
]


def _send(listener: object, files: list[Path], calling: str = "PACS") -> list[int]:
    contexts: dict[str, set[str]] = {}
    from pydicom import dcmread

    for f in files:
        ds = dcmread(f, stop_before_pixels=True)
        contexts.setdefault(ds.SOPClassUID, set()).add(ds.file_meta.TransferSyntaxUID)
    requested = [(sop, sorted(ts)) for sop, ts in contexts.items()]
    statuses: list[int] = []
    # at most 128 presentation contexts per association: one context per (class, syntax)
    flat = [(sop, [ts]) for sop, tss in requested for ts in tss]
    for start in range(0, len(flat), 120):
        chunk = flat[start : start + 120]
        wanted = {(sop, ts[0]) for sop, ts in chunk}
        assoc = associate(listener, chunk, calling=calling)  # type: ignore[arg-type]
        assert assoc.is_established
        try:
            for f in files:
                ds = dcmread(f, stop_before_pixels=True)
                if (ds.SOPClassUID, ds.file_meta.TransferSyntaxUID) in wanted:
                    status = assoc.send_c_store(f)
                    statuses.append(int(status.Status) if "Status" in status else -1)
        finally:
            assoc.release()
    return statuses


def test_every_sop_class_and_transfer_syntax_is_archived_as_received(
    tmp_path: Path, settings: Settings, engine: Engine, start_listener: StartListener
) -> None:
    listener = start_listener()
    files = [
        write(make_dataset(sop, transfer_syntax=ts), tmp_path / "out" / f"{i}.dcm")
        for i, (sop, ts) in enumerate(CASES)
    ]
    statuses = _send(listener, files)
    assert statuses == [StoreStatus.SUCCESS] * len(CASES)

    rows = index_rows(engine)
    assert len(rows) == len(CASES)
    by_uid = {r["sop_instance_uid"]: r for r in rows}
    from pydicom import dcmread

    for f in files:
        ds = dcmread(f, stop_before_pixels=True)
        row = by_uid[ds.SOPInstanceUID]
        assert row["calling_ae"] == "PACS"
        assert row["sop_class_uid"] == ds.SOPClassUID
        assert row["transfer_syntax_uid"] == ds.file_meta.TransferSyntaxUID
        archived = (settings.data_dir / row["archive_path"]).read_bytes()
        # exactly the data set bytes that were sent, behind our File Meta Information
        assert data_set_bytes(archived) == data_set_bytes(f)
        assert archived.startswith(
            part10_header(
                sop_class_uid=ds.SOPClassUID,
                sop_instance_uid=ds.SOPInstanceUID,
                transfer_syntax=ds.file_meta.TransferSyntaxUID,
                calling_ae="PACS",
            )
        )
    assert files_under(settings.tmp_dir) == []


def test_four_concurrent_associations(
    tmp_path: Path, engine: Engine, settings: Settings, start_listener: StartListener
) -> None:
    listener = start_listener()
    study = generate_uid()
    batches = [
        [
            write(
                make_dataset(
                    BASIC_TEXT_SR if i % 2 else US_IMAGE, study_uid=study, series_uid=f"1.2.3.{b}"
                ),
                tmp_path / f"b{b}" / f"{i}.dcm",
            )
            for i in range(15)
        ]
        for b in range(4)
    ]
    results: list[list[int]] = [[] for _ in batches]
    ready = threading.Barrier(4)

    def run(b: int) -> None:
        assoc = associate(
            listener,
            [(BASIC_TEXT_SR, [ExplicitVRLittleEndian]), (US_IMAGE, [ExplicitVRLittleEndian])],
        )
        assert assoc.is_established
        ready.wait(10)  # all four associations open at once
        for f in batches[b]:
            results[b].append(int(assoc.send_c_store(f).Status))
        assoc.release()

    threads = [threading.Thread(target=run, args=(b,)) for b in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == [[0] * 15] * 4
    rows = index_rows(engine)
    assert len(rows) == 60
    assert len({r["sop_instance_uid"] for r in rows}) == 60
    assert all((settings.data_dir / r["archive_path"]).is_file() for r in rows)


def test_identical_resend_is_acknowledged_once_and_changed_resend_is_a_revision(
    tmp_path: Path, engine: Engine, settings: Settings, start_listener: StartListener
) -> None:
    listener = start_listener()
    uid = generate_uid()
    first = write(make_dataset(sop_uid=uid, text="No Baker's cyst."), tmp_path / "a.dcm")
    amended = write(make_dataset(sop_uid=uid, text="Baker's cyst, 3 cm."), tmp_path / "b.dcm")
    cx = [(BASIC_TEXT_SR, [ExplicitVRLittleEndian])]
    assoc = associate(listener, cx)
    assert [int(assoc.send_c_store(f).Status) for f in (first, first)] == [0, 0]
    assoc.release()
    assoc = associate(listener, cx)
    assert int(assoc.send_c_store(amended).Status) == 0
    assert int(assoc.send_c_store(amended).Status) == 0
    assoc.release()

    rows = index_rows(engine)
    assert [(r["revision"], r["is_latest"]) for r in rows] == [(0, False), (1, True)]
    archived = [(settings.data_dir / r["archive_path"]).read_bytes() for r in rows]
    assert [data_set_bytes(a) for a in archived] == [data_set_bytes(first), data_set_bytes(amended)]


# pydicom warns when the test writes the hostile UIDs; that is the point
@pytest.mark.filterwarnings("ignore:Invalid value for VR UI")
@pytest.mark.parametrize("hostile", ["../../x", "../../etc/passwd", "1.2.3/../../4", "1.2.a"])
def test_hostile_sop_instance_uid_is_refused_with_nothing_written(
    tmp_path: Path, engine: Engine, settings: Settings, start_listener: StartListener, hostile: str
) -> None:
    listener = start_listener()
    ds = make_dataset(sop_uid=hostile)
    path = write(ds, tmp_path / "hostile.dcm")
    assoc = associate(listener, [(BASIC_TEXT_SR, [ExplicitVRLittleEndian])])
    status = int(assoc.send_c_store(path).Status)
    # and the association still works afterwards
    ok = int(assoc.send_c_store(write(make_dataset(), tmp_path / "ok.dcm")).Status)
    assoc.release()
    assert 0xC000 <= status <= 0xCFFF
    assert ok == 0
    assert len(index_rows(engine)) == 1
    archived = files_under(settings.archive_dir)
    assert len(archived) == 1
    assert hostile not in str(archived[0])
    assert not any(p.name in {"x", "passwd", "4"} for p in tmp_path.rglob("*"))
    assert files_under(settings.tmp_dir) == []


def test_write_failure_is_answered_out_of_resources_with_nothing_left_behind(
    tmp_path: Path, engine: Engine, settings: Settings, start_listener: StartListener
) -> None:
    listener = start_listener()
    ds = make_dataset()
    # The study's archive folder cannot be created: a file stands where it must go.
    settings.archive_dir.mkdir(parents=True, exist_ok=True)
    (settings.archive_dir / ds.StudyInstanceUID).write_bytes(b"not a folder")
    assoc = associate(listener, [(BASIC_TEXT_SR, [ExplicitVRLittleEndian])])
    status = int(assoc.send_c_store(write(ds, tmp_path / "a.dcm")).Status)
    assoc.release()
    assert status == StoreStatus.OUT_OF_RESOURCES
    assert index_rows(engine) == []
    assert files_under(settings.archive_dir) == [settings.archive_dir / ds.StudyInstanceUID]
    assert files_under(settings.tmp_dir) == []


def test_implicit_little_endian_sender(
    tmp_path: Path, engine: Engine, start_listener: StartListener
) -> None:
    listener = start_listener()
    path = write(make_dataset(transfer_syntax=ImplicitVRLittleEndian), tmp_path / "i.dcm")
    assoc = associate(listener, [(BASIC_TEXT_SR, [ImplicitVRLittleEndian])])
    assert int(assoc.send_c_store(path).Status) == 0
    assoc.release()
    assert [r["transfer_syntax_uid"] for r in index_rows(engine)] == [ImplicitVRLittleEndian]
