"""Our hand-encoded bytes equal what pydicom/pynetdicom would have produced."""

from __future__ import annotations

import warnings

import pytest
from pydicom import config, dcmread
from pydicom.dataelem import DataElement
from pydicom.dataset import FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_file_meta_info
from pydicom.uid import JPEGBaseline8Bit
from pynetdicom.dimse_messages import C_STORE_RSP
from pynetdicom.dimse_primitives import C_STORE
from pynetdicom.dsutils import encode
from pynetdicom.presentation import build_context

from dicom_listener.contexts import follow_requestor_order, supported_contexts
from dicom_listener.identity import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME
from dicom_listener.receive import part10_header
from dicom_listener.response import encode_store_response

from .factory import BASIC_TEXT_SR, US_IMAGE

VALUES = [
    ("1.2.840.10008.5.1.4.1.1.88.11", "1.2.3.4", "1.2.840.10008.1.2.1", "PACS"),
    ("1.2.840.10008.5.1.4.1.1.6.1", "1.2.33", "1.2.840.10008.1.2", "STORESCU1"),
    ("1.2.840.10008.5.1.4.1.1.7", "9" * 64, "1.2.840.10008.1.2.4.50", "A"),
]


def _pydicom_header(sop_class: str, sop_instance: str, syntax: str, calling: str) -> bytes:
    meta = FileMetaDataset()
    for tag, vr, value in (
        (0x00020002, "UI", sop_class),
        (0x00020003, "UI", sop_instance),
        (0x00020010, "UI", syntax),
        (0x00020012, "UI", IMPLEMENTATION_CLASS_UID),
        (0x00020013, "SH", IMPLEMENTATION_VERSION_NAME),
        (0x00020016, "AE", calling),
    ):
        meta[tag] = DataElement(tag, vr, value, validation_mode=config.IGNORE)
    out = DicomBytesIO()
    out.write(b"\x00" * 128 + b"DICM")
    write_file_meta_info(out, meta, enforce_standard=True)
    return out.getvalue()


@pytest.mark.parametrize(("sop_class", "sop_instance", "syntax", "calling"), VALUES)
def test_file_meta_is_what_pydicom_writes(
    sop_class: str, sop_instance: str, syntax: str, calling: str
) -> None:
    ours = part10_header(
        sop_class_uid=sop_class,
        sop_instance_uid=sop_instance,
        transfer_syntax=syntax,
        calling_ae=calling,
    )
    assert ours == _pydicom_header(sop_class, sop_instance, syntax, calling)


def test_hostile_uid_is_written_as_is_for_the_ingestor_to_refuse() -> None:
    header = part10_header(
        sop_class_uid=BASIC_TEXT_SR,
        sop_instance_uid="../../etc/x",
        transfer_syntax="1.2.840.10008.1.2.1",
        calling_ae="PACS",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom's validation warning: that is the point
        meta = dcmread(DicomBytesIO(header), force=True).file_meta
        assert meta.MediaStorageSOPInstanceUID == "../../etc/x"


def _pynetdicom_response(primitive: C_STORE) -> bytes:
    message = C_STORE_RSP()
    message.primitive_to_message(primitive)
    return bytes(encode(message.command_set, True, True) or b"")


@pytest.mark.filterwarnings("ignore:Invalid value for VR UI")
@pytest.mark.parametrize("status", [0x0000, 0xA700, 0xA900, 0xC000, 0xC001, 0xB000])
@pytest.mark.parametrize("sop_instance", ["1.2.3.4", "1.2.33", "../../x", "9" * 64])
def test_store_response_is_what_pynetdicom_encodes(status: int, sop_instance: str) -> None:
    rsp = C_STORE()
    rsp.MessageIDBeingRespondedTo = 7
    rsp.AffectedSOPClassUID = US_IMAGE
    rsp.AffectedSOPInstanceUID = sop_instance
    rsp.Status = status
    assert encode_store_response(rsp) == _pynetdicom_response(rsp)


def test_a_response_with_more_than_a_status_is_left_to_pynetdicom() -> None:
    rsp = C_STORE()
    rsp.MessageIDBeingRespondedTo = 7
    rsp.AffectedSOPClassUID = US_IMAGE
    rsp.AffectedSOPInstanceUID = "1.2.3"
    rsp.Status = 0xA700
    rsp.ErrorComment = "disk full"  # type: ignore[assignment]
    assert encode_store_response(rsp) is None
    request = C_STORE()
    request.MessageID = 1
    assert encode_store_response(request) is None


def test_requestor_order_decides_and_unproposed_classes_are_left_out() -> None:
    requested = [
        build_context(US_IMAGE, [JPEGBaseline8Bit, "1.2.840.10008.1.2.1"]),
        build_context(US_IMAGE, ["1.2.840.10008.1.2"]),
        build_context("1.2.3.4.5.6", ["1.2.840.10008.1.2"]),  # not ours
    ]
    result = follow_requestor_order(requested, supported_contexts())
    assert [(cx.abstract_syntax, cx.transfer_syntax) for cx in result] == [
        (US_IMAGE, [JPEGBaseline8Bit, "1.2.840.10008.1.2.1", "1.2.840.10008.1.2"])
    ]


@pytest.mark.parametrize("context_id", [1, 127, 255])
@pytest.mark.parametrize("size", [0, 1, 250, 70_000])
def test_a_p_data_pdu_is_encoded_as_pynetdicom_does(context_id: int, size: int) -> None:
    from pynetdicom.pdu import P_DATA_TF
    from pynetdicom.pdu_primitives import P_DATA

    from dicom_listener.receive import p_data_tf

    pdv = b"\x03" + bytes(range(256)) * (size // 256) + bytes(size % 256)
    primitive = P_DATA()
    primitive.presentation_data_value_list.append((context_id, pdv))
    pdu = P_DATA_TF()
    pdu.from_primitive(primitive)
    assert p_data_tf(context_id, pdv) == pdu.encode()
