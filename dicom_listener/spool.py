"""Partial files for objects being received, kept under ``settings.tmp_dir``.

pynetdicom's own chunked receive (``_config.STORE_RECV_CHUNKED_DATASET``) writes to the
system temp folder with ``NamedTemporaryFile`` and leaves the partial file behind when an
association is aborted mid-transfer: PHI in /tmp. Instead each listener process owns a
spool folder ``<tmp_dir>/rx-XXXX/`` which it holds flock'd (the folder itself, so no
lock file a temp-file sweep could delete); each association
tracks the files it made and deletes whatever is left when it ends; a listener that
starts removes the folders of listeners that died (their lock is free), so a crash
(SIGKILL) leaves nothing behind after the next start.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import logging
import os
import shutil
import tempfile
import threading
from pathlib import Path

from dicom_listener.writeback import start_writeback
from triage.ingest.payload import ContentTracker, Received

LOGGER = logging.getLogger(__name__)

SPOOL_PREFIX = "rx-"
# Fragments at least this long are queued for writing to disk as they arrive (small
# objects gain nothing from the extra system call).
_WRITEBACK_MIN = 64 * 1024
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0)
_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)


class SpoolClosedError(OSError):
    """The spool was closed (listener stopping); no new partial files."""


class SpoolFile:
    """One partial object: unbuffered writes, no per-fragment flush, idempotent close.

    Duck-types the parts of ``NamedTemporaryFile`` that pynetdicom's DIMSE decoder and
    Storage service use (``name``, ``write``, ``file.flush``, ``close``). A write error
    (disk full) does not propagate into pynetdicom's reader thread, which would abort the
    association: the file is deleted, the rest of the object is discarded, and ``error``
    tells the C-STORE handler to answer "out of resources".

    Each fragment is hashed as it is written (in the reader thread, while the rest is
    still arriving), so the ingest need not read the file again (``received``).
    """

    def __init__(self, fd: int | None, path: Path, error: OSError | None = None) -> None:
        self.path = path
        self.name = str(path)
        self._fd = fd
        self.size = 0
        self.error = error
        self._content = ContentTracker()

    @property
    def file(self) -> SpoolFile:
        return self

    def write(self, data: bytes | bytearray | memoryview) -> int:
        if self._fd is None:
            return len(data)  # failed or closed: discard, ``error`` says why
        view = memoryview(data)
        try:
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
        except OSError as exc:
            self.error = exc
            self.close()
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            return len(data)
        self._content.update(data)
        if len(data) >= _WRITEBACK_MIN:
            start_writeback(self._fd, self.size, len(data))
        self.size += len(data)
        return len(data)

    def received(self) -> Received:
        """The digest, size and first bytes of what was written."""
        return self._content.received()

    def flush(self) -> None:
        """Writes are unbuffered; durability is the ingestor's fsync."""

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


class AssociationSpool:
    """The partial files of one association; whatever is left at its end is deleted."""

    def __init__(self, spool: Spool) -> None:
        self._spool = spool
        self._files: list[SpoolFile] = []
        self._lock = threading.Lock()

    @property
    def path_for_nothing(self) -> Path:
        """A name for a discarding SpoolFile (never created)."""
        return self._spool.path / "discarded"

    def new_file(self) -> SpoolFile:
        f = self._spool.new_file()
        with self._lock:
            self._files.append(f)
        return f

    def discard_all(self) -> int:
        """Close and delete this association's remaining partial files; how many there were.

        A file the ingestor took over was renamed into the archive (or deleted), so the
        unlink finds nothing.
        """
        with self._lock:
            files, self._files = self._files, []
        removed = 0
        for f in files:
            f.close()
            with contextlib.suppress(FileNotFoundError):
                f.path.unlink()
                removed += 1
        return removed

    def finish(self, f: SpoolFile) -> None:
        """The handler is done with ``f``: delete it unless the ingestor took it over."""
        f.close()
        with contextlib.suppress(FileNotFoundError):
            f.path.unlink()
        with self._lock, contextlib.suppress(ValueError):
            self._files.remove(f)


class Spool:
    """This process's spool folder under ``tmp_dir``."""

    def __init__(self, tmp_dir: Path) -> None:
        tmp_dir.mkdir(parents=True, exist_ok=True)
        reap_orphans(tmp_dir)
        self.path, self._lock_fd = _locked_folder(tmp_dir)
        self._closed = False
        self._names = itertools.count()  # next() is atomic under the GIL

    def new_file(self) -> SpoolFile:
        """A new partial file; on failure a discarding one whose ``error`` says why."""
        if self._closed:
            return SpoolFile(None, self.path / "closed", SpoolClosedError("listener stopping"))
        # Only this process writes in its folder, so a counter names files uniquely.
        path = self.path / f"{next(self._names)}.part"
        try:
            fd = os.open(path, _FILE_FLAGS, 0o600)
        except OSError as exc:
            return SpoolFile(None, path, exc)
        return SpoolFile(fd, path)

    def for_association(self) -> AssociationSpool:
        return AssociationSpool(self)

    def close(self) -> None:
        """Remove the folder and everything left in it."""
        if self._closed:
            return
        self._closed = True
        shutil.rmtree(self.path, ignore_errors=True)
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


def _locked_folder(tmp_dir: Path) -> tuple[Path, int | None]:
    """A new spool folder, flock'd. Held until close or death, so another listener's
    ``reap_orphans`` knows it is in use."""
    for _ in range(5):
        path = Path(tempfile.mkdtemp(prefix=SPOOL_PREFIX, dir=tmp_dir))
        try:
            fd = os.open(path, _DIR_FLAGS)
        except FileNotFoundError:
            continue  # a reaper removed it between mkdtemp and open
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if path.is_dir():
                return path, fd
        except BlockingIOError:
            pass  # a reaper holds it for a moment and will remove it
        os.close(fd)
    raise OSError(f"cannot make a spool folder in {tmp_dir}")


def reap_orphans(tmp_dir: Path) -> int:
    """Delete the spool folders of listeners that are gone; how many were removed."""
    removed = 0
    for folder in sorted(tmp_dir.glob(SPOOL_PREFIX + "*")):
        try:
            fd = os.open(folder, _DIR_FLAGS)
        except (FileNotFoundError, NotADirectoryError):
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a live listener holds it
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
        finally:
            os.close(fd)
    if removed:
        LOGGER.info("removed %d spool folder(s) left by a stopped listener", removed)
    return removed
