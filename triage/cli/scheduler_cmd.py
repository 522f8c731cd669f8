"""``msk-triage scheduler``: the singleton jobs (stability, SLA escalation, retention ...)
through APScheduler, for scale-out; the pipeline sweep is left to ``msk-triage worker``.

On PostgreSQL only the process holding the scheduler's advisory lock runs the jobs; a
second one waits as a hot standby and takes over when the first dies. On SQLite it just
runs.
"""

from __future__ import annotations

import logging
from typing import Any

import click

from triage.cli.context import CliContext, pass_cli
from triage.cli.worker_cmd import open_database

LOGGER = logging.getLogger("triage.scheduler")
LEADING_LINE = "msk-triage scheduler is running the jobs"
STANDBY_LINE = "msk-triage scheduler is standing by"


@click.command("scheduler")
@pass_cli
def scheduler(cli: CliContext) -> None:
    """Run the scheduled singleton jobs until stopped (one leader at a time)."""
    from triage.cli.serve_cmd import quiet_chatty_loggers, stop_signals
    from triage.pipeline.leader import lead
    from triage.pipeline.sweep import JOB_ID as PIPELINE_JOB
    from triage.scheduler import build_scheduler

    settings = cli.settings()
    quiet_chatty_loggers()
    engine = open_database(settings)
    running: list[Any] = []

    def start() -> None:
        jobs = build_scheduler(settings, engine)
        if jobs.get_job(PIPELINE_JOB) is not None:
            jobs.remove_job(PIPELINE_JOB)  # workers sweep; this process only schedules
        jobs.start()
        running.append(jobs)
        ids = ", ".join(sorted(job.id for job in jobs.get_jobs()))
        LOGGER.info("%s (%s); SIGTERM or Ctrl-C stops", LEADING_LINE, ids)

    def halt() -> None:
        while running:
            running.pop().shutdown(wait=True)

    def standby() -> None:
        LOGGER.info("%s: another scheduler holds the lock", STANDBY_LINE)

    try:
        with stop_signals(LOGGER, "still waiting for running jobs to finish") as request:
            lead(engine, stop=request.stop, start=start, halt=halt, on_standby=standby)
        LOGGER.info("stopped")
    finally:
        engine.dispose()
