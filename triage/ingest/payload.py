"""Where the bytes of one object come from, and who cleans up after it.

Each payload yields its header, its digest and finally a fsynced temp file, which the
commit renames into the archive; ``discard`` removes whatever is left of it (nothing,
once it was renamed) and, for a moved file that was copied in, the original.

Whoever wrote a moved file may say what it wrote (``Received``: the listener hashes
each fragment as it spools it), so the file is not read again.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from triage.ingest.archive import Archive, fsync_file
from triage.ingest.header import (
    FILE_PREFIX_BYTES,
    HeaderError,
    InstanceHeader,
    read_header,
    read_header_start,
)
from triage.ingest.result import StoreStatus

_CHUNK = 1 << 20
# The header is parsed from at most this many leading bytes (then pydicom reads the file).
PREFIX_BYTES = FILE_PREFIX_BYTES


@dataclass(frozen=True, slots=True)
class Received:
    """What the writer of a file saw while writing it, so that it need not be read again."""

    sha256: str  # hex digest of all of the file's bytes
    size: int
    prefix: bytes  # the first min(size, PREFIX_BYTES) bytes


class ContentTracker:
    """Builds a ``Received`` from the bytes written to a file, in order."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self._prefix = bytearray()
        self.size = 0

    def update(self, data: bytes | bytearray | memoryview) -> None:
        self._hash.update(data)  # releases the GIL for all but tiny fragments
        if len(self._prefix) < PREFIX_BYTES:
            self._prefix += memoryview(data)[: PREFIX_BYTES - len(self._prefix)]
        self.size += len(data)

    def received(self) -> Received:
        return Received(self._hash.hexdigest(), self.size, bytes(self._prefix))


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
    """A file whose ownership passes to the ingest (the listener's spool file): renamed
    into the archive if kept, deleted otherwise.

    The listener's hot path: given ``received`` (what the listener hashed while it
    wrote the file), the file is not read at all; else it is opened once, one pass reads
    the header's bytes and hashes the content, and the same descriptor is fsynced.
    """

    def __init__(self, path: Path, archive: Archive, received: Received | None = None) -> None:
        self._path = path
        self._archive = archive
        self._received = received
        # Outside the temp dir a rename might cross file systems: copy it in instead.
        self._in_place = archive.is_temp(path)
        self._fd: int | None = None
        self._temp: Path | None = None
        self._synced = False
        self._digest: tuple[str, int] | None = None

    def header(self) -> InstanceHeader:
        if not self._in_place:
            return read_header(self._path)
        received = self._received
        if received is not None:
            self._digest = received.sha256, received.size
            self._temp = self._path
            complete = received.size <= len(received.prefix)
            return read_header_start(received.prefix, complete=complete, file=self._path)
        try:
            self._fd = os.open(self._path, os.O_RDONLY)
            digest = hashlib.sha256()
            start = bytearray()
            size = 0
            while chunk := os.read(self._fd, _CHUNK):
                digest.update(chunk)
                size += len(chunk)
                if len(start) < FILE_PREFIX_BYTES:
                    start += chunk[: FILE_PREFIX_BYTES - len(start)]
        except OSError as exc:
            raise HeaderError(
                StoreStatus.OUT_OF_RESOURCES, f"cannot read the file: {exc.strerror or exc}"
            ) from exc
        self._digest = digest.hexdigest(), size
        self._temp = self._path
        return read_header_start(bytes(start), complete=size <= len(start), file=self._path)

    def digest(self) -> tuple[str, int]:
        if self._digest is None:
            self._temp, digest, size = self._archive.copy_to_temp(self._path)
            self._digest = digest, size
        return self._digest

    def synced_temp(self) -> Path:
        self.digest()
        assert self._temp is not None
        if not self._synced:
            if self._fd is not None:
                os.fsync(self._fd)
            else:
                fsync_file(self._temp)
            self._synced = True
        return self._temp

    def discard(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._temp is not None:
            self._temp.unlink(missing_ok=True)
            self._temp = None
        self._path.unlink(missing_ok=True)
