"""The listener: an AE built from the settings, served on a background thread.

``Listener.start`` binds the port itself; in a listener process of a pool
(``pool.py``) ``Listener.start_handed_over`` serves the connections the pool's parent
accepted and hands over (``serve_connection``) instead.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable

from pynetdicom import AE, _config, evt

from dicom_listener.contexts import supported_contexts
from dicom_listener.handlers import Ingest, handle_echo, handle_store
from dicom_listener.identity import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME
from dicom_listener.policy import Policy, build_policy
from dicom_listener.receive import DEFAULT_INLINE_LIMIT
from dicom_listener.spool import Spool
from dicom_listener.transport import ListenerServer
from triage.settings import Settings

LOGGER = logging.getLogger(__name__)

# How often the accept loop checks for shutdown (socketserver's poll interval).
_POLL_SECONDS = 0.2


def build_ae(settings: Settings, policy: Policy) -> AE:
    """The Application Entity: title, limits, timeouts, AE title rules, contexts."""
    ae = AE(ae_title=settings.ae_title)
    ae.implementation_class_uid = IMPLEMENTATION_CLASS_UID
    ae.implementation_version_name = IMPLEMENTATION_VERSION_NAME
    ae.maximum_associations = settings.max_associations
    ae.maximum_pdu_size = settings.maximum_pdu_size
    ae.acse_timeout = settings.acse_timeout
    ae.dimse_timeout = settings.dimse_timeout
    ae.network_timeout = settings.network_timeout
    # Rejected with A-ASSOCIATE-RJ (rejected-permanent, service-user):
    # reason 7 "called AE title not recognized" / reason 3 "calling AE title not recognized".
    ae.require_called_aet = True
    ae.require_calling_aet = list(policy.allowed_calling_aets)
    ae.supported_contexts = supported_contexts()
    return ae


class Listener:
    """Serves C-ECHO and C-STORE for ``ingest`` until ``stop``.

    ``start`` binds the port (``OSError`` if it is taken) and returns at once.
    """

    def __init__(
        self,
        settings: Settings,
        ingest: Ingest,
        *,
        policy: Policy | None = None,
        inline_limit: int = DEFAULT_INLINE_LIMIT,
    ) -> None:
        self.settings = settings
        self.policy = build_policy(settings) if policy is None else policy
        self.ae = build_ae(settings, self.policy)
        self._ingest = ingest
        self._inline_limit = inline_limit
        self._server: ListenerServer | None = None
        self._thread: threading.Thread | None = None
        self._spool: Spool | None = None
        self._accepting = threading.Lock()  # serve_connection vs stop

    @property
    def address(self) -> tuple[str, int]:
        """The bound (host, port); the port is the real one when 0 was asked for."""
        if self._server is None:
            raise RuntimeError("the listener is not running")
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self, port: int | None = None) -> None:
        """Bind and serve in the background; ``port`` overrides the setting (0: any)."""
        address = (self.settings.bind_address, self.settings.dicom_port if port is None else port)
        server = self._serve(address, listen=True)
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": _POLL_SECONDS},
            name="dicom-listener-accept",
            daemon=True,
        )
        self._thread.start()
        host, bound = self.address
        LOGGER.info(
            "DICOM listener %s on %s:%d (%s)",
            self.settings.ae_title,
            host,
            bound,
            "TLS" if self.policy.tls else "no TLS",
        )

    def start_handed_over(self, address: tuple[str, int]) -> None:
        """Serve connections accepted by someone else (``serve_connection``), who bound
        ``address``; nothing is bound here."""
        self._serve(address, listen=False)

    def serve_connection(
        self,
        sock: socket.socket,
        address: tuple[str, int],
        *,
        over_limit: bool = False,
        on_end: Callable[[], None],
    ) -> None:
        """Serve one handed-over connection; ``over_limit`` rejects its association
        (local-limit-exceeded). ``on_end`` runs once it is over, also when it is refused
        because the listener is stopping."""
        with self._accepting:
            server = self._server
            if server is not None:
                server.serve_connection(sock, address, over_limit=over_limit, on_end=on_end)
                return
        sock.close()
        on_end()

    def _serve(self, address: tuple[str, int], *, listen: bool) -> ListenerServer:
        if self._server is not None:
            raise RuntimeError("the listener is already running")
        if _config.STORE_RECV_CHUNKED_DATASET:
            # pynetdicom would write data sets to the system temp folder itself.
            raise RuntimeError("pynetdicom's STORE_RECV_CHUNKED_DATASET must be off")
        spool = Spool(self.settings.tmp_dir)
        try:
            server = ListenerServer(
                self.ae,
                address,
                self.settings.ae_title,
                self.ae.supported_contexts,
                evt_handlers=[
                    (evt.EVT_C_ECHO, handle_echo),
                    (evt.EVT_C_STORE, handle_store, [self._ingest]),
                ],
                spool=spool,
                inline_limit=self._inline_limit,
                pdu_limit=self.policy.pdu_limit,
                tls_context=self.policy.tls,
                listen=listen,
            )
        except BaseException:
            spool.close()
            raise
        self._spool, self._server = spool, server
        return server

    def stop(self, timeout: float = 30.0, *, hurry: threading.Event | None = None) -> bool:
        """Stop accepting, let running associations finish for up to ``timeout`` seconds
        (or until ``hurry`` is set), then abort the rest. True when all finished."""
        with self._accepting:
            server, self._server = self._server, None
        if server is None:
            return True
        server.shutdown()  # no new connections from here on
        if self._thread is not None:
            self._thread.join(timeout=5)
        deadline = time.monotonic() + timeout
        running = server.active_associations
        if running:
            LOGGER.info("waiting up to %.0f s for %d association(s)", timeout, len(running))
        while running and time.monotonic() < deadline and not (hurry and hurry.is_set()):
            time.sleep(0.05)
            running = server.active_associations
        clean = not running
        for assoc in running:
            LOGGER.warning("aborting an association from %s at shutdown", assoc.requestor.ae_title)
            assoc.abort()
        for assoc in running:
            assoc.join(timeout=5)
        if self._spool is not None:
            self._spool.close()
            self._spool = None
        return clean

    def __enter__(self) -> Listener:
        if self._server is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
