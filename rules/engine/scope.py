"""Rule scopes: does a rule apply to this document, and to this section?

Document-level answers are cached per document (one dict lookup per matched rule), and
are only computed for rules that matched something — a rule set of 1,000 scoped rules
costs nothing for the rules whose words never occur.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rules.engine.compiled import CompiledRule
from rules.sr.model import Code, SectionRole, SRDocument


class ScopeCheck:
    """Per-document, single-threaded helper (one per evaluation)."""

    __slots__ = ("_cache", "_doc")

    def __init__(self, doc: SRDocument) -> None:
        self._doc = doc
        self._cache: dict[int, str | None] = {}

    def document(self, rule: CompiledRule) -> str | None:
        """None if the rule applies to the document, else why not."""
        if not rule.scope.document_level:
            return None
        if rule.index not in self._cache:
            self._cache[rule.index] = self._document(rule)
        return self._cache[rule.index]

    def _document(self, rule: CompiledRule) -> str | None:
        s = rule.scope
        doc = self._doc
        if s.modalities and doc.modality.upper() not in s.modalities:
            return (
                f"rule {rule.id!r} applies to modality {_list(s.modalities)}, "
                f"not {doc.modality or '(none)'!r}"
            )
        if s.sop_classes and doc.sop_class_uid not in s.sop_classes:
            return (
                f"rule {rule.id!r} applies to SOP class {_list(s.sop_classes)}, "
                f"not {doc.sop_class_uid!r}"
            )
        if s.study_descriptions and not any(
            p.match(doc.study_description or "") for p in s.study_descriptions
        ):
            return (
                f"rule {rule.id!r} applies to study descriptions "
                f"{_list(s.study_description_texts)}, not {doc.study_description or '(none)'!r}"
            )
        if s.procedure_codes and not s.procedure_codes.intersection(doc.procedure_codes):
            codes = ", ".join(str(c) for c in doc.procedure_codes) or "(none)"
            return f"rule {rule.id!r} applies to other procedure codes than {codes}"
        return None

    @staticmethod
    def section(
        rule: CompiledRule, role: SectionRole, label: str, sections: Sequence[Code]
    ) -> str | None:
        s = rule.scope
        if s.section_roles and role not in s.section_roles:
            return f"rule {rule.id!r} applies to {_list(s.section_roles)} sections, not {label}"
        if s.sections and not s.sections.intersection(sections):
            return f"rule {rule.id!r} applies to other sections than {label}"
        return None


def _list(values: Iterable[object]) -> str:
    items = sorted(str(v) for v in values)
    return ", ".join(repr(v) for v in items)
