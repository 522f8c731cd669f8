"""One pass over a document: the pieces the rules can look at.

TEXT items and header text become ``TextSource``s; CODE and NUM items are kept only when
some rule asks about their concept name (a set lookup), so a 50-item vascular report
costs a few microseconds when nothing in it is of interest.
"""

from __future__ import annotations

from collections.abc import Sequence, Set
from dataclasses import dataclass

from rules.flags import Laterality
from rules.sr.model import Code, ContentItem, Relationship, SectionRole, SRDocument, ValueType
from rules.sr.vocab import vocabulary


@dataclass(frozen=True, slots=True)
class TextSource:
    """A piece of free text and where it stands."""

    path: str
    concept: Code | None
    text: str
    role: SectionRole
    sections: tuple[Code, ...]
    laterality: Laterality | None
    order: int
    header: bool = False

    @property
    def role_label(self) -> str:
        """What gave the role, for explanations: "Clinical Information section"."""
        if self.header:
            return f"{self.path} header"
        return role_label(self.role, self.concept, self.sections)


@dataclass(frozen=True, slots=True)
class ItemRef:
    """A CODE or NUM item with its parent (for measurement groups) and role."""

    item: ContentItem
    parent: ContentItem | None
    order: int

    @property
    def role(self) -> SectionRole:
        return self.item.section_role

    @property
    def role_label(self) -> str:
        return role_label(self.item.section_role, self.item.concept, self.item.sections)


@dataclass(frozen=True, slots=True)
class DocumentParts:
    texts: tuple[TextSource, ...]
    codes: tuple[ItemRef, ...]
    nums: tuple[ItemRef, ...]


def laterality_of(value: str | None) -> Laterality | None:
    if value is None:
        return None
    try:
        return Laterality(value.lower())
    except ValueError:
        return None


def collect(doc: SRDocument, code_concepts: Set[Code], num_concepts: Set[Code]) -> DocumentParts:
    texts: list[TextSource] = []
    codes: list[ItemRef] = []
    nums: list[ItemRef] = []
    order = 0
    if doc.root is not None:
        stack: list[tuple[ContentItem, ContentItem | None]] = [(doc.root, None)]
        while stack:
            item, parent = stack.pop()
            order += 1
            vt = item.value_type
            if vt is ValueType.TEXT:
                if item.text and item.relationship is not Relationship.HAS_OBS_CONTEXT:
                    texts.append(
                        TextSource(
                            path=item.path,
                            concept=item.concept,
                            text=item.text,
                            role=item.section_role,
                            sections=item.sections,
                            laterality=laterality_of(item.laterality),
                            order=order,
                        )
                    )
            elif vt is ValueType.CODE:
                if item.concept in code_concepts and item.code is not None:
                    codes.append(ItemRef(item, parent, order))
            elif vt is ValueType.NUM and item.concept in num_concepts:
                nums.append(ItemRef(item, parent, order))
            # A by-reference copy is also reached at its own place: counting it twice
            # would double its evidence.
            stack.extend(
                (child, item) for child in reversed(item.children) if child.referenced_from is None
            )
    for ht in doc.header_text:
        order += 1
        texts.append(
            TextSource(
                path=ht.path,
                concept=None,
                text=ht.text,
                role=ht.section_role,
                sections=(),
                laterality=laterality_of(doc.laterality),
                order=order,
                header=True,
            )
        )
    return DocumentParts(tuple(texts), tuple(codes), tuple(nums))


def role_label(role: SectionRole, concept: Code | None, sections: Sequence[Code]) -> str:
    """For explanations, the concept that gave an item its role (the reader's: its own
    concept name, else its nearest classified section). Only computed for reasons."""
    if role is SectionRole.UNKNOWN:
        return "report"
    roles = vocabulary().section_roles
    for code in (concept, *reversed(sections)):
        if code is not None and roles.get((code.value, code.scheme)) is role:
            return f"{code.meaning or code.value} section"
    return f"{role} section"
