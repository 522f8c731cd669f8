"""The rules layer's public entry points.

    ruleset = load_ruleset()                  # the default MSK pack (or paths)
    result = evaluate(document, ruleset)      # flags + explained candidates

A ``RuleSet`` is compiled once and immutable; ``evaluate`` keeps all its state local, so
one rule set and one context engine serve any number of threads.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from rules.context.engine import ContextEngine
from rules.engine.compiled import RuleSet, compile_rules
from rules.engine.evaluate import evaluate_document
from rules.engine.ports import ContextPort
from rules.flags import Evaluation
from rules.ruleset.loader import RuleError, RuleSetError, load_files
from rules.ruleset.vocabulary import FINDING_IDS, FINDINGS
from rules.sr.model import SRDocument

__all__ = [
    "FINDINGS",
    "FINDING_IDS",
    "RuleError",
    "RuleSet",
    "RuleSetError",
    "default_pack",
    "evaluate",
    "load_ruleset",
]


def default_pack() -> Path:
    """The folder of the packaged default MSK rule pack."""
    return Path(str(resources.files("rules.packs").joinpath("msk")))


def load_ruleset(paths: Sequence[Path] | None = None) -> RuleSet:
    """Load, validate and compile rule files (files or folders; None = the default
    pack). Raises ``RuleSetError`` whose ``errors`` each name ``file:line``."""
    return compile_rules(load_files(list(paths) if paths else [default_pack()]))


def evaluate(
    document: SRDocument, ruleset: RuleSet, context: ContextPort | None = None
) -> Evaluation:
    """Flags (one per finding, with all evidence) and every candidate mention with the
    reason it was or was not flagged. ``context`` defaults to the packaged ConText engine."""
    return evaluate_document(document, ruleset, context or ContextEngine.default())
