"""A real ``.venv/bin/msk-triage serve`` subprocess and dcmtk senders."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

AE_TITLE = "MSKTRIAGE"
MSK_TRIAGE = Path(sys.executable).with_name("msk-triage")
READY_LINE = "msk-triage is receiving"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Serve:
    """One ``msk-triage serve`` process (restartable) on a data dir and port."""

    def __init__(self, data_dir: Path, log: Path, **env: str) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.log = log
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("MSK_TRIAGE_")},
            "MSK_TRIAGE_DATA_DIR": str(data_dir),
            "MSK_TRIAGE_DICOM_PORT": str(self.port),
            "MSK_TRIAGE_BIND_ADDRESS": "127.0.0.1",
            "MSK_TRIAGE_AE_TITLE": AE_TITLE,
            **env,
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self, timeout: float = 30.0) -> None:
        assert self.proc is None
        offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [str(MSK_TRIAGE), "serve", "--grace", "10"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.starts += 1
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if READY_LINE in self.log.read_text(errors="replace")[offset:]:
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"serve did not start:\n{self.log.read_text()[offset:]}")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.proc = None

    def stop(self) -> int:
        """SIGTERM and wait; the exit status."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(30)
        self.proc = None
        return code


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    server = Serve(tmp_path / "data", tmp_path / "serve.log")
    server.start()
    yield server
    if server.proc is not None:
        server.stop()


def dcmtk_env(nodelay: bool) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("TCP_NODELAY", None)
    if nodelay:
        env["TCP_NODELAY"] = "1"  # dcmtk turns Nagle off only when asked
    return env


def run_dcmtk(
    tool: str, port: int, args: Sequence[str], *, nodelay: bool = True, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool, "-v", "-aec", AE_TITLE, "-aet", "DCMTKSCU", "127.0.0.1", str(port), *args],
        env=dcmtk_env(nodelay),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if shutil.which("storescu") and shutil.which("dcmsend"):
        return
    skip = pytest.mark.skip(reason="dcmtk (storescu, dcmsend) is not installed")
    for item in items:
        if "tests/integration" in str(item.fspath):
            item.add_marker(skip)
