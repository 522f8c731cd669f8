"""``msk-triage rules context --jsonl FILE|-``: the context engine over JSON lines.

Each input line is ``{"id", "sentence", "target"}``; each gives exactly one output line,
``{"id", "negated", "certainty", "temporality", "experiencer", "cues"}``, or
``{"id", "line", "error"}`` when the line cannot be answered (bad JSON, missing
fields, target not in the sentence). Lines are read and answered one at a time, so the
input can be any size. The exit status is 1 if any line had an error, after all lines.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any

import click

from rules.context import ContextEngine, ContextResult, LexiconError, locate


@click.command("context")
@click.option(
    "--jsonl",
    "source",
    required=True,
    type=click.File("rb"),
    help='JSON lines {"id", "sentence", "target"}; "-" reads standard input.',
)
@click.option(
    "--lexicon",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Trigger lexicon YAML to use instead of the packaged one.",
)
def context_cmd(source: IO[bytes], lexicon: Path | None) -> None:
    """Say whether each target mention is negated, uncertain, historical,
    hypothetical or about someone else."""
    try:
        engine = ContextEngine.from_lexicon(lexicon) if lexicon else ContextEngine.default()
    except LexiconError as exc:
        raise click.ClickException(f"invalid lexicon:\n{exc}") from None
    errors = 0
    for number, raw in enumerate(source, start=1):
        if not raw.strip():
            continue
        out = answer(engine, raw, number)
        if "error" in out:
            errors += 1
            click.echo(f"line {number}: {out['error']}", err=True)
        click.echo(json.dumps(out))
    if errors:
        click.echo(f"{errors} line(s) could not be answered", err=True)
        raise SystemExit(1)


def answer(engine: ContextEngine, raw: bytes, number: int) -> dict[str, Any]:
    """The output object for one input line (never raises for bad input)."""
    try:
        item = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return _error(None, number, "not UTF-8 text")
    except json.JSONDecodeError as exc:
        return _error(None, number, f"invalid JSON: {exc.msg} (column {exc.colno})")
    if not isinstance(item, dict):
        return _error(None, number, "expected a JSON object")
    ident = item.get("id")
    sentence = item.get("sentence")
    target = item.get("target")
    if not isinstance(sentence, str) or not isinstance(target, str):
        return _error(ident, number, '"sentence" and "target" must both be strings')
    span = locate(sentence, target)
    if span is None:
        return _error(ident, number, f"target {target!r} not found in the sentence")
    return {"id": ident, **result_json(engine.analyze(sentence, span))}


def result_json(result: ContextResult) -> dict[str, Any]:
    return {
        "negated": result.negated,
        "certainty": result.certainty.value,
        "temporality": result.temporality.value,
        "experiencer": result.experiencer.value,
        "cues": [
            {"kind": cue.kind.value, "text": cue.text, "span": list(cue.span)}
            for cue in result.cues
        ],
    }


def _error(ident: object, number: int, message: str) -> dict[str, Any]:
    return {"id": ident, "line": number, "error": message}
