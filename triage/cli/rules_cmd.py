"""``msk-triage rules ...``: check, explain and context."""

from __future__ import annotations

import click

from triage.cli.rules_context import context_cmd


@click.group()
def rules() -> None:
    """Validate rule files and see what the rules make of reports."""


rules.add_command(context_cmd)
