"""Receive a C-STORE data set into a spool file as it arrives, not into memory.

pynetdicom assembles a data set in a ``BytesIO`` (or, with its global
``STORE_RECV_CHUNKED_DATASET``, in a ``NamedTemporaryFile`` in the system temp folder).
We keep that global off and give each association a DIMSE provider whose messages move
a C-STORE data set into a spool file under ``settings.tmp_dir`` as soon as the command
set has been decoded; pynetdicom's decoder then appends each later fragment to that file
(it writes to ``message._data_set_file`` when one is set). An object that arrived whole
in the first P-DATA and is at most ``inline_limit`` bytes stays in memory (see
``DEFAULT_INLINE_LIMIT``).
"""

from __future__ import annotations

from io import BytesIO
from typing import TYPE_CHECKING, Any

from pydicom import config as pydicom_config
from pydicom.dataelem import DataElement
from pydicom.dataset import FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_file_meta_info
from pynetdicom.dimse import DIMSEServiceProvider
from pynetdicom.dimse_messages import C_STORE_RQ, DIMSEMessage

from dicom_listener.identity import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME
from dicom_listener.spool import AssociationSpool, SpoolFile

if TYPE_CHECKING:
    from pynetdicom.association import Association
    from pynetdicom.pdu_primitives import P_DATA

# Measured (bench/ingest, docs/conformance.md): spooling a small SR costs about the same
# as keeping it in memory, and a single code path is simpler to reason about; objects up
# to this size that arrived whole in one P-DATA stay in memory.
DEFAULT_INLINE_LIMIT = 0

_NO_DATA_SET = 0x0101


def part10_header(
    *, sop_class_uid: str, sop_instance_uid: str, transfer_syntax: str, calling_ae: str
) -> bytes:
    """Preamble, ``DICM`` and the File Meta Information for a received data set.

    Values are written as received, without pydicom's value validation: a hostile UID
    must reach the ingestor (which refuses it) rather than fail here.
    """
    meta = FileMetaDataset()
    for tag, vr, value in (
        (0x00020002, "UI", sop_class_uid),
        (0x00020003, "UI", sop_instance_uid),
        (0x00020010, "UI", transfer_syntax),
        (0x00020012, "UI", IMPLEMENTATION_CLASS_UID),
        (0x00020013, "SH", IMPLEMENTATION_VERSION_NAME),
        (0x00020016, "AE", calling_ae),
    ):
        meta[tag] = DataElement(tag, vr, value, validation_mode=pydicom_config.IGNORE)
    out = DicomBytesIO()
    out.write(b"\x00" * 128 + b"DICM")
    write_file_meta_info(out, meta, enforce_standard=True)
    return out.getvalue()


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
        return  # unknown context: pynetdicom aborts the association when it serves it
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


class SpoolingDIMSEProvider(DIMSEServiceProvider):
    """The DIMSE provider of one of our associations (see module docstring)."""

    def __init__(self, assoc: Association, spool: AssociationSpool, inline_limit: int) -> None:
        super().__init__(assoc)
        self._rx_spool = spool
        self._rx_inline_limit = inline_limit

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
