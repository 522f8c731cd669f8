"""Association policy: AE titles, limits, C-ECHO, negotiation."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest
from pydicom.uid import (
    JPEG2000,
    UID,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEGBaseline8Bit,
    JPEGLSLossless,
)

from dicom_listener.contexts import STORAGE_SOP_CLASSES, TRANSFER_SYNTAXES, VERIFICATION
from dicom_listener.policy import build_policy

from .conftest import RecordingIngest, StartListener, associate, make_settings, rejection
from .factory import BASIC_TEXT_SR, US_IMAGE, make_dataset, write

ECHO = [(VERIFICATION, [ExplicitVRLittleEndian])]


def test_c_echo(start_listener: StartListener) -> None:
    listener = start_listener(ingest=RecordingIngest())
    assoc = associate(listener, ECHO)
    assert assoc.is_established
    assert int(assoc.send_c_echo().Status) == 0
    assoc.release()


def test_every_listed_class_and_syntax_is_accepted(start_listener: StartListener) -> None:
    listener = start_listener(ingest=RecordingIngest())
    syntaxes = [uid for uid, _ in TRANSFER_SYNTAXES]
    pairs = [(sop, ts) for sop, _ in STORAGE_SOP_CLASSES for ts in syntaxes]
    for start in range(0, len(pairs), 120):  # at most 128 contexts per association
        chunk = pairs[start : start + 120]
        assoc = associate(listener, [(sop, [ts]) for sop, ts in chunk])
        assert assoc.is_established
        accepted = {(cx.abstract_syntax, cx.transfer_syntax[0]) for cx in assoc.accepted_contexts}
        assoc.release()
        assert accepted == set(chunk)


@pytest.mark.parametrize(
    "proposed",
    [
        [JPEGBaseline8Bit, ExplicitVRLittleEndian, ImplicitVRLittleEndian],
        [JPEGLSLossless, JPEG2000, ImplicitVRLittleEndian],
        [ImplicitVRLittleEndian, ExplicitVRLittleEndian],
        [JPEG2000, JPEGBaseline8Bit],
    ],
)
def test_the_syntax_the_requestor_proposes_first_is_accepted(
    start_listener: StartListener, proposed: list[str]
) -> None:
    # A sender lists the syntax it holds the object in first: taking it spares the
    # sender a transcoding it may not be able to do.
    listener = start_listener(ingest=RecordingIngest())
    assoc = associate(listener, [(US_IMAGE, proposed), (BASIC_TEXT_SR, list(reversed(proposed)))])
    chosen = {cx.abstract_syntax: cx.transfer_syntax[0] for cx in assoc.accepted_contexts}
    assoc.release()
    assert chosen == {US_IMAGE: proposed[0], BASIC_TEXT_SR: proposed[-1]}


def test_retired_us_classes_are_stored(tmp_path: Path, start_listener: StartListener) -> None:
    ingest = RecordingIngest()
    listener = start_listener(ingest=ingest)
    retired = ["1.2.840.10008.5.1.4.1.1.6", "1.2.840.10008.5.1.4.1.1.3"]
    assoc = associate(listener, [(uid, [ExplicitVRLittleEndian]) for uid in retired])
    statuses = [
        int(assoc.send_c_store(write(make_dataset(uid), tmp_path / f"{i}.dcm")).Status)
        for i, uid in enumerate(retired)
    ]
    assert assoc.is_established  # pynetdicom aborts here if the UIDs are not registered
    assoc.release()
    assert statuses == [0, 0]
    assert len(ingest.received) == 2


def test_unknown_calling_ae_is_rejected(tmp_path: Path, start_listener: StartListener) -> None:
    settings = make_settings(tmp_path, allowed_calling_aets="PACS1,PACS2")
    listener = start_listener(settings=settings, ingest=RecordingIngest())
    refused = associate(listener, ECHO, calling="INTRUDER")
    # rejected-permanent, service-user, calling-AE-title-not-recognized
    assert rejection(refused) == (0x01, 0x01, 0x03)
    welcome = associate(listener, ECHO, calling="PACS2")
    assert welcome.is_established
    welcome.release()


def test_called_ae_title_must_be_ours(start_listener: StartListener) -> None:
    listener = start_listener(ingest=RecordingIngest())
    refused = associate(listener, ECHO, called="SOMEONEELSE")
    # rejected-permanent, service-user, called-AE-title-not-recognized
    assert rejection(refused) == (0x01, 0x01, 0x07)


def test_any_calling_ae_when_unrestricted_with_a_warning(
    tmp_path: Path, start_listener: StartListener
) -> None:
    settings = make_settings(tmp_path)
    assert any("ANY calling AE" in w for w in build_policy(settings).warnings)
    listener = start_listener(settings=settings, ingest=RecordingIngest())
    assoc = associate(listener, ECHO, calling="WHOEVER")
    assert assoc.is_established
    assoc.release()


def test_maximum_associations_is_enforced(tmp_path: Path, start_listener: StartListener) -> None:
    ingest = RecordingIngest()
    settings = make_settings(tmp_path, max_associations=2)
    listener = start_listener(settings=settings, ingest=ingest)
    open_ = [associate(listener, ECHO) for _ in range(2)]
    assert all(a.is_established for a in open_)
    third = associate(listener, ECHO)
    # rejected-transient, service-provider (presentation), local-limit-exceeded
    assert rejection(third) == (0x02, 0x03, 0x02)
    for a in open_:
        a.release()


def test_stop_refuses_new_associations_and_lets_a_running_store_finish(
    tmp_path: Path, start_listener: StartListener
) -> None:
    gate = threading.Event()
    ingest = RecordingIngest(gate=gate)
    listener = start_listener(ingest=ingest)
    host, port = listener.address
    assoc = associate(listener, [(BASIC_TEXT_SR, [ExplicitVRLittleEndian])])
    path = write(make_dataset(), tmp_path / "a.dcm")
    result: list[int] = []
    sender = threading.Thread(target=lambda: result.append(int(assoc.send_c_store(path).Status)))
    sender.start()
    assert ingest.entered.wait(10)
    stopped: list[bool] = []
    stopper = threading.Thread(target=lambda: stopped.append(listener.stop(timeout=20)))
    stopper.start()

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex((host, port)) != 0:
                break  # no longer listening
        time.sleep(0.05)
    else:
        pytest.fail("the listener still accepts connections after stop()")
    assert stopper.is_alive()  # still waiting for the running association

    gate.set()
    sender.join(20)
    assoc.release()
    stopper.join(20)
    assert result == [0]
    assert stopped == [True]


def test_policy_warnings_name_the_open_door(tmp_path: Path) -> None:
    warnings = build_policy(make_settings(tmp_path)).warnings
    assert any("MSK_TRIAGE_ALLOWED_CALLING_AETS" in w for w in warnings)
    assert any("TLS is off" in w for w in warnings)
    restricted = build_policy(make_settings(tmp_path, allowed_calling_aets="PACS")).warnings
    assert not any("ANY calling AE" in w for w in restricted)


def test_a_request_on_a_rejected_context_aborts_without_hanging(
    tmp_path: Path, start_listener: StartListener
) -> None:
    # Requests are served in the reader thread: pynetdicom's abort for a context it did
    # not accept used to wait there for that very thread to stop, forever.
    ct_image = UID("1.2.840.10008.5.1.4.1.1.2")  # not a class we accept
    listener = start_listener(ingest=RecordingIngest())
    assoc = associate(
        listener, [(BASIC_TEXT_SR, [ExplicitVRLittleEndian]), (ct_image, [ExplicitVRLittleEndian])]
    )
    assert assoc.is_established
    (forged,) = assoc.rejected_contexts
    forged.result = 0x00  # the sender pretends it was accepted
    forged.transfer_syntax = [ExplicitVRLittleEndian]
    assoc._accepted_cx[forged.context_id] = forged  # type: ignore[index]
    ds = make_dataset(BASIC_TEXT_SR)
    ds.SOPClassUID = ct_image
    ds.file_meta.MediaStorageSOPClassUID = ct_image
    assoc.send_c_store(write(ds, tmp_path / "ct.dcm"))
    deadline = time.monotonic() + 10
    while assoc.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert assoc.is_aborted
    assert listener.stop(timeout=10)  # every association of the listener has ended
    assert not [t for t in threading.enumerate() if "run_reactor" in t.name]
