"""The channel between the listener pool's parent and one of its listener processes.

One end of a ``socketpair(AF_UNIX, SOCK_SEQPACKET)``: every message is one record (no
framing to get wrong), and a record may carry one file descriptor (``SCM_RIGHTS``): an
accepted connection the parent hands to the child. Records are small JSON objects.

Parent to child: ``start`` (settings, the bound address), ``conn`` (with a descriptor:
its id, the peer address, whether it is over the association limit), ``stop`` (with the
grace period), ``hurry`` (abort what is still running).
Child to parent: ``ready``, ``error`` (why it cannot start), ``closed`` (a connection's
id, once its association has ended).
"""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass
from typing import Any

# Records are small: the settings are the longest, a few KB.
MAX_RECORD = 1 << 16


class ChannelClosedError(OSError):
    """The other end is gone."""


@dataclass(frozen=True, slots=True)
class Message:
    kind: str
    body: dict[str, Any]
    connection: socket.socket | None = None  # a handed-over connection, if any


class Channel:
    """One end; ``send`` may be called from several threads."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._send_lock = threading.Lock()

    @classmethod
    def pair(cls) -> tuple[Channel, Channel]:
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        return cls(a), cls(b)

    @classmethod
    def from_fd(cls, fd: int) -> Channel:
        return cls(socket.socket(fileno=fd))

    def fileno(self) -> int:
        return self.sock.fileno()

    def send(self, kind: str, body: dict[str, Any] | None = None, *, fd: int | None = None) -> None:
        record = json.dumps({"kind": kind, **(body or {})}).encode()
        if len(record) > MAX_RECORD:
            raise ValueError(f"a {kind!r} message of {len(record)} bytes is too long")
        with self._send_lock:
            try:
                if fd is None:
                    self.sock.sendall(record)
                else:
                    socket.send_fds(self.sock, [record], [fd])
            except (BrokenPipeError, ConnectionResetError) as exc:
                raise ChannelClosedError("the other process is gone") from exc

    def receive(self) -> Message:
        """The next message (blocking, or as the socket's timeout says)."""
        try:
            record, fds, _flags, _addr = socket.recv_fds(self.sock, MAX_RECORD, 1)
        except ConnectionResetError as exc:
            raise ChannelClosedError("the other process is gone") from exc
        if not record:
            for fd in fds:
                socket.socket(fileno=fd).close()
            raise ChannelClosedError("the other process is gone")
        connection = socket.socket(fileno=fds[0]) if fds else None
        try:
            body = json.loads(record)
            kind = str(body.pop("kind"))
        except (ValueError, KeyError, AttributeError, TypeError):
            if connection is not None:
                connection.close()
            raise ValueError(
                f"unreadable message on the listener channel: {record[:80]!r}"
            ) from None
        return Message(kind, body, connection)

    def close(self) -> None:
        self.sock.close()
