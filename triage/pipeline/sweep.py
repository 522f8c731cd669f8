"""One pipeline sweep: claim due studies, triage them, store the results.

    claim (short transaction) -> read archive files + run the rules (no transaction,
    no lock) -> store (one transaction for the batch)

The finishing writes of a batch share one transaction (on SQLite, one commit - one
fsync - for many studies); if that transaction fails, each study is stored alone, so a
study whose storing fails (it keeps its claim and is retried when the lease ends) does
not hold back the others. Rules failing on a document make that document unreadable
(``assess``), they never stop the sweep.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from rules.api import RuleSet, evaluate
from triage.db.engine import write_lock, writer
from triage.jobs.runs import describe_error, recorded_job
from triage.pipeline.assess import assess
from triage.pipeline.claims import Claim, claim_studies, current_objects, release_claims
from triage.pipeline.documents import ArchivedObject, read_study
from triage.pipeline.ruleset import ruleset_for
from triage.pipeline.store import Triaged, store_triage
from triage.settings import Settings

log = logging.getLogger(__name__)

JOB_ID = "pipeline-sweep"

# SQLSTATEs after which PostgreSQL asks for the transaction to be retried.
_RETRY_SQLSTATES = {"40001", "40P01"}
_STORE_ATTEMPTS = 3


class PipelineError(Exception):
    """Some triaged studies could not be stored (they are retried later)."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def default_worker_id(settings: Settings) -> str:
    return settings.worker_id or f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class SweepResult:
    claimed: int = 0
    stored: int = 0  # recorded as triaged
    dropped: int = 0  # the study changed while being triaged: triaged again later
    released: int = 0  # claimed but not triaged (stop requested)
    failed: int = 0  # could not be stored; retried when the claim expires
    first_error: str | None = None

    def add(self, other: SweepResult) -> None:
        self.claimed += other.claimed
        self.stored += other.stored
        self.dropped += other.dropped
        self.released += other.released
        self.failed += other.failed
        self.first_error = self.first_error or other.first_error


class Sweeper:
    """Claims, triages and stores batches of studies for one worker."""

    def __init__(
        self,
        *,
        engine: Engine,
        settings: Settings,
        worker: str | None = None,
        ruleset: RuleSet | None = None,
        clock: Callable[[], datetime] = utc_now,
        stop: threading.Event | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.worker = worker or default_worker_id(settings)
        self.ruleset = ruleset or ruleset_for(settings)
        self.clock = clock
        self.stop = stop or threading.Event()
        self._lease = timedelta(seconds=settings.claim_lease_seconds)

    def sweep(self) -> SweepResult:
        """Batches until nothing is due (or a stop is requested)."""
        total = SweepResult()
        while not self.stop.is_set():
            batch = self.batch()
            total.add(batch)
            if batch.claimed < self.settings.pipeline_batch_size or batch.failed:
                break
        return total

    def batch(self) -> SweepResult:
        claims = self._claim()
        result = SweepResult(claimed=len(claims))
        if not claims:
            return result
        with Session(self.engine) as session:
            objects = current_objects(session, study_ids=[c.study_id for c in claims])
        done: list[Triaged] = []
        for claim in claims:
            if self.stop.is_set():
                break  # finish the studies triaged so far; give the rest back
            done.append(self._triage(claim, objects[claim.study_id]))
        left = [c.study_id for c in claims[len(done) :]]
        if left:
            result.released = self._release(left)
        self._store(done, result)
        return result

    # -- steps ---------------------------------------------------------------------------

    def _claim(self) -> list[Claim]:
        now = self.clock()
        with write_lock(self.engine), Session(writer(self.engine)) as session, session.begin():
            return claim_studies(
                session,
                worker=self.worker,
                now=now,
                expires_at=now + self._lease,
                limit=self.settings.pipeline_batch_size,
            )

    def _triage(self, claim: Claim, objects: Sequence[ArchivedObject]) -> Triaged:
        started = self.clock()
        docs = read_study(objects, self.settings.data_dir)
        assessment = assess(docs, self.ruleset, evaluate)
        if docs.unreadable_images:
            log.warning(
                "study %s: %d image header(s) not read: %s",
                claim.study_instance_uid,
                len(docs.unreadable_images),
                "; ".join(f"{p.sop_instance_uid}: {p.reason}" for p in docs.unreadable_images),
            )
        return Triaged(
            study_id=claim.study_id,
            content_revision=claim.content_revision,
            assessment=assessment,
            ruleset_version=self.ruleset.version,
            worker=self.worker,
            started_at=started,
        )

    def _release(self, study_ids: list[int]) -> int:
        with write_lock(self.engine), Session(writer(self.engine)) as session, session.begin():
            return release_claims(session, study_ids=study_ids, worker=self.worker)

    def _store(self, done: list[Triaged], result: SweepResult) -> None:
        if not done:
            return
        try:
            outcomes = list(zip(done, self._store_together(done), strict=True))
        except Exception as exc:
            if len(done) == 1:
                self._failed(done[0], exc, result)
                return
            log.warning("storing %d triaged studies together failed: one by one", len(done))
            outcomes = []
            for item in done:
                try:
                    outcomes.append((item, self._store_together([item])[0]))
                except Exception as single:
                    self._failed(item, single, result)
        result.stored += sum(1 for _, ok in outcomes if ok)
        dropped = [item.study_id for item, ok in outcomes if not ok]
        if dropped:
            result.dropped += len(dropped)
            self._release(dropped)

    def _failed(self, item: Triaged, exc: Exception, result: SweepResult) -> None:
        log.error("could not store the triage of study id %d", item.study_id, exc_info=exc)
        result.failed += 1
        result.first_error = result.first_error or describe_error(exc)

    def _store_together(self, done: Sequence[Triaged]) -> list[bool]:
        for attempt in range(_STORE_ATTEMPTS):
            now = self.clock()
            try:
                with (
                    write_lock(self.engine),
                    Session(writer(self.engine)) as session,
                    session.begin(),
                ):
                    return [
                        store_triage(session, result=item, now=now, settings=self.settings)
                        for item in done
                    ]
            except DBAPIError as exc:
                sqlstate = getattr(exc.orig, "sqlstate", None)
                if sqlstate not in _RETRY_SQLSTATES or attempt == _STORE_ATTEMPTS - 1:
                    raise
                time.sleep(0.01 * 2**attempt)
        raise AssertionError("unreachable")


@recorded_job(JOB_ID)
def run_pipeline_sweep(
    *,
    engine: Engine,
    settings: Settings,
    now: datetime | None = None,
    stop: threading.Event | None = None,
) -> int:
    """The ``pipeline-sweep`` job: claim due studies, triage, store; how many studies
    were recorded as triaged. ``now`` freezes the clock (tests). Raises
    ``PipelineError`` after the sweep when some results could not be stored."""
    clock: Callable[[], datetime] = utc_now if now is None else (lambda: now)
    result = Sweeper(engine=engine, settings=settings, clock=clock, stop=stop).sweep()
    log_sweep(result)
    if result.failed:
        raise PipelineError(
            f"{result.failed} triaged studies could not be stored: {result.first_error}"
        )
    return result.stored


def log_sweep(result: SweepResult) -> None:
    if result.stored or result.dropped:
        log.info(
            "triaged %d %s%s",
            result.stored,
            "study" if result.stored == 1 else "studies",
            f" ({result.dropped} changed meanwhile, triaged again later)" if result.dropped else "",
        )
