"""dcmtk senders: ``associations`` storescu processes, one association each."""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from bench.ingest.receivers import AE_TITLE


@dataclass(frozen=True)
class Sent:
    seconds: float
    failures: tuple[str, ...]  # stderr of senders that did not exit 0


def send(files: tuple[Path, ...], port: int, *, associations: int, nodelay: bool) -> Sent:
    env = dict(os.environ)
    env.pop("TCP_NODELAY", None)
    if nodelay:
        env["TCP_NODELAY"] = "1"  # dcmtk disables Nagle only when asked
    parts = [files[i::associations] for i in range(associations)]
    started = time.perf_counter()
    procs = [
        subprocess.Popen(
            ["storescu", "--required", "-aec", AE_TITLE, "127.0.0.1", str(port),
             *map(str, part)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for part in parts
    ]  # fmt: skip
    outputs = [p.communicate(timeout=600)[1] for p in procs]
    seconds = time.perf_counter() - started
    failures = tuple(
        out.decode(errors="replace")[-2000:]
        for p, out in zip(procs, outputs, strict=True)
        if p.returncode != 0
    )
    return Sent(seconds, failures)
