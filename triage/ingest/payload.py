"""Where the bytes of one object come from, and who cleans up after it.

Each payload yields its header, its digest and finally a fsynced temp file, which the
archive links to its archive name; ``discard`` removes the temp file (the archive name
keeps the data) and, for a moved file, the original.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Protocol

from triage.ingest.archive import Archive, fsync_file
from triage.ingest.header import InstanceHeader, read_header

_CHUNK = 1 << 20


class Payload(Protocol):
    def header(self) -> InstanceHeader: ...

    def digest(self) -> tuple[str, int]:
        """(sha256 hex of the bytes as received, size)."""
        ...

    def synced_temp(self) -> Path:
        """A fsynced file in the temp dir holding the bytes; the same one on each call."""
        ...

    def discard(self) -> None:
        """Remove the temp file (and a moved original): always, whatever the outcome."""
        ...


class BytesPayload:
    """Part 10 bytes in memory (the listener)."""

    def __init__(self, data: bytes, archive: Archive) -> None:
        self._data = data
        self._archive = archive
        self._temp: Path | None = None

    def header(self) -> InstanceHeader:
        return read_header(self._data)

    def digest(self) -> tuple[str, int]:
        return hashlib.sha256(self._data).hexdigest(), len(self._data)

    def synced_temp(self) -> Path:
        if self._temp is None:
            self._temp = self._archive.write_temp(self._data)
        return self._temp

    def discard(self) -> None:
        if self._temp is not None:
            self._temp.unlink(missing_ok=True)
            self._temp = None


class CopiedFile:
    """A file that stays where it is (import from disk): copied into the temp dir."""

    def __init__(self, path: Path, archive: Archive) -> None:
        self._path = path
        self._archive = archive
        self._temp: Path | None = None
        self._synced = False
        self._digest: tuple[str, int] | None = None

    def header(self) -> InstanceHeader:
        return read_header(self._path)

    def digest(self) -> tuple[str, int]:
        # Hash while copying: one read of the source; the copy is only fsynced if kept.
        if self._digest is None:
            self._temp, digest, size = self._archive.copy_to_temp(self._path)
            self._digest = digest, size
        return self._digest

    def synced_temp(self) -> Path:
        self.digest()
        assert self._temp is not None
        if not self._synced:
            fsync_file(self._temp)
            self._synced = True
        return self._temp

    def discard(self) -> None:
        if self._temp is not None:
            self._temp.unlink(missing_ok=True)
            self._temp = None


class MovedFile:
    """A file whose ownership passes to the ingest (the listener's temp file): linked
    into the archive if kept, deleted in any case."""

    def __init__(self, path: Path, archive: Archive) -> None:
        self._path = path
        self._archive = archive
        # Outside the temp dir a link might cross file systems: copy it in instead.
        self._in_place = archive.is_temp(path)
        self._temp: Path | None = None
        self._synced = False
        self._digest: tuple[str, int] | None = None

    def header(self) -> InstanceHeader:
        return read_header(self._path)

    def digest(self) -> tuple[str, int]:
        if self._digest is None:
            if self._in_place:
                self._digest = _hash_file(self._path)
                self._temp = self._path
            else:
                self._temp, digest, size = self._archive.copy_to_temp(self._path)
                self._digest = digest, size
        return self._digest

    def synced_temp(self) -> Path:
        self.digest()
        assert self._temp is not None
        if not self._synced:
            fsync_file(self._temp)
            self._synced = True
        return self._temp

    def discard(self) -> None:
        if self._temp is not None:
            self._temp.unlink(missing_ok=True)
            self._temp = None
        self._path.unlink(missing_ok=True)


def _hash_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size
