"""Recording job runs, and the wrapper the scheduler calls."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import Engine
from sqlmodel import Session

from triage.db.crud.jobs import record_job_run
from triage.db.engine import write_lock, writer

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

MAX_ERROR_LENGTH = 2000


def describe_error(exc: BaseException) -> str:
    # The driver's message, not SQLAlchemy's (which may quote statement parameters).
    orig = getattr(exc, "orig", None)
    shown = orig if isinstance(orig, BaseException) else exc
    return f"{type(shown).__name__}: {shown}".strip()[:MAX_ERROR_LENGTH]


def recorded_job(job_id: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Record each call of a job (keyword ``engine``, optional ``now``) in ``job_run``.

    A failing run is recorded with its error and the exception propagates; a failure to
    record is logged and never hides the job's own outcome.
    """

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            engine = kwargs["engine"]
            if not isinstance(engine, Engine):
                raise TypeError("a job takes its engine as the keyword argument 'engine'")
            now = kwargs.get("now")
            started = now if isinstance(now, datetime) else datetime.now(UTC)
            clock = time.monotonic()
            try:
                result = func(*args, **kwargs)
            except Exception as exc:
                _record(engine, job_id, started, time.monotonic() - clock, describe_error(exc))
                raise
            _record(engine, job_id, started, time.monotonic() - clock, None)
            return result

        return wrapper

    return decorate


def _record(
    engine: Engine, job_id: str, started: datetime, duration: float, error: str | None
) -> None:
    try:
        with write_lock(engine), Session(writer(engine)) as session, session.begin():
            record_job_run(
                session,
                job_id=job_id,
                started_at=started,
                duration_seconds=duration,
                error=error,
            )
    except Exception:
        log.exception("could not record the run of job %s", job_id)


def run_job(job_id: str, func: Callable[..., Any], **kwargs: Any) -> None:
    """What the scheduler calls: run one job, log a failure, never raise (so one bad
    run neither stops the scheduler nor the other jobs)."""
    try:
        func(**kwargs)
    except Exception:
        log.exception("job %s failed", job_id)
