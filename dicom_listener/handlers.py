"""C-ECHO and C-STORE handlers: translate the request, delegate, answer with a status.

They never raise: pynetdicom would answer an exception with a status of its own choosing
(0xC211 for C-STORE, success for C-ECHO). Anything unexpected is logged and answered
0xA700 (out of resources), the one answer that makes a sender try again later.
"""

from __future__ import annotations

import logging
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from dicom_listener.receive import part10_header
from dicom_listener.spool import SpoolFile
from dicom_listener.transport import ListenerAssociation
from triage.ingest.payload import Received
from triage.ingest.result import IngestOutcome, IngestResult, StoreStatus

if TYPE_CHECKING:
    from pynetdicom.events import Event

LOGGER = logging.getLogger(__name__)


class VerificationStatus(IntEnum):
    SUCCESS = 0x0000


class Ingest(Protocol):
    """What the listener needs from ``triage.ingest.service.Ingestor``."""

    def ingest_file(
        self,
        path: Path,
        *,
        calling_ae: str,
        source: str = "dicom",
        move: bool = False,
        received: Received | None = None,
    ) -> IngestResult: ...

    def ingest_bytes(
        self, data: bytes, *, calling_ae: str, source: str = "dicom"
    ) -> IngestResult: ...


def handle_echo(event: Event) -> int:
    return VerificationStatus.SUCCESS


def handle_store(event: Event, ingest: Ingest) -> int:
    assoc = event.assoc
    req: Any = event.request
    spooled: SpoolFile | None = req._dataset_file
    try:
        calling_ae = str(assoc.requestor.ae_title or "").strip()
        result = _ingest(req, spooled, assoc, ingest, calling_ae)
    except Exception:
        LOGGER.exception("C-STORE from %s failed unexpectedly; answering 0xA700", _who(event))
        result = IngestResult(
            StoreStatus.OUT_OF_RESOURCES, IngestOutcome.REFUSED, "unexpected error"
        )
    finally:
        if spooled is not None and isinstance(assoc, ListenerAssociation):
            assoc.spool.finish(spooled)
    if isinstance(assoc, ListenerAssociation):
        assoc.count(result.outcome.value)
    if not result.ok:
        # The ingestor logs its refusals with the reason; this ties one to the peer.
        LOGGER.debug(
            "C-STORE from %s answered 0x%04X: %s",
            _who(event),
            int(result.status),
            result.reason,
        )
    return result.status


def _ingest(
    req: Any, spooled: SpoolFile | None, assoc: Any, ingest: Ingest, calling_ae: str
) -> IngestResult:
    if spooled is not None:
        spooled.close()
        if spooled.error is not None:
            reason = f"could not write the received data: {spooled.error}"
            LOGGER.error("C-STORE: %s; answering 0xA700", reason)
            return IngestResult(StoreStatus.OUT_OF_RESOURCES, IngestOutcome.REFUSED, reason)
        return ingest.ingest_file(
            spooled.path, calling_ae=calling_ae, move=True, received=spooled.received()
        )
    header = _header(req, assoc)
    return ingest.ingest_bytes(header + req.DataSet.getvalue(), calling_ae=calling_ae)


def _header(req: Any, assoc: Any) -> bytes:
    cx = assoc._accepted_cx[req._context_id]
    return part10_header(
        sop_class_uid=str(req.AffectedSOPClassUID or ""),
        sop_instance_uid=str(req.AffectedSOPInstanceUID or ""),
        transfer_syntax=str(cx.transfer_syntax[0]),
        calling_ae=str(assoc.requestor.ae_title or ""),
    )


def _who(event: Event) -> str:
    try:
        r = event.assoc.requestor
        return f"{r.ae_title}@{r.address}"
    except Exception:  # logging must never fail
        return "?"
