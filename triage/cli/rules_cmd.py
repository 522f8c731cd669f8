"""``msk-triage rules ...``: check, explain and context."""

from __future__ import annotations

import click

from triage.cli.rules_check import check_cmd
from triage.cli.rules_context import context_cmd
from triage.cli.rules_explain import explain_cmd


@click.group()
def rules() -> None:
    """Validate rule files and see what the rules make of reports."""


rules.add_command(check_cmd)
rules.add_command(explain_cmd)
rules.add_command(context_cmd)
