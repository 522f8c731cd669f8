"""``msk-triage worklist [--json] [filters]``: the worklist for scripts and terminals.

Items stream page by page from the database (keyset pages), so a large worklist is
never loaded whole: with ``--json`` one line per item (DESIGN.md contract), else a
table printed as the pages arrive.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.table import Table

from triage.cli.context import CliContext, pass_cli

if TYPE_CHECKING:
    from triage.worklist import ItemSummary, WorklistService

STATUS_CHOICES = ("open", "all", "new", "assigned", "in_review", "closed")
PRIORITY_CHOICES = ("urgent", "high", "routine")
TABLE_CHUNK = 200
PIPED_WIDTH = 160


@contextmanager
def open_service(cli: CliContext) -> Iterator[WorklistService]:
    """A ``WorklistService`` on the configured database (migrated), closed after."""
    from sqlalchemy.engine import make_url

    from triage.db.migrate import migrated_engine
    from triage.worklist import WorklistService

    settings = cli.settings()
    where = make_url(settings.resolved_database_url).render_as_string(hide_password=True)
    try:
        engine = migrated_engine(settings)
    except Exception as exc:
        raise click.ClickException(f"cannot open the database {where}: {exc}") from None
    try:
        yield WorklistService(engine, settings)
    finally:
        engine.dispose()


def parse_moment(value: str, option: str) -> datetime:
    """ISO 8601 date or date-time; without a zone it is UTC."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO 8601 date or time (e.g. 2024-03-15 or "
            "2024-03-15T08:00:00+01:00)",
            param_hint=option,
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@click.command("worklist")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line per item.")
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice(STATUS_CHOICES),
    help="Item states to list (repeatable; default: open = new, assigned, in_review).",
)
@click.option("--assignee", metavar="ID", help="Only items assigned to this radiologist.")
@click.option("--unassigned", is_flag=True, help="Only items nobody holds (the pool).")
@click.option(
    "--priority",
    "priorities",
    multiple=True,
    type=click.Choice(PRIORITY_CHOICES),
    help="Only these priorities (repeatable).",
)
@click.option("--finding", "findings", multiple=True, metavar="ID", help="Items with this finding.")
@click.option("--overdue", is_flag=True, help="Open items past their review deadline.")
@click.option("--breached", is_flag=True, help="Items with a recorded SLA breach.")
@click.option("--since", metavar="WHEN", help="Flagged at or after (ISO 8601; UTC if no zone).")
@click.option("--until", metavar="WHEN", help="Flagged before (ISO 8601; UTC if no zone).")
@click.option("--study", metavar="UID", help="The item of this Study Instance UID.")
@click.option("--accession", metavar="NUMBER", help="Items of this accession number.")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many items.")
@pass_cli
def worklist(
    cli: CliContext,
    as_json: bool,
    statuses: tuple[str, ...],
    assignee: str | None,
    unassigned: bool,
    priorities: tuple[str, ...],
    findings: tuple[str, ...],
    overdue: bool,
    breached: bool,
    since: str | None,
    until: str | None,
    study: str | None,
    accession: str | None,
    limit: int | None,
) -> None:
    """List worklist items, most urgent first, then by review deadline.

    Timestamps are UTC. Example: msk-triage worklist --json --overdue --priority urgent
    """
    from triage.worklist import ItemFilter, ItemState, Priority

    if assignee is not None and unassigned:
        raise click.UsageError("--assignee and --unassigned exclude each other")
    states: tuple[ItemState, ...]
    if not statuses or "open" in statuses:
        states = (ItemState.NEW, ItemState.ASSIGNED, ItemState.IN_REVIEW)
        states += tuple(ItemState(s) for s in statuses if s not in ("open", "all"))
    else:
        states = tuple(ItemState(s) for s in statuses if s != "all")
    if "all" in statuses:
        states = ()
    filters = ItemFilter(
        states=tuple(dict.fromkeys(states)),
        assignee=assignee,
        unassigned=unassigned,
        priorities=tuple(Priority(p) for p in priorities),
        findings=findings,
        flagged_since=parse_moment(since, "--since") if since else None,
        flagged_until=parse_moment(until, "--until") if until else None,
        overdue=overdue,
        breached=breached,
        study_instance_uid=study,
        accession_number=accession,
    )
    with open_service(cli) as service:
        items = _limited(service.iter_items(filters), limit)
        if as_json:
            for item in items:
                click.echo(json.dumps(item.to_json()))
        else:
            console = Console(highlight=False)
            if not console.is_terminal:  # piped: no terminal width to fit, keep rows whole
                console = Console(highlight=False, width=PIPED_WIDTH)
            _print_table(console, items, now=service.clock())


def _limited(items: Iterator[ItemSummary], limit: int | None) -> Iterator[ItemSummary]:
    for count, item in enumerate(items, start=1):
        yield item
        if limit is not None and count >= limit:
            return


_COLUMNS = (
    ("id", 7, "right"),
    ("priority", 8, "left"),
    ("status", 9, "left"),
    ("assignee", 12, "left"),
    ("due", 17, "left"),
    ("flagged (UTC)", 16, "left"),
    ("accession", 16, "left"),
    ("findings", 36, "left"),
)
_PRIORITY_STYLE = {"urgent": "bold red", "high": "yellow", "routine": ""}


def _print_table(console: Console, items: Iterator[ItemSummary], *, now: datetime) -> None:
    """Tables of ``TABLE_CHUNK`` rows with the same column widths, the header once: rows
    appear as they are read instead of after the last one."""
    shown = 0
    chunk: list[ItemSummary] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == TABLE_CHUNK:
            _print_chunk(console, chunk, now=now, header=shown == 0)
            shown += len(chunk)
            chunk = []
    if chunk or shown == 0:
        _print_chunk(console, chunk, now=now, header=shown == 0)
        shown += len(chunk)
    console.print(f"{shown} {'item' if shown == 1 else 'items'}", style="dim")


def _print_chunk(
    console: Console, chunk: list[ItemSummary], *, now: datetime, header: bool
) -> None:
    table = Table(box=None, pad_edge=False, show_header=header, header_style="bold")
    for name, width, justify in _COLUMNS:
        table.add_column(
            name,
            width=width,
            no_wrap=True,
            overflow="ellipsis",
            justify=justify,  # type: ignore[arg-type]
        )
    for item in chunk:
        table.add_row(
            str(item.item_id),
            item.priority.value,
            item.state.value,
            item.assignee or "-",
            _due(item, now),
            item.flagged_at.strftime("%Y-%m-%d %H:%M"),
            item.accession_number or "-",
            ", ".join(f.finding for f in item.findings) or "-",
            style=_PRIORITY_STYLE.get(item.priority.value) or None,
        )
    console.print(table)


def _due(item: ItemSummary, now: datetime) -> str:
    if not item.is_open:
        return item.outcome or "closed"
    left = item.due_at - now
    if left < timedelta(0):
        return f"overdue {_span(-left)}"
    return f"in {_span(left)}"


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m"
