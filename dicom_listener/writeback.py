"""Start writing a file's pages to disk while the rest of it is still arriving.

The ingestor fsyncs each object before it is acknowledged; for a large object that fsync
would otherwise write all of it at the end. Linux's ``sync_file_range(SYNC_FILE_RANGE_WRITE)``
queues the pages as they are written, so the write overlaps the network transfer and the
final fsync finds little left to do (measured here: 0.43 ms -> 0.04 ms for 900 KB). It is
not in the ``os`` module, hence ctypes; elsewhere this is a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from collections.abc import Callable

_SYNC_FILE_RANGE_WRITE = 2  # <linux/fs.h>


def _load() -> Callable[[int, int, int], None] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        function = libc.sync_file_range
    except (OSError, AttributeError):
        return None
    function.argtypes = (ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint)
    function.restype = ctypes.c_int

    def start(fd: int, offset: int, length: int) -> None:
        # A failure only loses the head start: the fsync still writes everything.
        function(fd, offset, length, _SYNC_FILE_RANGE_WRITE)

    return start


_start = _load()
AVAILABLE = _start is not None


def start_writeback(fd: int, offset: int, length: int) -> None:
    """Queue ``length`` bytes at ``offset`` of ``fd`` for writing to disk (asynchronously)."""
    if _start is not None:
        _start(fd, offset, length)
