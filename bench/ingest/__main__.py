"""Ingest benchmark: the same corpus sent by dcmtk to ours and to three peers.

    .venv/bin/python -m bench.ingest [--repeat N] [--reports N] [--images N]

Receivers: ``msk-triage serve`` on SQLite (fsync + index per instance), pynetdicom's
storescp app (writes files, neither fsyncs nor indexes), dcmtk's storescp (forking), and
a stock pynetdicom SCP that discards everything (the library's ceiling). Each run starts
the receiver on a fresh folder; receivers are interleaved within each repeat so machine
load hits them alike; the median run is reported. Goals (issue 2) are checked at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.ingest.corpus import Corpus, build
from bench.ingest.receivers import (
    DISCARD,
    OUR_LISTENER_ONLY,
    OURS,
    PYNETDICOM_STORESCP,
    Receiver,
    cpu_seconds,
    dcmtk_storescp,
)
from bench.ingest.senders import send

DCMTK = dcmtk_storescp(fork=True)
RECEIVERS = (OURS, PYNETDICOM_STORESCP, DCMTK, DISCARD, OUR_LISTENER_ONLY)


@dataclass
class Sample:
    seconds: float
    cpu: float  # receiver CPU seconds (user + system)


@dataclass
class Row:
    receiver: str
    corpus: Corpus
    associations: int
    nodelay: bool
    samples: list[Sample]

    @property
    def seconds(self) -> float:
        return statistics.median(s.seconds for s in self.samples)

    @property
    def per_second(self) -> float:
        return len(self.corpus.files) / self.seconds

    @property
    def mb_per_second(self) -> float:
        return self.corpus.total_bytes / 1e6 / self.seconds

    @property
    def cpu_ms_per_instance(self) -> float:
        return statistics.median(s.cpu for s in self.samples) * 1000 / len(self.corpus.files)


def _run(
    receiver: Receiver, corpus: Corpus, associations: int, nodelay: bool, work: Path
) -> Sample:
    running = receiver.start(work)
    try:
        cpu_before = cpu_seconds(running.proc.pid)
        sent = send(corpus.files, running.port, associations=associations, nodelay=nodelay)
        if sent.failures:
            raise RuntimeError(f"{receiver.name}: sender failed:\n" + "\n".join(sent.failures))
        time.sleep(0.2)  # let dcmtk's forked children finish and be reaped
        cpu = cpu_seconds(running.proc.pid) - cpu_before
        received = running.count()
        if received is not None and received != len(corpus.files):
            raise RuntimeError(f"{receiver.name}: {received} of {len(corpus.files)} received")
        return Sample(sent.seconds, cpu)
    finally:
        running.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--reports", type=int, default=500)
    parser.add_argument("--images", type=int, default=200)
    args = parser.parse_args()
    os.chdir(Path(__file__).resolve().parents[2])  # so `-m bench.ingest.discard` resolves

    print(f"load average before: {_load()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        work = Path(tmp)
        corpora = build(work / "corpus", reports=args.reports, images=args.images)
        plans: list[tuple[Receiver, Corpus, int, bool]] = []
        for corpus in corpora:
            for associations in (1, 4):
                plans += [(r, corpus, associations, True) for r in RECEIVERS]
                if corpus is corpora[0]:
                    plans.append((OURS, corpus, associations, False))
        rows = {(r.name, c.name, a, nd): Row(r.name, c, a, nd, []) for r, c, a, nd in plans}
        for repeat in range(args.repeat):
            for receiver, corpus, associations, nodelay in plans:
                sample = _run(receiver, corpus, associations, nodelay, work / "run")
                rows[(receiver.name, corpus.name, associations, nodelay)].samples.append(sample)
            print(f"repeat {repeat + 1}/{args.repeat} done, load {_load()}", flush=True)
    print(f"load average after: {_load()}\n")
    _report(list(rows.values()), corpora)


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def _find(
    rows: list[Row], name: str, corpus: Corpus, associations: int, nodelay: bool = True
) -> Row:
    return next(
        r
        for r in rows
        if (r.receiver, r.corpus.name, r.associations, r.nodelay)
        == (name, corpus.name, associations, nodelay)
    )


def _report(rows: list[Row], corpora: tuple[Corpus, Corpus]) -> None:
    header = (
        f"{'corpus':<16} {'assoc':>5} {'receiver':<32} {'inst/s':>8} {'MB/s':>8} "
        f"{'cpu ms/inst':>11} {'ours ×':>7}"
    )
    print(header)
    print("-" * len(header))
    for corpus in corpora:
        for associations in (1, 4):
            ours = _find(rows, OURS.name, corpus, associations)
            for row in rows:
                if row.corpus is not corpus or row.associations != associations:
                    continue
                name = row.receiver + ("" if row.nodelay else ", sender without TCP_NODELAY")
                print(
                    f"{corpus.name:<16} {associations:>5} {name:<32} {row.per_second:>8.1f} "
                    f"{row.mb_per_second:>8.1f} {row.cpu_ms_per_instance:>11.2f} "
                    f"{ours.per_second / row.per_second:>7.2f}"
                )
    sr, images = corpora
    pyn = PYNETDICOM_STORESCP.name
    goals = [
        ("SR, 4 assoc: ours ≥ 1.0× pynetdicom storescp", sr, 4, pyn, 1.0),
        ("SR, 4 assoc: ours ≥ 0.5× dcmtk storescp --fork", sr, 4, DCMTK.name, 0.5),
        ("images, 1 assoc: ours ≥ 1.0× pynetdicom storescp", images, 1, pyn, 1.0),
        ("images, 4 assoc: ours ≥ 1.0× pynetdicom storescp", images, 4, pyn, 1.0),
        ("images, 1 assoc: ours ≥ 0.8× discarding handler", images, 1, DISCARD.name, 0.8),
        ("images, 4 assoc: ours ≥ 0.8× discarding handler", images, 4, DISCARD.name, 0.8),
    ]  # fmt: skip
    print("\ngoals")
    for label, corpus, associations, peer, target in goals:
        ratio = (
            _find(rows, OURS.name, corpus, associations).per_second
            / _find(rows, peer, corpus, associations).per_second
        )
        print(f"  {'met ' if ratio >= target else 'MISS'} {label}: {ratio:.2f}×")
    for associations in (1, 4):
        with_ = _find(rows, OURS.name, sr, associations, True).per_second
        without = _find(rows, OURS.name, sr, associations, False).per_second
        ratio = without / with_
        print(
            f"  {'met ' if ratio >= 0.8 else 'MISS'} SR, {associations} assoc: sender without "
            f"TCP_NODELAY ≥ 0.8× with it: {ratio:.2f}×"
        )


if __name__ == "__main__":
    main()
