"""Receiving: spool files under tmp_dir, clean-up when a transfer is cut short, PDU limits,
TCP_QUICKACK, and what a failing ingestor or disk makes us answer."""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydicom.uid import ExplicitVRLittleEndian
from pynetdicom import AE, evt
from pynetdicom.association import Association
from pynetdicom.pdu import P_DATA_TF
from pynetdicom.pdu_primitives import MaximumLengthNotification

from dicom_listener.server import Listener
from dicom_listener.spool import Spool, reap_orphans
from dicom_listener.wire import ListenerSocket
from triage.ingest.result import StoreStatus
from triage.settings import Settings

from .conftest import RecordingIngest, StartListener, associate, files_under, make_settings
from .factory import BASIC_TEXT_SR, US_IMAGE, data_set_bytes, make_dataset, write

IMAGE_CX = [(US_IMAGE, [ExplicitVRLittleEndian])]


def _wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def _partials(settings: Settings) -> list[Path]:
    return [p for p in files_under(settings.tmp_dir) if p.suffix == ".part"]


def _no_associations(listener: Listener) -> bool:
    return not [a for a in listener.ae.active_associations if a.is_acceptor]


def test_large_object_is_spooled_under_tmp_dir_then_handed_over(
    tmp_path: Path, settings: Settings, start_listener: StartListener
) -> None:
    ingest = RecordingIngest()
    listener = start_listener(ingest=ingest)
    seen: list[Path] = []
    original = ingest.ingest_file

    def ingest_file(path: Path, **kwargs: Any) -> Any:
        seen.append(path)
        return original(path, **kwargs)

    ingest.ingest_file = ingest_file  # type: ignore[method-assign]
    path = write(make_dataset(US_IMAGE, frame_bytes=2_000_000), tmp_path / "big.dcm")
    assoc = associate(listener, IMAGE_CX)
    assert int(assoc.send_c_store(path).Status) == 0
    assoc.release()
    assert len(seen) == 1
    assert seen[0].resolve().is_relative_to(settings.tmp_dir.resolve())
    assert data_set_bytes(ingest.received[0]) == data_set_bytes(path)
    assert ingest.calling_aes == ["PACS"]
    assert _partials(settings) == []


@pytest.mark.parametrize("how", ["a-abort", "connection-lost"])
def test_transfer_cut_short_leaves_no_partial_file(
    tmp_path: Path, start_listener: StartListener, how: str
) -> None:
    # A small advertised maximum PDU makes the sender fragment, so we can cut in between.
    settings = make_settings(tmp_path, maximum_pdu_size=16384)
    ingest = RecordingIngest()
    listener = start_listener(settings=settings, ingest=ingest)
    path = write(make_dataset(US_IMAGE, frame_bytes=1_000_000), tmp_path / "big.dcm")
    sent = {"pdata": 0}
    partial_seen: list[bool] = []

    def cut(event: evt.Event) -> None:
        if not isinstance(event.pdu, P_DATA_TF):
            return
        sent["pdata"] += 1
        if sent["pdata"] != 20:
            return
        # our side has started writing the object: now the sender goes away
        partial_seen.append(_wait_for(lambda: bool(_partials(settings)), 5))
        wrapper = event.assoc.dul.socket
        assert wrapper is not None
        sock = wrapper.socket
        assert sock is not None
        if how == "a-abort":
            sock.sendall(bytes([0x07, 0, 0, 0, 0, 4, 0, 0, 0, 0]))
        sock.shutdown(socket.SHUT_RDWR)

    ae = AE(ae_title="PACS")
    ae.add_requested_context(US_IMAGE, ExplicitVRLittleEndian)
    host, port = listener.address
    assoc = ae.associate(host, port, ae_title="MSKTRIAGE", evt_handlers=[(evt.EVT_PDU_SENT, cut)])
    assert assoc.is_established
    sender = threading.Thread(target=lambda: assoc.send_c_store(path), daemon=True)
    sender.start()
    sender.join(30)
    assoc.abort()
    assert partial_seen == [True]
    assert _wait_for(lambda: _no_associations(listener))
    assert _partials(settings) == []
    assert ingest.received == []


def test_pdu_over_the_limit_drops_the_peer_before_reading_it(
    tmp_path: Path, start_listener: StartListener
) -> None:
    settings = make_settings(tmp_path, maximum_pdu_size=0, pdu_receive_limit=1024 * 1024)
    ingest = RecordingIngest()
    listener = start_listener(settings=settings, ingest=ingest)
    path = write(make_dataset(US_IMAGE, frame_bytes=2_000_000), tmp_path / "big.dcm")
    assoc = associate(listener, IMAGE_CX)
    # our maximum is unlimited, so pynetdicom sends the data set as one 2 MB PDU
    status = assoc.send_c_store(path)
    assoc.abort()
    assert "Status" not in status  # no response: the connection was closed
    assert _wait_for(lambda: _no_associations(listener))
    assert ingest.received == []
    assert _partials(settings) == []


def test_advertised_maximum_bounds_what_we_read(
    tmp_path: Path, start_listener: StartListener
) -> None:
    settings = make_settings(tmp_path, maximum_pdu_size=16384)
    ingest = RecordingIngest()
    listener = start_listener(settings=settings, ingest=ingest)
    path = write(make_dataset(US_IMAGE, frame_bytes=2_000_000), tmp_path / "big.dcm")
    assoc = associate(listener, IMAGE_CX)
    assert int(assoc.send_c_store(path).Status) == 0  # a conformant sender fragments
    # now a sender that ignores our maximum and sends the data set as one PDU
    for item in assoc.acceptor.user_information:
        if isinstance(item, MaximumLengthNotification):
            item.maximum_length_received = 0
    status = assoc.send_c_store(write(make_dataset(US_IMAGE, frame_bytes=2_000_000), path))
    assoc.abort()
    assert "Status" not in status
    assert len(ingest.received) == 1


def test_small_objects_are_spooled_too(tmp_path: Path, start_listener: StartListener) -> None:
    ingest = RecordingIngest()
    seen: list[str] = []
    listener = start_listener(ingest=ingest)
    real_file, real_bytes = ingest.ingest_file, ingest.ingest_bytes

    def via_file(path: Path, **kw: Any) -> Any:
        seen.append("file")
        return real_file(path, **kw)

    def via_bytes(data: bytes, **kw: Any) -> Any:
        seen.append("bytes")
        return real_bytes(data, **kw)

    ingest.ingest_file = via_file  # type: ignore[method-assign]
    ingest.ingest_bytes = via_bytes  # type: ignore[method-assign]
    assoc = associate(listener, [(BASIC_TEXT_SR, [ExplicitVRLittleEndian])])
    assert int(assoc.send_c_store(write(make_dataset(), tmp_path / "sr.dcm")).Status) == 0
    assoc.release()
    assert seen == ["file"]


def test_objects_inline_up_to_the_limit_go_as_bytes(
    tmp_path: Path, settings: Settings, start_listener: StartListener
) -> None:
    ingest = RecordingIngest()
    listener = start_listener(ingest=ingest, inline_limit=64 * 1024)
    path = write(make_dataset(), tmp_path / "sr.dcm")
    assoc = associate(listener, [(BASIC_TEXT_SR, [ExplicitVRLittleEndian])])
    assert int(assoc.send_c_store(path).Status) == 0
    assoc.release()
    assert data_set_bytes(ingest.received[0]) == data_set_bytes(path)


def test_ingestor_exception_is_answered_out_of_resources(
    tmp_path: Path, settings: Settings, start_listener: StartListener
) -> None:
    class Exploding(RecordingIngest):
        def ingest_file(self, path: Path, **kwargs: Any) -> Any:
            raise RuntimeError("boom")

    listener = start_listener(ingest=Exploding())
    assoc = associate(listener, [(BASIC_TEXT_SR, [ExplicitVRLittleEndian])])
    statuses = [
        int(assoc.send_c_store(write(make_dataset(), tmp_path / f"{i}.dcm")).Status)
        for i in range(2)
    ]
    assoc.release()
    assert statuses == [StoreStatus.OUT_OF_RESOURCES] * 2
    assert _partials(settings) == []


def test_refusal_status_from_the_ingestor_is_passed_on(
    tmp_path: Path, start_listener: StartListener
) -> None:
    listener = start_listener(ingest=RecordingIngest(status=StoreStatus.CANNOT_UNDERSTAND))
    assoc = associate(listener, [(BASIC_TEXT_SR, [ExplicitVRLittleEndian])])
    status = int(assoc.send_c_store(write(make_dataset(), tmp_path / "a.dcm")).Status)
    assoc.release()
    assert status == StoreStatus.CANNOT_UNDERSTAND


def test_spool_write_failure_is_answered_out_of_resources(
    tmp_path: Path, settings: Settings, start_listener: StartListener, monkeypatch: Any
) -> None:
    ingest = RecordingIngest()
    listener = start_listener(ingest=ingest)
    real_write = os.write

    def disk_full(fd: int, data: Any) -> int:
        if len(data) > 100_000:
            raise OSError(28, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", disk_full)
    assoc = associate(listener, IMAGE_CX)
    path = write(make_dataset(US_IMAGE, frame_bytes=1_000_000), tmp_path / "big.dcm")
    status = int(assoc.send_c_store(path).Status)
    monkeypatch.undo()
    ok = int(assoc.send_c_store(path).Status)
    assoc.release()
    assert (status, ok) == (StoreStatus.OUT_OF_RESOURCES, 0)
    assert len(ingest.received) == 1
    assert _partials(settings) == []


def test_quickack_is_set_before_every_receive() -> None:
    if not hasattr(socket, "TCP_QUICKACK"):
        pytest.skip("TCP_QUICKACK is Linux only")
    calls: list[tuple[str, Any]] = []

    class Recorder:
        def __init__(self, sock: socket.socket) -> None:
            self.sock = sock

        def setsockopt(self, level: int, option: int, value: int) -> None:
            calls.append(("setsockopt", (level, option, value)))
            self.sock.setsockopt(level, option, value)

        def recv_into(self, buffer: Any, nbytes: int = 0) -> int:
            n = self.sock.recv_into(buffer, nbytes)
            calls.append(("recv", n))
            return n

    server = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(server.getsockname())
    accepted, _ = server.accept()
    try:
        assoc = Association(AE(), "acceptor")
        wrapped = ListenerSocket(assoc, accepted, pdu_limit=1 << 20)
        wrapped.socket = Recorder(accepted)  # type: ignore[assignment]
        client.sendall(b"abcdef")
        assert wrapped.recv(6) == b"abcdef"
        client.sendall(b"x" * 10)
        assert wrapped.recv(10) == b"x" * 10
    finally:
        client.close()
        accepted.close()
        server.close()
    quickack = ("setsockopt", (socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1))
    for i, call in enumerate(calls):
        if call[0] == "recv":
            assert calls[i - 1] == quickack


def test_orphaned_spool_folders_are_reaped_and_live_ones_kept(tmp_path: Path) -> None:
    tmp = tmp_path / "tmp"
    live = Spool(tmp)
    live_file = live.new_file()
    live_file.write(b"partial")
    dead = tmp / "rx-dead"
    dead.mkdir()
    (dead / "x.part").write_bytes(b"phi")
    assert reap_orphans(tmp) == 1
    assert not dead.exists()
    assert live_file.path.exists()
    second = Spool(tmp)  # a second listener on the same data dir leaves ours alone
    assert live_file.path.exists()
    live_file.close()
    live.close()
    second.close()
    assert list(tmp.iterdir()) == []


def test_large_fragments_are_queued_for_writing_as_they_arrive(
    tmp_path: Path, monkeypatch: Any
) -> None:
    from dicom_listener import spool as spool_module
    from dicom_listener import writeback

    if sys.platform.startswith("linux"):
        assert writeback.AVAILABLE
    calls: list[tuple[int, int]] = []

    def record(fd: int, offset: int, length: int) -> None:
        calls.append((offset, length))
        writeback.start_writeback(fd, offset, length)

    monkeypatch.setattr(spool_module, "start_writeback", record)
    folder = Spool(tmp_path / "tmp")
    f = folder.new_file()
    f.write(b"h" * 300)  # the header: too small to bother
    f.write(b"a" * 131_060)
    f.write(b"b" * 131_060)
    f.close()
    assert calls == [(300, 131_060), (131_360, 131_060)]
    assert f.path.read_bytes() == b"h" * 300 + b"a" * 131_060 + b"b" * 131_060
    folder.close()


def test_data_on_a_context_we_did_not_accept_is_not_kept(
    tmp_path: Path, settings: Settings, start_listener: StartListener
) -> None:
    from io import BytesIO

    from pynetdicom.dimse_primitives import C_STORE

    ingest = RecordingIngest()
    listener = start_listener(ingest=ingest)
    assoc = associate(listener, IMAGE_CX)
    request = C_STORE()
    request.MessageID = 1
    request.AffectedSOPClassUID = US_IMAGE
    request.AffectedSOPInstanceUID = "1.2.3.4"
    request.Priority = 2
    request.DataSet = BytesIO(b"\x00" * 2_000_000)
    assoc.dimse.send_msg(request, 99)  # a context ID that was never negotiated
    assert _wait_for(lambda: assoc.is_aborted)
    assert _wait_for(lambda: _no_associations(listener))
    assert ingest.received == []
    assert _partials(settings) == []


def test_a_command_set_that_never_ends_aborts_the_association(
    start_listener: StartListener,
) -> None:
    from pynetdicom.pdu_primitives import P_DATA

    listener = start_listener(ingest=RecordingIngest())
    assoc = associate(listener, IMAGE_CX)
    context_id = assoc.accepted_contexts[0].context_id
    assert context_id is not None
    for _ in range(8):  # 8 x 16 KB command fragments, none marked "last"
        pdata = P_DATA()
        pdata.presentation_data_value_list.append((context_id, b"\x01" + b"\x00" * 16_000))
        assoc.dul.send_pdu(pdata)
    assert _wait_for(lambda: assoc.is_aborted)
    assert _wait_for(lambda: _no_associations(listener))
