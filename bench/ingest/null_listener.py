"""Our listener with an ingest that discards: what the listener itself costs.

Run as ``python -m bench.ingest.null_listener PORT AE_TITLE DATA_DIR [PROCESSES]``, with
as many listener processes as ``msk-triage serve`` would use (default: the number of
CPUs), so the difference between this and ``serve`` is what the durable ingest (fsyncs,
index) costs. ``--member CHANNEL_FD PARENT_PID`` is one of its listener processes.
"""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import sys
import threading
from pathlib import Path

from dicom_listener.handoff import Channel
from dicom_listener.pool import ListenerPool
from dicom_listener.pool_member import Member, Orders, die_with_parent, join_pool, member_arguments
from dicom_listener.server import Listener
from triage.ingest.payload import Received
from triage.ingest.result import IngestOutcome, IngestResult, StoreStatus
from triage.settings import Settings, load_settings

_OK = IngestResult(StoreStatus.SUCCESS, IngestOutcome.STORED)


class NullIngest:
    """Takes each spooled file away and answers success; files are removed at exit.

    Moved aside rather than deleted: removing a file whose pages are still being
    written out waits for that I/O, a cost of this stand-in, not of the listener."""

    def __init__(self, kept: Path) -> None:
        kept.mkdir(parents=True, exist_ok=True)
        self._kept = kept
        self._names = itertools.count()

    def ingest_file(
        self,
        path: Path,
        *,
        calling_ae: str,
        source: str = "dicom",
        move: bool = False,
        received: Received | None = None,
    ) -> IngestResult:
        if move:
            path.rename(self._kept / f"{os.getpid()}-{next(self._names)}.dcm")
        return _OK

    def ingest_bytes(self, data: bytes, *, calling_ae: str, source: str = "dicom") -> IngestResult:
        return _OK


def _member(argv: list[str]) -> None:
    fd, parent = member_arguments(argv)
    die_with_parent(parent)
    channel = Channel.from_fd(fd)
    start = join_pool(channel)
    settings = Settings.model_validate(start.settings)
    orders = Orders()
    signal.signal(signal.SIGTERM, orders.on_signal)
    listener = Listener(settings, NullIngest(settings.data_dir / "kept"))
    listener.start_handed_over(start.address)
    Member(listener, channel, orders).start()
    channel.send("ready", {"pid": os.getpid()})
    orders.stop.wait()
    listener.stop(orders.grace, hurry=orders.hurry)


def main() -> None:
    if sys.argv[1] == "--member":
        _member(sys.argv[2:])
        return
    port, ae_title, data_dir = int(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    processes = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    settings = load_settings(
        environ={},
        data_dir=data_dir,
        ae_title=ae_title,
        bind_address="127.0.0.1",
        dicom_port=port,
        listener_processes=processes,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    kept = data_dir / "kept"
    listener: Listener | ListenerPool
    if settings.resolved_listener_processes > 1:
        command = [sys.executable, "-m", "bench.ingest.null_listener", "--member"]
        listener = ListenerPool(
            settings, processes=settings.resolved_listener_processes, command=command
        )
    else:
        listener = Listener(settings, NullIngest(kept))
    listener.start()
    stop.wait()
    listener.stop()
    shutil.rmtree(kept, ignore_errors=True)


if __name__ == "__main__":
    main()
