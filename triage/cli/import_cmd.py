"""``msk-triage import PATH...``: ingest files and folders through the listener's path."""

from __future__ import annotations

import getpass
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from triage.cli.context import CliContext, pass_cli

if TYPE_CHECKING:
    from triage.ingest.importer import ImportTally

DEFAULT_CALLING_AE = "IMPORT"


@click.command("import")
@click.argument(
    "paths",
    nargs=-1,
    required=True,
    type=click.Path(exists=True, path_type=Path),
)
@click.option(
    "--calling-ae",
    metavar="NAME",
    help="Recorded as the calling AE of the imported objects (default: your user name).",
)
@pass_cli
def import_command(cli: CliContext, paths: tuple[Path, ...], calling_ae: str | None) -> None:
    """Ingest DICOM files or folders (recursively) into the archive and index.

    Objects go through the same durable path as those the listener receives: identical
    ones already stored are recognised, changed ones kept as revisions. Files that are
    not DICOM are skipped. Exits with 1 if any object was refused.
    """
    from triage.db.migrate import migrated_engine
    from triage.ingest.importer import ImportTally, import_paths, survey
    from triage.ingest.service import Ingestor

    settings = cli.settings()
    if settings.log_level != "DEBUG":
        # Each refusal is listed in the summary; per-object log lines would only
        # interleave with the progress bar. Errors of our own still show.
        logging.getLogger("triage.ingest").setLevel(logging.WARNING)
    try:
        engine = migrated_engine(settings)
    except Exception as exc:
        raise click.ClickException(f"cannot open the database: {exc}") from None
    out = Console(highlight=False, soft_wrap=True)
    err = Console(stderr=True)
    who = calling_ae or _user() or DEFAULT_CALLING_AE
    tally = ImportTally()
    interrupted = False
    try:
        try:
            ingestor = Ingestor(settings=settings, engine=engine)
        except OSError as exc:
            raise click.ClickException(
                f"cannot prepare the archive under {settings.data_dir}: {exc.strerror or exc}"
            ) from None
        files, size = survey(paths)
        with Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[files]}/{task.fields[total_files]} files"),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=err,
            disable=not err.is_terminal,
        ) as progress:
            task = progress.add_task("importing", total=size, files=0, total_files=files)

            def advance(path: Path, outcome: object, nbytes: int) -> None:
                progress.update(task, advance=nbytes, files=tally.files)

            try:
                import_paths(ingestor, paths, calling_ae=who, tally=tally, on_file=advance)
            except KeyboardInterrupt:
                interrupted = True
    finally:
        engine.dispose()

    _summary(out, tally, interrupted)
    if interrupted:
        raise SystemExit(130)
    if tally.refused:
        raise SystemExit(1)


def _summary(out: Console, tally: ImportTally, interrupted: bool) -> None:
    if interrupted:
        out.print("interrupted: the counts below are what was done; import again for the rest")
    out.print(
        f"{tally.files} files, {tally.bytes_read / 1e6:.1f} MB: "
        f"{tally.stored} stored, {tally.duplicate} duplicate, {tally.revision} revision, "
        f"{tally.refused} refused, {tally.skipped} skipped (not DICOM objects)"
    )
    if tally.refused:
        out.print("refused:")
        for path, result in tally.refusals:
            out.print(f"  {path}: 0x{int(result.status):04X} {result.reason}", markup=False)
        if tally.refused > len(tally.refusals):
            out.print(f"  ... and {tally.refused - len(tally.refusals)} more")


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None
