"""``msk-triage rules explain [--rules PATH] [--json] PATH...``: run the rules on DICOM
files or folders (recursively) and show what they found and why.

``--json`` prints one object per DICOM file, the contract of DESIGN.md:
``{"path", "sop_instance_uid", "study_instance_uid", "flags": [...], "error"}`` where each
flag is ``{"finding", "rule", "rule_version", "certainty", "laterality", "evidence"}``
(``evidence`` the primary one) plus ``priority``, ``all_evidence`` and ``measurements``.
Non-SR objects give ``"flags": []``; what their header text (Image Comments) would flag
is listed under ``header_flags`` in the same shape. An unreadable file gives an
``error`` and the run goes on; the exit status is then 1.

The human form highlights each evidence span and gives, for every candidate mention,
why it was or was not flagged. Non-DICOM files met in folders are skipped with a note;
named explicitly, they are an error.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.text import Text

from rules.api import RuleSet, RuleSetError, evaluate, load_ruleset
from rules.flags import Candidate, Decision, Evaluation, Evidence, Flag
from rules.sr.model import Code, Measurement, SRDocument
from rules.sr.reader import SR_SOP_CLASS_PREFIX, DocumentReadError, read_document

_DICM_OFFSET = 128
# A Part 10 file without preamble, or a bare data set, starts with a group 0002 or 0008
# element (little endian).
_BARE_STARTS = (b"\x02\x00", b"\x08\x00")


@dataclass(frozen=True, slots=True)
class Outcome:
    path: Path
    document: SRDocument | None = None
    evaluation: Evaluation | None = None
    error: str | None = None
    skipped: bool = False

    @property
    def is_sr(self) -> bool:
        return self.document is not None and self.document.sop_class_uid.startswith(
            SR_SOP_CLASS_PREFIX
        )


@click.command("explain")
@click.option(
    "--rules",
    "rule_paths",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Rule file or folder (repeatable); default: the packaged MSK pack.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per DICOM file.")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
def explain_cmd(rule_paths: tuple[Path, ...], as_json: bool, paths: tuple[Path, ...]) -> None:
    """Run the rules on DICOM files or folders and explain every flag and mention."""
    try:
        ruleset = load_ruleset(list(rule_paths) or None)
    except RuleSetError as exc:
        raise click.ClickException(f"invalid rules:\n{exc}") from None
    console = Console(highlight=False, soft_wrap=True)
    errors = 0
    for outcome in (explain_file(path, explicit, ruleset) for path, explicit in inputs(paths)):
        errors += outcome.error is not None
        if as_json:
            if not outcome.skipped:
                click.echo(json.dumps(to_json(outcome)))
        else:
            render(console, outcome)
    if errors:
        click.echo(f"{errors} file{'s' if errors != 1 else ''} could not be read", err=True)
        raise SystemExit(1)


def inputs(paths: tuple[Path, ...]) -> Iterator[tuple[Path, bool]]:
    """(path, named explicitly) for every file to look at, folders walked in order."""
    for path in paths:
        if path.is_dir():
            for found in sorted(p for p in path.rglob("*") if p.is_file()):
                yield found, False
        else:
            yield path, True


def explain_file(path: Path, explicit: bool, ruleset: RuleSet) -> Outcome:
    try:
        data = path.read_bytes()
    except OSError as exc:
        return Outcome(path, error=f"cannot read: {exc.strerror or exc}")
    try:
        document = read_document(data)
    except DocumentReadError as exc:
        if not explicit and not looks_like_dicom(data):
            return Outcome(path, skipped=True)
        return Outcome(path, error=f"not a readable DICOM file: {exc}")
    return Outcome(path, document=document, evaluation=evaluate(document, ruleset))


def looks_like_dicom(data: bytes) -> bool:
    return data[_DICM_OFFSET : _DICM_OFFSET + 4] == b"DICM" or data[:2] in _BARE_STARTS


# --- JSON -------------------------------------------------------------------------------


def to_json(outcome: Outcome) -> dict[str, Any]:
    doc = outcome.document
    flags = list(outcome.evaluation.flags) if outcome.evaluation is not None else []
    out: dict[str, Any] = {
        "path": str(outcome.path),
        "sop_instance_uid": doc.sop_instance_uid or None if doc is not None else None,
        "study_instance_uid": doc.study_instance_uid or None if doc is not None else None,
        "flags": [flag_json(f) for f in flags] if outcome.is_sr else [],
        "error": outcome.error,
    }
    if doc is not None and not outcome.is_sr:
        out["header_flags"] = [flag_json(f) for f in flags]
    return out


def flag_json(flag: Flag) -> dict[str, Any]:
    return {
        "finding": flag.finding,
        "rule": flag.rule,
        "rule_version": flag.rule_version,
        "certainty": flag.certainty.value,
        "laterality": flag.laterality.value if flag.laterality is not None else None,
        "evidence": evidence_json(flag.evidence[0]),
        "priority": flag.priority,
        "all_evidence": [evidence_json(e) for e in flag.evidence],
        "measurements": [measurement_json(m) for m in flag.measurements],
    }


def evidence_json(evidence: Evidence) -> dict[str, Any]:
    return {
        "item_path": evidence.item_path,
        "concept": code_json(evidence.concept),
        "text": evidence.text,
        "span": list(evidence.span) if evidence.span is not None else None,
    }


def code_json(code: Code | None) -> dict[str, str] | None:
    if code is None:
        return None
    return {"value": code.value, "scheme": code.scheme, "meaning": code.meaning}


def measurement_json(m: Measurement) -> dict[str, Any]:
    return {"value": m.value, "unit": code_json(m.unit)}


# --- human ------------------------------------------------------------------------------


def render(console: Console, outcome: Outcome) -> None:
    if outcome.skipped:
        console.print(f"[dim]{escape(str(outcome.path))}: skipped (not a DICOM file)[/]")
        return
    if outcome.error is not None:
        console.print(
            f"[bold]{escape(str(outcome.path))}[/]: [red]error:[/] {escape(outcome.error)}"
        )
        return
    doc, result = outcome.document, outcome.evaluation
    assert doc is not None
    assert result is not None
    kind = "SR" if outcome.is_sr else f"{doc.modality or 'DICOM'} (header text only)"
    console.print(
        f"[bold]{escape(str(outcome.path))}[/]  {kind}  SOP {doc.sop_instance_uid}  "
        f"rules {result.ruleset_version}"
    )
    for problem in doc.problems:
        console.print(f"  [yellow]read problem[/] at {problem.path}: {escape(problem.reason)}")
    if not result.flags:
        console.print("  no flags")
    for flag in result.flags:
        side = f", {flag.laterality.value}" if flag.laterality is not None else ""
        console.print(
            f"  [bold green]{flag.finding}[/] ({flag.certainty.value}{side}, {flag.priority}) "
            f"rule {flag.rule} v{flag.rule_version}"
        )
        for evidence in flag.evidence:
            console.print(Text("      ").append(_evidence_line(evidence)))
        for m in flag.measurements:
            unit = m.unit.value if m.unit is not None else ""
            console.print(f"      measurement {m.value:g} {escape(unit)}")
    if result.candidates:
        console.print("  mentions:")
    for candidate in result.candidates:
        console.print(Text("    ").append(_candidate_line(candidate)))


def _evidence_line(evidence: Evidence) -> Text:
    """The item's text with the span marked «like this» (and highlighted on a terminal)."""
    line = Text(f"{evidence.item_path}: ", style="dim")
    if evidence.span is None:
        return line.append(evidence.text)
    start, end = evidence.span
    t = evidence.text
    return (
        line.append(t[:start])
        .append("«" + t[start:end] + "»", style="bold reverse")
        .append(t[end:])
    )


def _candidate_line(candidate: Candidate) -> Text:
    flagged = candidate.decision is Decision.FLAGGED
    line = Text("✓ " if flagged else "✗ ", style="green" if flagged else "red")
    line.append(f"{candidate.finding} ", style="bold")
    line.append(f"[{candidate.rule}] {candidate.decision.value}: ", style="dim")
    line.append(candidate.reason)
    ev = candidate.evidence
    if ev.span is not None:
        start, end = ev.span
        line.append(f"  @{ev.item_path} ", style="dim")
        line.append("«" + ev.text[start:end] + "»", style="bold reverse")
    else:
        line.append(f"  @{ev.item_path} {ev.text}", style="dim")
    return line
