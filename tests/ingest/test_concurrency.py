"""Concurrent ingest: several associations (threads) and several processes writing the
same study, series and SOP instances into one database and one archive."""

from __future__ import annotations

import multiprocessing
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import Engine

from triage.db.engine import make_engine
from triage.ingest.result import IngestOutcome, IngestResult
from triage.ingest.service import Ingestor
from triage.settings import Settings

from .conftest import Rows
from .factory import Obj, files_under, study

THREADS = 4


def _at_once(jobs: list[Callable[[], IngestResult]]) -> list[IngestResult]:
    """Run the jobs on their own threads, released together."""
    barrier = threading.Barrier(len(jobs))

    def run(job: Callable[[], IngestResult]) -> IngestResult:
        barrier.wait()
        return job()

    with ThreadPoolExecutor(len(jobs)) as pool:
        return list(pool.map(run, jobs))


def test_first_instances_of_a_new_study_on_four_associations(
    ingestor: Ingestor, db_settings: Settings, rows: Rows
) -> None:
    objs = study(THREADS)
    results = _at_once(
        [partial(ingestor.ingest_bytes, o.encode(), calling_ae="PACS") for o in objs]
    )
    assert [r.outcome for r in results] == [IngestOutcome.STORED] * THREADS
    (study_row,) = rows("study")
    assert len(rows("series")) == 1
    assert len(rows("instance")) == THREADS
    assert study_row["instance_count"] == THREADS
    assert study_row["content_revision"] == THREADS
    assert len(files_under(db_settings.archive_dir)) == THREADS


def test_new_study_from_separate_ingestors(
    db_settings: Settings, engine: Engine, rows: Rows
) -> None:
    # Separate ingestors have separate id caches, like separate processes.
    ingestors = [Ingestor(settings=db_settings, engine=engine) for _ in range(THREADS)]
    objs = study(THREADS * 3)
    for start in range(0, len(objs), THREADS):
        batch = objs[start : start + THREADS]
        results = _at_once(
            [
                partial(i.ingest_bytes, o.encode(), calling_ae="PACS")
                for o, i in zip(batch, ingestors, strict=True)
            ]
        )
        assert all(r.outcome is IngestOutcome.STORED for r in results)
    assert len(rows("study")) == 1
    assert len(rows("series")) == 1
    assert rows("study")[0]["instance_count"] == len(objs)


def test_identical_instance_on_four_associations(
    ingestor: Ingestor, db_settings: Settings, rows: Rows
) -> None:
    data = Obj().encode()
    results = _at_once(
        [lambda: ingestor.ingest_bytes(data, calling_ae="PACS") for _ in range(THREADS)]
    )
    assert all(r.ok for r in results)
    outcomes = Counter(r.outcome for r in results)
    assert outcomes == {IngestOutcome.STORED: 1, IngestOutcome.DUPLICATE: THREADS - 1}
    assert len(rows("instance")) == 1
    assert len(files_under(db_settings.archive_dir)) == 1
    assert files_under(db_settings.tmp_dir) == []


def test_conflicting_versions_on_four_associations(
    ingestor: Ingestor, db_settings: Settings, rows: Rows
) -> None:
    first = Obj()
    versions = [
        Obj(
            study_uid=first.study_uid,
            series_uid=first.series_uid,
            sop_uid=first.sop_uid,
            text=f"version {n}",
        ).encode()
        for n in range(THREADS)
    ]
    results = _at_once([partial(ingestor.ingest_bytes, d, calling_ae="PACS") for d in versions])
    outcomes = Counter(r.outcome for r in results)
    assert outcomes == {IngestOutcome.STORED: 1, IngestOutcome.REVISION: THREADS - 1}
    assert sorted(r.revision for r in results if r.revision is not None) == list(range(THREADS))
    instances = rows("instance")
    assert sorted(int(str(i["revision"])) for i in instances) == list(range(THREADS))
    assert [i["is_latest"] for i in instances].count(True) == 1
    # nothing lost: every version is in the archive, each exactly once
    archived = sorted(p.read_bytes() for p in files_under(db_settings.archive_dir))
    assert archived == sorted(versions)
    (study_row,) = rows("study")
    assert study_row["instance_count"] == 1
    assert study_row["content_revision"] == THREADS


def _ingest_folder(settings: Settings, folder: str, barrier: object) -> list[str]:
    engine = make_engine(settings)
    ingestor = Ingestor(settings=settings, engine=engine)
    barrier.wait()  # type: ignore[attr-defined]
    outcomes = [
        ingestor.ingest_file(path, calling_ae="PROC", source="import").outcome.value
        for path in sorted(Path(folder).iterdir())
    ]
    engine.dispose()
    return outcomes


@pytest.mark.integration
def test_two_processes_share_one_archive_and_database(
    db_settings: Settings, engine: Engine, rows: Rows, tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    objs = study(8) + study(8)
    for n, obj in enumerate(objs):
        obj.write(folder / f"{n:02d}.dcm")
    context = multiprocessing.get_context("spawn")
    barrier = context.Manager().Barrier(2)
    with context.Pool(2) as pool:
        runs = pool.starmap(_ingest_folder, [(db_settings, str(folder), barrier)] * 2)
    outcomes = Counter(outcome for run in runs for outcome in run)
    assert outcomes == {"stored": len(objs), "duplicate": len(objs)}
    assert len(rows("instance")) == len(objs)
    assert len(rows("study")) == 2
    assert len(rows("series")) == 2
    assert sorted(int(str(r["instance_count"])) for r in rows("study")) == [8, 8]
    assert len(files_under(db_settings.archive_dir)) == len(objs)
    assert files_under(db_settings.tmp_dir) == []
