"""The archive on disk: durable placement of files, and nothing else.

Files are written in the temp dir (same file system as the archive), fsynced, given
their name ``archive/<study>/<series>/<sop>[.r<N>].dcm`` and the folder is fsynced, new
folders included, so the archived file survives a power cut. Paths are only ever built
from UIDs that passed the UID grammar (``triage.ingest.uid``).

Claims: a writer takes its archive name *before* the database transaction that indexes
the object, so that the name and its folder fsync are outside the database's single
writer (on SQLite the one thing every listener process waits for). ``claim`` links the
synced temp file to the name, exclusively (a hard link fails if the name exists), and
fsyncs the folder; the writer holds an ``flock`` on the file from before the link until
its index row is committed or given up, and only the holder of the lock on the file
now at a name ever changes that name. A name that exists is either another live
writer's (its lock makes us wait for the outcome) or a crash's leftover that no row
points to; the claim then holds the leftover's lock, and once the index row reserves
the name (its unique (SOP instance, revision) cannot exist twice) the leftover is
replaced inside the transaction (``place``), so a re-send cleans up after a crash.
"""

from __future__ import annotations

import fcntl
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
# Tries at claiming a name whose file is replaced or removed while we look at it.
_CLAIM_ATTEMPTS = 100


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


class Claim:
    """A writer's hold on an archive name (module docstring). ``fresh``: the name is the
    writer's own synced file, durably linked; otherwise a leftover is there, which
    ``Archive.place`` replaces once the index row reserves the name."""

    def __init__(self, final: Path, fresh: bool, fds: list[int]) -> None:
        self.final = final
        self.fresh = fresh
        self._fds = fds  # flock holders: the temp file's, and a leftover's

    def release(self, *, keep: bool) -> None:
        """End the hold (idempotent). ``keep=False``: the object's row was not committed,
        so a fresh name is removed again (a leftover is left for its re-send)."""
        fds, self._fds = self._fds, []
        if not fds:
            return
        try:
            if not keep and self.fresh:
                self.final.unlink(missing_ok=True)
        finally:
            for fd in fds:
                os.close(fd)  # and with it the lock


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
    def claim(self, temp: Path, relative: str) -> Claim:
        """Take the archive name for a synced temp file (module docstring); waits while
        another live writer holds it. Raises ``OSError`` with nothing changed."""
        final = self.data_dir / relative
        own = os.open(temp, os.O_RDONLY | os.O_CLOEXEC)
        try:
            fcntl.flock(own, fcntl.LOCK_EX)  # a new file of ours: never contended
            for _ in range(_CLAIM_ATTEMPTS):
                try:
                    self._into_dir(final.parent, lambda: os.link(temp, final), temp)
                except FileExistsError:
                    held = _lock_existing(final)
                    if held is not None:
                        return Claim(final, False, [own, held])
                    continue  # the name changed hands meanwhile: look again
                try:
                    fsync_dir(final.parent)
                except BaseException:
                    final.unlink(missing_ok=True)
                    raise
                return Claim(final, True, [own])
            raise OSError(f"cannot claim {relative}: it keeps changing hands")
        except BaseException:
            os.close(own)
            raise

    def place(self, temp: Path, relative: str) -> Path:
        """Rename a synced temp file over a leftover at its claimed archive name; returns
        its folder, which the caller fsyncs (``sync``) before it commits the index row.

        Only the holder of the (SOP instance, revision) reservation in the index calls
        this, so the file there is one a crash left behind, and is replaced.
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


def _lock_existing(final: Path) -> int | None:
    """Lock the file at ``final`` (waiting for a live writer to finish with it); its
    descriptor, or None when the name no longer holds that file."""
    try:
        fd = os.open(final, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        now, held = os.stat(final), os.fstat(fd)
        if (now.st_dev, now.st_ino) == (held.st_dev, held.st_ino):
            return fd
    except FileNotFoundError:
        pass
    except BaseException:
        os.close(fd)
        raise
    os.close(fd)
    return None


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
