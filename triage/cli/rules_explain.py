"""``msk-triage rules explain [--rules PATH] [--json] PATH...``: run the rules on DICOM
files or folders (recursively) and show what they found and why.

``--json`` prints one object per DICOM file, the contract of DESIGN.md:
``{"path", "sop_instance_uid", "study_instance_uid", "flags": [...], "error"}`` where each
flag is ``{"finding", "rule", "rule_version", "certainty", "laterality", "evidence"}``
(``evidence`` the primary one) plus ``priority``, ``all_evidence`` and ``measurements``.
Non-SR objects give ``"flags": []``; what their header text (Image Comments) would flag
is listed under ``header_flags`` in the same shape. An unreadable file gives an
``error`` and the run goes on; the exit status is then 1.

The human form shows, for each piece of evidence, its item path, what gave it its
section and the sentence that holds it, with the matched words highlighted «like this»;
for every candidate mention, why it was or was not flagged, with the deciding words
highlighted ‹like this› in that sentence. Only the sentence is shown, not the whole item:
a Basic Text report often holds the whole report in one TEXT item. Non-DICOM files met
in folders are skipped with a note; named explicitly, they are an error.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.text import Text

from rules.api import RuleSet, RuleSetError, load_ruleset
from rules.context import ContextEngine
from rules.engine.explain import Detail, explain_document
from rules.flags import Candidate, Decision, Evaluation, Evidence, Flag
from rules.sr.model import Code, Measurement, SRDocument
from rules.sr.reader import SR_SOP_CLASS_PREFIX, DocumentReadError, read_document

_DICM_OFFSET = 128
# A Part 10 file without preamble, or a bare data set, starts with a group 0002 or 0008
# element (little endian).
_BARE_STARTS = (b"\x02\x00", b"\x08\x00")
_CONTEXT_CHARS = 80
"""Characters kept either side of the highlighted words when a sentence is long."""
_LONG_SENTENCE = 2 * _CONTEXT_CHARS + 80


@dataclass(frozen=True, slots=True)
class Outcome:
    path: Path
    document: SRDocument | None = None
    evaluation: Evaluation | None = None
    error: str | None = None
    skipped: bool = False
    details: tuple[Detail, ...] = ()
    """One per ``evaluation.candidates`` (for the human form)."""
    evidence: Mapping[Evidence, Detail] = field(default_factory=dict)
    """The detail of each flag's evidence (for the human form)."""

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
    # The same evaluation as rules.api.evaluate, plus where each mention stands.
    explained = explain_document(document, ruleset, ContextEngine.default())
    return Outcome(
        path,
        document=document,
        evaluation=explained.evaluation,
        details=explained.candidates,
        evidence=explained.evidence,
    )


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
            console.print(Text("      ").append(_where(evidence, outcome.evidence.get(evidence))))
        for m in flag.measurements:
            unit = m.unit.value if m.unit is not None else ""
            console.print(f"      measurement {m.value:g} {escape(unit)}")
    if result.candidates:
        console.print("  mentions:")
    for n, candidate in enumerate(result.candidates):
        found = outcome.details[n] if n < len(outcome.details) else None
        console.print(Text("    ").append(_candidate_line(candidate, found)))
        console.print(Text("        ").append(_where(candidate.evidence, found)))


_EVIDENCE_STYLE = "bold reverse"
_CUE_STYLE = "bold red underline"


def _candidate_line(candidate: Candidate, found: Detail | None) -> Text:
    flagged = candidate.decision is Decision.FLAGGED
    line = Text("✓ " if flagged else "✗ ", style="green" if flagged else "red")
    line.append(f"{candidate.finding} ", style="bold")
    line.append(f"[{candidate.rule}] {candidate.decision.value}: ", style="dim")
    return line.append(found.summary if found is not None else candidate.reason)


def _where(evidence: Evidence, found: Detail | None) -> Text:
    """``@path · section · sentence``: the sentence that holds the evidence (not the whole
    item), its span marked «like this» and the deciding words ‹like this› (and
    highlighted on a terminal)."""
    line = Text(f"@{evidence.item_path}", style="dim")
    if found is None or found.sentence is None:
        if found is not None:
            line.append(f" · {found.section}", style="dim")
        return line.append(" · ", style="dim").append(_fold(evidence.text))
    line.append(f" · {found.section} · ", style="dim")
    marks: list[tuple[int, int, str, str, str]] = []
    if evidence.span is not None:
        marks.append((*evidence.span, "«", "»", _EVIDENCE_STYLE))
    cue = found.cue
    if cue is not None and not (
        evidence.span and cue[0] < evidence.span[1] and evidence.span[0] < cue[1]
    ):
        marks.append((*cue, "‹", "›", _CUE_STYLE))
    marks.sort()
    return line.append(_excerpt(evidence.text, found.sentence, marks))


def _excerpt(
    text: str, sentence: tuple[int, int], marks: list[tuple[int, int, str, str, str]]
) -> Text:
    """The sentence with its marks; a long one only around the marks ("…" where cut)."""
    s0, s1 = sentence
    if s1 - s0 <= _LONG_SENTENCE or not marks:
        windows = [(s0, s1)]
    else:
        windows = []
        for start, end, *_ in marks:
            lo, hi = max(s0, start - _CONTEXT_CHARS), min(s1, end + _CONTEXT_CHARS)
            # cut between words, not inside one
            while s0 < lo < start and not text[lo - 1].isspace():
                lo += 1
            while end < hi < s1 and not text[hi].isspace():
                hi -= 1
            if windows and lo <= windows[-1][1]:
                windows[-1] = (windows[-1][0], max(hi, windows[-1][1]))
            else:
                windows.append((lo, hi))
    out = Text()
    if windows[0][0] > s0:
        out.append("… ")
    for w, (lo, hi) in enumerate(windows):
        if w:
            out.append(" … ")
        pos = lo
        for start, end, open_, close, style in marks:
            if not (lo <= start and end <= hi):
                continue
            out.append(_fold(text[pos:start], keep_ends=True))
            out.append(open_ + _fold(text[start:end]) + close, style=style)
            pos = end
        out.append(_fold(text[pos:hi], keep_ends=True))
    if windows[-1][1] < s1:
        out.append(" …")
    return out


def _fold(piece: str, keep_ends: bool = False) -> str:
    """Whitespace runs (line breaks of a dictated report) as one space."""
    folded = " ".join(piece.split())
    if keep_ends and folded:
        if piece[:1].isspace():
            folded = " " + folded
        if piece[-1:].isspace():
            folded += " "
    elif keep_ends and piece:
        folded = " "
    return folded
