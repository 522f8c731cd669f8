"""A rule set compiled once into lookup tables and one phrase trie.

Everything here is immutable after ``compile_rules`` returns: tuples, frozensets and
dictionaries nobody writes to again, so one ``RuleSet`` serves any number of threads.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from rules.engine.cues import RECOMMENDATION_CUES, REFERRING_WORDS
from rules.engine.matcher import PhraseTable, PhraseTrie
from rules.ruleset.lexical import variants
from rules.ruleset.loader import LoadedRules, SourceRef
from rules.ruleset.schema import CodeRef, Comparator, Rule, Scope, Term
from rules.ruleset.vocabulary import FINDINGS, Priority
from rules.sr.model import Code, SectionRole


@dataclass(frozen=True, slots=True)
class TermEntry:
    """A phrase id means "this rule's term": which rule, which declared text, and the
    exact spelling an abbreviation must have (None = any case)."""

    rule: int
    declared: str
    exact: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class PhraseGroup:
    phrases: frozenset[int]
    within: int | None
    """Words allowed between; None = anywhere in the sentence (0 = must overlap, for
    exclusions)."""
    label: str
    """The group's first declared phrase, for explanations."""
    same_clause: bool = False


@dataclass(frozen=True, slots=True)
class CodedSpec:
    concepts: frozenset[Code]
    findings: frozenset[Code]
    sites: frozenset[Code]
    presence_required: bool


@dataclass(frozen=True, slots=True)
class MeasurementSpec:
    concepts: frozenset[Code]
    comparator: Comparator
    threshold: float
    unit: str
    sites: frozenset[Code]
    findings: frozenset[Code]


@dataclass(frozen=True, slots=True)
class ScopeSpec:
    modalities: frozenset[str]
    sop_classes: frozenset[str]
    study_descriptions: tuple[re.Pattern[str], ...]
    study_description_texts: tuple[str, ...]
    procedure_codes: frozenset[Code]
    section_roles: frozenset[SectionRole]
    sections: frozenset[Code]

    @property
    def document_level(self) -> bool:
        return bool(
            self.modalities or self.sop_classes or self.study_descriptions or self.procedure_codes
        )

    @property
    def section_level(self) -> bool:
        return bool(self.section_roles or self.sections)


@dataclass(frozen=True, slots=True)
class CompiledRule:
    index: int
    id: str
    version: str
    finding: str
    priority: Priority
    max_certainty: Literal["definite", "possible"]
    scope: ScopeSpec
    near: tuple[PhraseGroup, ...]
    exclude: tuple[PhraseGroup, ...]
    coded: tuple[CodedSpec, ...]
    measurements: tuple[MeasurementSpec, ...]
    source: SourceRef | None


@dataclass(frozen=True, slots=True, eq=False)
class RuleSet:
    """A loaded, validated and compiled rule set. ``version`` is the hash of its content."""

    version: str
    rules: tuple[Rule, ...]
    sources: Mapping[str, SourceRef]
    files: tuple[str, ...]
    compiled: tuple[CompiledRule, ...]
    phrases: tuple[tuple[str, ...], ...]
    trie: PhraseTrie
    term_entries: Mapping[int, tuple[TermEntry, ...]]
    coded_index: Mapping[tuple[Code, Code], tuple[tuple[int, int], ...]]
    """(concept name, value) → (rule index, coded spec index) pairs."""
    coded_concepts: frozenset[Code]
    measurement_index: Mapping[Code, tuple[tuple[int, int], ...]]
    cue_trie: PhraseTrie
    """Recommendation cues and referring words, scanned only in recommendations."""
    recommendation_cues: frozenset[int]
    referring_words: frozenset[int]
    supersedes: Mapping[str, str]

    def __len__(self) -> int:
        return len(self.rules)


def compile_rules(loaded: LoadedRules) -> RuleSet:
    table = PhraseTable()
    term_entries: dict[int, list[TermEntry]] = {}
    compiled: list[CompiledRule] = []
    coded_index: dict[tuple[Code, Code], list[tuple[int, int]]] = {}
    measurement_index: dict[Code, list[tuple[int, int]]] = {}

    for idx, rule in enumerate(loaded.rules):
        for term in rule.match.terms:
            for phrase in _term_variants(term):
                term_entries.setdefault(table.intern(phrase), []).append(TermEntry(idx, term.text))
        for abbr in rule.match.abbreviations:
            exact = tuple(abbr.split())
            for phrase in variants(abbr, plural=False):
                term_entries.setdefault(table.intern(phrase), []).append(
                    TermEntry(idx, abbr, exact)
                )
        near = tuple(
            PhraseGroup(_group(table, g.terms), g.within, g.terms[0].text, g.same_clause)
            for g in rule.match.near
        )
        exclude = tuple(
            PhraseGroup(
                _group(table, g.phrases),
                None if g.within == "sentence" else g.within,
                g.phrases[0].text,
            )
            for g in rule.match.exclude
        )
        coded = tuple(
            CodedSpec(
                concepts=_codes(c.concepts),
                findings=_codes(c.findings),
                sites=_codes(c.sites),
                presence_required=c.presence == "required",
            )
            for c in rule.match.coded
        )
        for ci, spec in enumerate(coded):
            for concept in spec.concepts:
                for value in spec.findings:
                    coded_index.setdefault((concept, value), []).append((idx, ci))
        measurements = tuple(
            MeasurementSpec(
                concepts=_codes(m.concepts),
                comparator=m.comparator,
                threshold=m.threshold,
                unit=m.unit,
                sites=_codes(m.sites),
                findings=_codes(m.findings),
            )
            for m in rule.match.measurements
        )
        for mi, mspec in enumerate(measurements):
            for concept in mspec.concepts:
                measurement_index.setdefault(concept, []).append((idx, mi))
        compiled.append(
            CompiledRule(
                index=idx,
                id=rule.id,
                version=str(rule.version),
                finding=rule.finding,
                priority=rule.effective_priority,
                max_certainty=rule.certainty,
                scope=_scope(rule.scope),
                near=near,
                exclude=exclude,
                coded=coded,
                measurements=measurements,
                source=loaded.sources.get(rule.id),
            )
        )

    cue_table = PhraseTable()
    cues = _group(cue_table, tuple(Term(text=c, plural=False) for c in RECOMMENDATION_CUES))
    referring = _group(cue_table, tuple(Term(text=w, plural=False) for w in REFERRING_WORDS))
    return RuleSet(
        version=loaded.version,
        rules=loaded.rules,
        sources=loaded.sources,
        files=loaded.files,
        compiled=tuple(compiled),
        phrases=tuple(table.phrases()),
        trie=table.trie(primary=term_entries),
        cue_trie=cue_table.trie(),
        term_entries=MappingProxyType({k: tuple(v) for k, v in term_entries.items()}),
        coded_index=MappingProxyType({k: tuple(v) for k, v in coded_index.items()}),
        coded_concepts=frozenset(concept for concept, _ in coded_index),
        measurement_index=MappingProxyType({k: tuple(v) for k, v in measurement_index.items()}),
        recommendation_cues=cues,
        referring_words=referring,
        supersedes=MappingProxyType(
            {s.supersedes: s.id for s in FINDINGS.values() if s.supersedes is not None}
        ),
    )


def _term_variants(term: Term) -> set[tuple[str, ...]]:
    out: set[tuple[str, ...]] = set()
    for text in (term.text, *term.variants):
        out |= variants(text, plural=term.plural)
    return out


def _group(table: PhraseTable, terms: tuple[Term, ...]) -> frozenset[int]:
    out: set[int] = set()
    for term in terms:
        out |= table.intern_all(_term_variants(term))
    return frozenset(out)


def _codes(refs: tuple[CodeRef, ...]) -> frozenset[Code]:
    return frozenset(r.code() for r in refs)


def _pattern(text: str) -> re.Pattern[str]:
    """``*`` and ``?`` wildcards; everything else literal; case-insensitive, whole text."""
    body = "".join(
        ".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in text.strip()
    )
    return re.compile(rf"\A\s*{body}\s*\Z", re.IGNORECASE | re.DOTALL)


def _scope(scope: Scope) -> ScopeSpec:
    return ScopeSpec(
        modalities=frozenset(scope.modalities),
        sop_classes=frozenset(scope.sop_classes),
        study_descriptions=tuple(_pattern(p) for p in scope.study_descriptions),
        study_description_texts=scope.study_descriptions,
        procedure_codes=_codes(scope.procedure_codes),
        section_roles=frozenset(scope.section_roles),
        sections=_codes(scope.sections),
    )
