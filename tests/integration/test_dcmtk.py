"""dcmtk's storescu and dcmsend, outside peers, sending to a real ``msk-triage serve``."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.uid import JPEG2000Lossless, JPEGBaseline8Bit, RLELossless

from tests.listener.factory import ALL_CLASSES, IMAGE_CLASSES, US_IMAGE, make_dataset, write

from .conftest import AE_TITLE, MSK_TRIAGE, Serve, dcmtk_env, free_port, run_dcmtk

pytestmark = pytest.mark.integration


def _corpus(folder: Path, *, compressed: bool) -> dict[str, Path]:
    """One object of every SOP class (and compressed images): {SOP Instance UID: file}."""
    files = [write(make_dataset(sop), folder / f"c{i}.dcm") for i, sop in enumerate(ALL_CLASSES)]
    if compressed:  # storescu proposes uncompressed syntaxes only, unless told otherwise
        files += [
            write(make_dataset(US_IMAGE, transfer_syntax=ts), folder / f"z{i}.dcm")
            for i, ts in enumerate((JPEGBaseline8Bit, JPEG2000Lossless, RLELossless))
        ]
    return {str(dcmread(f, stop_before_pixels=True).SOPInstanceUID): f for f in files}


def _index(data_dir: Path) -> dict[str, tuple[int, str, str]]:
    with sqlite3.connect(data_dir / "msk-triage.db") as db:
        rows = db.execute(
            "SELECT sop_instance_uid, revision, archive_path, calling_ae FROM instance"
        ).fetchall()
    assert len(rows) == len({r[0] for r in rows}), "an instance is indexed twice"
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def _check_archived(serve: Serve, sent: dict[str, Path]) -> None:
    index = _index(serve.data_dir)
    assert set(index) == set(sent)
    for uid, (revision, relative, calling_ae) in index.items():
        assert revision == 0
        assert calling_ae == "DCMTKSCU"
        archived = dcmread(serve.data_dir / relative, stop_before_pixels=True)
        original = dcmread(sent[uid], stop_before_pixels=True)
        assert archived.SOPInstanceUID == uid
        assert archived.SOPClassUID == original.SOPClassUID
        assert archived.file_meta.SourceApplicationEntityTitle == "DCMTKSCU"
    leftovers = [p for p in (serve.data_dir / "tmp").rglob("*") if p.is_file()]
    assert leftovers == []


@pytest.mark.parametrize("nodelay", [True, False], ids=["TCP_NODELAY=1", "Nagle"])
def test_storescu(tmp_path: Path, serve: Serve, nodelay: bool) -> None:
    sent = _corpus(tmp_path / "in", compressed=False)
    # --required: propose a context for each file's class and syntax only
    files = [str(p) for p in sent.values()]
    result = run_dcmtk("storescu", serve.port, ["--required", *files], nodelay=nodelay)
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("Received Store Response (Success)") == len(sent)
    _check_archived(serve, sent)


@pytest.mark.parametrize("nodelay", [True, False], ids=["TCP_NODELAY=1", "Nagle"])
def test_dcmsend_folder_and_identical_resend(tmp_path: Path, serve: Serve, nodelay: bool) -> None:
    sent = _corpus(tmp_path / "in", compressed=True)
    args = ["--scan-directories", str(tmp_path / "in")]
    first = run_dcmtk("dcmsend", serve.port, args, nodelay=nodelay)
    assert first.returncode == 0, first.stderr
    again = run_dcmtk("dcmsend", serve.port, args, nodelay=nodelay)
    assert again.returncode == 0, again.stderr
    assert again.stderr.count("Received C-STORE Response (Success)") == len(sent)
    _check_archived(serve, sent)


def test_many_small_reports_over_concurrent_associations(tmp_path: Path, serve: Serve) -> None:
    folders = [tmp_path / f"in{n}" for n in range(4)]
    sent: dict[str, Path] = {}
    for n, folder in enumerate(folders):
        for i in range(25):
            ds = make_dataset(series_uid=f"1.2.826.0.1.3680043.10.1.{n}")
            sent[str(ds.SOPInstanceUID)] = write(ds, folder / f"{i}.dcm")
    procs = [
        subprocess.Popen(
            ["storescu", "-aec", "MSKTRIAGE", "-aet", "DCMTKSCU", "127.0.0.1", str(serve.port),
             "--required", "--scan-directories", str(folder)],
            env=dcmtk_env(nodelay=False),
        )
        for folder in folders
    ]  # fmt: skip
    assert [p.wait(120) for p in procs] == [0, 0, 0, 0]
    _check_archived(serve, sent)


def test_unknown_calling_ae_is_refused(tmp_path: Path) -> None:
    server = Serve(
        tmp_path / "data", tmp_path / "serve.log", MSK_TRIAGE_ALLOWED_CALLING_AETS="PACS"
    )
    server.start()
    try:
        path = write(make_dataset(IMAGE_CLASSES[0]), tmp_path / "a.dcm")
        result = run_dcmtk("storescu", server.port, ["--required", str(path)])
        assert result.returncode != 0
        assert "Calling AE Title Not Recognized" in result.stderr
    finally:
        assert server.stop() == 0
    assert not _index(server.data_dir)


def test_sigterm_stops_cleanly(tmp_path: Path) -> None:
    server = Serve(tmp_path / "data", tmp_path / "serve.log")
    server.start()
    assert server.stop() == 0
    log = server.log.read_text()
    assert "ANY calling AE title" in log  # the start-up warning
    assert "stopped" in log


def test_sigterm_lets_the_running_association_finish(tmp_path: Path, serve: Serve) -> None:

    sent: dict[str, Path] = {}
    for i in range(150):
        ds = make_dataset()
        sent[str(ds.SOPInstanceUID)] = write(ds, tmp_path / "in" / f"{i}.dcm")
    sender = subprocess.Popen(
        ["storescu", "-v", "--required", "-aet", "DCMTKSCU", "-aec", "MSKTRIAGE",
         "127.0.0.1", str(serve.port), "--scan-directories", str(tmp_path / "in")],
        env=dcmtk_env(nodelay=False),
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert sender.stderr is not None
    for line in sender.stderr:  # wait until the association is up and storing
        if "Received Store Response" in line:
            break
    assert serve.proc is not None
    serve.proc.terminate()
    time.sleep(0.5)
    late = run_dcmtk("storescu", serve.port, ["--required", str(next(iter(sent.values())))])
    assert late.returncode != 0  # no new associations once stopping
    rest = sender.stderr.read()
    assert sender.wait(60) == 0, rest
    assert serve.proc.wait(30) == 0
    serve.proc = None
    _check_archived(serve, sent)


@pytest.mark.parametrize("processes", ["1", "2"])
def test_port_in_use_is_a_clear_error(tmp_path: Path, serve: Serve, processes: str) -> None:
    result = subprocess.run(
        [str(MSK_TRIAGE), "serve"],
        env={
            **serve.env,
            "MSK_TRIAGE_DATA_DIR": str(tmp_path / "other"),
            "MSK_TRIAGE_LISTENER_PROCESSES": processes,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{serve.port}: the port is already in use" in result.stderr


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"MSK_TRIAGE_DICOM_PORT": "eleven"}, "MSK_TRIAGE_DICOM_PORT"),
        ({"MSK_TRIAGE_TLS_CERTIFICATE": "/nonexistent.crt"}, "MSK_TRIAGE_TLS_PRIVATE_KEY"),
        ({"MSK_TRIAGE_DATA_DIR": "/dev/null/data"}, "cannot prepare the data directory"),
    ],
)
def test_bad_settings_stop_start_up_with_a_message(
    tmp_path: Path, env: dict[str, str], named: str
) -> None:

    clean = {k: v for k, v in os.environ.items() if not k.startswith("MSK_TRIAGE_")}
    result = subprocess.run(
        [str(MSK_TRIAGE), "serve"],
        env={
            **clean,
            "MSK_TRIAGE_DATA_DIR": str(tmp_path / "data"),
            "MSK_TRIAGE_DICOM_PORT": str(free_port()),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert named in result.stderr
    assert "Traceback" not in result.stderr


# several listener processes (MSK_TRIAGE_LISTENER_PROCESSES) --------------------------
def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(FileNotFoundError):
            found.update(int(c) for c in (task / "children").read_text().split())
    return found


def _wait(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_serve_replaces_a_listener_process_that_was_killed(tmp_path: Path) -> None:
    server = Serve(tmp_path / "data", tmp_path / "serve.log", MSK_TRIAGE_LISTENER_PROCESSES="2")
    server.start()
    try:
        assert server.proc is not None
        children = _children(server.proc.pid)
        assert len(children) == 2
        victim = min(children)
        os.kill(victim, signal.SIGKILL)
        _wait(lambda: victim not in _children(server.proc.pid))  # type: ignore[union-attr]
        _wait(lambda: "is ready" in server.log.read_text())
        assert len(_children(server.proc.pid)) == 2
        sent = _corpus(tmp_path / "in", compressed=False)
        result = run_dcmtk("storescu", server.port, ["--required", *map(str, sent.values())])
        assert result.returncode == 0, result.stderr
        log = server.log.read_text()
        assert f"(pid {victim}) was killed by SIGKILL" in log
    finally:
        assert server.stop() == 0
    _check_archived(server, sent)


def test_sigterm_drains_every_listener_process(tmp_path: Path) -> None:
    server = Serve(tmp_path / "data", tmp_path / "serve.log", MSK_TRIAGE_LISTENER_PROCESSES="2")
    server.start()
    sent: dict[str, Path] = {}
    senders = []
    for n in range(2):
        for i in range(100):
            ds = make_dataset()
            sent[str(ds.SOPInstanceUID)] = write(ds, tmp_path / f"in{n}" / f"{i}.dcm")
        senders.append(
            subprocess.Popen(
                ["storescu", "-v", "--required", "-aet", "DCMTKSCU", "-aec", AE_TITLE,
                 "127.0.0.1", str(server.port), "--scan-directories", str(tmp_path / f"in{n}")],
                env=dcmtk_env(nodelay=True),
                stderr=subprocess.PIPE,
                text=True,
            )
        )  # fmt: skip
    for sender in senders:  # both associations are up and storing
        assert sender.stderr is not None
        for line in sender.stderr:
            if "Received Store Response" in line:
                break
    assert server.proc is not None
    assert sorted(s.count for s in _busy_listeners(server)) == [1, 1]
    server.proc.terminate()
    rests = [s.stderr.read() for s in senders if s.stderr is not None]
    assert [s.wait(60) for s in senders] == [0, 0], rests
    assert server.proc.wait(30) == 0
    server.proc = None
    _check_archived(server, sent)


class _Busy:
    def __init__(self, count: int) -> None:
        self.count = count


def _busy_listeners(server: Serve) -> list[_Busy]:
    """The associations each listener process of ``server`` has open (from /proc)."""
    assert server.proc is not None
    busy = []
    for child in _children(server.proc.pid):
        sockets = 0
        for fd in Path(f"/proc/{child}/fd").iterdir():
            with contextlib.suppress(FileNotFoundError):
                if os.readlink(fd).startswith("socket:"):
                    sockets += 1
        busy.append(_Busy(sockets - 1))  # less its channel to the parent
    return busy


def test_a_killed_serve_takes_its_listener_processes_with_it(tmp_path: Path) -> None:
    server = Serve(tmp_path / "data", tmp_path / "serve.log", MSK_TRIAGE_LISTENER_PROCESSES="2")
    server.start()
    assert server.proc is not None
    children = _children(server.proc.pid)
    assert len(children) == 2
    server.kill()
    _wait(lambda: not any(_alive(pid) for pid in children), timeout=10)
    server.start()  # and the port is free for the next one at once
    assert server.stop() == 0
