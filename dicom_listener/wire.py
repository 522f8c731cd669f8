"""The reading side of a connection: our pynetdicom socket and DUL reader.

- ``ListenerSocket.recv`` sets TCP_QUICKACK before each receive (a sender with Nagle on
  otherwise waits for our delayed ACK, ~40 ms per small object), reads with large
  ``recv_into`` calls instead of 4 KiB ``recv`` calls, and refuses a PDU longer than the
  configured limit before allocating it (pynetdicom reads any advertised length).
- ``ListenerDUL`` and ``ListenerSocket.ready``: pynetdicom's reader thread polls, sleeping
  1 ms whenever idle, which adds about a millisecond to each request and each response.
  Ours waits in ``select`` on the socket and a wake-up pipe that ``send_pdu`` writes to,
  so it reacts at once to data from the peer and to a response to send. Its loop does
  not even ``sleep(0)`` between events: each such yield of the GIL costs a thread up to
  the interpreter's switch interval (5 ms) whenever another thread is busy.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import select
import socket
import ssl
import threading
import time
from typing import Any

from pynetdicom.association import Association
from pynetdicom.dul import DULServiceProvider
from pynetdicom.pdu import A_ABORT_RQ
from pynetdicom.transport import AssociationSocket

LOGGER = logging.getLogger(__name__)

_TCP_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)  # Linux only
# Longest wait for data when the reader has nothing else to do; it bounds how late the
# DUL's timers (ARTIM, network idle) and a stop are noticed.
_IDLE_WAIT = 0.05
_IDLE_PAUSE = 0.001
# Large enough for a whole PDU of a fast sender in one call, small enough not to matter.
_RECV_CHUNK = 1 << 20


class PduTooLongError(OSError):
    """A peer announced a PDU longer than we accept."""


class ListenerDUL(DULServiceProvider):
    """pynetdicom's DUL reader, woken through a pipe instead of polling (module docstring)."""

    def __init__(self, assoc: Association) -> None:
        super().__init__(assoc)
        self._run_loop_delay = 0  # it waits in ListenerSocket.ready instead
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)

    def send_pdu(self, primitive: Any) -> None:
        super().send_pdu(primitive)
        self.wake()

    def wake(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self.wake_w, b"\0")

    def drain(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            while os.read(self.wake_r, 4096):
                pass

    def run_reactor(self) -> None:
        """pynetdicom's DUL loop (3.0.4), without its sleep between events: the wait for
        something to do is in ``ListenerSocket.ready``."""
        self._idle_timer.start()
        while True:
            if not self.assoc._dul_ready.is_set():
                self.assoc._dul_ready.set()
            if self._kill_thread:
                break
            # The ARTIM timer first, so its event is queued ahead of any other.
            if self.artim_timer.expired:
                self.event_queue.put("Evt18")
            try:
                # Per loop: send one primitive, or receive and decode one PDU.
                if self._process_recv_primitive():
                    pass
                elif self._is_transport_event():
                    self._idle_timer.restart()
            except Exception as exc:
                self._abort_after(exc)
                return
            try:
                event = self.event_queue.get(block=False)
            except queue.Empty:
                continue
            self.state_machine.do_action(event)

    def _abort_after(self, exc: Exception) -> None:
        # As pynetdicom: bypass the state machine (its state is unknown now), send an
        # A-ABORT and stop both reactors.
        LOGGER.error("Exception in DUL.run(), aborting association")
        LOGGER.exception(exc)
        abort_pdu = A_ABORT_RQ()
        abort_pdu.source = 0x02
        abort_pdu.reason_diagnostic = 0x00
        if self.socket is not None:
            with contextlib.suppress(OSError):
                self.socket.send(abort_pdu.encode())
        self.assoc.is_aborted = True
        self.assoc.is_established = False
        self.assoc._kill = True
        self._kill_thread = True

    def send_now(self, pdu: bytes) -> bool:
        """Send an encoded P-DATA-TF from the calling thread, if the association is
        established and nothing is queued before it; False: queue it instead.

        Saves a hand-over to the reader thread (a wake-up, a pass through the state
        machine, a GIL hand-over) for each response. P-DATA does not change the state
        (Sta6); sends from here and from the reader share ``ListenerSocket``'s lock."""
        sock = self.socket
        if (
            not isinstance(sock, ListenerSocket)
            or self.state_machine.current_state != "Sta6"
            or not self.to_provider_queue.empty()
        ):
            return False
        sock.send(pdu)
        return True

    def close_pipe(self) -> None:
        for fd in (self.wake_r, self.wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)


class ListenerSocket(AssociationSocket):
    def __init__(self, assoc: Association, client_socket: socket.socket, pdu_limit: int) -> None:
        super().__init__(assoc, client_socket=client_socket)
        self._pdu_limit = pdu_limit
        self._send_lock = threading.Lock()

    def send(self, bytestream: bytes) -> None:
        # The reader thread and ``ListenerDUL.send_now`` both send: one PDU at a time.
        with self._send_lock:
            super().send(bytestream)

    @property
    def ready(self) -> bool:
        """Whether the peer sent data; waits up to ``_IDLE_WAIT`` unless the DUL has work."""
        sock = self.socket
        dul = self.assoc.dul
        if sock is None or not self._is_connected or not isinstance(dul, ListenerDUL):
            time.sleep(_IDLE_PAUSE)  # as pynetdicom's reactor would, instead of spinning
            return False
        if isinstance(sock, ssl.SSLSocket) and sock.pending():
            return True  # decrypted bytes select() cannot see
        busy = not dul.event_queue.empty() or not dul.to_provider_queue.empty()
        try:
            fd = sock.fileno()
            readable, _, _ = select.select([fd, dul.wake_r], [], [], 0 if busy else _IDLE_WAIT)
        except (OSError, ValueError):
            self.event_queue.put("Evt17")  # transport connection closed
            return False
        if dul.wake_r in readable:
            dul.drain()
        return fd in readable

    def recv(self, nr_bytes: int) -> bytearray:
        sock = self.socket
        if sock is None:
            raise OSError("the connection is closed")
        if nr_bytes > self._pdu_limit:
            LOGGER.warning(
                "closing the connection from %s: it sent a PDU of %d bytes, over our limit of %d",
                peer_name(self.assoc),
                nr_bytes,
                self._pdu_limit,
            )
            raise PduTooLongError(f"PDU of {nr_bytes} bytes is over the limit {self._pdu_limit}")
        buf = bytearray(nr_bytes)
        with memoryview(buf) as view:
            got = 0
            while got < nr_bytes:
                if _TCP_QUICKACK is not None:
                    # Not sticky: the kernel may fall back to delayed ACKs at any time.
                    sock.setsockopt(socket.IPPROTO_TCP, _TCP_QUICKACK, 1)
                n = sock.recv_into(view[got : got + _RECV_CHUNK])
                if not n:
                    break  # peer closed; the DUL sees the short read and closes too
                got += n
        return buf if got == nr_bytes else buf[:got]


def peer_name(assoc: Association) -> str:
    try:
        requestor = assoc.requestor
        return f"{requestor.ae_title or '?'}@{requestor.address}:{requestor.port}"
    except Exception:  # logging must never fail
        return "?"
