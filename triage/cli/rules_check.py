"""``msk-triage rules check [PATH...]``: validate rule files (default: the packaged pack).

Every problem is printed as ``file:line: message`` and the exit status is 1; a valid set
prints its rule count and version (the hash the flags will carry).
"""

from __future__ import annotations

from pathlib import Path

import click

from rules.api import RuleSetError, load_ruleset


@click.command("check")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
def check_cmd(paths: tuple[Path, ...]) -> None:
    """Validate rule files or folders of them (none given: the default MSK pack)."""
    try:
        ruleset = load_ruleset(list(paths) or None)
    except RuleSetError as exc:
        for error in exc.errors:
            click.echo(str(error))
        count = len(exc.errors)
        click.echo(f"{count} error{'s' if count != 1 else ''}", err=True)
        raise SystemExit(1) from None
    files = len(ruleset.files)
    click.echo(
        f"ok: {len(ruleset)} rules in {files} file{'s' if files != 1 else ''}, "
        f"version {ruleset.version}"
    )
