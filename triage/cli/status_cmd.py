"""``msk-triage status [--json]``: what is in the index and how the jobs are doing."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.table import Table

from triage.cli.context import CliContext, pass_cli

if TYPE_CHECKING:
    from triage.status import Status


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="One JSON object (the documented contract).")
@pass_cli
def status(cli: CliContext, as_json: bool) -> None:
    """Counts of studies, instances, pending and flagged studies, open items, and jobs."""
    from sqlalchemy.engine import make_url

    from triage.db.migrate import migrated_engine
    from triage.jobs.registry import job_ids
    from triage.status import collect_status

    settings = cli.settings()
    where = make_url(settings.resolved_database_url).render_as_string(hide_password=True)
    try:
        engine = migrated_engine(settings)
    except Exception as exc:
        raise click.ClickException(f"cannot open the database {where}: {exc}") from None
    try:
        report = collect_status(engine, known_jobs=job_ids())
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps(report.to_json()))
    else:
        _print(Console(highlight=False), report, where)


def _print(console: Console, report: Status, where: str) -> None:
    console.print(f"database: {where}", markup=False, soft_wrap=True)
    counts = Table(show_header=False, box=None, pad_edge=False)
    counts.add_column(justify="left")
    counts.add_column(justify="right")
    counts.add_column(justify="left", style="dim")
    counts.add_row("studies", str(report.studies), "")
    counts.add_row("instances", str(report.instances), "")
    counts.add_row("pending studies", str(report.pending_studies), "received, not yet triaged")
    counts.add_row("flagged studies", str(report.flagged_studies), "")
    counts.add_row("open items", str(report.open_items), "worklist items not closed")
    counts.add_row(
        "unreadable studies", str(report.unreadable_studies), "a report could not be read"
    )
    console.print(counts)
    if report.unreadable_examples:
        unreadable = Table(
            title="unreadable reports (latest triaged)", title_justify="left", box=None
        )
        unreadable.add_column("study instance UID", no_wrap=True)
        unreadable.add_column("why", overflow="fold")
        for uid, why in report.unreadable_examples:
            unreadable.add_row(uid, why or "-", style="red")
        console.print(unreadable)
    jobs = Table(title="jobs", title_justify="left", box=None, pad_edge=False)
    jobs.add_column("id", no_wrap=True)
    jobs.add_column("last run (UTC)", no_wrap=True)
    jobs.add_column("runs", justify="right")
    jobs.add_column("failed", justify="right")
    jobs.add_column("last error", overflow="fold")
    for job in report.jobs:
        jobs.add_row(
            job.id,
            _when(job.last_run),
            str(job.run_count),
            str(job.failure_count),
            job.last_error or ("-" if job.last_run else "never ran"),
            style="red" if job.last_error else None,
        )
    console.print(jobs)


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "-"
