"""Sending DICOM objects to a Storage SCP as a C-STORE SCU (pynetdicom), for
``msk-triage demo``. The CLI is the composition root: only it may import pynetdicom.

    results = store(Peer("127.0.0.1", 11112, "MSKTRIAGE", "DEMO"), datasets)

One association per call, every object sent over it, one presentation context per SOP
class proposing Explicit and Implicit VR Little Endian. A peer that cannot be reached or
refuses the association raises ``SendError`` with a message that says what to do.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Sequence
from dataclasses import dataclass

from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

log = logging.getLogger(__name__)

TRANSFER_SYNTAXES = (ExplicitVRLittleEndian, ImplicitVRLittleEndian)
# C-STORE statuses that mean "stored" (success, and the warnings of PS3.4 B.2.3).
STORED_STATUSES = frozenset({0x0000, 0xB000, 0xB006, 0xB007})


class SendError(Exception):
    """The objects could not be sent (peer unreachable, association refused or lost)."""


@dataclass(frozen=True, slots=True)
class Peer:
    host: str
    port: int
    called_aet: str
    calling_aet: str
    timeout: float = 10.0

    def __str__(self) -> str:
        return f"{self.called_aet} at {self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class Stored:
    sop_instance_uid: str
    status: int | None  # None: no response (the association ended)

    @property
    def ok(self) -> bool:
        return self.status in STORED_STATUSES


def store(peer: Peer, datasets: Sequence[Dataset]) -> list[Stored]:
    """C-STORE every data set over one association; a result per data set, in order."""
    from pynetdicom import AE

    if not datasets:
        return []
    ae = AE(ae_title=peer.calling_aet)
    for timeout in ("acse_timeout", "dimse_timeout", "network_timeout", "connection_timeout"):
        setattr(ae, timeout, peer.timeout)
    for sop_class in sorted({str(ds.SOPClassUID) for ds in datasets}):
        ae.add_requested_context(sop_class, list(TRANSFER_SYNTAXES))
    assoc = ae.associate(peer.host, peer.port, ae_title=peer.called_aet)
    if not assoc.is_established:
        raise SendError(_why_not_established(peer, assoc))
    results: list[Stored] = []
    try:
        for ds in datasets:
            results.append(Stored(str(ds.SOPInstanceUID), _send_one(assoc, ds)))
    finally:
        if assoc.is_established:
            assoc.release()
    return results


def _send_one(assoc: object, ds: Dataset) -> int | None:
    if not getattr(assoc, "is_established", False):
        return None  # lost mid-way: the rest are reported as not stored
    try:
        status = assoc.send_c_store(ds)  # type: ignore[attr-defined]
    except (RuntimeError, ValueError) as exc:
        log.debug("C-STORE not sent: %s", exc)
        return None
    value = status.get("Status") if status is not None else None
    return int(value) if value is not None else None


def _why_not_established(peer: Peer, assoc: object) -> str:
    if getattr(assoc, "is_rejected", False):
        primitive = getattr(getattr(assoc, "acceptor", None), "primitive", None)
        reason = getattr(primitive, "reason_str", None) or "no reason given"
        return (
            f"{peer} refused the association ({reason}); check --called-aet "
            f"(the service's MSK_TRIAGE_AE_TITLE) and that --calling-aet {peer.calling_aet} "
            "is allowed (MSK_TRIAGE_ALLOWED_CALLING_AETS)"
        )
    unreachable = _unreachable(peer)
    if unreachable is not None:
        return (
            f"cannot reach the DICOM service at {peer.host}:{peer.port} ({unreachable}); "
            "is it running? Start it with `msk-triage serve`, or point --host/--port at it"
        )
    return (
        f"{peer} did not accept the association (aborted, or no answer within "
        f"{peer.timeout:g} s); is it a DICOM Storage SCP?"
    )


def _unreachable(peer: Peer) -> str | None:
    """Why a TCP connection to the peer fails, or None if it connects."""
    try:
        with socket.create_connection((peer.host, peer.port), timeout=peer.timeout):
            return None
    except OSError as exc:
        return exc.strerror or type(exc).__name__
