"""``msk-triage worker``: the triage pipeline alone, for scale-out.

Several workers may run against one PostgreSQL database and one shared archive folder
(the same data dir as the listeners): each claims its own studies. SIGTERM or Ctrl-C
finishes the study in hand, stores what is done and gives the rest back.
"""

from __future__ import annotations

import logging

import click

from triage.cli.context import CliContext, pass_cli

LOGGER = logging.getLogger("triage.worker")
READY_LINE = "msk-triage worker"


@click.command("worker")
@pass_cli
def worker(cli: CliContext) -> None:
    """Triage stable studies (rules -> flags -> worklist) until stopped."""
    from rules.api import RuleSetError
    from triage.cli.serve_cmd import stop_signals
    from triage.db.migrate import migrated_engine
    from triage.pipeline.ruleset import ruleset_for
    from triage.pipeline.worker import Worker

    settings = cli.settings()
    try:
        ruleset = ruleset_for(settings)
    except RuleSetError as exc:
        raise click.ClickException(f"invalid rules:\n{exc}") from None
    try:
        engine = migrated_engine(settings)
    except Exception as exc:
        raise click.ClickException(f"cannot prepare the database: {exc}") from None
    try:
        with stop_signals() as request:
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
