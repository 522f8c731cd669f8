"""Mentions → an Evaluation: one flag per finding with all its evidence (the most
convincing first), supersession (``ruptured_bakers_cyst`` over ``bakers_cyst``, side by
side: a ruptured cyst on the left and an intact one on the right are both reported),
and every mention as an explained candidate."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import replace

from rules.context.model import Certainty
from rules.engine.compiled import RuleSet
from rules.engine.mention import Mention
from rules.flags import Candidate, Decision, Evaluation, Flag, Laterality
from rules.ruleset.vocabulary import FINDING_IDS, Priority
from rules.sr.model import Measurement


def assemble(mentions: list[Mention], rs: RuleSet) -> Evaluation:
    groups: dict[str, list[Mention]] = {}
    for m in mentions:
        if m.decision is Decision.FLAGGED:
            groups.setdefault(m.rule.finding, []).append(m)
    superseded: dict[int, Mention] = {}
    carried: dict[str, list[Measurement]] = {}
    for loser, winner in rs.supersedes.items():
        if winner in groups and loser in groups:
            sides = _winning_sides(groups[winner])
            kept: list[Mention] = []
            for m in groups[loser]:
                if not _same_thing(m.laterality, sides):
                    kept.append(m)
                    continue
                superseded[id(m)] = replace(
                    m, decision=Decision.SUPERSEDED, reason=f"reported as {winner} instead"
                )
                # The cyst's size is the ruptured cyst's size.
                carried.setdefault(winner, []).extend(m.measurements)
            if kept:
                groups[loser] = kept
            else:
                del groups[loser]
    flags: list[Flag] = []
    for finding in FINDING_IDS:
        group = groups.get(finding)
        if group:
            flags.append(_flag(finding, group, carried.get(finding, ())))
    candidates = tuple(
        Candidate(
            finding=m.rule.finding,
            rule=m.rule.id,
            evidence=m.evidence,
            decision=m.decision,
            reason=m.reason,
        )
        for m in (superseded.get(id(x), x) for x in in_order(mentions))
    )
    return Evaluation(flags=tuple(flags), candidates=candidates, ruleset_version=rs.version)


def in_order(mentions: Iterable[Mention]) -> list[Mention]:
    """Mentions in document order: the order of ``Evaluation.candidates``."""
    return sorted(mentions, key=lambda x: x.order)


def _winning_sides(winners: Sequence[Mention]) -> set[Laterality | None]:
    """The sides of the superseding mentions; unsided ones count only when none has a
    side (then they are presumably the same structure)."""
    sides = {m.laterality for m in winners}
    return sides - {None} if sides - {None} else sides


def _same_thing(side: Laterality | None, winners: set[Laterality | None]) -> bool:
    """Is a mention on ``side`` the structure a winner on one of ``winners`` describes?
    Unknown sides can be anything; a bilateral winner covers both sides."""
    if side is None or None in winners or Laterality.BILATERAL in winners:
        return True
    return side in winners


def _flag(finding: str, group: list[Mention], carried: Sequence[Measurement]) -> Flag:
    ordered = sorted(group, key=lambda m: (m.certainty is not Certainty.DEFINITE, m.rank, m.order))
    evidence = list(dict.fromkeys(m.evidence for m in ordered))
    # Each mention's sizes, without repeating what another mention already gave
    # ("3.0 x 1.4 cm" in the findings, "3.0 cm" in the impression: 3.0, 1.4).
    measurements: list[Measurement] = []
    have: Counter[Measurement] = Counter()
    for values in [m.measurements for m in ordered] + [tuple(carried)]:
        need = Counter(values)
        for x in values:
            if need[x] > have[x]:
                measurements.append(x)
                have[x] += 1
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
