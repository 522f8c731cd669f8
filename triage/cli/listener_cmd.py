"""``msk-triage listener``: the DICOM listener alone, for scale-out.

Receives studies into the archive and the database exactly as ``serve`` does, without
the scheduled jobs: ``msk-triage worker`` triages and ``msk-triage scheduler`` runs the
singleton jobs. Several listeners may share one PostgreSQL database and one archive
folder.
"""

from __future__ import annotations

import click

from triage.cli.context import CliContext, pass_cli
from triage.cli.serve_cmd import grace_option, run_service


@click.command("listener")
@grace_option
@pass_cli
def listener(cli: CliContext, grace: float) -> None:
    """Receive studies (DICOM listener) until stopped; no triage, no scheduled jobs."""
    run_service(cli.settings(), scheduler=False, grace_seconds=grace)
