"""Mentions in free text: one trie pass per text, then for each term its section, the
rule's scope, exclusions, near-context, the context engine, and the recommendation test;
then the flagged mentions' sides, sizes and certainty.

Sentences are split, and scanned by the context engine, only for texts that hold a
term, and only the sentences that hold one. Everything looked up per mention (nearby
words, the side named nearest, headings, sizes) is indexed once per sentence or text and
bisected, so a long run-on sentence with many findings stays near-linear.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from rules.context.model import Certainty, ContextResult, Cue, CueKind, Experiencer, Temporality
from rules.engine.compiled import CompiledRule, PhraseGroup, RuleSet, TermEntry
from rules.engine.cues import REFERRING_WINDOW
from rules.engine.layout import Layout, layout
from rules.engine.matcher import PhraseMatch, TokenizedText, tokenize
from rules.engine.mention import ROLE_RANK, Mention, quote
from rules.engine.ports import ContextPort, SentenceContext
from rules.engine.scope import ScopeCheck
from rules.engine.sides import token_side
from rules.engine.sizes import assign_sizes, find_sizes
from rules.engine.walk import TextSource
from rules.flags import Decision, Evidence, Laterality
from rules.sr.model import Measurement, SectionRole


@dataclass(slots=True)
class _Sentence:
    start: int
    end: int
    tok_lo: int
    tok_hi: int
    matches: list[PhraseMatch]
    scan: SentenceContext | None = None
    _by_phrase: dict[int, tuple[list[int], list[PhraseMatch]]] | None = None
    _sides: tuple[list[int], list[Laterality], list[int]] | None = None
    _cues: list[PhraseMatch] | None = field(default=None)
    _said: str | None = None

    def said(self, text: str) -> str:
        """The sentence quoted for reasons (once per sentence: it may be long)."""
        if self._said is None:
            self._said = quote(text[self.start : self.end])
        return self._said

    def by_phrase(self) -> dict[int, tuple[list[int], list[PhraseMatch]]]:
        """Phrase id -> (starts, matches) in text order (one phrase has one length)."""
        if self._by_phrase is None:
            index: dict[int, tuple[list[int], list[PhraseMatch]]] = {}
            for x in self.matches:
                starts, found = index.setdefault(x.phrase, ([], []))
                starts.append(x.start)
                found.append(x)
            self._by_phrase = index
        return self._by_phrase

    def sides(self, tt: TokenizedText) -> tuple[list[int], list[Laterality], list[int]]:
        """Token indices naming a side, their sides, and for every token of the sentence
        the number of clause breaks ("," ";") before it (to compare clauses in O(1))."""
        if self._sides is None:
            positions: list[int] = []
            found: list[Laterality] = []
            breaks: list[int] = [0]
            toks = tt.tokens
            for k in range(self.tok_lo, self.tok_hi):
                if k > self.tok_lo:
                    breaks.append(breaks[-1] + tt.clause_break(k - 1, k))
                side = token_side(tt, k, k == self.tok_hi - 1)
                if side is None:
                    continue
                if (
                    side is not Laterality.BILATERAL
                    and k + 2 < self.tok_hi
                    and toks[k + 1] == "and"
                    and (other := token_side(tt, k + 2, k + 2 == self.tok_hi - 1)) is not None
                    and other is not side
                ):
                    side = Laterality.BILATERAL  # "left and right"
                positions.append(k)
                found.append(side)
            self._sides = (positions, found, breaks)
        return self._sides


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
    match_starts = [x.start for x in matches]
    spans = ctx.split_sentences(src.text) or [(0, len(src.text))]
    span_starts = [s for s, _ in spans]
    sentences: dict[int, _Sentence] = {}
    where = layout(src)
    decided: list[tuple[Mention, int]] = []
    for m, entry in hits:
        start, end = tt.starts[m.start], tt.ends[m.end - 1]
        si = max(0, bisect_right(span_starts, start) - 1)
        sentence = sentences.get(si)
        if sentence is None:
            s0, s1 = spans[si]
            s1 = max(s1, end)
            lo, hi = bisect_left(tt.starts, s0), bisect_left(tt.starts, s1)
            first, last = bisect_left(match_starts, lo), bisect_left(match_starts, hi)
            inside = [x for x in matches[first:last] if x.end <= hi]
            sentence = sentences[si] = _Sentence(s0, s1, lo, hi, inside)
        role, label = where.role_at(start)
        mention = _decide_text(
            src, tt, m, rs.compiled[entry.rule], rs, ctx, scope, sentence, role, label, where
        )
        decided.append((mention, si))
    kept = _dedupe(decided)
    return _finish(tt, kept, sentences)


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
    place: Layout,
) -> Mention:
    start, end = tt.starts[m.start], tt.ends[m.end - 1]
    text = src.text
    evidence = Evidence(src.path, src.concept, text, (start, end))
    base = Mention(
        rule=rule,
        evidence=evidence,
        decision=Decision.FLAGGED,
        reason="",
        order=(src.order, start),
        rank=ROLE_RANK[role],
        tokens=(m.start, m.end),
        span_tokens=(m.start, m.end),
        section=label,
        sentence=(sentence.start, sentence.end),
    )

    def no(decision: Decision, reason: str, cue: tuple[int, int] | None = None) -> Mention:
        return replace(base, decision=decision, reason=reason, cue=cue)

    if role is SectionRole.CLINICAL:
        return no(Decision.CLINICAL_SECTION, f"in {label}: clinical information is never a finding")
    said = sentence.said(text)
    why = scope.document(rule) or scope.section(rule, role, label, src.sections)
    if why is not None:
        return no(Decision.OUT_OF_SCOPE, why)
    for group in rule.exclude:
        veto = _find_group(group, m, sentence, tt)
        if veto is not None:
            return no(
                Decision.EXCLUDED, f"excluded by {_words(tt, veto)!r} in {said}", _span(tt, veto)
            )
    lo, hi = m.start, m.end
    for group in rule.near:
        found = _find_group(group, m, sentence, tt)
        if found is None:
            where = f"within {group.within} words" if group.within else "in the sentence"
            return no(
                Decision.MISSING_CONTEXT,
                f"no {group.label!r} (or another of its words) {where}: {said}",
            )
        lo, hi = min(lo, found.start), max(hi, found.end)
    if (lo, hi) != (m.start, m.end):
        base = replace(
            base,
            evidence=replace(evidence, span=(tt.starts[lo], tt.ends[hi - 1])),
            span_tokens=(lo, hi),
        )

    if sentence.scan is None:
        sentence.scan = ctx.scan(text[sentence.start : sentence.end])
    result = sentence.scan.context((start - sentence.start, end - sentence.start))
    refused = _context_refusal(result, said)
    if refused is not None:
        decision, reason, by = refused
        return no(decision, reason, _shift(by.span, sentence.start) if by else None)
    if role is SectionRole.RECOMMENDATION:
        asks = _recommends(rs, tt, m, sentence)
        if asks is not None:
            return no(
                Decision.HYPOTHETICAL,
                f"in {label}: asks for something ({_words(tt, asks)!r}) rather than stating "
                f"a finding: {said}",
                _span(tt, asks),
            )
    possible = result.certainty is Certainty.POSSIBLE or rule.max_certainty == "possible"
    hedge: tuple[int, int] | None = None
    if result.certainty is Certainty.POSSIBLE:
        cues = [c for c in result.cues if c.kind is CueKind.UNCERTAINTY]
        reason = f"uncertain ({cues[0].text!r}) in {said}" if cues else f"uncertain in {said}"
        hedge = _shift(cues[0].span, sentence.start) if cues else None
    elif possible:
        reason = f"rule {rule.id!r} only suggests this finding: {said}"
    else:
        reason = f"affirmed in {said}"
    return replace(
        base,
        reason=reason,
        certainty=Certainty.POSSIBLE if possible else Certainty.DEFINITE,
        hedged=result.certainty is Certainty.POSSIBLE,
        cue=hedge,
        laterality=_text_laterality(tt, m, sentence) or place.side_at(start) or src.laterality,
    )


def _context_refusal(result: ContextResult, said: str) -> tuple[Decision, str, Cue | None] | None:
    """Why the context engine's answer refuses a mention, and the cue that decided it."""

    def first(kind: CueKind) -> Cue | None:
        return next((c for c in result.cues if c.kind is kind), None)

    def quoted(cue: Cue | None) -> str:
        return f" ({cue.text!r})" if cue is not None else ""

    if result.negated:
        resolved = first(CueKind.RESOLVED)
        if resolved is not None:
            return Decision.RESOLVED, f"resolved{quoted(resolved)} in {said}", resolved
        negation = first(CueKind.NEGATION)
        by = f" by {negation.text!r}" if negation is not None else ""
        return Decision.NEGATED, f"negated{by} in {said}", negation
    if result.experiencer is Experiencer.OTHER:
        who = first(CueKind.EXPERIENCER)
        return Decision.OTHER_EXPERIENCER, f"about someone else{quoted(who)} in {said}", who
    if result.temporality is Temporality.HISTORICAL:
        when = first(CueKind.HISTORICAL)
        return Decision.HISTORICAL, f"historical{quoted(when)} in {said}", when
    if result.temporality is Temporality.HYPOTHETICAL:
        frame = first(CueKind.HYPOTHETICAL)
        return Decision.HYPOTHETICAL, f"hypothetical{quoted(frame)} in {said}", frame
    return None


def _shift(span: tuple[int, int], by: int) -> tuple[int, int]:
    """A span in a sentence as a span in its text."""
    return span[0] + by, span[1] + by


def _span(tt: TokenizedText, m: PhraseMatch) -> tuple[int, int]:
    return tt.starts[m.start], tt.ends[m.end - 1]


def _recommends(
    rs: RuleSet, tt: TokenizedText, m: PhraseMatch, sentence: _Sentence
) -> PhraseMatch | None:
    """The recommendation cue of the mention's sentence, unless the mention refers back
    to a stated finding ("the hematoma", "this collection")."""
    if sentence._cues is None:
        sub = TokenizedText(
            tt.text,
            tt.tokens[sentence.tok_lo : sentence.tok_hi],
            tt.starts[sentence.tok_lo : sentence.tok_hi],
            tt.ends[sentence.tok_lo : sentence.tok_hi],
        )
        sentence._cues = [
            PhraseMatch(x.start + sentence.tok_lo, x.end + sentence.tok_lo, x.phrase)
            for x in rs.cue_trie.find(sub)
        ]
    cue: PhraseMatch | None = None
    for x in sentence._cues:
        if x.phrase in rs.referring_words and m.start - REFERRING_WINDOW <= x.start < m.start:
            return None
        if cue is None and x.phrase in rs.recommendation_cues and not (m.start <= x.start < m.end):
            cue = x
    return cue


def _find_group(
    group: PhraseGroup, m: PhraseMatch, sentence: _Sentence, tt: TokenizedText
) -> PhraseMatch | None:
    """The nearest match of ``group`` allowed by its window, if any. Per phrase of the
    group present in the sentence, only the matches next to the mention are looked at
    (their starts are bisected), so the cost does not grow with the sentence."""
    index = sentence.by_phrase()
    phrases = group.phrases
    present = index.keys() & phrases if len(index) <= len(phrases) else phrases & index.keys()
    best: PhraseMatch | None = None
    best_key = (1 << 30, 0)
    for phrase in present:
        starts, found = index[phrase]
        length = found[0].end - found[0].start
        first = bisect_left(starts, m.start - length + 1)  # first that may overlap
        last = bisect_left(starts, m.end)  # first wholly after
        candidates: list[PhraseMatch] = []
        candidates.extend(found[first:last])  # overlapping ones (few)
        if first > 0:
            candidates.append(found[first - 1])  # nearest wholly before
        if last < len(found):
            candidates.append(found[last])  # nearest wholly after
        for x in candidates:
            if x.start == m.start and x.end == m.end:
                continue
            overlap = x.start < m.end and m.start < x.end
            gap = 0 if overlap else (m.start - x.end if x.end <= m.start else x.start - m.end)
            if group.within is not None:
                if gap > group.within or (group.within == 0 and not overlap):
                    continue
                if group.same_clause and not overlap and _other_clause(tt, x, m):
                    continue
            if (gap, x.start) < best_key:
                best, best_key = x, (gap, x.start)
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
    ("Left thigh hematoma, right thigh normal"); "left and right" means both. Only the
    nearest side word on each side of the mention can win (clauses only grow apart)."""
    positions, sides, breaks = sentence.sides(tt)
    if not positions:
        return None
    lo = sentence.tok_lo
    i = bisect_left(positions, m.start)
    j = bisect_left(positions, m.end)
    if i < j:
        return sides[i]  # a side word inside the mention ("Right-sided Baker's cyst")
    best: Laterality | None = None
    best_gap = (True, 1 << 30)
    if i > 0:
        k = positions[i - 1]
        best, best_gap = sides[i - 1], (breaks[m.start - lo] > breaks[k - lo], m.start - k)
    if j < len(positions):
        k = positions[j]
        gap = (breaks[k - lo] > breaks[m.end - 1 - lo], k - m.end + 1)
        if gap < best_gap:
            best = sides[j]
    return best


def _exact(tt: TokenizedText, m: PhraseMatch, exact: tuple[str, ...]) -> bool:
    raw = tuple(tt.raw(k).replace("'", "").replace("’", "") for k in range(m.start, m.end))
    return raw == exact


def _words(tt: TokenizedText, m: PhraseMatch) -> str:
    return tt.text[tt.starts[m.start] : tt.ends[m.end - 1]]


def _dedupe(decided: list[tuple[Mention, int]]) -> list[tuple[Mention, int]]:
    """Overlapping mentions of one finding in one text are one mention: keep the
    flagged one, else the longest. Kept term ranges of a finding never overlap, so each
    check is a bisection among them."""
    if len(decided) < 2:
        return decided
    ranked = sorted(
        decided,
        key=lambda d: (
            d[0].decision is not Decision.FLAGGED,
            -((d[0].tokens or (0, 0))[1] - (d[0].tokens or (0, 0))[0]),
            d[0].rule.id,
        ),
    )
    taken: dict[str, tuple[list[int], list[int]]] = {}
    kept: list[tuple[Mention, int]] = []
    for d in ranked:
        a0, a1 = d[0].tokens or (0, 0)
        starts, ends = taken.setdefault(d[0].rule.finding, ([], []))
        i = bisect_left(starts, a1)  # kept ranges starting before this one ends
        if i > 0 and ends[i - 1] > a0:
            continue
        starts.insert(i, a0)
        ends.insert(i, a1)
        kept.append(d)
    kept.sort(key=lambda d: d[0].order)
    return kept


def _finish(
    tt: TokenizedText, decided: Sequence[tuple[Mention, int]], sentences: dict[int, _Sentence]
) -> list[Mention]:
    """Per sentence, the flagged mentions' sizes, and certainty: a description ("cystic
    structure in the popliteal fossa", "fluid tracking" — a rule with near-context) is
    only as certain as what the same sentence calls it (", likely a Baker's cyst",
    ", suspicious for early rupture"); a plain name ("knee effusion, possibly
    hemarthrosis") keeps its own certainty."""
    out = [m for m, _ in decided]
    by_sentence: dict[int, list[int]] = {}
    for n, (m, si) in enumerate(decided):
        if m.decision is Decision.FLAGGED:
            by_sentence.setdefault(si, []).append(n)
    for si, members in by_sentence.items():
        sentence = sentences[si]
        hedged = {out[n].rule.finding for n in members if out[n].hedged}
        for n in members:
            m = out[n]
            if m.rule.near and m.rule.finding in hedged and m.certainty is Certainty.DEFINITE:
                out[n] = replace(
                    m,
                    certainty=Certainty.POSSIBLE,
                    reason=f"{m.reason}; uncertain as named in the same sentence",
                )
        sizes = find_sizes(tt, sentence.start, sentence.end)
        if not sizes:
            continue
        spans = sorted({out[n].span_tokens or (0, 0) for n in members})
        position = {span: i for i, span in enumerate(spans)}
        owned = assign_sizes(tt, sizes, spans)
        for n in members:
            m = out[n]
            values: list[Measurement] = owned.get(position[m.span_tokens or (0, 0)], [])
            if values:
                out[n] = replace(m, measurements=(*m.measurements, *values))
    return out
