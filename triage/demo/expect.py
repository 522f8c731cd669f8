"""What a newcomer should see once the demo's studies are triaged, from the generator's
own ground truth (never by running the rules: the demo is a check on them)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from rules.api import FINDINGS
from triage.demo.model import CaseKind, DemoStudy, priority_rank

PRIORITIES = ("urgent", "high", "routine")

_NOT_FLAGGED = {
    CaseKind.NORMAL: "normal",
    CaseKind.DVT: "DVT only (a thrombus is not an MSK finding)",
    CaseKind.NEGATED: "MSK findings negated or resolved",
    CaseKind.INDICATION_ONLY: "MSK suspicion in the indication only",
    CaseKind.AMENDED_REMOVE: "finding withdrawn by an amended report",
}


@dataclass(frozen=True, slots=True)
class Expectation:
    studies: int
    objects: int  # sent at first, amendments excluded
    amendments: int
    flagged: tuple[DemoStudy, ...]  # in worklist order: priority, then study number
    not_flagged: tuple[tuple[str, int], ...]  # (why, how many)

    def items_by_priority(self) -> dict[str, list[DemoStudy]]:
        grouped: dict[str, list[DemoStudy]] = {p: [] for p in PRIORITIES}
        for study in self.flagged:
            grouped[study.priority or "routine"].append(study)
        return grouped

    def finding_counts(self, studies: Sequence[DemoStudy]) -> Counter[str]:
        return Counter(flag.finding for study in studies for flag in study.expected)


def expect(studies: Sequence[DemoStudy]) -> Expectation:
    flagged = sorted(
        (s for s in studies if s.flagged),
        key=lambda s: (priority_rank(s.priority or "routine"), s.number),
    )
    reasons = Counter(_NOT_FLAGGED.get(s.kind, str(s.kind)) for s in studies if not s.flagged)
    return Expectation(
        studies=len(studies),
        objects=sum(len(s.objects) for s in studies),
        amendments=sum(s.amendment is not None for s in studies),
        flagged=tuple(flagged),
        not_flagged=tuple(reasons.most_common()),
    )


def describe(expectation: Expectation, studies: Sequence[DemoStudy]) -> list[str]:
    """The lines the demo prints about what the worklist will show."""
    total = expectation.studies
    lines = [
        f"{len(expectation.flagged)} of {total} {_plural(total, 'study', 'studies')} "
        "should be flagged, each with a worklist item at its most urgent finding's priority:"
    ]
    for priority, group in expectation.items_by_priority().items():
        if group:
            counts = expectation.finding_counts(group)
            # the findings that set the priority first
            order = sorted(counts, key=lambda name: (priority_rank(_priority(name)), name))
            findings = ", ".join(
                name if counts[name] == 1 else f"{name} x{counts[name]}" for name in order
            )
            lines.append(f"  {priority:<8} {len(group):>3}  {findings}")
    unflagged = total - len(expectation.flagged)
    if unflagged:
        why = "; ".join(f"{n} {reason}" for reason, n in expectation.not_flagged)
        lines.append(f"{unflagged} not flagged: {why}")
    amended = [s for s in studies if s.amendment is not None]
    if amended:
        lines.append("Amended reports (sent after the first reports):")
        lines.extend(f"  {_amendment_effect(study)}" for study in amended)
    return lines


def _amendment_effect(study: DemoStudy) -> str:
    before = {flag.finding for flag in study.expected_before}
    after = {flag.finding for flag in study.expected}
    name = f"{study.accession_number}:"
    if not before and after:
        return f"{name} adds {', '.join(sorted(after))} - a new item once the amendment is triaged"
    if before and not after:
        return (
            f"{name} removes {', '.join(sorted(before))} - its item is closed as withdrawn "
            "(or never appears, if the amendment arrives before the first triage)"
        )
    added, removed = sorted(after - before), sorted(before - after)
    change = ", ".join([*(f"+{f}" for f in added), *(f"-{f}" for f in removed)]) or "no change"
    return f"{name} {change} - its item is updated and marked amended"


def _priority(finding: str) -> str:
    return str(FINDINGS[finding].priority)


def _plural(count: int, one: str, many: str) -> str:
    return one if count == 1 else many
