"""Cheap questions about a content tree: walk it, find an item's modifiers, its presence.

Coded findings keep their Finding Site / Presence / Laterality modifiers as children; these
helpers let a caller ask for them without knowing the template.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator

from rules.sr.model import Code, ContentItem, Relationship, ValueType
from rules.sr.vocab import CodeKey, Presence, vocabulary

_MODIFIER_RELATIONSHIPS = frozenset({Relationship.HAS_CONCEPT_MOD, Relationship.HAS_PROPERTIES})


def iter_items(root: ContentItem | None, *, references: bool = False) -> Iterator[ContentItem]:
    """Every item in document order (pre-order), the root first; without recursion.

    By-reference copies (``referenced_from`` set) are skipped unless ``references`` is
    true: the same item is also reached at its own place in the tree, so counting it
    twice would double its evidence.
    """
    if root is None:
        return
    stack = [root]
    while stack:
        item = stack.pop()
        yield item
        children = item.children
        for index in range(len(children) - 1, -1, -1):
            child = children[index]
            if references or child.referenced_from is None:
                stack.append(child)


def _keys(concepts: Collection[Code]) -> frozenset[CodeKey]:
    vocab = vocabulary()
    return frozenset(vocab.key(c.value, c.scheme) for c in concepts)


def modifiers(item: ContentItem, concepts: Collection[Code]) -> tuple[ContentItem, ...]:
    """The item's direct HAS CONCEPT MOD / HAS PROPERTIES children whose concept name is
    one of ``concepts`` (legacy SRT codes are accepted and mapped to SCT)."""
    wanted = _keys(concepts)
    return tuple(
        child
        for child in item.children
        if child.relationship in _MODIFIER_RELATIONSHIPS
        and child.concept is not None
        and (child.concept.value, child.concept.scheme) in wanted
    )


def modifier_codes(item: ContentItem, concepts: Collection[Code]) -> tuple[Code, ...]:
    """The coded values of ``modifiers(item, concepts)``."""
    return tuple(
        child.code
        for child in modifiers(item, concepts)
        if child.value_type is ValueType.CODE and child.code is not None
    )


def presence(item: ContentItem) -> Presence | None:
    """What the item's "Presence of property" modifier says, if it has one (the first
    recognised value wins)."""
    vocab = vocabulary()
    for child in item.children:
        if (
            child.relationship in _MODIFIER_RELATIONSHIPS
            and child.concept is not None
            and (child.concept.value, child.concept.scheme) in vocab.presence_concepts
            and child.code is not None
        ):
            found = vocab.presence_values.get((child.code.value, child.code.scheme))
            if found is not None:
                return found
    return None
