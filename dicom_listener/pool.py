"""Several listener processes behind one port.

One Python process receives at most about one CPU's worth (the GIL): our listener with
an ingest that does nothing reached half of dcmtk's forking storescp. So, like that
storescp, the listener can run in several processes. The parent binds the port and
accepts; it hands each connection (its descriptor, ``SCM_RIGHTS``, see ``handoff.py``)
to the listener process with the fewest associations running, which receives, ingests
and answers exactly as a single-process listener does (``pool_member.py``). The parent:

- keeps ``max_associations`` for all processes together: a connection over the limit is
  handed over marked as such and rejected with local-limit-exceeded, as pynetdicom
  rejects it in a single process;
- restarts a listener process that dies (at once, or after 1, 2, 4 ... 30 s when it
  keeps dying at start); connections arriving while none is ready wait for one for up
  to the ACSE timeout;
- on ``stop`` stops accepting, has every process finish its associations within the
  grace period (or abort them when hurried) and waits for them;
- takes its listener processes with it when it is killed: each dies with its parent
  (``PR_SET_PDEATHSIG``), so a crash of the service is a crash of all of it.

Each listener process ingests on its own (its own engine and group commit; on SQLite
the writers of all processes take turns on the database's write lock, which is held
only for the index statements and the commit: archive names are claimed before it,
``triage.ingest.archive``). Committing the objects of all processes in the parent
instead (tried: the processes sent their index entries over the channel) made no
measurable difference to throughput or CPU, and would have tied every object's answer
to the parent's GIL, which in ``serve`` the triage pipeline uses too.

Why not ``SO_REUSEPORT`` (one listening socket per process): the kernel spreads
connections by a hash of their addresses, not by load (four associations on two
processes land 3:1 or 4:0 half the time); a second service started on the same port
would silently share it instead of failing to start; there would be no limit across
processes; and connections queued on the socket of a process that dies are reset.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import selectors
import signal
import socket
import subprocess
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from dicom_listener.handoff import Channel, ChannelClosedError, Message
from dicom_listener.policy import Policy, build_policy
from triage.settings import Settings

LOGGER = logging.getLogger(__name__)

# A listener process that dies sooner than this after starting is failing to start:
# it is restarted after a growing pause rather than at once.
_QUICK_DEATH_SECONDS = 10.0
_MAX_RESTART_PAUSE = 30.0
_START_TIMEOUT = 120.0
# After the grace period the processes still get this long to abort and clean up.
_STOP_MARGIN = 15.0
_TICK = 0.5
_BACKLOG = 128
_SEND_TIMEOUT = 5.0


class PoolStartError(Exception):
    """The listener processes could not be started; the message says why."""


@dataclass(eq=False)
class _Member:
    """One listener process, as the parent sees it."""

    index: int
    proc: subprocess.Popen[bytes]
    channel: Channel
    started: float
    ready: bool = False
    error: str | None = None
    connections: set[int] = field(default_factory=set)
    last_given: float = 0.0
    served: int = 0


@dataclass(frozen=True)
class ProcessStatus:
    """One listener process, as ``ListenerPool.status`` reports it."""

    index: int
    pid: int
    ready: bool
    associations: int  # running now
    served: int  # connections handed to it since it started


@dataclass(eq=False)
class _Waiting:
    sock: socket.socket
    address: tuple[str, int]
    deadline: float


class ListenerPool:
    """``processes`` listener processes behind one port; the interface of ``Listener``
    (``start``, ``stop``, ``address``, ``running``, ``policy``).

    ``command`` starts one listener process; the pool appends the descriptor of its
    channel and the parent's pid (``pool_member.member_arguments`` reads them).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        processes: int,
        command: Sequence[str],
        policy: Policy | None = None,
    ) -> None:
        if processes < 1:
            raise ValueError("a pool needs at least one listener process")
        self.settings = settings
        self.policy = build_policy(settings) if policy is None else policy
        self.processes = processes
        self._command = list(command)
        self._sock: socket.socket | None = None
        self._address: tuple[str, int] | None = None
        self._thread: threading.Thread | None = None
        self._members: dict[int, _Member] = {}
        self._restart_at: dict[int, float] = {}
        self._quick_deaths: dict[int, int] = {}
        self._waiting: deque[_Waiting] = deque()
        self._ids = itertools.count(1)
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._started = threading.Event()
        self._start_error: str | None = None
        self._stop_requested = threading.Event()
        self._hurry: threading.Event | None = None
        self._grace = 30.0
        self._clean = True
        self.restarts = 0  # listener processes restarted after dying (for tests and logs)

    # the interface of Listener --------------------------------------------------------
    @property
    def address(self) -> tuple[str, int]:
        """The bound (host, port); the port is the real one when 0 was asked for."""
        if self._address is None:
            raise RuntimeError("the listener is not running")
        return self._address

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def status(self) -> list[ProcessStatus]:
        """The listener processes running now."""
        members = self._members.copy()  # atomic: the pool's thread changes it
        return [
            ProcessStatus(m.index, m.proc.pid, m.ready, len(m.connections), m.served)
            for m in sorted(members.values(), key=lambda m: m.index)
            if m.proc.poll() is None
        ]

    def start(self, port: int | None = None) -> None:
        """Bind the port (``OSError`` if it is taken), start the listener processes and
        return once all are ready; ``PoolStartError`` if one cannot start."""
        if self._thread is not None:
            raise RuntimeError("the listener is already running")
        self._sock = _bind(
            self.settings.bind_address, self.settings.dicom_port if port is None else port
        )
        host, bound = self._sock.getsockname()[:2]
        self._address = str(host), int(bound)
        self._thread = threading.Thread(target=self._run, name="dicom-listener-pool")
        self._thread.start()
        self._started.wait()
        if self._start_error is not None:
            self._thread.join()
            self._thread = None
            raise PoolStartError(self._start_error)
        host, bound = self.address
        LOGGER.info(
            "DICOM listener %s on %s:%d (%s) in %d processes",
            self.settings.ae_title,
            host,
            bound,
            "TLS" if self.policy.tls else "no TLS",
            self.processes,
        )

    def stop(self, timeout: float = 30.0, *, hurry: threading.Event | None = None) -> bool:
        """Stop accepting, let the running associations finish for up to ``timeout``
        seconds (or until ``hurry`` is set), then abort the rest. True when all finished."""
        thread = self._thread
        if thread is None:
            return True
        self._grace, self._hurry = timeout, hurry
        self._stop_requested.set()
        self._wake()
        thread.join()
        self._thread = None
        return self._clean

    def __enter__(self) -> ListenerPool:
        if self._thread is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # the pool's thread ------------------------------------------------------------------
    # Only this thread starts listener processes: PR_SET_PDEATHSIG fires when the
    # *thread* that started a process ends, and this one outlives them all.
    def _run(self) -> None:
        assert self._sock is not None
        self._selector.register(self._wake_r, selectors.EVENT_READ, "wake")
        try:
            for index in range(self.processes):
                self._spawn(index)
            if not self._wait_until_ready():
                return
            self._sock.setblocking(False)
            self._selector.register(self._sock, selectors.EVENT_READ, "accept")
            self._started.set()
            self._serve()
            self._drain()
        except BaseException as exc:
            LOGGER.exception("the listener pool failed")
            if not self._started.is_set():
                self._start_error = f"the listener pool failed: {exc}"
            self._clean = False
        finally:
            self._kill_all()
            self._close()
            self._started.set()

    def _wait_until_ready(self) -> bool:
        deadline = time.monotonic() + _START_TIMEOUT
        while self._start_error is None and not all(m.ready for m in self._members.values()):
            if time.monotonic() > deadline:
                self._start_error = f"the listener processes did not start in {_START_TIMEOUT} s"
                return False
            self._poll(_TICK)
        return self._start_error is None

    def _serve(self) -> None:
        while not self._stop_requested.is_set():
            now = time.monotonic()
            waits = [w.deadline for w in self._waiting] + list(self._restart_at.values())
            self._poll(max(0.0, min([now + _TICK, *waits]) - now))
            now = time.monotonic()
            for index, when in list(self._restart_at.items()):
                if when <= now:
                    del self._restart_at[index]
                    self._spawn(index)
            self._hand_over_waiting(now)

    def _drain(self) -> None:
        """Stop accepting; have every process finish its associations, then exit."""
        assert self._sock is not None
        self._selector.unregister(self._sock)
        self._sock.close()
        for waiting in self._waiting:
            waiting.sock.close()
        self._waiting.clear()
        self._restart_at.clear()
        busy = sum(len(m.connections) for m in self._members.values())
        if busy:
            LOGGER.info("waiting up to %.0f s for %d association(s)", self._grace, busy)
        for member in list(self._members.values()):
            self._tell(member, "stop", {"grace": self._grace})
        hurried = False
        deadline = time.monotonic() + self._grace + _STOP_MARGIN
        while self._members and time.monotonic() < deadline:
            if not hurried and self._hurry is not None and self._hurry.is_set():
                hurried = True
                for member in list(self._members.values()):
                    self._tell(member, "hurry")
            self._poll(0.1)
        if self._members:
            LOGGER.warning("killing %d listener process(es) that did not stop", len(self._members))
            self._clean = False

    # events -------------------------------------------------------------------------------
    def _poll(self, timeout: float) -> None:
        for key, _ in self._selector.select(timeout):
            if key.data == "wake":
                with contextlib.suppress(BlockingIOError):
                    while os.read(self._wake_r, 4096):
                        pass
            elif key.data == "accept":
                self._accept()
            else:
                self._hear(key.data)

    def _accept(self) -> None:
        assert self._sock is not None
        while True:
            try:
                conn, address = self._sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # e.g. out of descriptors: the peer sees a reset
                LOGGER.warning("cannot accept a connection: %s", exc.strerror or exc)
                return
            deadline = time.monotonic() + self.settings.acse_timeout
            self._waiting.append(_Waiting(conn, (str(address[0]), int(address[1])), deadline))
        # (handed over by _hand_over_waiting, called right after each poll)

    def _hand_over_waiting(self, now: float) -> None:
        while self._waiting:
            waiting = self._waiting[0]
            member = self._least_busy()
            if member is None:
                break
            self._waiting.popleft()
            self._give(member, waiting, now)
        while self._waiting and self._waiting[0].deadline <= now:
            late = self._waiting.popleft()
            LOGGER.warning(
                "closing a connection from %s: no listener process was ready for it",
                late.address[0],
            )
            late.sock.close()

    def _least_busy(self) -> _Member | None:
        ready = [m for m in self._members.values() if m.ready]
        if not ready:
            return None
        return min(ready, key=lambda m: (len(m.connections), m.last_given))

    def _give(self, member: _Member, waiting: _Waiting, now: float) -> None:
        total = sum(len(m.connections) for m in self._members.values())
        over_limit = total >= self.settings.max_associations
        number = next(self._ids)
        try:
            member.channel.send(
                "conn",
                {"id": number, "address": list(waiting.address), "over_limit": over_limit},
                fd=waiting.sock.fileno(),
            )
        except OSError as exc:
            # The process is going; the peer sees its connection closed and tries again.
            LOGGER.warning(
                "could not hand a connection to listener process %d: %s", member.index, exc
            )
        else:
            if not over_limit:
                member.connections.add(number)
            member.last_given = now
            member.served += 1
        finally:
            waiting.sock.close()

    def _hear(self, member: _Member) -> None:
        try:
            message = member.channel.receive()
        except (ChannelClosedError, ValueError) as exc:
            if isinstance(exc, ValueError):
                LOGGER.error("listener process %d: %s", member.index, exc)
            self._lost(member)
            return
        self._handle(member, message)

    def _handle(self, member: _Member, message: Message) -> None:
        if message.connection is not None:
            message.connection.close()  # children never send descriptors
        if message.kind == "closed":
            member.connections.discard(int(message.body.get("id", 0)))
        elif message.kind == "ready":
            member.ready = True
            if self._started.is_set():
                LOGGER.info("listener process %d (pid %d) is ready", member.index, member.proc.pid)
        elif message.kind == "error":
            member.error = str(message.body.get("message", "unknown error"))
            if self._started.is_set():
                LOGGER.error("listener process %d cannot start: %s", member.index, member.error)

    def _lost(self, member: _Member) -> None:
        """A listener process closed its channel: it is exiting or dead."""
        self._selector.unregister(member.channel)
        member.channel.close()
        del self._members[member.index]
        try:
            code = member.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            member.proc.kill()
            code = member.proc.wait()
        if self._stop_requested.is_set():
            if code != 0:
                self._clean = False
            return
        if not self._started.is_set():
            if self._start_error is None:
                self._start_error = member.error or (
                    f"a listener process {_exit_reason(code)} while starting"
                )
            return
        ran = time.monotonic() - member.started
        quick = self._quick_deaths.get(member.index, 0) + 1 if ran < _QUICK_DEATH_SECONDS else 0
        self._quick_deaths[member.index] = quick
        pause = 0.0 if quick == 0 else min(_MAX_RESTART_PAUSE, 2.0 ** (quick - 1))
        LOGGER.error(
            "listener process %d (pid %d) %s; %d association(s) in it were cut off; "
            "starting another in %.0f s",
            member.index,
            member.proc.pid,
            _exit_reason(code),
            len(member.connections),
            pause,
        )
        self._restart_at[member.index] = time.monotonic() + pause

    # processes ----------------------------------------------------------------------------
    def _spawn(self, index: int) -> None:
        ours, theirs = Channel.pair()
        try:
            proc = subprocess.Popen(
                [*self._command, str(theirs.fileno()), str(os.getpid())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                # Its own process group: a Ctrl-C at the terminal reaches the parent
                # only, which then stops its listener processes in order.
                process_group=0,
            )
        except OSError as exc:
            ours.close()
            reason = f"cannot start a listener process: {exc.strerror or exc}"
            if not self._started.is_set():
                self._start_error = reason
                return
            LOGGER.error("%s; trying again in %.0f s", reason, _MAX_RESTART_PAUSE)
            self._restart_at[index] = time.monotonic() + _MAX_RESTART_PAUSE
            return
        finally:
            theirs.close()  # the child's end, open in the child now
        # A process that stops reading its channel must not stall the pool's thread.
        ours.sock.settimeout(_SEND_TIMEOUT)
        member = _Member(index, proc, ours, time.monotonic())
        self._members[index] = member
        if self._started.is_set():
            self.restarts += 1
        self._selector.register(ours, selectors.EVENT_READ, member)
        host, port = self.address
        self._tell(
            member,
            "start",
            {"settings": self.settings.model_dump(mode="json"), "address": [host, port]},
        )

    def _tell(self, member: _Member, kind: str, body: dict[str, Any] | None = None) -> None:
        with contextlib.suppress(OSError):  # it is gone; _hear notices
            member.channel.send(kind, body)

    def _kill_all(self) -> None:
        for member in list(self._members.values()):
            if member.proc.poll() is None:
                member.proc.kill()
            member.proc.wait()
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(member.channel)
            member.channel.close()
        self._members.clear()

    def _close(self) -> None:
        if self._sock is not None and self._sock.fileno() != -1:
            self._sock.close()
        for waiting in self._waiting:
            waiting.sock.close()
        self._waiting.clear()
        self._selector.close()
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"\0")


def _bind(host: str, port: int) -> socket.socket:
    """The listening socket, as pynetdicom's server makes it (SO_REUSEADDR, no
    SO_REUSEPORT: a second listener on the port fails with EADDRINUSE)."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(_BACKLOG)
    except BaseException:
        sock.close()
        raise
    return sock


def _exit_reason(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with status {code}"
