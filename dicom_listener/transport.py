"""Our subclasses of pynetdicom's server, request handler and association.

Written against pynetdicom 3.0.x (pinned); each override says which trap it closes:

- ``ListenerServer`` takes no ``ssl_context`` from pynetdicom, whose ``get_request`` would
  run the TLS handshake in the accept loop, so one idle client blocks every new
  connection. ``ListenerRequestHandler.handle`` does the handshake in the connection's
  own thread with the ACSE timeout.
- ``ListenerSocket`` and ``ListenerDUL`` (``wire.py``): TCP_QUICKACK, large reads, the
  PDU limit, and a reader woken by the socket instead of polling.
- ``ListenerAssociation`` receives C-STORE data sets into spool files (``receive.py``)
  and deletes any partial file when the association ends, however it ends; and it
  accepts the transfer syntax the requestor proposed first (pynetdicom would take the
  first of ours), so objects arrive the way the sender holds them.
- In a listener process of a pool (``pool.py``) ``ListenerServer`` has no listening
  socket of its own: the parent accepts and hands each connection over
  (``serve_connection``), and tells it when the association limit, which the parent
  keeps for all processes together, is reached.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import threading
from collections import Counter
from collections.abc import Callable
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
from pynetdicom.acse import ACSE
from pynetdicom.association import Association
from pynetdicom.transport import (
    RequestHandler,
    ThreadedAssociationServer,
)

from dicom_listener.contexts import follow_requestor_order
from dicom_listener.receive import SpoolingDIMSEProvider
from dicom_listener.spool import AssociationSpool, Spool
from dicom_listener.wire import ListenerDUL, ListenerSocket, peer_name

if TYPE_CHECKING:
    from pynetdicom.ae import ApplicationEntity

LOGGER = logging.getLogger(__name__)

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


class ListenerAssociation(Association):
    """An acceptor association that spools C-STORE data sets and cleans up after itself.

    ``over_limit``: reject it as pynetdicom does when too many associations are open
    (the pool's parent counts them across processes); ``on_end`` runs once it has ended.
    """

    def __init__(
        self,
        ae: ApplicationEntity,
        spool: AssociationSpool,
        inline_limit: int,
        *,
        over_limit: bool = False,
        on_end: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(ae, MODE_ACCEPTOR)
        self.spool = spool
        self.on_end = on_end
        if over_limit:
            self.acse = _OverLimitACSE(self)
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

    def _abort_blocking(self, block: bool = True) -> None:
        """Requests are served in the reader (DUL) thread (``receive.py``), where
        pynetdicom aborts for a request it cannot serve (a context it did not accept, an
        exception in the service class). A blocking abort there would wait for that very
        thread to stop, forever; there it only queues the A-ABORT, and the association's
        own thread finishes the abort (``_run_reactor``)."""
        if block and threading.current_thread() is self.dul:
            block = False
        super()._abort_blocking(block)

    def kill(self) -> None:
        if threading.current_thread() is self.dul:
            # The reader cannot wait for itself to stop: it stops once this returns.
            self._reactor_checkpoint.set()
            self._kill = True
            self.is_established = False
            self.dul.kill_dul()
            return
        super().kill()

    def _finish_abort(self) -> None:
        # What a blocking abort does after queueing the A-ABORT.
        self.kill()
        with contextlib.suppress(Exception):
            self.dul.socket._shutdown_socket()  # type: ignore[union-attr]

    def _run_reactor(self) -> None:
        """pynetdicom's acceptor loop (3.0.4) without its 1 ms sleep before each look
        for a request: ``get_msg`` waits for one instead (``receive.py``), so the next
        request is served as soon as it is decoded (the sleep, under load a wait for
        the GIL as well, cost 1-3 ms per object)."""
        self._is_paused = False
        while not self._kill:
            # The reactor may be paused by our own send_*() calls (never made here).
            self._is_paused = True
            self._reactor_checkpoint.wait()
            self._is_paused = False

            context_id, msg = self.dimse.get_msg(block=False)
            if msg and context_id is not None:
                self._serve_request(msg, context_id)

            if self._sent_abort:
                self._finish_abort()
                return

            if self.is_established and self.acse.is_release_requested():
                self.acse.send_release(is_response=True)
                LOGGER.debug("association released by %s", peer_name(self))
                self.is_released = True
                self.is_established = False
                evt.trigger(self, evt.EVT_RELEASED, {})
                self.kill()
                return

            if self.acse.is_aborted():
                LOGGER.debug(
                    "association with %s aborted%s",
                    peer_name(self),
                    " (A-P-ABORT)" if self.acse.is_aborted("a-p-abort") else "",
                )
                self.dul.receive_pdu(wait=False)  # so EVT_ACSE_RECV fires
                self.is_aborted = True
                self.is_established = False
                evt.trigger(self, evt.EVT_ABORTED, {})
                self.kill()
                return

            if not self.dul.is_alive():
                self.kill()
                return

            if self.dul.idle_timer_expired():
                LOGGER.error("network timeout with %s: no PDU for too long", peer_name(self))
                if self.network_timeout_response == "A-RELEASE":
                    self._is_paused = True
                    self._reactor_checkpoint.wait()
                    self.release()
                    self._is_paused = False
                else:
                    self.abort()
                self.kill()
                return

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
                LOGGER.info("%s: deleted %d partially received object(s)", peer_name(self), left)
            if self.outcomes:
                summary = ", ".join(f"{n} {k}" for k, n in sorted(self.outcomes.items()))
                LOGGER.info("association from %s ended: %s", peer_name(self), summary)
            if self.on_end is not None:
                self.on_end()


class _OverLimitACSE(ACSE):
    """Answers the association request with A-ASSOCIATE-RJ rejected-transient,
    service-provider (presentation), local-limit-exceeded: what pynetdicom answers when
    its own count of associations is over the maximum."""

    def _negotiate_as_acceptor(self) -> None:
        assoc = self.assoc
        request = assoc.requestor.primitive
        if request is not None:
            assoc.requestor.ae_title = request.calling_ae_title
        LOGGER.info(
            "rejecting an association from %s: %d associations are open already",
            peer_name(assoc),
            assoc.ae.maximum_associations,
        )
        self.send_reject(0x02, 0x03, 0x02)
        evt.trigger(assoc, evt.EVT_REJECTED, {})
        assoc.kill()


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

    def __init__(
        self,
        request: Any,
        client_address: Any,
        server: BaseServer,
        *,
        over_limit: bool = False,
        on_end: Callable[[], None] | None = None,
    ) -> None:
        self.over_limit = over_limit
        self.on_end = on_end
        super().__init__(request, client_address, server)

    def handle(self) -> None:
        started = False
        try:
            started = self._handle()
        finally:
            if not started and self.on_end is not None:
                self.on_end()

    def _handle(self) -> bool:
        """Start the connection's association; whether one was started."""
        sock: socket.socket = self.request
        server = self.server
        if server.tls_context is not None:
            tls = _tls_handshake(sock, server.tls_context, server.ae.acse_timeout)
            if tls is None:
                LOGGER.info("TLS handshake with %s failed or timed out", self.client_address[0])
                _close_quietly(sock)
                return False
            sock = self.request = tls
        # Without a timeout a peer that stops mid-PDU would hold the reader thread forever.
        sock.settimeout(server.ae.network_timeout)
        assoc = self._create_association()
        evt.trigger(assoc, evt.EVT_CONN_OPEN, {"address": self.client_address})
        assoc.start()
        return True

    def _create_association(self) -> ListenerAssociation:
        # As pynetdicom's RequestHandler._create_association, with our classes.
        server = self.server
        ae = self.ae
        assoc = ListenerAssociation(
            ae,
            server.spool.for_association(),
            server.inline_limit,
            over_limit=self.over_limit,
            on_end=self.on_end,
        )
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
        listen: bool = True,
    ) -> None:
        """With ``listen=False`` no socket is bound: connections come through
        ``serve_connection`` and ``address`` is only what the associations are told."""
        self.spool = spool
        self.inline_limit = inline_limit
        self.pdu_limit = pdu_limit
        self.tls_context = tls_context
        self.listening = listen
        super().__init__(
            ae,
            address,
            ae_title,
            contexts,
            None,  # never pynetdicom's in-accept-loop handshake, see module docstring
            evt_handlers=evt_handlers,
            request_handler=ListenerRequestHandler,
        )

        if not listen and self.socket is not None:
            self.socket.close()  # made by socketserver, never bound

    def server_bind(self) -> None:
        if self.listening:
            super().server_bind()

    def server_activate(self) -> None:
        if self.listening:
            super().server_activate()

    def _bind_defaults(self) -> None:
        super()._bind_defaults()
        _drop_standard_logging(self)

    def serve_connection(
        self,
        sock: socket.socket,
        address: tuple[str, int],
        *,
        over_limit: bool,
        on_end: Callable[[], None],
    ) -> None:
        """Serve a connection accepted elsewhere, in a thread of its own, as
        ``process_request`` does; ``on_end`` runs once whatever it started has ended."""
        threading.Thread(
            target=self._serve_connection,
            args=(sock, address, over_limit, on_end),
            name="dicom-listener-connection",
            daemon=True,
        ).start()

    def _serve_connection(
        self,
        sock: socket.socket,
        address: tuple[str, int],
        over_limit: bool,
        on_end: Callable[[], None],
    ) -> None:
        try:
            ListenerRequestHandler(sock, address, self, over_limit=over_limit, on_end=on_end)
        except Exception:
            self.handle_error(sock, address)
            self.shutdown_request(sock)

    def shutdown(self) -> None:
        """Stop accepting and close the listening socket (associations keep running)."""
        if self.listening:
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
