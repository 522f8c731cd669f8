"""``msk-triage worker``: the triage pipeline alone, for scale-out.

Several workers may run against one PostgreSQL database and one shared archive folder
(the same data dir as the listeners): each claims its own studies. SIGTERM or Ctrl-C
finishes the study in hand, stores what is done and gives the rest back.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import click

from triage.cli.context import CliContext, pass_cli

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from triage.settings import Settings

LOGGER = logging.getLogger("triage.worker")
READY_LINE = "msk-triage worker"


@click.command("worker")
@pass_cli
def worker(cli: CliContext) -> None:
    """Triage stable studies (rules -> flags -> worklist) until stopped."""
    from rules.api import RuleSetError
    from triage.cli.serve_cmd import quiet_chatty_loggers, stop_signals
    from triage.pipeline.ruleset import ruleset_for
    from triage.pipeline.worker import Worker

    settings = cli.settings()
    quiet_chatty_loggers()
    try:
        ruleset = ruleset_for(settings)
    except RuleSetError as exc:
        raise click.ClickException(f"invalid rules:\n{exc}") from None
    engine = open_database(settings)
    try:
        with stop_signals(LOGGER, "still finishing the study in hand") as request:
            loop = Worker(engine=engine, settings=settings, stop=request.stop)
            LOGGER.info(
                "%s %s is triaging with rule set %s; SIGTERM or Ctrl-C stops",
                READY_LINE,
                loop.worker_id,
                ruleset.version,
            )
            loop.run()
        LOGGER.info("stopped")
    finally:
        engine.dispose()


def open_database(settings: Settings) -> Engine:
    """The engine with the schema at head, or a one-line error naming the database
    (without its password) and the driver's reason."""
    from sqlalchemy.engine import make_url

    from triage.db.migrate import migrated_engine
    from triage.jobs.runs import describe_error

    try:
        return migrated_engine(settings)
    except Exception as exc:
        where = make_url(settings.resolved_database_url).render_as_string(hide_password=True)
        raise click.ClickException(
            f"cannot prepare the database {where}: {describe_error(exc)}"
        ) from None
