"""The receivers under test, each a subprocess on a fresh output folder per run."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

AE_TITLE = "MSKTRIAGE"
_VENV_BIN = Path(sys.executable).parent
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it, running now."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except FileNotFoundError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{current}/task/{task}/children") as fh:
                    todo += [int(child) for child in fh.read().split()]
            except FileNotFoundError:
                continue
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process, of its running descendants (our listener
    processes) and of its reaped children (dcmtk's forked storescp)."""
    total = 0
    for process in descendants(pid):
        try:
            with open(f"/proc/{process}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue  # ended meanwhile: its parent's cutime has it once it is reaped
        total += sum(int(v) for v in fields[11:15])
    return total / _CLOCK_TICKS


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory (VmHWM) of a process plus that of its running descendants,
    in MB (dcmtk's forked children, gone by now, are not included)."""
    total = 0.0
    for process in descendants(pid):
        try:
            with open(f"/proc/{process}/status") as fh:
                for line in fh:
                    if line.startswith("VmHWM:"):
                        total += int(line.split()[1]) / 1024
        except FileNotFoundError:
            continue
    return total


@dataclass
class Running:
    proc: subprocess.Popen[bytes]
    port: int
    out: Path
    count: Callable[[], int | None]
    log: Path

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


@dataclass(frozen=True)
class Receiver:
    name: str
    command: Callable[[int, Path], list[str]]
    env: dict[str, Callable[[int, Path], str]] = field(default_factory=dict)
    counter: Callable[[Path], int | None] = lambda out: None
    ready_line: str | None = None

    def start(self, workdir: Path) -> Running:
        out = workdir / "out"
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        # The file system is mounted with ``discard``: blocks freed by the removal are
        # trimmed at the next journal commit, which would be the first fsync of this run.
        os.sync()
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("MSK_TRIAGE_")}
        env.update({k: make(port, out) for k, make in self.env.items()})
        log = workdir / "receiver.log"
        with log.open("wb") as fh:
            proc = subprocess.Popen(
                self.command(port, out), env=env, stdout=fh, stderr=subprocess.STDOUT
            )
        running = Running(proc, port, out, lambda: self.counter(out), log)
        _wait_ready(running, self.ready_line)
        return running


def _wait_ready(running: Running, ready_line: str | None, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if running.proc.poll() is not None:
            raise RuntimeError(f"receiver exited:\n{running.log.read_text(errors='replace')}")
        if ready_line is not None:
            if ready_line in running.log.read_text(errors="replace"):
                _settle(running.proc.pid)
                return
        elif _echo(running.port):
            _settle(running.proc.pid)
            return
        time.sleep(0.1)
    raise RuntimeError(f"receiver not ready:\n{running.log.read_text(errors='replace')}")


def _settle(pid: int, timeout: float = 15.0) -> None:
    """Wait until the receiver is idle: start-up work that goes on after it answers
    (``serve`` loads the rule pack at its first pipeline sweep, ~0.3 s of CPU) must not
    land in the measured run. Idle: under 2 % of a CPU over a quarter of a second."""
    deadline = time.monotonic() + timeout
    window = 0.25
    while time.monotonic() < deadline:
        before = cpu_seconds(pid)
        time.sleep(window)
        if cpu_seconds(pid) - before < 0.02 * window + 1 / _CLOCK_TICKS:
            return


def _echo(port: int) -> bool:
    result = subprocess.run(
        ["echoscu", "-aec", AE_TITLE, "127.0.0.1", str(port)],
        capture_output=True,
        check=False,
        timeout=30,
    )
    return result.returncode == 0


def _files(out: Path) -> int:
    return sum(1 for p in out.rglob("*") if p.is_file())


def _indexed(out: Path) -> int | None:
    db = out / "msk-triage.db"
    if not db.exists():
        return None
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM instance").fetchone()[0])


OURS = Receiver(
    "msk-triage serve (SQLite)",
    lambda port, out: [str(_VENV_BIN / "msk-triage"), "serve"],
    env={
        "MSK_TRIAGE_DATA_DIR": lambda port, out: str(out),
        "MSK_TRIAGE_DICOM_PORT": lambda port, out: str(port),
        "MSK_TRIAGE_BIND_ADDRESS": lambda port, out: "127.0.0.1",
        "MSK_TRIAGE_AE_TITLE": lambda port, out: AE_TITLE,
    },
    counter=_indexed,
    ready_line="msk-triage is receiving",
)

PYNETDICOM_STORESCP = Receiver(
    "pynetdicom storescp",
    lambda port, out: [
        sys.executable, "-m", "pynetdicom", "storescp", str(port),
        "-aet", AE_TITLE, "--max-pdu", "0", "-od", str(out),
    ],
    counter=_files,
)  # fmt: skip

OUR_LISTENER_ONLY = Receiver(
    "our listener, null ingest",
    lambda port, out: [
        sys.executable, "-m", "bench.ingest.null_listener", str(port), AE_TITLE, str(out),
    ],
)  # fmt: skip

DISCARD = Receiver(
    "pynetdicom, discarding",
    lambda port, out: [sys.executable, "-m", "bench.ingest.discard", str(port), AE_TITLE],
)


def dcmtk_storescp(fork: bool) -> Receiver:
    # dcmtk turns Nagle off only when TCP_NODELAY is set in its environment; without it,
    # its small responses wait for the sender's delayed ACK (~40 ms per instance).
    return Receiver(
        "dcmtk storescp" + (" --fork" if fork else ""),
        lambda port, out: [
            "storescp", *(["--fork"] if fork else []), "-aet", AE_TITLE,
            "--max-pdu", "131072", "-od", str(out), str(port),
        ],
        env={"TCP_NODELAY": lambda port, out: "1"},
        counter=_files,
    )  # fmt: skip
