"""``msk-triage demo``: send synthetic DVT studies to a running service and say what the
worklist should show once they are triaged."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import click

from triage.cli.context import CliContext, pass_cli

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

    from triage.cli.dicom_send import Peer
    from triage.demo.model import DemoStudy

DEFAULT_STUDIES = 20
DEFAULT_CALLING_AET = "DEMO"
pause = time.sleep  # waiting for --amend-after (tests replace it)


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True, help="Where the service listens.")
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    help="Its DICOM port (default: the dicom_port setting, MSK_TRIAGE_DICOM_PORT).",
)
@click.option(
    "--called-aet",
    metavar="AET",
    help="Its AE title (default: the ae_title setting, MSK_TRIAGE_AE_TITLE).",
)
@click.option(
    "--calling-aet",
    metavar="AET",
    default=DEFAULT_CALLING_AET,
    show_default=True,
    help="Our AE title, as the service records it.",
)
@click.option(
    "--studies",
    "count",
    type=click.IntRange(1, 1000),
    default=DEFAULT_STUDIES,
    show_default=True,
    help="How many studies to generate.",
)
@click.option(
    "--seed",
    type=click.IntRange(0),
    help="Repeat a run: the same seed (on the same day) generates the same objects.",
)
@click.option(
    "--amend-after",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    metavar="SECONDS",
    help="Send the amended reports this long after the others; longer than the "
    "service's stable window lets you watch the studies being re-triaged.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also write the objects as DICOM files (and expected.json) under this folder.",
)
@click.option(
    "--send/--no-send",
    default=True,
    show_default=True,
    help="--no-send with --out only writes the files.",
)
@pass_cli
def demo(
    cli: CliContext,
    host: str,
    port: int | None,
    called_aet: str | None,
    calling_aet: str,
    count: int,
    seed: int | None,
    amend_after: float,
    out: Path | None,
    send: bool,
) -> None:
    """Send synthetic lower-extremity venous Doppler (DVT) studies to a running service.

    Each study has a few ultrasound images and a vascular Structured Report; some
    reports carry incidental MSK findings (Baker's cyst, effusion, muscle tear ...),
    some deny them, some only mention them in the indication, some are amended later.
    At the end the demo says which studies the worklist should show, from what it
    generated. Patients are synthetic.
    """
    from triage.demo.expect import describe, expect
    from triage.demo.generate import generate_demo

    if not send and out is None:
        raise click.UsageError("--no-send needs --out (otherwise there is nothing to do)")
    settings = cli.settings()
    seed = secrets.randbelow(1_000_000) if seed is None else seed
    studies = generate_demo(seed=seed, studies=count, today=date.today())
    click.echo(
        f"Generated {count} synthetic DVT {_plural(count, 'study', 'studies')} (seed {seed})."
    )
    if out is not None:
        _write(studies, out, seed)
    if send:
        if settings.log_level != "DEBUG":
            # We say what went wrong ourselves; pynetdicom's ERROR lines would repeat it.
            logging.getLogger("pynetdicom").setLevel(logging.CRITICAL)
        peer = _peer(host, port, called_aet, calling_aet, settings.dicom_port, settings.ae_title)
        failed = _send_all(peer, studies, amend_after)
    expectation = expect(studies)
    click.echo("")
    for line in describe(expectation, studies):
        click.echo(line)
    if send:
        _next_steps()
        if failed:
            raise click.ClickException(
                f"{failed} {_plural(failed, 'object was', 'objects were')} not stored; "
                "the expectations above assume every object arrived"
            )


def _peer(
    host: str,
    port: int | None,
    called_aet: str | None,
    calling_aet: str,
    default_port: int,
    default_aet: str,
) -> Peer:
    from triage.cli.dicom_send import Peer

    for name, value in (("--called-aet", called_aet), ("--calling-aet", calling_aet)):
        if value is not None and not 0 < len(value.strip()) <= 16:
            raise click.BadParameter("an AE title is 1-16 characters", param_hint=name)
    return Peer(
        host=host,
        port=port or default_port,
        called_aet=(called_aet or default_aet).strip(),
        calling_aet=calling_aet.strip(),
    )


def _write(studies: Sequence[DemoStudy], out: Path, seed: int) -> None:
    from triage.demo.files import MANIFEST, write_demo

    try:
        files = write_demo(studies, out, seed=seed)
    except OSError as exc:
        raise click.ClickException(f"cannot write to {out}: {exc.strerror or exc}") from None
    click.echo(f"Wrote {files} DICOM files under {out} (ground truth in {out / MANIFEST}).")


def _send_all(peer: Peer, studies: Sequence[DemoStudy], amend_after: float) -> int:
    """Send each study over its own association, then the amendments; how many objects
    were not stored. Exits (status 1) if the service cannot be reached at all."""
    click.echo(f"Sending to {peer} as {peer.calling_aet}:")
    failed = 0
    width = len(str(len(studies)))
    for study in studies:
        images = len(study.objects) - 1
        not_stored = _send(peer, study.objects, first=study.number == 1)
        failed += not_stored
        outcome = "sent" if not not_stored else f"{not_stored} NOT STORED"
        click.echo(
            f"  [{study.number:>{width}}/{len(studies)}] {study.accession_number}  "
            f"{images} {_plural(images, 'image', 'images')} + report  {outcome:<6}  "
            f"{study.summary}"
        )
    amendments = [study.amendment for study in studies if study.amendment is not None]
    if amendments:
        if amend_after > 0:
            click.echo(
                f"Waiting {amend_after:g} s before sending {len(amendments)} amended "
                f"{_plural(len(amendments), 'report', 'reports')}..."
            )
            pause(amend_after)
        not_stored = _send(peer, amendments, first=False)
        failed += not_stored
        click.echo(
            f"Sent {len(amendments) - not_stored} amended "
            f"{_plural(len(amendments), 'report', 'reports')} "
            "(each names the report it replaces in its Predecessor Documents Sequence)."
        )
    total = sum(len(s.objects) for s in studies) + len(amendments)
    click.echo(f"Done: {total - failed} of {total} objects stored by {peer}.")
    return failed


def _send(peer: Peer, datasets: Sequence[Dataset], *, first: bool) -> int:
    """Send over one association; how many were not stored. If the very first association
    fails, nothing can be sent: stop with the reason."""
    from triage.cli.dicom_send import SendError, store

    try:
        results = store(peer, datasets)
    except SendError as exc:
        if first:
            raise click.ClickException(str(exc)) from None
        click.echo(f"  error: {exc}", err=True)
        return len(datasets)
    for result in results:
        if not result.ok:
            status = "no response" if result.status is None else f"status 0x{result.status:04X}"
            click.echo(f"  not stored: {result.sop_instance_uid} ({status})", err=True)
    return sum(not result.ok for result in results)


def _next_steps() -> None:
    commands = click.get_current_context().find_root().command
    known = set(getattr(commands, "commands", {}))
    click.echo("")
    click.echo(
        "Each study is triaged once nothing has arrived for it for the service's stable "
        "window (MSK_TRIAGE_STUDY_STABLE_SECONDS, default 60 s). Then:"
    )
    click.echo("  msk-triage status      pending studies fall to 0, flagged studies rise")
    if "worklist" in known:
        click.echo("  msk-triage worklist    the flagged studies' items, most urgent first")


def _plural(count: int, one: str, many: str) -> str:
    return one if count == 1 else many
