"""``msk-triage roster list|show|add|set|remove|activate|deactivate|routing``.

Edits the roster file (``roster_file`` setting, default ``<data_dir>/roster.toml``)
atomically and only with a valid result; every running process picks the change up
when the file changes. Needs no database.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.table import Table

from triage.cli.context import CliContext, pass_cli

if TYPE_CHECKING:
    from triage.settings import Settings
    from triage.worklist.roster import Radiologist, Roster


def _path(cli: CliContext) -> tuple[Settings, Path]:
    settings = cli.settings()
    return settings, settings.resolved_roster_file


def _load(cli: CliContext) -> tuple[Settings, Path, Roster]:
    from triage.worklist.errors import RosterError
    from triage.worklist.roster import load_roster

    settings, path = _path(cli)
    try:
        return settings, path, load_roster(path)
    except RosterError as exc:
        raise click.ClickException(str(exc)) from None


def _edit(cli: CliContext, change: Callable[[dict[str, Any]], None]) -> Roster:
    from triage.worklist.errors import RosterError
    from triage.worklist.roster_file import edit_roster

    _, path = _path(cli)
    try:
        return edit_roster(path, change)
    except RosterError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"cannot write {path}: {exc.strerror or exc}") from None


def _not_found(radiologist_id: str, known: list[str]) -> click.ClickException:
    close = difflib.get_close_matches(radiologist_id, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return click.ClickException(f"no radiologist {radiologist_id!r} on the roster{hint}")


def _find(data: dict[str, Any], radiologist_id: str) -> dict[str, Any]:
    people: list[dict[str, Any]] = data["radiologist"]
    for person in people:
        if person["id"] == radiologist_id:
            return person
    raise _not_found(radiologist_id, [p["id"] for p in people])


def _shifts(specs: tuple[str, ...]) -> list[dict[str, Any]]:
    from triage.worklist.errors import RosterError
    from triage.worklist.roster_file import parse_shift

    try:
        return [parse_shift(spec) for spec in specs]
    except RosterError as exc:
        raise click.BadParameter(str(exc), param_hint="--shift") from None


def _console() -> Console:
    console = Console(highlight=False)
    # piped: no terminal width to fit, keep rows whole
    return console if console.is_terminal else Console(highlight=False, width=160)


@click.group("roster")
def roster() -> None:
    """The MSK radiologists who get worklist items: shifts, capacity, activity.

    Shifts are given as DAYS HH:MM-HH:MM in local time (the site_timezone setting, or
    the radiologist's --timezone), e.g. 'mon-fri 08:00-17:00' or 'sat,sun 22:00-06:00'
    (an end before the start runs overnight).
    """


def _person_json(person: Radiologist, settings: Settings, now: datetime) -> dict[str, Any]:
    from triage.worklist.shifts import on_shift

    return {
        "id": person.id,
        "name": person.name,
        "active": person.active,
        "on_shift": on_shift(person, now, settings.site_timezone),
        "max_open_items": person.max_open_items,
        "subspecialties": person.subspecialties,
        "timezone": person.timezone or settings.site_timezone,
        "shifts": [s.model_dump() for s in person.shifts],
    }


@roster.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line per radiologist.")
@pass_cli
def list_command(cli: CliContext, as_json: bool) -> None:
    """Everyone on the roster, and who is on shift now."""
    settings, path, current = _load(cli)
    now = datetime.now(UTC)
    people = [_person_json(p, settings, now) for p in current.radiologists]
    if as_json:
        for line in people:
            click.echo(json.dumps(line))
        return
    console = _console()
    table = Table(box=None, pad_edge=False, header_style="bold")
    for name in ("id", "name", "active", "on shift", "max open", "subspecialties", "shifts"):
        table.add_column(name, overflow="fold")
    for p, radiologist in zip(people, current.radiologists, strict=True):
        table.add_row(
            p["id"],
            p["name"],
            "yes" if p["active"] else "no",
            "yes" if p["on_shift"] else "no",
            str(p["max_open_items"]),
            ", ".join(p["subspecialties"]) or "-",
            "; ".join(s.describe() for s in radiologist.shifts) or "-",
            style=None if p["active"] else "dim",
        )
    console.print(table)
    routing = current.routing
    preference = (
        f"{routing.subspecialty_mode} subspecialty {routing.subspecialty}"
        if routing.subspecialty
        else "any subspecialty"
    )
    console.print(
        f"{len(people)} on {path}; shifts in {settings.site_timezone} unless noted; "
        f"routing: {settings.routing_policy}, {preference}",
        style="dim",
        markup=False,
    )


@roster.command("show")
@click.argument("radiologist_id")
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@pass_cli
def show(cli: CliContext, radiologist_id: str, as_json: bool) -> None:
    """One radiologist."""
    settings, _, current = _load(cli)
    person = current.get(radiologist_id)
    if person is None:
        raise _not_found(radiologist_id, current.ids())
    data = _person_json(person, settings, datetime.now(UTC))
    if as_json:
        click.echo(json.dumps(data))
        return
    console = _console()
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    table.add_row("id", person.id)
    table.add_row("name", person.name)
    table.add_row("active", "yes" if person.active else "no")
    table.add_row("on shift now", "yes" if data["on_shift"] else "no")
    table.add_row("max open items", str(person.max_open_items))
    table.add_row("subspecialties", ", ".join(person.subspecialties) or "-")
    table.add_row("time zone", data["timezone"] + ("" if person.timezone else " (site)"))
    for shift in person.shifts or []:
        table.add_row("shift", shift.describe() + (" (overnight)" if shift.overnight else ""))
    if not person.shifts:
        table.add_row("shift", "- (never on shift: gets no items by routing)")
    console.print(table)


def _person_options(func: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--name", help="Full name."),
        click.option(
            "--subspecialty",
            "subspecialties",
            multiple=True,
            metavar="NAME",
            help="Subspecialty, e.g. msk (repeatable; replaces the list).",
        ),
        click.option(
            "--shift",
            "shifts",
            multiple=True,
            metavar="SPEC",
            help="Shift 'DAYS HH:MM-HH:MM' (repeatable; replaces the list).",
        ),
        click.option(
            "--max-open",
            "max_open",
            type=click.IntRange(min=0),
            help="Most open items routing gives them (default 10).",
        ),
        click.option(
            "--timezone",
            metavar="ZONE",
            help="IANA zone of their shifts (default: site_timezone; '' for the default).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _apply_person_options(
    person: dict[str, Any],
    *,
    name: str | None,
    subspecialties: tuple[str, ...],
    shifts: tuple[str, ...],
    max_open: int | None,
    timezone: str | None,
) -> None:
    if name is not None:
        person["name"] = name
    if subspecialties:
        person["subspecialties"] = list(subspecialties)
    if shifts:
        person["shifts"] = _shifts(shifts)
    if max_open is not None:
        person["max_open_items"] = max_open
    if timezone is not None:
        if timezone:
            person["timezone"] = timezone
        else:
            person.pop("timezone", None)


@roster.command("add")
@click.argument("radiologist_id")
@_person_options
@click.option("--inactive", is_flag=True, help="Add them inactive (no items yet).")
@pass_cli
def add(
    cli: CliContext,
    radiologist_id: str,
    name: str | None,
    subspecialties: tuple[str, ...],
    shifts: tuple[str, ...],
    max_open: int | None,
    timezone: str | None,
    inactive: bool,
) -> None:
    """Add a radiologist (--name is required)."""
    if not name:
        raise click.UsageError("a new radiologist needs --name")

    def change(data: dict[str, Any]) -> None:
        if any(p["id"] == radiologist_id for p in data["radiologist"]):
            raise click.ClickException(
                f"{radiologist_id!r} is already on the roster (use roster set)"
            )
        person: dict[str, Any] = {"id": radiologist_id, "active": not inactive}
        _apply_person_options(
            person,
            name=name,
            subspecialties=subspecialties,
            shifts=shifts,
            max_open=max_open,
            timezone=timezone,
        )
        data["radiologist"].append(person)

    _edit(cli, change)
    click.echo(f"added {radiologist_id}")


@roster.command("set")
@click.argument("radiologist_id")
@_person_options
@click.option("--no-shifts", is_flag=True, help="Remove every shift.")
@click.option("--no-subspecialties", is_flag=True, help="Remove every subspecialty.")
@pass_cli
def set_command(
    cli: CliContext,
    radiologist_id: str,
    name: str | None,
    subspecialties: tuple[str, ...],
    shifts: tuple[str, ...],
    max_open: int | None,
    timezone: str | None,
    no_shifts: bool,
    no_subspecialties: bool,
) -> None:
    """Change a radiologist; options not given stay as they are."""
    if no_shifts and shifts:
        raise click.UsageError("--shift and --no-shifts exclude each other")
    if no_subspecialties and subspecialties:
        raise click.UsageError("--subspecialty and --no-subspecialties exclude each other")

    def change(data: dict[str, Any]) -> None:
        person = _find(data, radiologist_id)
        _apply_person_options(
            person,
            name=name,
            subspecialties=subspecialties,
            shifts=shifts,
            max_open=max_open,
            timezone=timezone,
        )
        if no_shifts:
            person["shifts"] = []
        if no_subspecialties:
            person["subspecialties"] = []

    _edit(cli, change)
    click.echo(f"updated {radiologist_id}")


@roster.command("remove")
@click.argument("radiologist_id")
@pass_cli
def remove(cli: CliContext, radiologist_id: str) -> None:
    """Take a radiologist off the roster (their open items stay theirs until
    reassigned or escalated; deactivate keeps them listed)."""

    def change(data: dict[str, Any]) -> None:
        data["radiologist"].remove(_find(data, radiologist_id))

    _edit(cli, change)
    click.echo(f"removed {radiologist_id}")


def _set_active(cli: CliContext, radiologist_id: str, active: bool) -> None:
    def change(data: dict[str, Any]) -> None:
        _find(data, radiologist_id)["active"] = active

    _edit(cli, change)
    click.echo(f"{radiologist_id} is {'active' if active else 'inactive'}")


@roster.command("activate")
@click.argument("radiologist_id")
@pass_cli
def activate(cli: CliContext, radiologist_id: str) -> None:
    """Routing may give them items again (when on shift)."""
    _set_active(cli, radiologist_id, True)


@roster.command("deactivate")
@click.argument("radiologist_id")
@pass_cli
def deactivate(cli: CliContext, radiologist_id: str) -> None:
    """No more items by routing, reopening or claiming (open items stay theirs until
    reassigned, or escalated when overdue)."""
    _set_active(cli, radiologist_id, False)


@roster.command("routing")
@click.option(
    "--subspecialty",
    metavar="NAME",
    help="Subspecialty routing looks for ('' to ignore subspecialties).",
)
@click.option(
    "--mode",
    type=click.Choice(["prefer", "require"]),
    help="prefer: others only when no subspecialist can take it; require: only them.",
)
@pass_cli
def routing(cli: CliContext, subspecialty: str | None, mode: str | None) -> None:
    """Show or change how routing treats subspecialties (the policy itself is the
    routing_policy setting)."""
    if subspecialty is not None or mode is not None:

        def change(data: dict[str, Any]) -> None:
            options = data.setdefault("routing", {})
            if subspecialty is not None:
                options["subspecialty"] = subspecialty
            if mode is not None:
                options["subspecialty_mode"] = mode

        current = _edit(cli, change)
    else:
        _, _, current = _load(cli)
    options = current.routing
    click.echo(
        f"subspecialty: {options.subspecialty or '(any)'}, mode: {options.subspecialty_mode}"
    )
