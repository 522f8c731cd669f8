"""In-process ingest throughput: ``Ingestor.ingest_bytes`` on small SR reports, without
the network, with a storescp-like peer in the same run.

    .venv/bin/python -m bench.ingest_core [--count 500] [--threads 1,4] [--repeat 3]
                                          [--cpu K] [--database-url URL] [--dir PATH]
                                          [--spooled]

Each run ingests ``count`` small SR reports (about 3 KB, ten per study, as the listener
bench sends) into a fresh data dir and database, from 1 or 4 threads (as concurrent
associations would), then sends them all again (identical re-sends: duplicates).
``--spooled`` hands each object over as the listener does, a file in the temp dir
given with ``ingest_file(move=True)`` (writing those files is not timed).
It prints instances/s (wall) and CPU ms per instance (process time: user + system),
best of ``repeat`` runs.

The peer does what pynetdicom's storescp app does per object (decode the data set,
``save_as`` a file; no fsync, no index), so the ratio says what durability and
indexing cost on top of merely writing files. The data dir is on the file system of
``--dir`` (default: the system temp dir); fsync costs depend on it.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filereader import read_dataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid

from triage.db.migrate import migrated_engine
from triage.ingest.service import Ingestor
from triage.settings import load_settings

BASIC_TEXT_SR = "1.2.840.10008.5.1.4.1.1.88.11"
_SENTENCES = (
    "Normal compressibility of the common femoral, femoral and popliteal veins.",
    "No evidence of deep venous thrombosis in the left lower extremity.",
    "Incidental 3.1 x 1.2 cm anechoic collection in the popliteal fossa.",
    "Findings are consistent with a Baker's cyst.",
    "Small knee joint effusion.",
    "Calf veins are patent with normal flow.",
)


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = scheme
    item.CodeMeaning = meaning
    return item


def small_sr(number: int, study: str, series: str) -> bytes:
    """A DVT report as Part 10 bytes: a container of a dozen TEXT findings (~3 KB)."""
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = UID(BASIC_TEXT_SR)
    ds.SOPInstanceUID = generate_uid()
    ds.StudyDate = "20240102"
    ds.StudyTime = "101500"
    ds.AccessionNumber = f"A{number:06d}"
    ds.Modality = "SR"
    ds.StudyDescription = "US VENOUS DOPPLER LOWER EXTREMITY LEFT"
    ds.PatientName = f"Bench^Patient{number // 10}"
    ds.PatientID = f"P{number // 10:05d}"
    ds.StudyInstanceUID = UID(study)
    ds.SeriesInstanceUID = UID(series)
    ds.SeriesNumber = 1
    ds.InstanceNumber = number
    ds.ValueType = "CONTAINER"
    ds.ConceptNameCodeSequence = DicomSequence([_code("121070", "DCM", "Findings")])
    items = []
    for i in range(12):
        item = Dataset()
        item.RelationshipType = "CONTAINS"
        item.ValueType = "TEXT"
        item.ConceptNameCodeSequence = DicomSequence([_code("121071", "DCM", "Finding")])
        item.TextValue = _SENTENCES[(number + i) % len(_SENTENCES)]
        items.append(item)
    ds.ContentSequence = DicomSequence(items)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def corpus(count: int) -> list[bytes]:
    objects = []
    study = series = ""
    for i in range(count):
        if i % 10 == 0:
            study, series = generate_uid(), generate_uid()
        objects.append(small_sr(i, study, series))
    return objects


def _parallel(items: Sequence[bytes], threads: int, work: Callable[[bytes], object]) -> None:
    """Feed ``items`` to ``threads`` workers, like associations each sending in turn."""
    lock = threading.Lock()
    iterator = iter(items)

    def worker() -> None:
        while True:
            with lock:
                item = next(iterator, None)
            if item is None:
                return
            work(item)

    with ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(worker) for _ in range(threads)]:
            future.result()


def _timed(run: Callable[[], None]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - wall, time.process_time() - cpu


def ours(
    objects: list[bytes], threads: int, root: Path, url: str | None, *, spooled: bool
) -> dict[str, float]:
    data = root / "ours"
    settings = load_settings(environ={}, data_dir=data, database_url=url)
    engine = migrated_engine(settings)
    ingestor = Ingestor(settings=settings, engine=engine)
    failures: list[str] = []
    spool = settings.tmp_dir / "rx-bench"

    def spool_all() -> dict[bytes, Path]:
        # as the listener's spool leaves them: one file per object in the temp dir
        spool.mkdir(parents=True, exist_ok=True)
        paths = {}
        for n, item in enumerate(objects):
            paths[item] = spool / f"{n:05d}.part"
            paths[item].write_bytes(item)
        return paths

    paths: dict[bytes, Path] = {}

    def ingest(item: bytes) -> None:
        if spooled:
            result = ingestor.ingest_file(paths[item], calling_ae="BENCH", move=True)
        else:
            result = ingestor.ingest_bytes(item, calling_ae="BENCH")
        if not result.ok:
            failures.append(result.reason)

    if spooled:
        paths = spool_all()
    stored = _timed(lambda: _parallel(objects, threads, ingest))
    if spooled:
        paths = spool_all()
    again = _timed(lambda: _parallel(objects, threads, ingest))
    engine.dispose()
    if failures:
        raise SystemExit(f"ingest failed: {failures[0]}")
    shutil.rmtree(data)
    return {"stored": stored[0], "stored_cpu": stored[1], "dup": again[0], "dup_cpu": again[1]}


def peer(objects: list[bytes], threads: int, root: Path) -> dict[str, float]:
    """pynetdicom storescp's handler: decode the data set, write it with save_as."""
    out = root / "peer"
    out.mkdir()

    def store(item: bytes) -> None:
        # what storescp gets from pynetdicom: the data set without the file meta
        fh = io.BytesIO(item)
        fh.seek(132)
        meta_length = int.from_bytes(item[140:144], "little")
        fh.seek(144 + meta_length)
        ds = read_dataset(fh, is_implicit_VR=False, is_little_endian=True)
        ds = ds[0x00030000:]
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = ds.SOPClassUID
        meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.file_meta = meta
        ds.save_as(out / f"SR.{ds.SOPInstanceUID}", enforce_file_format=True)

    wall, cpu = _timed(lambda: _parallel(objects, threads, store))
    shutil.rmtree(out)
    return {"stored": wall, "stored_cpu": cpu}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--threads", default="1,4")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cpu", type=int, help="pin the process to this core")
    parser.add_argument("--database-url", help="default: SQLite under the data dir")
    parser.add_argument("--dir", type=Path, help="where the data dirs go")
    parser.add_argument(
        "--spooled",
        action="store_true",
        help="ingest_file(move=True) from files in the temp dir (the listener's path)",
    )
    args = parser.parse_args(argv)
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    objects = corpus(args.count)
    size = sum(map(len, objects)) / len(objects)
    where = args.database_url or "SQLite (WAL, synchronous=FULL)"
    how = "ingest_file(move=True) from spool files" if args.spooled else "ingest_bytes"
    print(f"{args.count} small SR ({size / 1024:.1f} KB each), 10 per study, {how}")
    print(f"database: {where}")
    print(f"cores: {sorted(os.sched_getaffinity(0))}, load average: {os.getloadavg()[0]:.2f}")
    print(
        f"{'threads':>7}  {'ours inst/s':>11} {'cpu ms':>6}  {'dup inst/s':>10} {'cpu ms':>6}"
        f"  {'peer inst/s':>11} {'cpu ms':>6}  {'ratio':>5}"
    )
    for threads in (int(t) for t in args.threads.split(",")):
        best: dict[str, float] = {}
        best_peer: dict[str, float] = {}
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
                run = ours(objects, threads, Path(tmp), args.database_url, spooled=args.spooled)
                if args.database_url and args.database_url.startswith("postgres"):
                    _reset_postgres(args.database_url)
                run_peer = peer(objects, threads, Path(tmp))
            best = {k: min(v, best.get(k, v)) for k, v in run.items()}
            best_peer = {k: min(v, best_peer.get(k, v)) for k, v in run_peer.items()}
        n = len(objects)
        rate, peer_rate = n / best["stored"], n / best_peer["stored"]
        print(
            f"{threads:>7}  {rate:>11.0f} {best['stored_cpu'] / n * 1e3:>6.2f}"
            f"  {n / best['dup']:>10.0f} {best['dup_cpu'] / n * 1e3:>6.2f}"
            f"  {peer_rate:>11.0f} {best_peer['stored_cpu'] / n * 1e3:>6.2f}"
            f"  {rate / peer_rate:>5.2f}"
        )


def _reset_postgres(url: str) -> None:
    """Empty the bench database between runs (each run starts from an empty index)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE instance, series, worklist_item, study, job_run"))
    engine.dispose()


if __name__ == "__main__":
    main()
