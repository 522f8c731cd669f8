"""Latency from a study's last instance to its worklist item, under a steady arrival rate.

A real ``msk-triage serve`` on SQLite (short stable window, a two-reader roster) - or
``msk-triage listener`` + ``msk-triage worker`` on the same SQLite database (``split``) -
is fed by dcmtk's storescu, one association per study, a study every
``60 / per_minute`` s.
The time of a study's last instance is when its storescu exits (after the last
C-STORE response and the release); its item's time is when a poller (every
``POLL_SECONDS``) first sees the committed row. Both clocks are this host's.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bench.pipeline.corpus import ROSTER, BenchStudy, make_study

AE_TITLE = "MSKTRIAGE"
POLL_SECONDS = 0.02
READY_LINE = "msk-triage is receiving"
WORKER_READY = "is triaging with rule set"
_VENV_BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class LatencyRun:
    mode: str  # "serve" or "listener + worker"
    window: float
    per_minute: float
    studies: int
    latencies: tuple[float, ...]  # seconds, of the studies whose item appeared
    missing: int
    sweep_seconds: float
    service_cpu_seconds: float

    def quantile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        if len(ordered) == 1:
            return ordered[0]
        return statistics.quantiles(ordered, n=100, method="inclusive")[int(q * 100) - 1]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


class _Poller(threading.Thread):
    """Records when each study's worklist item first becomes visible."""

    def __init__(self, database: Path) -> None:
        super().__init__(daemon=True)
        self.database = database
        self.seen: dict[str, float] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.database.exists() and not self.stop.is_set():
            time.sleep(POLL_SECONDS)
        conn = sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=30)
        try:
            while not self.stop.wait(POLL_SECONDS):
                rows = conn.execute(
                    "SELECT s.study_instance_uid FROM worklist_item w "
                    "JOIN study s ON s.id = w.study_id"
                ).fetchall()
                now = time.time()
                for (uid,) in rows:
                    self.seen.setdefault(uid, now)
        finally:
            conn.close()


def run_latency(
    *,
    window: float,
    per_minute: float,
    minutes: float,
    images: int,
    sweep_seconds: float,
    split: bool = False,
) -> LatencyRun:
    with tempfile.TemporaryDirectory(prefix="bench-latency-") as tmp:
        root = Path(tmp)
        count = max(1, round(per_minute * minutes))
        studies = [
            make_study(root / "corpus" / str(i), i, images=images, always_flagged=True)
            for i in range(count)
        ]
        data = root / "data"
        data.mkdir()
        (data / "roster.toml").write_text(ROSTER)
        port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("MSK_TRIAGE_")}
        env.update(
            MSK_TRIAGE_DATA_DIR=str(data),
            MSK_TRIAGE_DICOM_PORT=str(port),
            MSK_TRIAGE_BIND_ADDRESS="127.0.0.1",
            MSK_TRIAGE_STUDY_STABLE_SECONDS=str(window),
            MSK_TRIAGE_PIPELINE_SWEEP_SECONDS=str(sweep_seconds),
        )
        commands = [["listener"], ["worker"]] if split else [["serve"]]
        procs = []
        for command in commands:
            log = root / f"{command[0]}.log"
            with log.open("wb") as out:
                procs.append(
                    subprocess.Popen(
                        [str(_VENV_BIN / "msk-triage"), *command],
                        env=env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    )
                )
            _wait_ready(procs[-1], log, WORKER_READY if command == ["worker"] else READY_LINE)
        try:
            poller = _Poller(data / "msk-triage.db")
            poller.start()
            done = _send_all(studies, port, interval=60.0 / per_minute)
            deadline = time.time() + window + 60
            while len(poller.seen) < len(studies) and time.time() < deadline:
                time.sleep(0.1)
            poller.stop.set()
            poller.join(10)
            cpu = sum(_cpu_seconds(proc.pid) for proc in procs)
        finally:
            for proc in procs:
                proc.send_signal(signal.SIGTERM)
            for proc in procs:
                try:
                    proc.wait(60)
                except subprocess.TimeoutExpired:
                    proc.kill()
        latencies = tuple(poller.seen[s.uid] - done[s.uid] for s in studies if s.uid in poller.seen)
        return LatencyRun(
            mode="listener + worker" if split else "serve",
            window=window,
            per_minute=per_minute,
            studies=len(studies),
            latencies=latencies,
            missing=len(studies) - len(latencies),
            sweep_seconds=sweep_seconds,
            service_cpu_seconds=cpu,
        )


def _wait_ready(proc: subprocess.Popen[bytes], log: Path, line: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if line in log.read_text(errors="replace"):
            return
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    raise RuntimeError(f"{log.stem} did not start:\n{log.read_text(errors='replace')}")


def _send_all(studies: list[BenchStudy], port: int, *, interval: float) -> dict[str, float]:
    """Send each study on schedule (its own storescu, so a slow one does not delay the
    next); when each one's last instance was acknowledged."""
    done: dict[str, float] = {}
    errors: list[str] = []
    env = dict(os.environ, TCP_NODELAY="1")
    threads = []

    def send(study: BenchStudy) -> None:
        result = subprocess.run(
            ["storescu", "--required", "-aec", AE_TITLE, "127.0.0.1", str(port),
             *map(str, study.files)],
            env=env,
            capture_output=True,
            check=False,
        )  # fmt: skip
        done[study.uid] = time.time()
        if result.returncode != 0:
            errors.append(result.stderr.decode(errors="replace")[-500:])

    start = time.monotonic()
    for n, study in enumerate(studies):
        time.sleep(max(0.0, start + n * interval - time.monotonic()))
        thread = threading.Thread(target=send, args=(study,))
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join(120)
    if errors:
        raise RuntimeError(f"{len(errors)} sends failed, e.g.:\n{errors[0]}")
    return done
