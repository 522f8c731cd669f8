"""The top-level ``msk-triage`` group; each command lives in its own module."""

from __future__ import annotations

from pathlib import Path

import click

from triage.cli.context import CliContext
from triage.cli.demo_cmd import demo
from triage.cli.import_cmd import import_command
from triage.cli.item_cmd import item
from triage.cli.listener_cmd import listener
from triage.cli.roster_cmd import roster
from triage.cli.rules_cmd import rules
from triage.cli.scheduler_cmd import scheduler
from triage.cli.serve_cmd import serve
from triage.cli.status_cmd import status
from triage.cli.worker_cmd import worker
from triage.cli.worklist_cmd import worklist


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="MSK_TRIAGE_CONFIG",
    help="TOML settings file (MSK_TRIAGE_* variables override it).",
)
@click.version_option(package_name="msk-triage")
@click.pass_context
def cli(ctx: click.Context, config: Path | None) -> None:
    """Incidental MSK findings triage for ultrasound studies."""
    ctx.obj = CliContext(config=config)


cli.add_command(rules)
cli.add_command(serve)
cli.add_command(listener)
cli.add_command(import_command)
cli.add_command(status)
cli.add_command(worker)
cli.add_command(scheduler)
cli.add_command(demo)
cli.add_command(worklist)
cli.add_command(item)
cli.add_command(roster)
