"""Group commit on SQLite: objects that wait for the write lock are committed together,
each still answered with its own outcome. The tests hold the write lock themselves so
that every object is waiting before the first group starts."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from sqlalchemy import Connection, Engine, event

from triage.db.engine import write_lock
from triage.ingest import statements
from triage.ingest.result import IngestOutcome, IngestResult, StoreStatus
from triage.ingest.service import Ingestor
from triage.settings import Settings

from .conftest import Rows
from .factory import Obj, files_under, study

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@contextmanager
def _commits(engine: Engine) -> Iterator[list[int]]:
    seen: list[int] = []

    def count(conn: object) -> None:
        seen.append(1)

    event.listen(engine, "commit", count)
    try:
        yield seen
    finally:
        event.remove(engine, "commit", count)


def _all_waiting(
    ingestor: Ingestor, objects: list[bytes], queued: int | None = None
) -> list[IngestResult]:
    """Start one thread per object while the write lock is held; release it once all
    of them (or ``queued``: the others wait for the first writer of their archive name)
    are queued; their results."""
    committer = ingestor._committer
    expected = len(objects) if queued is None else queued
    with ThreadPoolExecutor(len(objects)) as pool:
        with write_lock(ingestor._engine):
            futures: list[Future[IngestResult]] = [
                pool.submit(ingestor.ingest_bytes, data, calling_ae="PACS") for data in objects
            ]
            deadline = time.monotonic() + 30
            while len(committer._queue) < expected and time.monotonic() < deadline:
                time.sleep(0.005)
            time.sleep(0.05)  # the others are at their claim by now
            assert len(committer._queue) == expected
        return [f.result() for f in futures]


def test_waiting_objects_share_one_commit(
    ingestor: Ingestor, engine: Engine, db_settings: Settings, rows: Rows
) -> None:
    objs = study(6)
    with _commits(engine) as commits:
        results = _all_waiting(ingestor, [o.encode() for o in objs])
    assert [r.outcome for r in results] == [IngestOutcome.STORED] * 6
    assert len(commits) == 1
    assert len(rows("instance")) == 6
    (study_row,) = rows("study")
    assert study_row["instance_count"] == 6
    assert study_row["content_revision"] == 6
    assert len(files_under(db_settings.archive_dir)) == 6


def test_one_failing_object_does_not_fail_its_group(
    ingestor: Ingestor,
    db_settings: Settings,
    rows: Rows,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sqlalchemy.exc import OperationalError

    objs = study(4)
    bad = objs[2].sop_uid
    real = statements.insert_instance

    def insert(conn: Connection, values: Mapping[str, object]) -> int | None:
        if values["sop_instance_uid"] == bad:
            raise OperationalError("INSERT", {}, Exception("disk I/O error"))
        return real(conn, values)

    monkeypatch.setattr(statements, "insert_instance", insert)
    results = _all_waiting(ingestor, [o.encode() for o in objs])
    by_uid = {r.sop_instance_uid: r for r in results}
    assert by_uid[bad].status is StoreStatus.OUT_OF_RESOURCES
    assert "disk I/O error" in by_uid[bad].reason
    assert all(r.outcome is IngestOutcome.STORED for uid, r in by_uid.items() if uid != bad)
    assert sorted(str(r["sop_instance_uid"]) for r in rows("instance")) == sorted(
        o.sop_uid for o in objs if o.sop_uid != bad
    )
    assert len(files_under(db_settings.archive_dir)) == 3
    assert files_under(db_settings.tmp_dir) == []


def test_a_group_with_the_same_instance_several_times(
    ingestor: Ingestor, db_settings: Settings, rows: Rows
) -> None:
    first = Obj()
    same = first.encode()
    changed = Obj(
        study_uid=first.study_uid, series_uid=first.series_uid, sop_uid=first.sop_uid, text="v2"
    ).encode()
    # All three computed revision 0: one claims its archive name and is queued, the
    # others wait for that writer's outcome, find the revision taken and start over.
    results = _all_waiting(ingestor, [same, same, changed], queued=1)
    # Whichever wins, one copy of "same" ends up a duplicate and the other content a
    # revision.
    outcomes = Counter(r.outcome for r in results)
    assert outcomes == {
        IngestOutcome.STORED: 1,
        IngestOutcome.DUPLICATE: 1,
        IngestOutcome.REVISION: 1,
    }
    revisions = sorted(int(str(r["revision"])) for r in rows("instance"))
    assert revisions == [0, 1]
    archived = sorted(p.read_bytes() for p in files_under(db_settings.archive_dir))
    assert sorted(set(archived)) == sorted({same, changed})
    assert len(archived) == len(revisions)
    assert files_under(db_settings.tmp_dir) == []


def test_a_folder_that_cannot_be_synced_fails_only_its_own_object(
    ingestor: Ingestor,
    db_settings: Settings,
    rows: Rows,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from triage.ingest import archive

    good, bad = study(3), study(1)
    real = archive.fsync_dir

    def fsync_dir(path: object) -> None:
        if getattr(path, "name", "") == bad[0].series_uid:
            raise OSError(5, "Input/output error")
        real(path)  # type: ignore[arg-type]

    monkeypatch.setattr(archive, "fsync_dir", fsync_dir)
    # The bad one fails at its archive name (the folder fsync), before any group.
    results = _all_waiting(ingestor, [o.encode() for o in good + bad], queued=len(good))
    by_uid = {r.sop_instance_uid: r for r in results}
    assert by_uid[bad[0].sop_uid].status is StoreStatus.OUT_OF_RESOURCES
    assert all(by_uid[o.sop_uid].outcome is IngestOutcome.STORED for o in good)
    assert sorted(p.name for p in files_under(db_settings.archive_dir)) == sorted(
        f"{o.sop_uid}.dcm" for o in good
    )
    assert len(rows("instance")) == 3
    assert files_under(db_settings.tmp_dir) == []
