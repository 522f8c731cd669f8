"""``msk-triage serve``: the DICOM listener and the scheduled jobs in one process.

``run_service`` is the whole life cycle (database, ingest, listener, optional scheduler,
signals, orderly stop); ``msk-triage listener`` calls it with ``scheduler=False``. With
``listener_processes`` > 1 (the default on a machine with several CPUs) associations are
received by that many listener processes (``dicom_listener.pool``, each running
``triage.cli.listener_process``) and this process accepts, supervises and runs the jobs.
``stop_signals`` and ``quiet_chatty_loggers`` serve the other long-running commands
(``worker``, ``scheduler``) too.
"""

from __future__ import annotations

import errno
import logging
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING, Any

import click

from triage.cli.context import CliContext, pass_cli
from triage.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from dicom_listener.pool import ListenerPool
    from dicom_listener.server import Listener

LOGGER = logging.getLogger("triage.serve")

DEFAULT_GRACE_SECONDS = 30.0
# How one listener process of a pool is started (see triage/cli/listener_process.py).
LISTENER_PROCESS_COMMAND = (sys.executable, "-m", "triage.cli.listener_process")


class StopRequest:
    """Set by SIGTERM/SIGINT; a second signal asks to stop at once (``again`` says what
    that means for the command)."""

    def __init__(
        self, logger: logging.Logger = LOGGER, again: str = "aborting running associations"
    ) -> None:
        self.stop = threading.Event()
        self.hurry = threading.Event()
        self._logger = logger
        self._again = again

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self.stop.is_set():
            self._logger.warning("%s again: %s", name, self._again)
            self.hurry.set()
        else:
            self._logger.info("%s received: stopping", name)
            self.stop.set()


@contextmanager
def stop_signals(
    logger: logging.Logger = LOGGER, again: str = "aborting running associations"
) -> Iterator[StopRequest]:
    """Route SIGTERM and SIGINT to a ``StopRequest`` (main thread only)."""
    request = StopRequest(logger, again)
    previous = {sig: signal.signal(sig, request) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield request
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_service(settings: Settings, *, scheduler: bool, grace_seconds: float) -> None:
    """Run until SIGTERM/SIGINT; raise ``click.ClickException`` when it cannot start."""
    quiet_chatty_loggers()
    # Imported here, so other commands do not pay for pynetdicom and the database layer.
    from dicom_listener.policy import ListenerConfigError, build_policy
    from dicom_listener.pool import ListenerPool
    from dicom_listener.server import Listener
    from triage.db.engine import make_engine
    from triage.db.migrate import upgrade
    from triage.ingest.service import Ingestor

    with stop_signals() as request:
        try:
            policy = build_policy(settings)  # bad TLS files etc. before touching the database
        except ListenerConfigError as exc:
            raise click.ClickException(f"invalid listener settings: {exc}") from None

        try:
            engine = make_engine(settings)
        except OSError as exc:
            raise click.ClickException(_data_dir_error(settings, exc)) from None
        try:
            try:
                upgrade(engine)
            except Exception as exc:
                raise click.ClickException(
                    f"cannot prepare the database {_safe_url(settings)}: {exc}"
                ) from None
            try:
                # Also with a pool: a data dir that cannot be used is said here, once.
                ingestor = Ingestor(settings=settings, engine=engine)
            except OSError as exc:
                raise click.ClickException(_data_dir_error(settings, exc)) from None
            processes = settings.resolved_listener_processes
            listener: Listener | ListenerPool
            if processes > 1:
                listener = ListenerPool(
                    settings, processes=processes, command=LISTENER_PROCESS_COMMAND, policy=policy
                )
            else:
                listener = Listener(settings, ingestor, policy=policy)
            _start_listener(listener, settings)
            jobs = None
            try:
                for warning in listener.policy.warnings:
                    LOGGER.warning("%s", warning)
                if scheduler:
                    jobs = _start_scheduler(settings, engine)
                host, port = listener.address
                LOGGER.info(
                    "msk-triage is receiving as AE title %s on %s:%d%s%s; SIGTERM or Ctrl-C stops",
                    settings.ae_title,
                    host,
                    port,
                    f" in {processes} listener processes" if processes > 1 else "",
                    " with the scheduler" if jobs is not None else "",
                )
                while not request.stop.wait(1.0):
                    if not listener.running:
                        raise click.ClickException("the DICOM listener stopped unexpectedly")
            finally:
                _stop(listener, jobs, grace_seconds, request)
        finally:
            engine.dispose()


def _data_dir_error(settings: Settings, exc: OSError) -> str:
    where = f" ({exc.filename})" if exc.filename else ""
    return f"cannot prepare the data directory {settings.data_dir}: {exc.strerror or exc}{where}"


def quiet_chatty_loggers() -> None:
    """A long-running service: no INFO line per scheduled job run (every few seconds) nor
    per Alembic plugin; their warnings and errors still show."""
    for name in ("apscheduler.executors", "apscheduler.scheduler", "alembic.runtime.plugins"):
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < logging.WARNING and not LOGGER.isEnabledFor(logging.DEBUG):
            logger.setLevel(logging.WARNING)


def _start_listener(listener: Listener | ListenerPool, settings: Settings) -> None:
    from dicom_listener.pool import PoolStartError

    where = f"{settings.bind_address}:{settings.dicom_port}"
    try:
        listener.start()
    except PoolStartError as exc:
        raise click.ClickException(f"cannot start the DICOM listener: {exc}") from None
    except OSError as exc:
        if exc.filename:  # the spool folder under the data dir, not the socket
            raise click.ClickException(
                f"cannot prepare {exc.filename}: {exc.strerror or exc}"
            ) from None
        if exc.errno == errno.EADDRINUSE:
            raise click.ClickException(
                f"cannot listen on {where}: the port is already in use "
                "(another msk-triage or DICOM listener?); set MSK_TRIAGE_DICOM_PORT"
            ) from None
        if exc.errno == errno.EACCES:
            raise click.ClickException(
                f"cannot listen on {where}: permission denied (ports below 1024 need "
                "privileges); set MSK_TRIAGE_DICOM_PORT"
            ) from None
        raise click.ClickException(f"cannot listen on {where}: {exc.strerror or exc}") from None


def _start_scheduler(settings: Settings, engine: Engine) -> Any:
    from triage.pipeline.wakeup import wake_when_due
    from triage.scheduler import build_scheduler

    jobs = build_scheduler(settings, engine)
    # the pipeline sweep also runs when the next study becomes due, not only each interval
    wake_when_due(jobs, engine)
    jobs.start()
    return jobs


def _stop(
    listener: Listener | ListenerPool, jobs: Any, grace_seconds: float, request: StopRequest
) -> None:
    if listener.running:
        LOGGER.info("no longer accepting associations")
        if not listener.stop(grace_seconds, hurry=request.hurry):
            LOGGER.warning("some associations were aborted at shutdown")
    if jobs is not None:
        jobs.shutdown(wait=True)
    LOGGER.info("stopped")


def _safe_url(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.resolved_database_url).render_as_string(hide_password=True)


grace_option = click.option(
    "--grace",
    type=click.FloatRange(min=0),
    default=DEFAULT_GRACE_SECONDS,
    show_default=True,
    help="Seconds running associations get to finish after SIGTERM/SIGINT.",
)


@click.command()
@grace_option
@pass_cli
def serve(cli: CliContext, grace: float) -> None:
    """Receive studies (DICOM listener) and run the scheduled jobs until stopped."""
    run_service(cli.settings(), scheduler=True, grace_seconds=grace)
