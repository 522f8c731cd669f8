"""A listener process of a pool (``pool.py``): serves the connections its parent hands over.

The composition root (``triage.cli.listener_process``) builds the ingest and the
``Listener``; this module is the process's side of the channel: ``join_pool`` reads the
start message, ``Member`` serves what the parent sends until it says stop.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dicom_listener.handoff import Channel, ChannelClosedError
from dicom_listener.server import Listener

LOGGER = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


@dataclass(frozen=True)
class Start:
    """What the parent sends first."""

    settings: dict[str, Any]  # Settings.model_dump(mode="json")
    address: tuple[str, int]  # the port the parent bound


class Orders:
    """What this process was asked to do: stop (after ``grace`` seconds at most), hurry.

    A signal sent to this process directly counts too: the first stops it, a second
    hurries it (as for ``msk-triage serve``).
    """

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.hurry = threading.Event()
        self.grace = 30.0

    def on_signal(self, signum: int, frame: object) -> None:
        if self.stop.is_set():
            self.hurry.set()
        self.stop.set()


def member_arguments(argv: Sequence[str]) -> tuple[int, int]:
    """(channel descriptor, parent pid) from the two arguments the pool appends."""
    if len(argv) != 2:
        raise SystemExit("usage: <listener process> CHANNEL_FD PARENT_PID (started by the pool)")
    return int(argv[0]), int(argv[1])


def die_with_parent(parent_pid: int) -> None:
    """Be killed when the parent is (Linux); exit now if it is already gone."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:  # it died before the line above
        raise SystemExit(1)


def join_pool(channel: Channel) -> Start:
    message = channel.receive()
    if message.kind != "start":
        raise ValueError(f"expected a start message, got {message.kind!r}")
    host, port = message.body["address"]
    return Start(settings=dict(message.body["settings"]), address=(str(host), int(port)))


class Member(threading.Thread):
    """Reads the channel: serves each handed-over connection, follows stop and hurry.

    The parent going away (its end closed) means stop at once: it was killed, and this
    process is about to be (``die_with_parent``).
    """

    def __init__(self, listener: Listener, channel: Channel, orders: Orders) -> None:
        super().__init__(name="dicom-listener-member", daemon=True)
        self.listener = listener
        self.channel = channel
        self.orders = orders

    def run(self) -> None:
        while True:
            try:
                message = self.channel.receive()
            except (ChannelClosedError, OSError, ValueError) as exc:
                if not isinstance(exc, ChannelClosedError):
                    LOGGER.error("listener channel: %s", exc)
                self.orders.hurry.set()
                self.orders.stop.set()
                return
            if message.kind == "conn" and message.connection is not None:
                self._serve(message.connection, message.body)
            elif message.kind == "stop":
                self.orders.grace = float(message.body.get("grace", self.orders.grace))
                self.orders.stop.set()
            elif message.kind == "hurry":
                self.orders.hurry.set()
                self.orders.stop.set()
            elif message.connection is not None:
                message.connection.close()

    def _serve(self, sock: Any, body: dict[str, Any]) -> None:
        number = int(body["id"])
        host, port = body["address"]

        def ended() -> None:
            with contextlib.suppress(OSError):  # the parent is gone; so are we, soon
                self.channel.send("closed", {"id": number})

        self.listener.serve_connection(
            sock, (str(host), int(port)), over_limit=bool(body.get("over_limit")), on_end=ended
        )
