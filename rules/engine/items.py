"""Mentions in coded content: CODE findings (value, finding site, presence) and NUM
measurements (concept, site, group finding, converted value against a threshold)."""

from __future__ import annotations

from dataclasses import replace

from rules.context.model import Certainty
from rules.engine.compiled import CompiledRule, MeasurementSpec, RuleSet
from rules.engine.cues import FINDING_CONCEPTS
from rules.engine.mention import ROLE_RANK, Mention
from rules.engine.scope import ScopeCheck
from rules.engine.walk import ItemRef, laterality_of
from rules.flags import Decision, Evidence
from rules.ruleset.units import convert
from rules.sr import query
from rules.sr.model import Code, ContentItem, Measurement, SectionRole, ValueType
from rules.sr.vocab import Presence


def coded_mentions(ref: ItemRef, rs: RuleSet, scope: ScopeCheck) -> list[Mention]:
    item = ref.item
    if item.concept is None or item.code is None:
        return []
    pairs = rs.coded_index.get((item.concept, item.code), ())
    if not pairs:
        return []
    presence = query.presence(item)
    evidence = Evidence(item.path, item.concept, _coded_text(item), None)
    out: list[Mention] = []
    seen: set[str] = set()
    for ri, ci in pairs:
        rule = rs.compiled[ri]
        if rule.finding in seen:
            continue
        spec = rule.coded[ci]
        base = Mention(
            rule=rule,
            evidence=evidence,
            decision=Decision.FLAGGED,
            reason="",
            order=(ref.order, 0),
            rank=ROLE_RANK[ref.role],
            section=ref.role_label,
        )
        why = _refusal_for_item(rule, ref, scope) or _site_refusal(spec.sites, item)
        if why is None and presence is Presence.ABSENT:
            why = (Decision.NEGATED, "negated by presence 'Absent'")
        if why is None and presence is None and spec.presence_required:
            why = (Decision.MISSING_CONTEXT, "no presence modifier, and the rule requires one")
        if why is not None:
            out.append(replace(base, decision=why[0], reason=why[1]))
            continue
        possible = presence is Presence.UNDETERMINED or rule.max_certainty == "possible"
        seen.add(rule.finding)
        out.append(
            replace(
                base,
                reason="coded finding"
                + (", presence undetermined" if presence is Presence.UNDETERMINED else "")
                + (", present" if presence is Presence.PRESENT else ""),
                certainty=Certainty.POSSIBLE if possible else Certainty.DEFINITE,
                laterality=laterality_of(item.laterality),
                measurements=_group_measurements(item, ref.parent),
            )
        )
    return out


def measurement_mentions(ref: ItemRef, rs: RuleSet, scope: ScopeCheck) -> list[Mention]:
    item = ref.item
    if item.concept is None:
        return []
    value = item.measurement
    out: list[Mention] = []
    for ri, mi in rs.measurement_index.get(item.concept, ()):
        rule = rs.compiled[ri]
        spec = rule.measurements[mi]
        evidence = Evidence(item.path, item.concept, _num_text(item), None)
        base = Mention(
            rule=rule,
            evidence=evidence,
            decision=Decision.FLAGGED,
            reason="",
            order=(ref.order, 0),
            rank=ROLE_RANK[ref.role],
            section=ref.role_label,
        )
        why = _refusal_for_item(rule, ref, scope) or _site_refusal(spec.sites, item)
        if why is None and spec.findings and not spec.findings & _group_findings(ref.parent):
            why = (Decision.MISSING_CONTEXT, "its group holds none of the rule's findings")
        converted: float | None = None
        if why is None:
            if value is None or value.unit is None:
                why = (Decision.BELOW_THRESHOLD, "no numeric value with a unit")
            else:
                converted = convert(value.value, value.unit.value, spec.unit)
                if converted is None:
                    why = (
                        Decision.BELOW_THRESHOLD,
                        f"unit {value.unit.value!r} cannot be compared with {spec.unit!r}",
                    )
        statement = f"{_fmt(converted)} {spec.unit} {spec.comparator} {_fmt(spec.threshold)}"
        if why is None and converted is not None and not _compare(converted, spec):
            why = (Decision.BELOW_THRESHOLD, f"{statement} is false")
        if why is not None:
            out.append(replace(base, decision=why[0], reason=why[1]))
            continue
        out.append(
            replace(
                base,
                reason=f"measurement {statement}",
                certainty=Certainty.POSSIBLE
                if rule.max_certainty == "possible"
                else Certainty.DEFINITE,
                laterality=laterality_of(item.laterality),
                measurements=(value,) if value is not None else (),
            )
        )
    return out


def _refusal_for_item(
    rule: CompiledRule, ref: ItemRef, scope: ScopeCheck
) -> tuple[Decision, str] | None:
    if ref.role is SectionRole.CLINICAL:
        return (
            Decision.CLINICAL_SECTION,
            f"in {ref.role_label}: clinical information is never a finding",
        )
    why = scope.document(rule) or scope.section(rule, ref.role, ref.role_label, ref.item.sections)
    if why is not None:
        return Decision.OUT_OF_SCOPE, why
    if ref.role is SectionRole.RECOMMENDATION:
        return Decision.HYPOTHETICAL, f"in {ref.role_label}: a recommendation, not a finding"
    return None


def _site_refusal(sites: frozenset[Code], item: ContentItem) -> tuple[Decision, str] | None:
    """None when the rule names no sites or the item's (own or inherited) site is one."""
    if not sites or sites.intersection(item.finding_sites):
        return None
    where = ", ".join(_code_label(s) for s in item.finding_sites) or "none"
    return Decision.MISSING_CONTEXT, f"finding site ({where}) is not one of the rule's"


def _compare(value: float, spec: MeasurementSpec) -> bool:
    t = spec.threshold
    c = spec.comparator
    if c == ">":
        return value > t
    if c == ">=":
        return value >= t
    if c == "<":
        return value < t
    return value <= t


def _group_findings(parent: ContentItem | None) -> set[Code]:
    if parent is None:
        return set()
    return {
        c.code
        for c in parent.children
        if c.value_type is ValueType.CODE and c.concept in FINDING_CONCEPTS and c.code is not None
    }


def _group_measurements(item: ContentItem, parent: ContentItem | None) -> tuple[Measurement, ...]:
    """Measurements stated with a coded finding: its own NUM children and its group's."""
    out: list[Measurement] = []
    for holder in (item, parent):
        if holder is None:
            continue
        for c in holder.children:
            if c.value_type is ValueType.NUM and c.measurement is not None:
                out.append(c.measurement)
    return tuple(out)


def _coded_text(item: ContentItem) -> str:
    assert item.code is not None
    concept = item.concept.meaning if item.concept is not None else ""
    text = f"{concept or 'Finding'}: {_code_label(item.code)}"
    if item.finding_sites:
        text += " at " + ", ".join(_code_label(s) for s in item.finding_sites)
    return text


def _num_text(item: ContentItem) -> str:
    concept = item.concept.meaning if item.concept is not None else "Measurement"
    m = item.measurement
    if m is None:
        return f"{concept}: (no value)"
    unit = m.unit.value if m.unit is not None else ""
    text = f"{concept}: {_fmt(m.value)} {unit}".rstrip()
    if item.finding_sites:
        text += " at " + ", ".join(_code_label(s) for s in item.finding_sites)
    return text


def _code_label(code: Code) -> str:
    return f"{code.meaning} ({code.scheme} {code.value})" if code.meaning else str(code)


def _fmt(value: float | None) -> str:
    return "?" if value is None else f"{value:g}"
