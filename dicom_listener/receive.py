"""Receive a C-STORE data set into a spool file as it arrives, not into memory.

pynetdicom assembles a data set in a ``BytesIO`` (or, with its global
``STORE_RECV_CHUNKED_DATASET``, in a ``NamedTemporaryFile`` in the system temp folder).
We keep that global off and give each association a DIMSE provider whose messages move
a C-STORE data set into a spool file under ``settings.tmp_dir`` as soon as the command
set has been decoded; pynetdicom's decoder then appends each later fragment to that file
(it writes to ``message._data_set_file`` when one is set). An object that arrived whole
in the first P-DATA and is at most ``inline_limit`` bytes stays in memory (see
``DEFAULT_INLINE_LIMIT``).

The decoded request is served right there, in the reader thread (``_ServeInline``), and
the response sent from it (``ListenerDUL.send_now``).
"""

from __future__ import annotations

import logging
import queue
import struct
from io import BytesIO
from typing import TYPE_CHECKING, Any

from pynetdicom import evt
from pynetdicom.dimse import DIMSEServiceProvider
from pynetdicom.dimse_messages import C_STORE_RQ, DIMSEMessage
from pynetdicom.dimse_primitives import C_ECHO, C_STORE
from pynetdicom.pdu_primitives import P_DATA

from dicom_listener.identity import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME
from dicom_listener.response import encode_store_response
from dicom_listener.spool import AssociationSpool, SpoolFile
from dicom_listener.wire import ListenerDUL

if TYPE_CHECKING:
    from pynetdicom.association import Association
    from pynetdicom.dimse_primitives import DimsePrimitiveType

# Small objects are spooled too. Measured with 500 three-kilobyte SR reports, spool file
# vs in memory + ingest_bytes: 404/355/424 vs 431/348/504 instances/s on one association,
# 634/484/610 vs 526/492/596 on four, the same CPU per object: no difference beyond the
# noise. Spooling everything keeps one code path, and a crash leaves only spool files,
# which the next start removes (ingest_bytes' own temp files are reaped after an hour).
DEFAULT_INLINE_LIMIT = 0

LOGGER = logging.getLogger(__name__)

_NO_DATA_SET = 0x0101
_MAX_COMMAND_SET = 64 * 1024  # real ones are a few hundred bytes
_NO_CONTEXT = OSError("no accepted presentation context")
# Longest an idle association's reactor waits for a request before it checks for a
# release or an abort (which it then notices this much later at most).
_REACTOR_WAIT = 0.01


def part10_header(
    *, sop_class_uid: str, sop_instance_uid: str, transfer_syntax: str, calling_ae: str
) -> bytes:
    """Preamble, ``DICM`` and the File Meta Information for a received data set.

    Encoded here rather than with pydicom (a tenth of the cost, and no value validation:
    a hostile UID must reach the ingestor, which refuses it, rather than fail here).
    """
    elements = b"".join(
        (
            _element(0x0001, b"OB", b"\x00\x01"),
            _element(0x0002, b"UI", _text(sop_class_uid, b"\x00")),
            _element(0x0003, b"UI", _text(sop_instance_uid, b"\x00")),
            _element(0x0010, b"UI", _text(transfer_syntax, b"\x00")),
            _element(0x0012, b"UI", _text(IMPLEMENTATION_CLASS_UID, b"\x00")),
            _element(0x0013, b"SH", _text(IMPLEMENTATION_VERSION_NAME, b" ")),
            _element(0x0016, b"AE", _text(calling_ae, b" ")),
        )
    )
    group_length = _element(0x0000, b"UL", struct.pack("<I", len(elements)))
    return _PREAMBLE + group_length + elements


_PREAMBLE = b"\x00" * 128 + b"DICM"
_MAX_SHORT_VALUE = 0xFFFE  # explicit VR "short" elements have a 16-bit length


def _text(value: str, pad: bytes) -> bytes:
    raw = value.encode("ascii", "replace")[:_MAX_SHORT_VALUE]
    return raw + pad if len(raw) % 2 else raw


def _element(element: int, vr: bytes, value: bytes) -> bytes:
    if vr == b"OB":  # explicit VR with a 32-bit length (PS3.5 7.1.2)
        return (
            struct.pack("<HH", 0x0002, element)
            + vr
            + b"\x00\x00"
            + struct.pack("<I", len(value))
            + value
        )
    return struct.pack("<HH", 0x0002, element) + vr + struct.pack("<H", len(value)) + value


def p_data_tf(context_id: int, pdv: bytes) -> bytes:
    """A P-DATA-TF PDU with one presentation data value item (PS3.8 9.3.5)."""
    item = struct.pack(">IB", len(pdv) + 1, context_id) + pdv
    return struct.pack(">BBI", 0x04, 0x00, len(item)) + item


class _SpoolingMessage(DIMSEMessage):
    """A DIMSE message being received; becomes a ``C_STORE_RQ`` etc. once decoded.

    pynetdicom's decoder re-classes the message (``self.__class__ = C_STORE_RQ``) when
    the command set is complete, so this ``decode_msg`` runs for every P-DATA up to and
    including that one and never after: exactly where the spool file must be set up.
    """

    _rx_spool: AssociationSpool
    _rx_inline_limit: int

    def decode_msg(self, primitive: P_DATA, assoc: Association | None = None) -> bool:
        complete = super().decode_msg(primitive, assoc)
        if isinstance(self, C_STORE_RQ) and assoc is not None:
            _spool_if_needed(self, complete, assoc)
        elif self.encoded_command_set.tell() > _MAX_COMMAND_SET and assoc is not None:
            # pynetdicom would collect command fragments for ever. Drop them and have the
            # state machine abort, as pynetdicom does for an undecodable message.
            LOGGER.warning("aborting an association: a command set of over 64 KiB")
            self.encoded_command_set = BytesIO()
            assoc.dul.event_queue.put("Evt19")  # invalid PDU: A-ABORT
        return complete


def _spool_if_needed(msg: Any, complete: bool, assoc: Association) -> None:
    if msg._data_set_file is not None or msg.command_set.CommandDataSetType == _NO_DATA_SET:
        return
    spool: AssociationSpool = msg._rx_spool
    received: BytesIO = msg.data_set
    if complete and received.tell() <= msg._rx_inline_limit:
        return
    cx = assoc._accepted_cx.get(msg.context_id)
    if cx is None:
        # pynetdicom aborts the association once the message is complete; until then the
        # data set goes nowhere rather than into memory.
        msg._data_set_file = SpoolFile(None, spool.path_for_nothing, _NO_CONTEXT)
        return
    cs = msg.command_set
    header = part10_header(
        sop_class_uid=str(cs.AffectedSOPClassUID or ""),
        sop_instance_uid=str(cs.AffectedSOPInstanceUID or ""),
        transfer_syntax=str(cx.transfer_syntax[0]),
        calling_ae=str(assoc.requestor.ae_title or ""),
    )
    f: SpoolFile = spool.new_file()
    f.write(header)
    f.write(received.getbuffer())
    msg.data_set = BytesIO()
    msg._data_set_file = f
    msg._data_set_path = f.path


class _ServeInline(queue.Queue[Any]):
    """The decoded-request queue, serving C-STORE and C-ECHO requests as they are put.

    pynetdicom's reader thread decodes a request and queues it for the association's
    thread, which serves it and hands the response back: two hand-overs (a wake-up and
    a GIL hand-over each, under load up to the interpreter's switch interval) per
    object. Serving in the reader thread saves both; it has nothing else to do meanwhile,
    since a sender waits for the response (we negotiate no asynchronous operations).
    Anything else, and anything while the association is not established, is queued for
    the association's thread as pynetdicom does.
    """

    def __init__(self, assoc: Association) -> None:
        super().__init__()
        self._assoc = assoc

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        context_id, primitive = item
        assoc = self._assoc
        if isinstance(primitive, C_STORE | C_ECHO) and assoc.is_established and context_id:
            assoc._serve_request(primitive, context_id)
            return
        super().put(item, block, timeout)


class SpoolingDIMSEProvider(DIMSEServiceProvider):
    """The DIMSE provider of one of our associations (see module docstring)."""

    def __init__(self, assoc: Association, spool: AssociationSpool, inline_limit: int) -> None:
        super().__init__(assoc)
        self._rx_spool = spool
        self._rx_inline_limit = inline_limit
        self.msg_queue = _ServeInline(assoc)

    def get_msg(self, block: bool = False) -> Any:
        """As pynetdicom's, but the association's reactor, which polls with block=False
        and sleeps 1 ms between polls, is woken as soon as a request is decoded."""
        if block:
            return super().get_msg(block=True)
        try:
            return self.msg_queue.get(block=True, timeout=_REACTOR_WAIT)
        except queue.Empty:
            return None, None

    def send_msg(self, primitive: DimsePrimitiveType, context_id: int) -> None:
        encoded = None
        if isinstance(primitive, C_STORE) and not self.assoc.get_handlers(evt.EVT_DIMSE_SENT):
            encoded = encode_store_response(primitive)
        limit = self.maximum_pdu_size
        if encoded is None or (limit and len(encoded) + 6 > limit):
            super().send_msg(primitive, context_id)
            return
        pdv = b"\x03" + encoded  # message control header: command, last fragment
        dul = self.dul
        if (
            isinstance(dul, ListenerDUL)
            and not self.assoc.get_handlers(evt.EVT_PDU_SENT)
            and dul.send_now(p_data_tf(context_id, pdv))
        ):
            return
        pdata = P_DATA()
        pdata.presentation_data_value_list.append((context_id, pdv))
        self.dul.send_pdu(pdata)

    def receive_primitive(self, primitive: P_DATA) -> None:
        if self.message is None:
            # Re-class a plain message, as pynetdicom itself does, rather than construct
            # a subclass: DIMSEMessage.__init__ keys its set-up on the class name.
            msg: Any = DIMSEMessage()
            msg.__class__ = _SpoolingMessage
            msg._rx_spool = self._rx_spool
            msg._rx_inline_limit = self._rx_inline_limit
            self.message = msg
        super().receive_primitive(primitive)
