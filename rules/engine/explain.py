"""Explanations for people: where each mention stands and what decided it.

``explain_document`` evaluates a document exactly as ``rules.api.evaluate`` does and adds,
for every candidate (in the order of ``Evaluation.candidates``) and for every flag's
evidence, a :class:`Detail`: the sentence that holds the mention, what gave it its
section, the words that decided it, and the reason without the sentence it quotes (a
display shows the sentence itself, highlighted). A one-item Basic Text report holds the
whole report in one TEXT item, so its sentence, not its item, is what a reader needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rules.engine.assemble import assemble, in_order
from rules.engine.compiled import RuleSet
from rules.engine.evaluate import document_mentions
from rules.engine.mention import Mention, quote
from rules.engine.ports import ContextPort
from rules.flags import Candidate, Decision, Evaluation, Evidence
from rules.sr.model import SRDocument


@dataclass(frozen=True, slots=True)
class Detail:
    """One mention, for a reader."""

    section: str
    """What gave the mention its section: "'FINDINGS:' heading", "Findings section",
    "ImageComments header", or "report" (no section)."""
    sentence: tuple[int, int] | None
    """The mention's sentence in ``evidence.text`` (character offsets); None for coded
    content."""
    cue: tuple[int, int] | None
    """The words in ``evidence.text`` that decided the mention (the negation, the
    history, the exclusion, the hedge of a possible finding), if any."""
    summary: str
    """The reason without the sentence it quotes ("historical ('was noted on the MRI of
    2022')")."""


@dataclass(frozen=True, slots=True)
class Explained:
    evaluation: Evaluation
    candidates: tuple[Detail, ...]
    """One per ``evaluation.candidates``, in the same order."""
    evidence: Mapping[Evidence, Detail]
    """The detail of every flag's evidence."""


def explain_document(doc: SRDocument, rs: RuleSet, ctx: ContextPort) -> Explained:
    mentions = document_mentions(doc, rs, ctx)
    evaluation = assemble(mentions, rs)
    ordered = in_order(mentions)
    details = tuple(detail(m, c) for m, c in zip(ordered, evaluation.candidates, strict=True))
    evidence: dict[Evidence, Detail] = {}
    for c, d in zip(evaluation.candidates, details, strict=True):
        if c.decision is Decision.FLAGGED:
            evidence.setdefault(c.evidence, d)
    return Explained(evaluation, details, evidence)


def detail(mention: Mention, candidate: Candidate) -> Detail:
    """The reader's view of ``mention``, decided as ``candidate`` says (supersession
    happens after a mention is decided, so the candidate has the last word)."""
    cue = mention.cue if candidate.decision is mention.decision else None
    summary = candidate.reason
    if mention.sentence is not None:
        s0, s1 = mention.sentence
        said = quote(mention.evidence.text[s0:s1])
        for joint in (" in ", ": "):
            summary = summary.replace(joint + said, "", 1)
    return Detail(mention.section, mention.sentence, cue, summary)
