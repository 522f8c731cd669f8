"""Our subclasses of pynetdicom's server, request handler, association and socket.

Written against pynetdicom 3.0.x (pinned); each override says which trap it closes:

- ``ListenerServer`` takes no ``ssl_context`` from pynetdicom, whose ``get_request`` would
  run the TLS handshake in the accept loop, so one idle client blocks every new
  connection. ``ListenerRequestHandler.handle`` does the handshake in the connection's
  own thread with the ACSE timeout.
- ``ListenerSocket.recv`` sets TCP_QUICKACK before each receive (a sender with Nagle on
  otherwise waits for our delayed ACK, ~40 ms per small object), reads with large
  ``recv_into`` calls instead of 4 KiB ``recv`` calls, and refuses a PDU longer than the
  configured limit before allocating it (pynetdicom reads any advertised length).
- ``ListenerDUL`` and ``ListenerSocket.ready``: pynetdicom's reader thread polls, sleeping
  1 ms whenever idle, which adds about a millisecond to each request and each response.
  Ours waits in ``select`` on the socket and a wake-up pipe that ``send_pdu`` writes to,
  so it reacts at once to data from the peer and to a response to send.
- ``ListenerAssociation`` receives C-STORE data sets into spool files (``receive.py``)
  and deletes any partial file when the association ends, however it ends; and it
  accepts the transfer syntax the requestor proposed first (pynetdicom would take the
  first of ours), so objects arrive the way the sender holds them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import socket
import ssl
import threading
import time
from collections import Counter
from datetime import datetime
from socketserver import BaseServer
from typing import TYPE_CHECKING, Any

from pynetdicom import evt
from pynetdicom._globals import MODE_ACCEPTOR
from pynetdicom._handlers import (
    standard_dimse_recv_handler,
    standard_dimse_sent_handler,
    standard_pdu_recv_handler,
    standard_pdu_sent_handler,
)
from pynetdicom.association import Association
from pynetdicom.dul import DULServiceProvider
from pynetdicom.transport import (
    AssociationSocket,
    RequestHandler,
    ThreadedAssociationServer,
)

from dicom_listener.contexts import follow_requestor_order
from dicom_listener.receive import SpoolingDIMSEProvider
from dicom_listener.spool import AssociationSpool, Spool

if TYPE_CHECKING:
    from pynetdicom.ae import ApplicationEntity

LOGGER = logging.getLogger(__name__)

_TCP_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)  # Linux only
# Longest wait for data when the reader has nothing else to do; it bounds how late the
# DUL's timers (ARTIM, network idle) and a stop are noticed.
_IDLE_WAIT = 0.05
_IDLE_PAUSE = 0.001
# Large enough for a whole PDU of a fast sender in one call, small enough not to matter.
_RECV_CHUNK = 1 << 20


# pynetdicom's logging handlers run for every PDU and DIMSE message even when nothing is
# logged (formatting, a copy of an in-memory data set): ~5 % of our CPU. Only at DEBUG.
_STANDARD_LOGGING = (
    (evt.EVT_DIMSE_RECV, standard_dimse_recv_handler),
    (evt.EVT_DIMSE_SENT, standard_dimse_sent_handler),
    (evt.EVT_PDU_RECV, standard_pdu_recv_handler),
    (evt.EVT_PDU_SENT, standard_pdu_sent_handler),
)
_PYNETDICOM_LOG = logging.getLogger("pynetdicom")


def _drop_standard_logging(target: Association | ThreadedAssociationServer) -> None:
    if not _PYNETDICOM_LOG.isEnabledFor(logging.DEBUG):
        for event, handler in _STANDARD_LOGGING:
            target.unbind(event, handler)


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

    def close_pipe(self) -> None:
        for fd in (self.wake_r, self.wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)


class ListenerSocket(AssociationSocket):
    def __init__(self, assoc: Association, client_socket: socket.socket, pdu_limit: int) -> None:
        super().__init__(assoc, client_socket=client_socket)
        self._pdu_limit = pdu_limit

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
                _peer(self.assoc),
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


class ListenerAssociation(Association):
    """An acceptor association that spools C-STORE data sets and cleans up after itself."""

    def __init__(self, ae: ApplicationEntity, spool: AssociationSpool, inline_limit: int) -> None:
        super().__init__(ae, MODE_ACCEPTOR)
        self.spool = spool
        self.dul = ListenerDUL(self)
        # The timers live in the DUL: set them again on ours.
        self.acse_timeout = ae.acse_timeout
        self.network_timeout = ae.network_timeout
        self.dimse = SpoolingDIMSEProvider(self, spool, inline_limit)
        self.outcomes: Counter[str] = Counter()
        self.stats_lock = threading.Lock()
        # Runs once the A-ASSOCIATE-RQ is read, before it is negotiated.
        self.bind(evt.EVT_REQUESTED, _follow_requestor_order)

    def _bind_defaults(self) -> None:
        super()._bind_defaults()
        _drop_standard_logging(self)

    def count(self, outcome: str) -> None:
        with self.stats_lock:
            self.outcomes[outcome] += 1

    def run_reactor(self) -> None:
        try:
            super().run_reactor()
        finally:
            # The reader (DUL) thread may still be finishing a fragment.
            if self.dul.is_alive():
                self.dul.join(timeout=5)
            if isinstance(self.dul, ListenerDUL) and not self.dul.is_alive():
                self.dul.close_pipe()
            left = self.spool.discard_all()
            if left:
                LOGGER.info("%s: deleted %d partially received object(s)", _peer(self), left)
            if self.outcomes:
                summary = ", ".join(f"{n} {k}" for k, n in sorted(self.outcomes.items()))
                LOGGER.info("association from %s ended: %s", _peer(self), summary)


def _follow_requestor_order(event: evt.Event) -> None:
    assoc = event.assoc
    request = assoc.requestor.primitive
    if request is None:
        return
    assoc.acceptor.supported_contexts = follow_requestor_order(
        request.presentation_context_definition_list, assoc.acceptor.supported_contexts
    )


class ListenerRequestHandler(RequestHandler):
    server: ListenerServer

    def handle(self) -> None:
        sock: socket.socket = self.request
        server = self.server
        if server.tls_context is not None:
            tls = _tls_handshake(sock, server.tls_context, server.ae.acse_timeout)
            if tls is None:
                LOGGER.info("TLS handshake with %s failed or timed out", self.client_address[0])
                _close_quietly(sock)
                return
            sock = self.request = tls
        # Without a timeout a peer that stops mid-PDU would hold the reader thread forever.
        sock.settimeout(server.ae.network_timeout)
        assoc = self._create_association()
        evt.trigger(assoc, evt.EVT_CONN_OPEN, {"address": self.client_address})
        assoc.start()

    def _create_association(self) -> ListenerAssociation:
        # As pynetdicom's RequestHandler._create_association, with our classes.
        server = self.server
        ae = self.ae
        assoc = ListenerAssociation(ae, server.spool.for_association(), server.inline_limit)
        assoc._server = server
        timestamp = datetime.strftime(datetime.now(), "%Y%m%d%H%M%S")
        assoc.name = f"AcceptorThread@{timestamp}"
        assoc.set_socket(ListenerSocket(assoc, self.request, server.pdu_limit))

        assoc.acceptor.maximum_length = ae.maximum_pdu_size
        assoc.acceptor.ae_title = server.ae_title
        assoc.acceptor.address_info = self.local
        assoc.acceptor.implementation_class_uid = ae.implementation_class_uid
        assoc.acceptor.implementation_version_name = ae.implementation_version_name
        # Shared, not copied: negotiation only reads them, and _follow_requestor_order
        # gives each association its own before it negotiates.
        assoc.acceptor.supported_contexts = server.contexts
        assoc.requestor.address_info = self.remote

        for event, bound in server._handlers.items():
            if isinstance(bound, tuple):  # intervention event: one (handler, args)
                if bound[0] is not None:
                    assoc.bind(event, bound[0], bound[1])
            else:
                for handler, args in bound:
                    assoc.bind(event, handler, args)
        return assoc


class ListenerServer(ThreadedAssociationServer):
    daemon_threads = True  # per-connection threads only hand over to the association

    def __init__(
        self,
        ae: ApplicationEntity,
        address: tuple[str, int],
        ae_title: str,
        contexts: list[Any],
        ssl_context: ssl.SSLContext | None = None,
        evt_handlers: list[Any] | None = None,
        *,
        spool: Spool,
        inline_limit: int,
        pdu_limit: int,
        tls_context: ssl.SSLContext | None,
    ) -> None:
        self.spool = spool
        self.inline_limit = inline_limit
        self.pdu_limit = pdu_limit
        self.tls_context = tls_context
        super().__init__(
            ae,
            address,
            ae_title,
            contexts,
            None,  # never pynetdicom's in-accept-loop handshake, see module docstring
            evt_handlers=evt_handlers,
            request_handler=ListenerRequestHandler,
        )

    def _bind_defaults(self) -> None:
        super()._bind_defaults()
        _drop_standard_logging(self)

    def shutdown(self) -> None:
        """Stop accepting and close the listening socket (associations keep running)."""
        BaseServer.shutdown(self)
        self.server_close()


def _tls_handshake(
    sock: socket.socket, context: ssl.SSLContext, timeout: float | None
) -> ssl.SSLSocket | None:
    try:
        sock.settimeout(timeout)
        tls = context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        tls.do_handshake()
    except (OSError, ValueError):
        return None
    return tls


def _close_quietly(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


def _peer(assoc: Association) -> str:
    try:
        requestor = assoc.requestor
        return f"{requestor.ae_title or '?'}@{requestor.address}:{requestor.port}"
    except Exception:  # logging must never fail
        return "?"
