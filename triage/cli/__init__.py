"""The ``msk-triage`` command line: the composition root.

This is the only place that imports all four packages; each command module wires the
pieces it needs from the settings object built here.
"""

from triage.cli.app import cli


def main() -> None:
    cli()


__all__ = ["cli", "main"]
