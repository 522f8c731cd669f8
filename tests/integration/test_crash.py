"""Kill ``msk-triage serve`` with SIGKILL, repeatedly, while dcmtk sends 600 instances.

Every instance the sender saw acknowledged must be in the archive and the index exactly
once, and no partial or temporary file may survive a restart. Run with the listener in
serve's own process and with two listener processes (which die with serve).
"""

from __future__ import annotations

import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest
from pydicom import dcmread

from tests.listener.factory import BASIC_TEXT_SR, US_IMAGE, make_dataset, write

from .conftest import AE_TITLE, Serve, dcmtk_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TOTAL = 600
KILL_AT = (90, 200, 310, 420, 530)  # acknowledged instances at which serve is killed


class Sender(threading.Thread):
    """storescu, re-run over whatever is not yet acknowledged until all of it is."""

    def __init__(self, files: list[Path], serve: Serve) -> None:
        super().__init__(daemon=True)
        self.files = files
        self.serve = serve
        self.acked: set[Path] = set()
        self.runs = 0
        self.lock = threading.Lock()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            deadline = time.monotonic() + 150
            while len(self.acked) < len(self.files) and time.monotonic() < deadline:
                pending = [f for f in self.files if f not in self.acked]
                self._send(pending[:150])
        except BaseException as exc:  # reported by the test
            self.error = exc

    def _send(self, files: list[Path]) -> None:
        self.runs += 1
        proc = subprocess.Popen(
            ["storescu", "-v", "--required", "-aet", "DCMTKSCU", "-aec", AE_TITLE,
             "127.0.0.1", str(self.serve.port), *map(str, files)],
            env=dcmtk_env(nodelay=False),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        assert proc.stderr is not None
        current: Path | None = None
        for line in proc.stderr:
            if line.startswith("I: Sending file: "):
                current = Path(line.removeprefix("I: Sending file: ").strip())
            elif line.startswith("I: Received Store Response (Success)") and current:
                with self.lock:
                    self.acked.add(current)
                current = None
        proc.wait(60)
        if proc.returncode != 0:
            time.sleep(0.05)  # serve is down or restarting

    def count(self) -> int:
        with self.lock:
            return len(self.acked)


@pytest.mark.parametrize("processes", ["1", "2"], ids=["in-process", "2-listener-processes"])
def test_sigkill_during_transfer_loses_nothing_and_leaves_nothing(
    tmp_path: Path, processes: str
) -> None:
    files = []
    for i in range(TOTAL):
        # mostly reports, some ~400 KB images so kills also land mid-object
        sop = US_IMAGE if i % 10 == 0 else BASIC_TEXT_SR
        ds = make_dataset(sop, series_uid=f"1.2.826.0.1.3680043.10.2.{i % 7}", frame_bytes=400_000)
        files.append(write(ds, tmp_path / "in" / f"{i:04d}.dcm"))
    serve = Serve(
        tmp_path / "data", tmp_path / "serve.log", MSK_TRIAGE_LISTENER_PROCESSES=processes
    )
    serve.start()
    sender = Sender(files, serve)
    sender.start()
    partial_at_kill: list[int] = []
    for threshold in KILL_AT:
        while sender.count() < threshold and sender.is_alive():
            time.sleep(0.005)
        serve.kill()
        partial_at_kill.append(len(list((serve.data_dir / "tmp").rglob("*.part"))))
        serve.start()
    sender.join(180)
    assert sender.error is None
    assert not sender.is_alive()
    assert sender.count() == TOTAL

    # one more crash, surely mid-object this time; the restart alone must clean up
    big = make_dataset(US_IMAGE, frame_bytes=30_000_000)
    late = subprocess.Popen(
        ["storescu", "--required", "-aec", AE_TITLE, "127.0.0.1", str(serve.port),
         str(write(big, tmp_path / "big.dcm"))],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while not list((serve.data_dir / "tmp").rglob("*.part")) and time.monotonic() < deadline:
        time.sleep(0.002)
    serve.kill()
    late.wait(30)
    assert list((serve.data_dir / "tmp").rglob("*.part")), "the kill missed the transfer"
    serve.start()
    tmp_files = [p for p in (serve.data_dir / "tmp").rglob("*") if p.is_file()]
    assert tmp_files == []
    assert serve.stop() == 0
    assert serve.starts == len(KILL_AT) + 2

    with sqlite3.connect(serve.data_dir / "msk-triage.db") as db:
        rows = db.execute(
            "SELECT sop_instance_uid, revision, archive_path FROM instance"
        ).fetchall()
    uids = {str(dcmread(f, stop_before_pixels=True).SOPInstanceUID) for f in files}
    rows = [r for r in rows if r[0] != big.SOPInstanceUID]  # killed mid-transfer, never acked
    assert sorted(r[0] for r in rows) == sorted(uids)  # each exactly once
    assert {r[1] for r in rows} == {0}
    archived = {
        p.relative_to(serve.data_dir).as_posix()
        for p in serve.data_dir.rglob("*.dcm")
        if big.SOPInstanceUID not in p.name
    }
    assert archived == {r[2] for r in rows}  # no orphan files, none missing
    for _uid, _revision, relative in rows[:: TOTAL // 20]:
        assert dcmread(serve.data_dir / relative, stop_before_pixels=True).SOPInstanceUID == _uid
    assert [p for p in (serve.data_dir / "tmp").rglob("*") if p.is_file()] == []
    print(f"storescu runs: {sender.runs}; partial files at each kill: {partial_at_kill}")
