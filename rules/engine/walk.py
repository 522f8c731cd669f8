"""One pass over a document: the pieces the rules can look at.

TEXT items and header text become ``TextSource``s; CODE and NUM items are kept only when
some rule asks about their concept name (a set lookup), so a 50-item vascular report
costs a few microseconds when nothing in it is of interest.
"""

from __future__ import annotations

from collections.abc import Set
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
    role_label: str
    """What gave the role, for explanations: "Clinical Information section"."""
    sections: tuple[Code, ...]
    laterality: Laterality | None
    order: int


@dataclass(frozen=True, slots=True)
class ItemRef:
    """A CODE or NUM item with its parent (for measurement groups) and role."""

    item: ContentItem
    parent: ContentItem | None
    role: SectionRole
    role_label: str
    order: int


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
                    role, label = item_role(item)
                    texts.append(
                        TextSource(
                            path=item.path,
                            concept=item.concept,
                            text=item.text,
                            role=role,
                            role_label=label,
                            sections=item.sections,
                            laterality=laterality_of(item.laterality),
                            order=order,
                        )
                    )
            elif vt is ValueType.CODE:
                if item.concept in code_concepts and item.code is not None:
                    codes.append(ItemRef(item, parent, *item_role(item), order))
            elif vt is ValueType.NUM and item.concept in num_concepts:
                nums.append(ItemRef(item, parent, *item_role(item), order))
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
                role_label=f"{ht.path} header",
                sections=(),
                laterality=laterality_of(doc.laterality),
                order=order,
            )
        )
    return DocumentParts(tuple(texts), tuple(codes), tuple(nums))


def item_role(item: ContentItem) -> tuple[SectionRole, str]:
    """The item's role (the reader's: its own concept name, else its nearest classified
    section) and, for explanations, the concept that gave it."""
    role = item.section_role
    if role is SectionRole.UNKNOWN:
        return role, "report"
    roles = vocabulary().section_roles
    for code in (item.concept, *reversed(item.sections)):
        if code is not None and roles.get((code.value, code.scheme)) is role:
            return role, f"{code.meaning or code.value} section"
    return role, f"{role} section"
