"""``msk-triage rules ...``: check, explain and context."""

from __future__ import annotations

import click


@click.group()
def rules() -> None:
    """Validate rule files and see what the rules make of reports."""
