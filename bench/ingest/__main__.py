"""Ingest benchmark: the same corpus sent by dcmtk to ours and to its peers, in one run.

    .venv/bin/python -m bench.ingest [--repeat N] [--reports N] [--images N]
                                     [--only ours,pynetdicom,dcmtk,discard,null]
                                     [--corpora sr,images] [--associations 1,4]

Receivers (each started on a fresh folder for every run, interleaved within each repeat so
machine load hits them alike; the median run is reported):

- ours: ``msk-triage serve`` on SQLite (fsync and index row before each response), with
  its default number of listener processes (the number of CPUs);
- pynetdicom's storescp app (writes files; neither fsyncs nor indexes);
- dcmtk's storescp, forking (with TCP_NODELAY=1, else it waits on delayed ACKs);
- a stock pynetdicom SCP that discards what it receives (the library's ceiling);
- diagnostic: our listener with an ingest that discards, in as many processes (what the
  listener costs; the difference to ours is the durable ingest).

Each receiver is started, then left until it is idle (start-up work such as loading the
rule pack must not land in the measured run), after a sync of the file system (the
previous run's removed files are trimmed at the next journal commit on a ``discard``
mount, which would be the measured run's first fsync).

Senders: dcmtk storescu, one process per association (1 or 4), with TCP_NODELAY=1; ours is
also fed by senders without it (Nagle on, dcmtk's default). The goals of issue 2 are
checked at the end.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
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
    peak_rss_mb,
)
from bench.ingest.senders import send

DCMTK = dcmtk_storescp(fork=True)
RECEIVERS = {
    "ours": OURS,
    "pynetdicom": PYNETDICOM_STORESCP,
    "dcmtk": DCMTK,
    "discard": DISCARD,
    "null": OUR_LISTENER_ONLY,
}
ASSOCIATIONS = (1, 4)


@dataclass
class Sample:
    seconds: float
    cpu: float  # receiver CPU seconds (user + system, children included)
    rss_mb: float  # receiver peak resident memory


@dataclass
class Row:
    receiver: str
    corpus: Corpus
    associations: int
    nodelay: bool
    samples: list[Sample] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.receiver + ("" if self.nodelay else " ← Nagle sender")

    @property
    def per_second(self) -> float:
        return len(self.corpus.files) / statistics.median(s.seconds for s in self.samples)

    @property
    def spread(self) -> float:
        """(slowest - fastest) / median, in per cent: how much the load moved things."""
        times = [s.seconds for s in self.samples]
        return (max(times) - min(times)) / statistics.median(times) * 100

    @property
    def mb_per_second(self) -> float:
        return self.corpus.total_bytes / 1e6 * self.per_second / len(self.corpus.files)

    @property
    def cpu_ms(self) -> float:
        return statistics.median(s.cpu for s in self.samples) * 1000 / len(self.corpus.files)

    @property
    def rss_mb(self) -> float:
        return max(s.rss_mb for s in self.samples)


def _run(receiver: Receiver, row: Row, work: Path) -> None:
    running = receiver.start(work)
    try:
        cpu_before = cpu_seconds(running.proc.pid)
        sent = send(
            row.corpus.files, running.port, associations=row.associations, nodelay=row.nodelay
        )
        if sent.failures:
            raise RuntimeError(f"{receiver.name}: sender failed:\n" + "\n".join(sent.failures))
        time.sleep(0.2)  # dcmtk's forked children exit and are reaped
        cpu = cpu_seconds(running.proc.pid) - cpu_before
        rss = peak_rss_mb(running.proc.pid)
        received = running.count()
        if received is not None and received != len(row.corpus.files):
            raise RuntimeError(f"{receiver.name}: {received} of {len(row.corpus.files)} arrived")
        row.samples.append(Sample(sent.seconds, cpu, rss))
    finally:
        running.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--reports", type=int, default=500)
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--only", default=",".join(RECEIVERS), help="receivers to run")
    parser.add_argument("--corpora", default="sr,images")
    parser.add_argument("--associations", default="1,4")
    args = parser.parse_args()
    receivers = [RECEIVERS[name] for name in args.only.split(",")]
    associations_list = [int(n) for n in args.associations.split(",")]
    corpus_names = args.corpora.split(",")
    os.chdir(Path(__file__).resolve().parents[2])  # `-m bench.ingest.*` resolves from here

    _describe_machine()
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        work = Path(tmp)
        corpora = build(work / "corpus", reports=args.reports, images=args.images)
        plan: list[tuple[Receiver, Row]] = []
        for corpus, name in zip(corpora, ("sr", "images"), strict=True):
            if name not in corpus_names:
                continue
            for associations in associations_list:
                plan += [(r, Row(r.name, corpus, associations, True)) for r in receivers]
                if corpus is corpora[0] and OURS in receivers:
                    plan.append((OURS, Row(OURS.name, corpus, associations, False)))
        for repeat in range(args.repeat):
            for receiver, row in plan:
                _run(receiver, row, work / "run")
            print(f"repeat {repeat + 1}/{args.repeat} done; load {_load()}", flush=True)
    print(f"load average at the end: {_load()}\n")
    rows = [row for _, row in plan]
    _table(rows, corpora)
    _goals(rows, corpora)


def _describe_machine() -> None:
    dcmtk = subprocess.run(["storescu", "--version"], capture_output=True, text=True, check=False)
    version = dcmtk.stdout.splitlines()[0] if dcmtk.stdout else "?"
    print(f"{platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"dcmtk: {version}")
    print(f"load average at the start: {_load()}", flush=True)


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def _table(rows: list[Row], corpora: tuple[Corpus, Corpus]) -> None:
    header = (
        f"{'corpus':<15} {'assoc':>5}  {'receiver':<36} {'inst/s':>7} {'MB/s':>7} "
        f"{'±%':>4} {'cpu ms/inst':>11} {'peak MB':>7} {'ours/this':>9}"
    )
    print(header)
    print("-" * len(header))
    for corpus in corpora:
        for associations in ASSOCIATIONS:
            ours = _find(rows, OURS.name, corpus, associations)
            for row in rows:
                if row.corpus is not corpus or row.associations != associations:
                    continue
                ratio = ours.per_second / row.per_second if ours is not None else float("nan")
                print(
                    f"{corpus.name:<15} {associations:>5}  {row.label:<36} "
                    f"{row.per_second:>7.1f} {row.mb_per_second:>7.1f} {row.spread:>4.0f} "
                    f"{row.cpu_ms:>11.2f} {row.rss_mb:>7.0f} "
                    f"{ratio:>9.2f}"
                )
        print()


def _find(
    rows: list[Row], name: str, corpus: Corpus, associations: int, nodelay: bool = True
) -> Row | None:
    return next(
        (
            r
            for r in rows
            if (r.receiver, r.corpus.name, r.associations, r.nodelay)
            == (name, corpus.name, associations, nodelay)
        ),
        None,
    )


def _ratio(a: Row | None, b: Row | None) -> float | None:
    return None if a is None or b is None else a.per_second / b.per_second


def _goals(rows: list[Row], corpora: tuple[Corpus, Corpus]) -> None:
    sr, images = corpora
    pyn, discard = PYNETDICOM_STORESCP.name, DISCARD.name
    checks = [
        ("small SR, 4 assoc: ours ≥ 1.0× pynetdicom storescp", sr, 4, pyn, 1.0),
        ("small SR, 4 assoc: ours ≥ 0.5× dcmtk storescp --fork", sr, 4, DCMTK.name, 0.5),
        ("images, 1 assoc: ours ≥ 1.0× pynetdicom storescp", images, 1, pyn, 1.0),
        ("images, 4 assoc: ours ≥ 1.0× pynetdicom storescp", images, 4, pyn, 1.0),
        ("images, 1 assoc: ours ≥ 0.8× discarding pynetdicom", images, 1, discard, 0.8),
        ("images, 4 assoc: ours ≥ 0.8× discarding pynetdicom", images, 4, discard, 0.8),
    ]
    print("goals (issue 2)")
    for label, corpus, associations, peer, target in checks:
        ratio = _ratio(
            _find(rows, OURS.name, corpus, associations), _find(rows, peer, corpus, associations)
        )
        if ratio is not None:
            print(f"  {'met ' if ratio >= target else 'MISS'}  {label}: {ratio:.2f}×")
    for associations in ASSOCIATIONS:
        ratio = _ratio(
            _find(rows, OURS.name, sr, associations, False),
            _find(rows, OURS.name, sr, associations, True),
        )
        if ratio is None:
            continue
        print(
            f"  {'met ' if ratio >= 0.8 else 'MISS'}  small SR, {associations} assoc: Nagle "
            f"sender ≥ 0.8× TCP_NODELAY sender: {ratio:.2f}×"
        )


if __name__ == "__main__":
    main()
