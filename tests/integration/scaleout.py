"""The scale-out processes as the integration tests run them - and as docker-compose.yml
runs them: ``COMMANDS`` is the one list of service commands both use
(``test_compose`` checks the compose file against it)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from sqlalchemy import create_engine, text

LISTENER = ("msk-triage", "listener")
WORKER = ("msk-triage", "worker")
SCHEDULER = ("msk-triage", "scheduler")
COMMANDS = (LISTENER, WORKER, SCHEDULER)

VENV_BIN = Path(sys.executable).parent
LISTENER_READY = "msk-triage is receiving"
WORKER_READY = "is triaging with rule set"
SCHEDULER_LEADING = "msk-triage scheduler is running the jobs"
SCHEDULER_STANDBY = "msk-triage scheduler is standing by"


def service_env(database_url: str, data_dir: Path, **settings: str) -> dict[str, str]:
    """This process's environment without MSK_TRIAGE_*, plus the given settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MSK_TRIAGE_")}
    env.update(MSK_TRIAGE_DATABASE_URL=database_url, MSK_TRIAGE_DATA_DIR=str(data_dir))
    env.update(settings)
    return env


class Service:
    """One ``msk-triage`` process running a command from ``COMMANDS``."""

    def __init__(self, command: tuple[str, ...], log: Path, env: Mapping[str, str]) -> None:
        assert command in COMMANDS, f"{command} is not a service command docker-compose runs"
        self.command = command
        self.log = log
        self.env = dict(env)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Service:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [str(VENV_BIN / self.command[0]), *self.command[1:]],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return self

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_for(self, line: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if line in self.output():
                return
            if self.proc is not None and self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"{' '.join(self.command)} never said {line!r}:\n{self.output()}")

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM; the exit status."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout)
        self.proc = None
        return code

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(30)
            self.proc = None


def query(database_url: str, sql: str) -> list[tuple[object, ...]]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql))]
    finally:
        engine.dispose()


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")
