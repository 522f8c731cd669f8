"""Evaluate one document against a compiled rule set.

Order of work, cheapest first: one walk collects the TEXT items (and the CODE / NUM items
some rule asks about); a text is tokenised only if one of the terms' first words occurs
in it; one trie pass finds every term, near-context and exclusion phrase; sentences are
split and sent to the context engine only for texts that hold a term, and only the
sentences that hold one. Each mention then gets a decision and a reason, the flagged
ones are grouped into one flag per finding, and ``ruptured_bakers_cyst`` supersedes
``bakers_cyst``.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from rules.context.model import Certainty, ContextResult, CueKind, Experiencer, Temporality
from rules.engine.compiled import (
    CompiledRule,
    MeasurementSpec,
    PhraseGroup,
    RuleSet,
    TermEntry,
)
from rules.engine.cues import (
    FINDING_CONCEPTS,
    HEADING,
    HEADING_ROLES,
    LATERALITY_WORDS,
    REFERRING_WINDOW,
)
from rules.engine.matcher import PhraseMatch, TokenizedText, tokenize
from rules.engine.scope import ScopeCheck
from rules.engine.walk import ItemRef, TextSource, collect, laterality_of
from rules.flags import Candidate, Decision, Evaluation, Evidence, Flag, Laterality
from rules.ruleset.units import convert
from rules.ruleset.vocabulary import FINDING_IDS, Priority
from rules.sr import query
from rules.sr.model import Code, ContentItem, Measurement, SectionRole, SRDocument, ValueType
from rules.sr.vocab import Presence

_QUOTE_MAX = 160
_SIDE_WORD = re.compile(r"\b(left|right|lt|rt|bilateral|bilaterally)\b", re.IGNORECASE)
_ROLE_RANK = {
    SectionRole.IMPRESSION: 0,
    SectionRole.FINDINGS: 0,
    SectionRole.UNKNOWN: 1,
    SectionRole.COMMENT: 1,
    SectionRole.RECOMMENDATION: 2,
    SectionRole.CLINICAL: 3,
}


class SentenceContext(Protocol):
    def context(self, target: tuple[int, int]) -> ContextResult: ...


class ContextPort(Protocol):
    """What the engine needs from the context engine (``rules.context``)."""

    def split_sentences(self, text: str) -> list[tuple[int, int]]: ...

    def scan(self, sentence: str) -> SentenceContext: ...


@dataclass(frozen=True, slots=True)
class _Mention:
    rule: CompiledRule
    evidence: Evidence
    decision: Decision
    reason: str
    certainty: Certainty = Certainty.DEFINITE
    laterality: Laterality | None = None
    measurements: tuple[Measurement, ...] = ()
    order: tuple[int, int] = (0, 0)
    rank: int = 1
    tokens: tuple[int, int] | None = None


def evaluate_document(doc: SRDocument, rs: RuleSet, ctx: ContextPort) -> Evaluation:
    parts = collect(doc, rs.coded_concepts, rs.measurement_index.keys())
    scope = ScopeCheck(doc)
    mentions: list[_Mention] = []
    for src in parts.texts:
        mentions.extend(_text_mentions(src, rs, ctx, scope))
    for ref in parts.codes:
        mentions.extend(_coded_mentions(ref, rs, scope))
    for ref in parts.nums:
        mentions.extend(_measurement_mentions(ref, rs, scope))
    if any(m.decision is Decision.FLAGGED and m.laterality is None for m in mentions):
        side = _document_side(parts.texts)
        if side is not None:
            mentions = [
                replace(m, laterality=side)
                if m.decision is Decision.FLAGGED and m.laterality is None
                else m
                for m in mentions
            ]
    return _assemble(mentions, rs)


def _document_side(texts: Sequence[TextSource]) -> Laterality | None:
    """The one side a unilateral report talks about ("Right lower extremity venous
    duplex ... There is a Baker's cyst"), for mentions that name none; None when the
    report names both sides or none."""
    sides: set[Laterality] = set()
    for src in texts:
        for word in _SIDE_WORD.findall(src.text):
            sides.add(LATERALITY_WORDS[word.lower()])
        if src.laterality is not None:
            sides.add(src.laterality)
    return sides.pop() if len(sides) == 1 else None


# --- free text ------------------------------------------------------------------------


@dataclass(slots=True)
class _Sentence:
    start: int
    end: int
    tok_lo: int
    tok_hi: int
    matches: list[PhraseMatch]
    scan: SentenceContext | None = None


def _text_mentions(
    src: TextSource, rs: RuleSet, ctx: ContextPort, scope: ScopeCheck
) -> list[_Mention]:
    if not rs.trie.may_match(src.text):
        return []
    tt = tokenize(src.text)
    matches = rs.trie.find(tt)
    hits: list[tuple[PhraseMatch, TermEntry]] = []
    for m in matches:
        for entry in rs.term_entries.get(m.phrase, ()):
            if entry.exact is None or _exact(tt, m, entry.exact):
                hits.append((m, entry))
    if not hits:
        return []
    spans = ctx.split_sentences(src.text) or [(0, len(src.text))]
    span_starts = [s for s, _ in spans]
    sentences: dict[int, _Sentence] = {}
    headings = _headings(src)
    out: list[_Mention] = []
    for m, entry in hits:
        start, end = tt.starts[m.start], tt.ends[m.end - 1]
        si = max(0, bisect_right(span_starts, start) - 1)
        sentence = sentences.get(si)
        if sentence is None:
            s0, s1 = spans[si]
            s1 = max(s1, end)
            lo, hi = bisect_left(tt.starts, s0), bisect_left(tt.starts, s1)
            inside = [x for x in matches if lo <= x.start and x.end <= hi]
            sentence = sentences[si] = _Sentence(s0, s1, lo, hi, inside)
        role, label = _role_at(src, headings, start)
        out.append(
            _decide_text(src, tt, m, rs.compiled[entry.rule], rs, ctx, scope, sentence, role, label)
        )
    return _dedupe(out)


def _decide_text(
    src: TextSource,
    tt: TokenizedText,
    m: PhraseMatch,
    rule: CompiledRule,
    rs: RuleSet,
    ctx: ContextPort,
    scope: ScopeCheck,
    sentence: _Sentence,
    role: SectionRole,
    label: str,
) -> _Mention:
    start, end = tt.starts[m.start], tt.ends[m.end - 1]
    text = src.text
    quote = _quote(text[sentence.start : sentence.end])
    evidence = Evidence(src.path, src.concept, text, (start, end))
    base = _Mention(
        rule=rule,
        evidence=evidence,
        decision=Decision.FLAGGED,
        reason="",
        order=(src.order, start),
        rank=_ROLE_RANK[role],
        tokens=(m.start, m.end),
    )

    def no(decision: Decision, reason: str) -> _Mention:
        return replace(base, decision=decision, reason=reason)

    if role is SectionRole.CLINICAL:
        return no(Decision.CLINICAL_SECTION, f"in {label}: clinical information is never a finding")
    why = scope.document(rule) or scope.section(rule, role, label, src.sections)
    if why is not None:
        return no(Decision.OUT_OF_SCOPE, why)
    for group in rule.exclude:
        veto = _find_group(group, m, sentence.matches, tt)
        if veto is not None:
            return no(Decision.EXCLUDED, f"excluded by {_words(tt, veto)!r} in {quote}")
    lo, hi = m.start, m.end
    for group in rule.near:
        found = _find_group(group, m, sentence.matches, tt)
        if found is None:
            where = f"within {group.within} words" if group.within else "in the sentence"
            return no(
                Decision.MISSING_CONTEXT,
                f"no {group.label!r} (or another of its words) {where}: {quote}",
            )
        lo, hi = min(lo, found.start), max(hi, found.end)
    if (lo, hi) != (m.start, m.end):
        base = replace(base, evidence=replace(evidence, span=(tt.starts[lo], tt.ends[hi - 1])))

    if sentence.scan is None:
        sentence.scan = ctx.scan(text[sentence.start : sentence.end])
    result = sentence.scan.context((start - sentence.start, end - sentence.start))
    refused = _context_refusal(result, quote)
    if refused is not None:
        return no(*refused)
    if role is SectionRole.RECOMMENDATION:
        cue = _recommends(rs, tt, m, sentence)
        if cue is not None:
            return no(
                Decision.HYPOTHETICAL,
                f"in {label}: asks for something ({cue!r}) rather than stating a finding: {quote}",
            )
    possible = result.certainty is Certainty.POSSIBLE or rule.max_certainty == "possible"
    if result.certainty is Certainty.POSSIBLE:
        cues = [c.text for c in result.cues if c.kind is CueKind.UNCERTAINTY]
        reason = f"uncertain ({cues[0]!r}) in {quote}" if cues else f"uncertain in {quote}"
    elif possible:
        reason = f"rule {rule.id!r} only suggests this finding: {quote}"
    else:
        reason = f"affirmed in {quote}"
    return replace(
        base,
        reason=reason,
        certainty=Certainty.POSSIBLE if possible else Certainty.DEFINITE,
        laterality=_text_laterality(tt, m, sentence) or src.laterality,
    )


def _context_refusal(result: ContextResult, quote: str) -> tuple[Decision, str] | None:
    def cue(*kinds: CueKind) -> str:
        found = [c.text for c in result.cues if c.kind in kinds]
        return f" ({found[0]!r})" if found else ""

    if result.negated:
        resolved = cue(CueKind.RESOLVED)
        if resolved:
            return Decision.RESOLVED, f"resolved{resolved} in {quote}"
        negation = [c.text for c in result.cues if c.kind is CueKind.NEGATION]
        by = f" by {negation[0]!r}" if negation else ""
        return Decision.NEGATED, f"negated{by} in {quote}"
    if result.experiencer is Experiencer.OTHER:
        who = cue(CueKind.EXPERIENCER)
        return Decision.OTHER_EXPERIENCER, f"about someone else{who} in {quote}"
    if result.temporality is Temporality.HISTORICAL:
        return Decision.HISTORICAL, f"historical{cue(CueKind.HISTORICAL)} in {quote}"
    if result.temporality is Temporality.HYPOTHETICAL:
        return Decision.HYPOTHETICAL, f"hypothetical{cue(CueKind.HYPOTHETICAL)} in {quote}"
    return None


def _recommends(rs: RuleSet, tt: TokenizedText, m: PhraseMatch, sentence: _Sentence) -> str | None:
    """The recommendation cue of the mention's sentence, unless the mention refers back
    to a stated finding ("the hematoma", "this collection")."""
    sub = TokenizedText(
        tt.text,
        tt.tokens[sentence.tok_lo : sentence.tok_hi],
        tt.starts[sentence.tok_lo : sentence.tok_hi],
        tt.ends[sentence.tok_lo : sentence.tok_hi],
    )
    cue: PhraseMatch | None = None
    for x in rs.cue_trie.find(sub):
        start, end = x.start + sentence.tok_lo, x.end + sentence.tok_lo
        if x.phrase in rs.referring_words and m.start - REFERRING_WINDOW <= start < m.start:
            return None
        if cue is None and x.phrase in rs.recommendation_cues and not (m.start <= start < m.end):
            cue = PhraseMatch(start, end, x.phrase)
    return _words(tt, cue) if cue is not None else None


def _find_group(
    group: PhraseGroup, m: PhraseMatch, matches: Sequence[PhraseMatch], tt: TokenizedText
) -> PhraseMatch | None:
    """The nearest match of ``group`` allowed by its window, if any."""
    best: PhraseMatch | None = None
    best_gap = 1 << 30
    for x in matches:
        if x.phrase not in group.phrases or (x.start == m.start and x.end == m.end):
            continue
        overlap = x.start < m.end and m.start < x.end
        gap = 0 if overlap else (m.start - x.end if x.end <= m.start else x.start - m.end)
        if group.within is not None:
            if gap > group.within or (group.within == 0 and not overlap):
                continue
            if group.same_clause and not overlap and _other_clause(tt, x, m):
                continue
        if gap < best_gap:
            best, best_gap = x, gap
    return best


def _other_clause(tt: TokenizedText, x: PhraseMatch, m: PhraseMatch) -> bool:
    """Is context ``x`` in another clause than mention ``m``? A ";" always separates; a
    "," only when the context comes first ("medial gastrocnemius, consistent with
    rupture"), since words before their noun are often comma-separated modifiers
    ("thickened, hypoechoic Achilles tendon")."""
    if x.end <= m.start:
        return tt.clause_break(x.end - 1, m.start)
    return tt.semicolon_between(m.end - 1, x.start)


def _text_laterality(tt: TokenizedText, m: PhraseMatch, sentence: _Sentence) -> Laterality | None:
    """The side named nearest the mention in its sentence, preferring its own clause
    ("Left thigh hematoma, right thigh normal"); "left and right" means both."""
    best: Laterality | None = None
    best_gap = (True, 1 << 30)
    toks = tt.tokens
    for k in range(sentence.tok_lo, sentence.tok_hi):
        side = LATERALITY_WORDS.get(toks[k])
        if side is None:
            continue
        if (
            side is not Laterality.BILATERAL
            and k + 2 < sentence.tok_hi
            and toks[k + 1] == "and"
            and LATERALITY_WORDS.get(toks[k + 2], side) not in (side, Laterality.BILATERAL)
        ):
            side = Laterality.BILATERAL
        if k < m.start:
            gap = (tt.clause_break(k, m.start), m.start - k)
        elif k >= m.end:
            gap = (tt.clause_break(m.end - 1, k), k - m.end + 1)
        else:
            gap = (False, 0)
        if gap < best_gap:
            best, best_gap = side, gap
    return best


def _exact(tt: TokenizedText, m: PhraseMatch, exact: tuple[str, ...]) -> bool:
    raw = tuple(tt.raw(k).replace("'", "").replace("’", "") for k in range(m.start, m.end))
    return raw == exact


def _words(tt: TokenizedText, m: PhraseMatch) -> str:
    return tt.text[tt.starts[m.start] : tt.ends[m.end - 1]]


def _quote(sentence: str) -> str:
    s = " ".join(sentence.split())
    return repr(s if len(s) <= _QUOTE_MAX else s[: _QUOTE_MAX - 3] + "...")


def _headings(src: TextSource) -> list[tuple[int, SectionRole, str]]:
    """Inline headings ("INDICATION: ...") and the role each gives the text after it."""
    if ":" not in src.text:
        return []
    out: list[tuple[int, SectionRole, str]] = []
    for h in HEADING.finditer(src.text):
        index = next(int(k[1:]) for k, v in h.groupdict().items() if v is not None and k != "1")
        out.append((h.start(), HEADING_ROLES[index], f"'{h.group(1).strip()}:' heading"))
    return out


def _role_at(
    src: TextSource, headings: Sequence[tuple[int, SectionRole, str]], pos: int
) -> tuple[SectionRole, str]:
    if src.role is SectionRole.CLINICAL or not headings:
        return src.role, src.role_label
    current: tuple[SectionRole, str] = (src.role, src.role_label)
    for start, role, label in headings:
        if start > pos:
            break
        current = (role, label)
    return current


def _dedupe(mentions: list[_Mention]) -> list[_Mention]:
    """Overlapping mentions of one finding in one text are one mention: keep the
    flagged one, else the longest."""
    if len(mentions) < 2:
        return mentions
    ranked = sorted(
        mentions,
        key=lambda x: (
            x.decision is not Decision.FLAGGED,
            -((x.tokens or (0, 0))[1] - (x.tokens or (0, 0))[0]),
            x.rule.id,
        ),
    )
    kept: list[_Mention] = []
    for x in ranked:
        a = x.tokens or (0, 0)
        if any(
            k.rule.finding == x.rule.finding and (b := k.tokens or (0, 0))[0] < a[1] and a[0] < b[1]
            for k in kept
        ):
            continue
        kept.append(x)
    return sorted(kept, key=lambda x: x.order)


# --- coded findings and measurements -------------------------------------------------


def _coded_mentions(ref: ItemRef, rs: RuleSet, scope: ScopeCheck) -> list[_Mention]:
    item = ref.item
    if item.concept is None or item.code is None:
        return []
    pairs = rs.coded_index.get((item.concept, item.code), ())
    if not pairs:
        return []
    presence = query.presence(item)
    evidence = Evidence(item.path, item.concept, _coded_text(item), None)
    out: list[_Mention] = []
    seen: set[str] = set()
    for ri, ci in pairs:
        rule = rs.compiled[ri]
        if rule.finding in seen:
            continue
        spec = rule.coded[ci]
        base = _Mention(
            rule=rule,
            evidence=evidence,
            decision=Decision.FLAGGED,
            reason="",
            order=(ref.order, 0),
            rank=_ROLE_RANK[ref.role],
        )
        sites = set(item.finding_sites)
        why = _refusal_for_item(rule, ref, scope)
        if why is None and spec.sites and not spec.sites & sites:
            where = ", ".join(_code_label(s) for s in item.finding_sites) or "none"
            why = (Decision.MISSING_CONTEXT, f"finding site ({where}) is not one of the rule's")
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


def _measurement_mentions(ref: ItemRef, rs: RuleSet, scope: ScopeCheck) -> list[_Mention]:
    item = ref.item
    if item.concept is None:
        return []
    value = item.measurement
    out: list[_Mention] = []
    for ri, mi in rs.measurement_index.get(item.concept, ()):
        rule = rs.compiled[ri]
        spec = rule.measurements[mi]
        evidence = Evidence(item.path, item.concept, _num_text(item), None)
        base = _Mention(
            rule=rule,
            evidence=evidence,
            decision=Decision.FLAGGED,
            reason="",
            order=(ref.order, 0),
            rank=_ROLE_RANK[ref.role],
        )
        why = _refusal_for_item(rule, ref, scope)
        if why is None and spec.sites and not spec.sites & set(item.finding_sites):
            where = ", ".join(_code_label(s) for s in item.finding_sites) or "none"
            why = (Decision.MISSING_CONTEXT, f"finding site ({where}) is not one of the rule's")
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


# --- flags ----------------------------------------------------------------------------


def _assemble(mentions: list[_Mention], rs: RuleSet) -> Evaluation:
    groups: dict[str, list[_Mention]] = {}
    for m in mentions:
        if m.decision is Decision.FLAGGED:
            groups.setdefault(m.rule.finding, []).append(m)
    superseded: dict[int, _Mention] = {}
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


def _flag(finding: str, group: list[_Mention]) -> Flag:
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
