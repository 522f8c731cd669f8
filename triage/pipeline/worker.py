"""The worker loop (``msk-triage worker``): sweep, then sleep until the next study can be
claimed - computed from the database, so a study is triaged moments after its stable
time rather than at the next fixed tick - but never longer than
``pipeline_sweep_seconds``, so new arrivals are noticed.

Runs are recorded under the ``pipeline-sweep`` job id for ``msk-triage status``: every
sweep that triaged something or failed, and idle ones at most every
``IDLE_RECORD_SECONDS`` (a heartbeat, not a write every second).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session

from triage.db.crud.jobs import record_job_run
from triage.db.engine import write_lock, writer
from triage.jobs.runs import describe_error
from triage.pipeline.claims import next_claimable_at
from triage.pipeline.sweep import JOB_ID, Sweeper, SweepResult, log_sweep, utc_now
from triage.settings import Settings

log = logging.getLogger(__name__)

IDLE_RECORD_SECONDS = 30.0
# Wake this long after a due time, so the claim's ``stable_due_at <= now`` holds.
WAKE_MARGIN_SECONDS = 0.005
# Shortest pause after a sweep that claimed nothing although something looked due
# (another worker holds it for a moment): no busy loop.
MIN_PAUSE_SECONDS = 0.02
# Pause after an error (the database is down, say) before trying again.
ERROR_PAUSE_SECONDS = 5.0


class Worker:
    def __init__(
        self,
        *,
        engine: Engine,
        settings: Settings,
        stop: threading.Event,
        worker: str | None = None,
        clock: Callable[[], datetime] = utc_now,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.monotonic = monotonic
        self.settings = settings
        self.stop = stop
        self.clock = clock
        self.sweeper = Sweeper(
            engine=engine, settings=settings, worker=worker, clock=clock, stop=stop
        )
        self._last_recorded = float("-inf")

    @property
    def worker_id(self) -> str:
        return self.sweeper.worker

    def run(self) -> None:
        """Sweep until ``stop`` is set; the study in hand is finished first."""
        while not self.stop.is_set():
            pause = self.run_once()
            if pause > 0:
                self.stop.wait(pause)

    def run_once(self) -> float:
        """One sweep, recorded; how long to sleep before the next."""
        started = self.clock()
        clock = self.monotonic()
        try:
            result = self.sweeper.sweep()
        except Exception as exc:
            log.exception("pipeline sweep failed")
            self._record(started, self.monotonic() - clock, describe_error(exc), force=True)
            return ERROR_PAUSE_SECONDS
        log_sweep(result)
        error = None
        if result.failed:
            error = f"{result.failed} triaged studies could not be stored: {result.first_error}"
        busy = bool(result.claimed or error)
        self._record(started, self.monotonic() - clock, error, force=busy)
        if result.claimed >= self.settings.pipeline_batch_size and not result.failed:
            return 0.0  # more is due at once
        try:
            return self.pause(result)
        except Exception:
            log.exception("could not read the next due time")
            return self.settings.pipeline_sweep_seconds

    def pause(self, result: SweepResult) -> float:
        """Seconds until the next study can be claimed, capped by the sweep interval."""
        cap = self.settings.pipeline_sweep_seconds
        with Session(self.engine) as session:
            due = next_claimable_at(session)
        if due is None:
            return cap
        wait = (due - self.clock()).total_seconds() + WAKE_MARGIN_SECONDS
        if wait <= 0 and not result.claimed:
            wait = MIN_PAUSE_SECONDS
        return min(max(wait, 0.0), cap)

    def _record(self, started: datetime, duration: float, error: str | None, force: bool) -> None:
        moment = self.monotonic()
        if not force and moment - self._last_recorded < IDLE_RECORD_SECONDS:
            return
        try:
            with write_lock(self.engine), Session(writer(self.engine)) as session, session.begin():
                record_job_run(
                    session,
                    job_id=JOB_ID,
                    started_at=started,
                    duration_seconds=duration,
                    error=error,
                )
            self._last_recorded = moment
        except Exception:
            log.exception("could not record the pipeline run")
