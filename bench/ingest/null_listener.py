"""Our listener with an ingest that discards: what the listener itself costs.

Run as ``python -m bench.ingest.null_listener PORT AE_TITLE DATA_DIR``. The difference
between this and ``msk-triage serve`` is what the durable ingest (fsync, index) costs.
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

from dicom_listener.server import Listener
from triage.ingest.payload import Received
from triage.ingest.result import IngestOutcome, IngestResult, StoreStatus
from triage.settings import load_settings

_OK = IngestResult(StoreStatus.SUCCESS, IngestOutcome.STORED)


class NullIngest:
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
            path.unlink(missing_ok=True)
        return _OK

    def ingest_bytes(self, data: bytes, *, calling_ae: str, source: str = "dicom") -> IngestResult:
        return _OK


def main() -> None:
    port, ae_title, data_dir = int(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    settings = load_settings(
        environ={}, data_dir=data_dir, ae_title=ae_title, bind_address="127.0.0.1"
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    listener = Listener(settings, NullIngest())
    listener.start(port=port)
    stop.wait()
    listener.stop()


if __name__ == "__main__":
    main()
