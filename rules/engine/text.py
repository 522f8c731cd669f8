"""Mentions in free text: one trie pass per text, then for each term its section, the
rule's scope, exclusions, near-context, the context engine, and the recommendation test.

Sentences are split, and scanned by the context engine, only for texts that hold a
term, and only the sentences that hold one.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, replace

from rules.context.model import Certainty, ContextResult, CueKind, Experiencer, Temporality
from rules.engine.compiled import CompiledRule, PhraseGroup, RuleSet, TermEntry
from rules.engine.cues import HEADING, HEADING_ROLES, LATERALITY_WORDS, REFERRING_WINDOW
from rules.engine.matcher import PhraseMatch, TokenizedText, tokenize
from rules.engine.mention import ROLE_RANK, Mention, quote
from rules.engine.ports import ContextPort, SentenceContext
from rules.engine.scope import ScopeCheck
from rules.engine.walk import TextSource
from rules.flags import Decision, Evidence, Laterality
from rules.sr.model import SectionRole


@dataclass(slots=True)
class _Sentence:
    start: int
    end: int
    tok_lo: int
    tok_hi: int
    matches: list[PhraseMatch]
    scan: SentenceContext | None = None


def text_mentions(
    src: TextSource, rs: RuleSet, ctx: ContextPort, scope: ScopeCheck
) -> list[Mention]:
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
    out: list[Mention] = []
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
) -> Mention:
    start, end = tt.starts[m.start], tt.ends[m.end - 1]
    text = src.text
    said = quote(text[sentence.start : sentence.end])
    evidence = Evidence(src.path, src.concept, text, (start, end))
    base = Mention(
        rule=rule,
        evidence=evidence,
        decision=Decision.FLAGGED,
        reason="",
        order=(src.order, start),
        rank=ROLE_RANK[role],
        tokens=(m.start, m.end),
    )

    def no(decision: Decision, reason: str) -> Mention:
        return replace(base, decision=decision, reason=reason)

    if role is SectionRole.CLINICAL:
        return no(Decision.CLINICAL_SECTION, f"in {label}: clinical information is never a finding")
    why = scope.document(rule) or scope.section(rule, role, label, src.sections)
    if why is not None:
        return no(Decision.OUT_OF_SCOPE, why)
    for group in rule.exclude:
        veto = _find_group(group, m, sentence.matches, tt)
        if veto is not None:
            return no(Decision.EXCLUDED, f"excluded by {_words(tt, veto)!r} in {said}")
    lo, hi = m.start, m.end
    for group in rule.near:
        found = _find_group(group, m, sentence.matches, tt)
        if found is None:
            where = f"within {group.within} words" if group.within else "in the sentence"
            return no(
                Decision.MISSING_CONTEXT,
                f"no {group.label!r} (or another of its words) {where}: {said}",
            )
        lo, hi = min(lo, found.start), max(hi, found.end)
    if (lo, hi) != (m.start, m.end):
        base = replace(base, evidence=replace(evidence, span=(tt.starts[lo], tt.ends[hi - 1])))

    if sentence.scan is None:
        sentence.scan = ctx.scan(text[sentence.start : sentence.end])
    result = sentence.scan.context((start - sentence.start, end - sentence.start))
    refused = _context_refusal(result, said)
    if refused is not None:
        return no(*refused)
    if role is SectionRole.RECOMMENDATION:
        cue = _recommends(rs, tt, m, sentence)
        if cue is not None:
            return no(
                Decision.HYPOTHETICAL,
                f"in {label}: asks for something ({cue!r}) rather than stating a finding: {said}",
            )
    possible = result.certainty is Certainty.POSSIBLE or rule.max_certainty == "possible"
    if result.certainty is Certainty.POSSIBLE:
        cues = [c.text for c in result.cues if c.kind is CueKind.UNCERTAINTY]
        reason = f"uncertain ({cues[0]!r}) in {said}" if cues else f"uncertain in {said}"
    elif possible:
        reason = f"rule {rule.id!r} only suggests this finding: {said}"
    else:
        reason = f"affirmed in {said}"
    return replace(
        base,
        reason=reason,
        certainty=Certainty.POSSIBLE if possible else Certainty.DEFINITE,
        laterality=_text_laterality(tt, m, sentence) or src.laterality,
    )


def _context_refusal(result: ContextResult, said: str) -> tuple[Decision, str] | None:
    def cue(*kinds: CueKind) -> str:
        found = [c.text for c in result.cues if c.kind in kinds]
        return f" ({found[0]!r})" if found else ""

    if result.negated:
        resolved = cue(CueKind.RESOLVED)
        if resolved:
            return Decision.RESOLVED, f"resolved{resolved} in {said}"
        negation = [c.text for c in result.cues if c.kind is CueKind.NEGATION]
        by = f" by {negation[0]!r}" if negation else ""
        return Decision.NEGATED, f"negated{by} in {said}"
    if result.experiencer is Experiencer.OTHER:
        who = cue(CueKind.EXPERIENCER)
        return Decision.OTHER_EXPERIENCER, f"about someone else{who} in {said}"
    if result.temporality is Temporality.HISTORICAL:
        return Decision.HISTORICAL, f"historical{cue(CueKind.HISTORICAL)} in {said}"
    if result.temporality is Temporality.HYPOTHETICAL:
        return Decision.HYPOTHETICAL, f"hypothetical{cue(CueKind.HYPOTHETICAL)} in {said}"
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


def _dedupe(mentions: list[Mention]) -> list[Mention]:
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
    kept: list[Mention] = []
    for x in ranked:
        a = x.tokens or (0, 0)
        if any(
            k.rule.finding == x.rule.finding and (b := k.tokens or (0, 0))[0] < a[1] and a[0] < b[1]
            for k in kept
        ):
            continue
        kept.append(x)
    return sorted(kept, key=lambda x: x.order)
