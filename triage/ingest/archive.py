"""The archive on disk: durable placement of files, and nothing else.

Files are written in the temp dir (same file system as the archive), fsynced, renamed
to ``archive/<study>/<series>/<sop>[.r<N>].dcm`` and the folder is fsynced, new folders
included, so the archived file survives a power cut. Paths are only ever built from
UIDs that passed the UID grammar (``triage.ingest.uid``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

log = logging.getLogger(__name__)

TEMP_PREFIX = "ingest-"
TEMP_SUFFIX = ".part"
_CHUNK = 1 << 20
# Tries at moving a file into a folder that archive retention may remove meanwhile.
_FOLDER_ATTEMPTS = 3


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def archive_name(sop_instance_uid: str, revision: int) -> str:
    return f"{sop_instance_uid}.dcm" if revision == 0 else f"{sop_instance_uid}.r{revision}.dcm"


class Archive:
    """Places files in the archive; thread-safe, shareable between processes."""

    def __init__(self, *, data_dir: Path, archive_dir: Path, tmp_dir: Path) -> None:
        self.data_dir = data_dir
        self.archive_dir = archive_dir
        self.tmp_dir = tmp_dir
        self._archive_prefix = archive_dir.relative_to(data_dir).as_posix()
        # folders whose entry in their parent is known to be on disk
        self._durable: set[Path] = set()
        self._lock = threading.Lock()

    def prepare(self) -> None:
        """Create the data, archive and temp folders durably."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._ensure_dir(self.archive_dir)
        self._ensure_dir(self.tmp_dir)

    def relative_path(self, *, study_uid: str, series_uid: str, sop_uid: str, revision: int) -> str:
        """Where an object goes, relative to the data dir (what the index stores)."""
        name = archive_name(sop_uid, revision)
        return f"{self._archive_prefix}/{study_uid}/{series_uid}/{name}"

    # temp files -------------------------------------------------------------------
    def _new_temp(self) -> tuple[Path, int]:
        path = self.tmp_dir / f"{TEMP_PREFIX}{uuid.uuid4().hex}{TEMP_SUFFIX}"
        return path, os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)

    def write_temp(self, data: bytes) -> Path:
        """A new fsynced temp file holding ``data``."""
        path, fd = self._new_temp()
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            path.unlink(missing_ok=True)
            raise
        os.close(fd)
        return path

    def copy_to_temp(self, source: Path) -> tuple[Path, str, int]:
        """Copy ``source`` into a new temp file (not yet fsynced): (path, sha256, size)."""
        path, fd = self._new_temp()
        digest = hashlib.sha256()
        size = 0
        try:
            with source.open("rb") as fh:
                while chunk := fh.read(_CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    view = memoryview(chunk)
                    while view:
                        view = view[os.write(fd, view) :]
        except BaseException:
            os.close(fd)
            path.unlink(missing_ok=True)
            raise
        os.close(fd)
        return path, digest.hexdigest(), size

    def is_temp(self, path: Path) -> bool:
        """Whether ``path`` is inside the temp dir (so a rename stays on one file system)."""
        # Lexically first: the listener hands over paths under tmp_dir as it was given,
        # and resolving costs a system call per path component on the hot path.
        if Path(os.path.abspath(path)).is_relative_to(os.path.abspath(self.tmp_dir)):
            return True
        return path.resolve().is_relative_to(self.tmp_dir.resolve())

    # the archive --------------------------------------------------------------------
    def place(self, temp: Path, relative: str) -> Path:
        """Rename a synced temp file to its archive name; returns its folder, which the
        caller fsyncs (``sync``) before it commits the index row.

        Only the holder of the (SOP instance, revision) reservation in the index calls
        this, so a file already there is one a crash left behind, and is replaced.
        """
        final = self.data_dir / relative
        self._into_dir(final.parent, lambda: os.replace(temp, final), temp)
        return final.parent

    def sync(self, folders: Iterable[Path]) -> None:
        """Make the renames into ``folders`` durable (each folder fsynced once)."""
        for folder in set(folders):
            fsync_dir(folder)

    def restore(self, temp: Path, relative: str) -> bool:
        """Put back a missing archive file under its indexed name; False if it is there.
        (A link, not a rename: an exclusive create, since no reservation covers it.)"""
        final = self.data_dir / relative
        try:
            self._into_dir(final.parent, lambda: os.link(temp, final), temp)
        except FileExistsError:
            return False
        fsync_dir(final.parent)
        return True

    def unplace(self, relative: str, temp: Path) -> None:
        """Undo ``place``: back to the temp name (to be tried again), or gone."""
        final = self.data_dir / relative
        try:
            os.replace(final, temp)
        except OSError:
            final.unlink(missing_ok=True)

    def exists(self, relative: str) -> bool:
        return (self.data_dir / relative).is_file()

    def _into_dir(self, folder: Path, action: Callable[[], object], temp: Path) -> None:
        """Make ``folder`` and run ``action`` (a rename or link of ``temp`` into it).

        Archive retention removes folders it emptied, including ones this object still
        remembers as made: when the folder has gone, forget it and make it again.
        """
        for attempt in range(_FOLDER_ATTEMPTS):
            try:
                self._ensure_dir(folder)
                action()
                return
            except FileNotFoundError:
                if attempt + 1 == _FOLDER_ATTEMPTS or not temp.exists():
                    raise
                self._forget(folder)

    def _forget(self, folder: Path) -> None:
        with self._lock:
            for path in (folder, *folder.parents):
                if path == self.data_dir:
                    break
                self._durable.discard(path)

    def _ensure_dir(self, path: Path) -> None:
        if path in self._durable:
            return
        parent = path.parent
        if parent not in self._durable:
            if parent != self.data_dir and self.data_dir in parent.parents:
                self._ensure_dir(parent)  # inside the data dir: each new level made durable
            else:
                parent.mkdir(parents=True, exist_ok=True)
        try:
            path.mkdir()
        except FileExistsError:
            if not path.is_dir():
                raise NotADirectoryError(f"{path} exists and is not a folder") from None
        # Whether we made it or an earlier run did, make its entry durable once.
        fsync_dir(path.parent)
        with self._lock:
            self._durable.add(path)


def remove_stale_temp(tmp_dir: Path, *, older_than_seconds: float, now: float | None = None) -> int:
    """Delete our temp files (``ingest-*.part``) not modified for ``older_than_seconds``.

    In-flight files are fresh, so they stay; other owners' files (the listener's spool
    folders) are left to them. Returns how many were removed.
    """
    if not tmp_dir.is_dir():
        return 0
    cutoff = (time.time() if now is None else now) - older_than_seconds
    removed = 0
    for path in tmp_dir.glob(f"{TEMP_PREFIX}*{TEMP_SUFFIX}"):
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue  # finished or cleaned up by its owner meanwhile
        except OSError as exc:
            log.warning("cannot remove stale temp file %s: %s", path, exc.strerror)
    return removed
