"""Mentions → an Evaluation: one flag per finding with all its evidence (the most
convincing first), supersession (``ruptured_bakers_cyst`` over ``bakers_cyst``), and
every mention as an explained candidate."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from rules.context.model import Certainty
from rules.engine.compiled import RuleSet
from rules.engine.mention import Mention
from rules.flags import Candidate, Decision, Evaluation, Evidence, Flag, Laterality
from rules.ruleset.vocabulary import FINDING_IDS, Priority
from rules.sr.model import Measurement


def assemble(mentions: list[Mention], rs: RuleSet) -> Evaluation:
    groups: dict[str, list[Mention]] = {}
    for m in mentions:
        if m.decision is Decision.FLAGGED:
            groups.setdefault(m.rule.finding, []).append(m)
    superseded: dict[int, Mention] = {}
    for loser, winner in rs.supersedes.items():
        if winner in groups and loser in groups:
            for m in groups.pop(loser):
                superseded[id(m)] = replace(
                    m, decision=Decision.SUPERSEDED, reason=f"reported as {winner} instead"
                )
    flags: list[Flag] = []
    for finding in FINDING_IDS:
        group = groups.get(finding)
        if group:
            flags.append(_flag(finding, group))
    candidates = tuple(
        Candidate(
            finding=m.rule.finding,
            rule=m.rule.id,
            evidence=m.evidence,
            decision=m.decision,
            reason=m.reason,
        )
        for m in (superseded.get(id(x), x) for x in sorted(mentions, key=lambda x: x.order))
    )
    return Evaluation(flags=tuple(flags), candidates=candidates, ruleset_version=rs.version)


def _flag(finding: str, group: list[Mention]) -> Flag:
    ordered = sorted(group, key=lambda m: (m.certainty is not Certainty.DEFINITE, m.rank, m.order))
    evidence: list[Evidence] = []
    for m in ordered:
        if m.evidence not in evidence:
            evidence.append(m.evidence)
    measurements: list[Measurement] = []
    for m in ordered:
        measurements.extend(x for x in m.measurements if x not in measurements)
    primary = ordered[0]
    priority = max((m.rule.priority for m in group), key=lambda p: Priority(p).rank)
    return Flag(
        finding=finding,
        rule=primary.rule.id,
        rule_version=primary.rule.version,
        priority=str(priority),
        certainty=primary.certainty,
        laterality=combine_laterality(m.laterality for m in group),
        evidence=tuple(evidence),
        measurements=tuple(measurements),
    )


def combine_laterality(sides: Iterable[Laterality | None]) -> Laterality | None:
    found = {s for s in sides if s is not None}
    if Laterality.BILATERAL in found or {Laterality.LEFT, Laterality.RIGHT} <= found:
        return Laterality.BILATERAL
    return found.pop() if found else None
