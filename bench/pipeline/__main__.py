"""Pipeline benchmark (issue 4): latency to the worklist, and triage throughput.

    .venv/bin/python -m bench.pipeline [--minutes M] [--window S] [--split]
                                       [--studies N] [--repeat R]

(a) latency from a study's last instance to its worklist item, p50/p95, while 100
    studies per minute arrive over DICOM (dcmtk storescu) at a real ``msk-triage serve``
    on SQLite with a short stable window (``--split``: also ``msk-triage listener`` +
    ``msk-triage worker`` on that SQLite database); goal p95 <= window + 2 s;
(b) pipeline throughput on SQLite for SR-only studies, pre-ingested, then one timed
    sweep (single process); goal >= 100 studies/s.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics

from bench.pipeline.latency import run_latency
from bench.pipeline.throughput import run_throughput

LATENCY_GOAL_OVER_WINDOW = 2.0
THROUGHPUT_GOAL = 100.0


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.pipeline", description=__doc__)
    parser.add_argument("--minutes", type=float, default=2.0, help="arrival period (a)")
    parser.add_argument("--per-minute", type=float, default=100.0, help="arrival rate (a)")
    parser.add_argument("--window", type=float, default=5.0, help="study_stable_seconds (a)")
    parser.add_argument("--images", type=int, default=3, help="US images per study (a)")
    parser.add_argument(
        "--sweep-seconds", type=float, default=1.0, help="pipeline_sweep_seconds (a)"
    )
    parser.add_argument("--studies", type=int, default=1000, help="studies per sweep (b)")
    parser.add_argument("--batch", type=int, default=50, help="pipeline_batch_size (b)")
    parser.add_argument("--repeat", type=int, default=3, help="throughput runs (b)")
    parser.add_argument(
        "--split", action="store_true", help="(a) also with msk-triage listener + worker"
    )
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args()

    load = os.getloadavg()
    print(f"host: {platform.node()}, {os.cpu_count()} CPUs, load average {load[0]:.2f}")
    ok = True
    modes = [] if args.skip_latency else [False, True] if args.split else [False]
    for split in modes:
        run = run_latency(
            window=args.window,
            per_minute=args.per_minute,
            minutes=args.minutes,
            images=args.images,
            sweep_seconds=args.sweep_seconds,
            split=split,
        )
        p50, p95 = run.quantile(0.50), run.quantile(0.95)
        worst = max(run.latencies, default=float("nan"))
        met = run.missing == 0 and p95 <= run.window + LATENCY_GOAL_OVER_WINDOW
        ok &= met
        print(
            f"\n(a) latency, last instance -> worklist item: msk-triage {run.mode} on SQLite, "
            f"{run.studies} studies at {run.per_minute:g}/min "
            f"(1 SR + {args.images} US images of 640x480 each, storescu), "
            f"stable window {run.window:g} s, pipeline sweep every {run.sweep_seconds:g} s"
        )
        print(f"    p50 {p50:.2f} s   p95 {p95:.2f} s   max {worst:.2f} s")
        print(
            f"    p50 - window {p50 - run.window:+.2f} s   p95 - window {p95 - run.window:+.2f} s"
            f"   (goal p95 - window <= {LATENCY_GOAL_OVER_WINDOW:g} s: "
            f"{'met' if met else 'NOT met'})"
        )
        print(
            f"    items missing: {run.missing}; service CPU {run.service_cpu_seconds:.1f} s "
            f"over the run"
        )
    if not args.skip_throughput:
        runs = [run_throughput(args.studies, args.batch) for _ in range(args.repeat)]
        rates = [r.per_second for r in runs]
        median = statistics.median(rates)
        cpu_rate = statistics.median(r.studies / r.cpu_seconds for r in runs)
        met = median >= THROUGHPUT_GOAL
        ok &= met
        print(
            f"\n(b) throughput: {args.studies} SR-only studies pre-ingested in SQLite "
            f"({runs[0].flagged} flagged, routed over a 2-reader roster), one sweep, "
            f"batch {args.batch}, {args.repeat} runs"
        )
        print(
            f"    median {median:.0f} studies/s wall ({min(rates):.0f}-{max(rates):.0f}), "
            f"{cpu_rate:.0f} studies per CPU second"
        )
        print(f"    goal >= {THROUGHPUT_GOAL:g} studies/s: {'met' if met else 'NOT met'}")
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
