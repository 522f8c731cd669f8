"""``msk-triage item show|claim|start|close|reopen|reassign|release ITEM_ID``.

Review actions for scripts, and for radiologists until the TUI exists. Each action is
one transaction, audited under ``--user`` (default: your login name). An action that
is not possible (wrong state, someone else's item, someone acted first) exits with 1
and says why; ``--if-version`` makes "someone acted first" explicit for scripts.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.table import Table

from triage.cli.context import CliContext, pass_cli
from triage.cli.worklist_cmd import open_service

if TYPE_CHECKING:
    from triage.worklist import ItemDetail, ItemSummary, WorklistService

OUTCOMES = ("confirmed_follow_up", "confirmed_known", "not_confirmed", "not_significant")


def _default_user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


def _user_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--user",
        metavar="ID",
        default=_default_user,
        show_default="your login name",
        help="Who acts (a radiologist id on the roster for claim, start, close, release).",
    )(func)


def _common(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option(
        "--json", "as_json", is_flag=True, help="Print the item as a JSON line afterwards."
    )(func)
    func = click.option(
        "--if-version",
        "expected_version",
        type=int,
        metavar="N",
        help="Refuse if the item changed since version N (as shown by item show).",
    )(func)
    func = click.option("--note", help="A note for the audit trail.")(func)
    func = _user_option(func)
    return click.argument("item_id", type=click.IntRange(min=1))(func)


@click.group("item")
def item() -> None:
    """Show a worklist item or act on it (claim, start, close, reopen, reassign, release)."""


def _act(
    cli: CliContext,
    as_json: bool,
    action: Callable[[WorklistService], ItemSummary],
) -> None:
    from triage.worklist import WorklistError

    with open_service(cli) as service:
        try:
            result = action(service)
        except WorklistError as exc:
            raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(result.to_json()))
        return
    holder = f" ({result.assignee})" if result.assignee else ""
    outcome = f": {result.outcome}" if result.outcome else ""
    click.echo(
        f"item {result.item_id} is {result.state.value}{holder}{outcome}"
        f" [{result.priority.value}, version {result.version}]"
    )


def _need_user(user: str | None) -> str:
    if not user:
        raise click.UsageError("say who acts with --user ID")
    return user


@item.command("claim")
@_common
@pass_cli
def claim(
    cli: CliContext,
    item_id: int,
    user: str | None,
    note: str | None,
    expected_version: int | None,
    as_json: bool,
) -> None:
    """Take an unassigned item (it becomes assigned to --user)."""
    who = _need_user(user)
    _act(
        cli,
        as_json,
        lambda s: s.claim(item_id, user=who, note=note, expected_version=expected_version),
    )


@item.command("start")
@_common
@pass_cli
def start(
    cli: CliContext,
    item_id: int,
    user: str | None,
    note: str | None,
    expected_version: int | None,
    as_json: bool,
) -> None:
    """Start reviewing an item assigned to --user (it becomes in_review)."""
    who = _need_user(user)
    _act(
        cli,
        as_json,
        lambda s: s.start_review(item_id, user=who, note=note, expected_version=expected_version),
    )


@item.command("close")
@_common
@click.option(
    "--outcome",
    type=click.Choice(OUTCOMES),
    required=True,
    help="The review's outcome (not_confirmed also needs --note).",
)
@pass_cli
def close(
    cli: CliContext,
    item_id: int,
    user: str | None,
    note: str | None,
    expected_version: int | None,
    as_json: bool,
    outcome: str,
) -> None:
    """Close a review in progress with an outcome."""
    who = _need_user(user)
    _act(
        cli,
        as_json,
        lambda s: s.close(
            item_id, user=who, outcome=outcome, note=note, expected_version=expected_version
        ),
    )


@item.command("release")
@_common
@pass_cli
def release(
    cli: CliContext,
    item_id: int,
    user: str | None,
    note: str | None,
    expected_version: int | None,
    as_json: bool,
) -> None:
    """Give an item of --user's back to the unassigned pool."""
    who = _need_user(user)
    _act(
        cli,
        as_json,
        lambda s: s.release(item_id, user=who, note=note, expected_version=expected_version),
    )


@item.command("reassign")
@_common
@click.option("--to", "to", metavar="ID", help="The radiologist who gets the item.")
@click.option("--pool", is_flag=True, help="Back to the unassigned pool instead.")
@pass_cli
def reassign(
    cli: CliContext,
    item_id: int,
    user: str | None,
    note: str | None,
    expected_version: int | None,
    as_json: bool,
    to: str | None,
    pool: bool,
) -> None:
    """Give an open item to another radiologist (--to ID) or to the pool (--pool)."""
    if (to is None) == (not pool):
        raise click.UsageError("give either --to ID or --pool")
    who = _need_user(user)
    _act(
        cli,
        as_json,
        lambda s: s.reassign(
            item_id, user=who, to=to, note=note, expected_version=expected_version
        ),
    )


@item.command("reopen")
@_common
@pass_cli
def reopen(
    cli: CliContext,
    item_id: int,
    user: str | None,
    note: str | None,
    expected_version: int | None,
    as_json: bool,
) -> None:
    """Reopen a closed item (back to its reader if still active, else routed)."""
    who = _need_user(user)
    _act(
        cli,
        as_json,
        lambda s: s.reopen(item_id, user=who, note=note, expected_version=expected_version),
    )


@item.command("show")
@click.argument("item_id", type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help="One JSON object with the history.")
@pass_cli
def show(cli: CliContext, item_id: int, as_json: bool) -> None:
    """An item: its state, findings with evidence, and audit history (no patient
    identifiers: use the accession number in the PACS)."""
    from triage.worklist import WorklistError

    with open_service(cli) as service:
        try:
            detail = service.detail(item_id)
        except WorklistError as exc:
            raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(detail_json(detail)))
    else:
        _print_detail(Console(highlight=False), detail)


def detail_json(detail: ItemDetail) -> dict[str, Any]:
    summary = detail.summary
    return {
        **summary.to_json(),
        "version": summary.version,
        "base_priority": summary.base_priority.value,
        "escalation_level": summary.escalation_level,
        "outcome": summary.outcome,
        "outcome_note": detail.outcome_note,
        "breached_at": _iso(summary.breached_at),
        "amended_at": _iso(summary.amended_at),
        "assigned_at": _iso(detail.assigned_at),
        "reviewed_at": _iso(detail.reviewed_at),
        "closed_at": _iso(detail.closed_at),
        "findings": [
            {**f.to_json(), "priority": f.priority, "evidence": [e.get("text") for e in f.evidence]}
            for f in summary.findings
        ],
        "history": [
            {
                "at": h.at.isoformat(),
                "actor": h.actor,
                "action": h.action,
                "from": h.from_state,
                "to": h.to_state,
                "note": h.note,
                "details": h.details,
            }
            for h in detail.history
        ],
    }


def _iso(value: Any) -> str | None:
    return None if value is None else str(value.isoformat())


def _print_detail(console: Console, detail: ItemDetail) -> None:
    s = detail.summary
    facts = Table(show_header=False, box=None, pad_edge=False)
    facts.add_column(style="bold")
    facts.add_column(overflow="fold")
    facts.add_row("item", f"{s.item_id} (version {s.version})")
    facts.add_row("status", s.state.value + (f": {s.outcome}" if s.outcome else ""))
    if detail.outcome_note:
        facts.add_row("outcome note", detail.outcome_note)
    facts.add_row("priority", _priority(s))
    facts.add_row("assignee", s.assignee or "- (unassigned pool)")
    facts.add_row("due (UTC)", _when(s.due_at) + (" - breached" if s.breached_at else ""))
    facts.add_row("flagged (UTC)", _when(s.flagged_at))
    if s.amended_at:
        facts.add_row("amended (UTC)", _when(s.amended_at))
    facts.add_row("study", s.study_instance_uid)
    facts.add_row("accession", s.accession_number or "-")
    console.print(facts)
    findings = Table(title="findings", title_justify="left", box=None, pad_edge=False)
    for name in ("finding", "priority", "certainty", "side", "rule", "evidence"):
        findings.add_column(name, overflow="fold")
    for f in s.findings:
        evidence = "; ".join(str(e.get("text", "")) for e in f.evidence if e.get("text"))
        findings.add_row(
            f.finding,
            f.priority,
            f.certainty,
            f.laterality or "-",
            f"{f.rule} v{f.rule_version}",
            evidence or "-",
        )
    console.print(findings)
    history = Table(title="history (UTC)", title_justify="left", box=None, pad_edge=False)
    for name in ("at", "who", "action", "from", "to", "note"):
        history.add_column(name, overflow="fold")
    for h in detail.history:
        history.add_row(
            _when(h.at), h.actor, h.action, h.from_state or "-", h.to_state or "-", h.note or ""
        )
    console.print(history)


def _priority(s: ItemSummary) -> str:
    text = s.priority.value
    if s.priority != s.base_priority:
        text += f" (escalated from {s.base_priority.value})"
    return text


def _when(moment: Any) -> str:
    return str(moment.strftime("%Y-%m-%d %H:%M:%S"))
