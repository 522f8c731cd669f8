"""Ingest files and folders from disk (``msk-triage import``): walking, sniffing, tallying.

Streams: folders are walked lazily and one file is in memory (its header) at a time, so
10 000 files cost no more memory than ten. Presentation (progress bar, summary) is the
CLI's business; this module reports each file through a callback.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from triage.ingest.header import is_part10_prefix
from triage.ingest.result import IngestOutcome, IngestResult
from triage.ingest.service import Ingestor

# Names that are DICOM but not objects to archive (the media directory of a CD/DVD).
_NOT_OBJECTS = {"DICOMDIR"}
# Refusals kept for the summary; the count goes on beyond this.
MAX_LISTED_REFUSALS = 1000


@dataclass(frozen=True, slots=True)
class Skipped:
    reason: str


FileOutcome = IngestResult | Skipped


@dataclass
class ImportTally:
    stored: int = 0
    duplicate: int = 0
    revision: int = 0
    refused: int = 0
    skipped: int = 0
    bytes_read: int = 0
    refusals: list[tuple[Path, IngestResult]] = field(default_factory=list)

    @property
    def files(self) -> int:
        return self.stored + self.duplicate + self.revision + self.refused + self.skipped

    def add(self, path: Path, outcome: FileOutcome, size: int) -> None:
        self.bytes_read += size
        if isinstance(outcome, Skipped):
            self.skipped += 1
        elif outcome.outcome is IngestOutcome.STORED:
            self.stored += 1
        elif outcome.outcome is IngestOutcome.DUPLICATE:
            self.duplicate += 1
        elif outcome.outcome is IngestOutcome.REVISION:
            self.revision += 1
        else:
            self.refused += 1
            if len(self.refusals) < MAX_LISTED_REFUSALS:
                self.refusals.append((path, outcome))


def walk(paths: Iterable[Path]) -> Iterator[Path]:
    """Every file under ``paths`` (files as given, folders recursively, in name order)."""
    for path in paths:
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    yield Path(root) / name
        else:
            yield path


def survey(paths: Iterable[Path]) -> tuple[int, int]:
    """(number of files, total bytes) under ``paths``, for the progress bar."""
    count = size = 0
    for path in walk(paths):
        count += 1
        try:
            size += path.stat().st_size
        except OSError:
            continue
    return count, size


def import_paths(
    ingestor: Ingestor,
    paths: Iterable[Path],
    *,
    calling_ae: str,
    tally: ImportTally | None = None,
    on_file: Callable[[Path, FileOutcome, int], None] | None = None,
) -> ImportTally:
    """Ingest every DICOM Part 10 file under ``paths``; other files are skipped.

    ``tally`` is updated as files are done, so it is right even if this is interrupted.
    """
    tally = ImportTally() if tally is None else tally
    for path in walk(paths):
        outcome, size = import_file(ingestor, path, calling_ae=calling_ae)
        tally.add(path, outcome, size)
        if on_file is not None:
            on_file(path, outcome, size)
    return tally


def import_file(ingestor: Ingestor, path: Path, *, calling_ae: str) -> tuple[FileOutcome, int]:
    if path.name.upper() in _NOT_OBJECTS:
        return Skipped("DICOM media directory"), _size(path)
    try:
        with path.open("rb") as fh:
            prefix = fh.read(132)
    except OSError:
        pass  # the ingest reports why it cannot read it
    else:
        if not is_part10_prefix(prefix):
            return Skipped("not a DICOM Part 10 file"), _size(path)
    return ingestor.ingest_file(path, calling_ae=calling_ae, source="import"), _size(path)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
