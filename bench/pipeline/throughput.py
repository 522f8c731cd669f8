"""Pipeline throughput on SQLite for SR-only studies: pre-ingested, then one timed sweep.

Everything the pipeline does per study is in the timing: the claim, reading the SR from
the archive, the rules, merging, and the finishing transaction (flags, worklist item
with routing over a two-reader roster, audit, TriageRun, conditional mark), committed
per batch with ``synchronous=FULL``.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlmodel import Session

from bench.pipeline.corpus import ROSTER, make_study
from triage.db.migrate import migrated_engine
from triage.db.models import TriageRun
from triage.ingest.service import Ingestor
from triage.pipeline.ruleset import ruleset_for
from triage.pipeline.sweep import Sweeper
from triage.settings import load_settings


@dataclass(frozen=True)
class ThroughputRun:
    studies: int
    flagged: int
    seconds: float
    cpu_seconds: float  # this process (the sweep is single-threaded)

    @property
    def per_second(self) -> float:
        return self.studies / self.seconds


def run_throughput(studies: int, batch_size: int) -> ThroughputRun:
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        root = Path(tmp)
        settings = load_settings(
            environ={},
            data_dir=root / "data",
            study_stable_seconds=0,
            pipeline_batch_size=batch_size,
        )
        settings.data_dir.mkdir(parents=True)
        settings.resolved_roster_file.write_text(ROSTER)
        engine = migrated_engine(settings)
        try:
            received = datetime(2025, 1, 1, tzinfo=UTC)  # long stable when the sweep runs
            ingestor = Ingestor(settings=settings, engine=engine, clock=lambda: received)
            flagged = 0
            for i in range(studies):
                study = make_study(root / "corpus" / str(i), i)
                flagged += study.flagged
                for path in study.files:
                    stored = ingestor.ingest_file(path, calling_ae="BENCH")
                    if not stored.ok:
                        raise RuntimeError(f"ingest failed: {stored.reason}")
            sweeper = Sweeper(
                engine=engine, settings=settings, worker="bench", ruleset=ruleset_for(settings)
            )
            _warm_up(sweeper)
            started, cpu = time.perf_counter(), time.process_time()
            result = sweeper.sweep()
            seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
            with Session(engine) as session:
                runs = session.execute(select(func.count()).select_from(TriageRun)).scalar_one()
            if result.stored != studies or runs != studies:
                raise RuntimeError(f"triaged {result.stored} of {studies} ({runs} runs)")
            return ThroughputRun(studies, flagged, seconds, cpu_seconds)
        finally:
            engine.dispose()


def _warm_up(sweeper: Sweeper) -> None:
    """Load the context engine's lexicon (once per process) outside the timing."""
    from rules.api import evaluate
    from rules.sr import build
    from rules.sr.reader import read_document

    doc = read_document(build.to_bytes(build.sr_document(build.diagnostic_report())))
    evaluate(doc, sweeper.ruleset)
