"""Evaluate one document against a compiled rule set.

Order of work, cheapest first: one walk collects the TEXT items (and the CODE / NUM items
some rule asks about); a text is tokenised only if one of the terms' first words occurs
in it (``text``); coded content is looked up by concept (``items``); each mention gets a
decision and a reason, then flags are assembled (``assemble``). Mentions whose sentence
and SR context name no side take the report's one side, if it names only one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from rules.engine.assemble import assemble
from rules.engine.compiled import RuleSet
from rules.engine.items import coded_mentions, measurement_mentions
from rules.engine.mention import Mention
from rules.engine.ports import ContextPort
from rules.engine.scope import ScopeCheck
from rules.engine.sides import document_sides
from rules.engine.text import text_mentions
from rules.engine.walk import TextSource, collect
from rules.flags import Decision, Evaluation, Laterality
from rules.sr.model import SRDocument


def evaluate_document(doc: SRDocument, rs: RuleSet, ctx: ContextPort) -> Evaluation:
    return assemble(document_mentions(doc, rs, ctx), rs)


def document_mentions(doc: SRDocument, rs: RuleSet, ctx: ContextPort) -> list[Mention]:
    """Every mention some rule matched in ``doc``, each with its decision."""
    parts = collect(doc, rs.coded_concepts, rs.measurement_index.keys())
    scope = ScopeCheck(doc)
    mentions: list[Mention] = []
    for src in parts.texts:
        mentions.extend(text_mentions(src, rs, ctx, scope))
    for ref in parts.codes:
        mentions.extend(coded_mentions(ref, rs, scope))
    for ref in parts.nums:
        mentions.extend(measurement_mentions(ref, rs, scope))
    if any(m.decision is Decision.FLAGGED and m.laterality is None for m in mentions):
        side = _document_side(parts.texts)
        if side is not None:
            mentions = [
                replace(m, laterality=side)
                if m.decision is Decision.FLAGGED and m.laterality is None
                else m
                for m in mentions
            ]
    return mentions


def _document_side(texts: Sequence[TextSource]) -> Laterality | None:
    """The one side a unilateral report talks about ("Right lower extremity venous
    duplex ... There is a Baker's cyst"), for mentions that name none; None when the
    report names both sides or none."""
    sides: set[Laterality] = set()
    for src in texts:
        sides |= document_sides(src.text)
        if src.laterality is not None:
            sides.add(src.laterality)
    return sides.pop() if len(sides) == 1 else None
