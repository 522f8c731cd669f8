"""Structured Report reading: an immutable, typed content tree (see ``model``).

    from rules.sr import read_document
    doc = read_document(path_or_bytes_or_dataset)

``reader`` reads any DICOM object (SR or not), ``query`` answers cheap questions about the
tree (walk it, modifiers, presence), ``codes`` names well-known concepts, ``vocab`` holds
the concept tables, and ``build`` makes valid SR documents and US images for tests and
demos.
"""

from rules.sr.model import (
    Code,
    ContentItem,
    HeaderText,
    Measurement,
    ReadProblem,
    Relationship,
    SectionRole,
    SRDocument,
    TextSource,
    ValueType,
)
from rules.sr.query import iter_items, modifier_codes, modifiers, presence
from rules.sr.reader import DocumentReadError, read_document
from rules.sr.vocab import Presence

__all__ = [
    "Code",
    "ContentItem",
    "DocumentReadError",
    "HeaderText",
    "Measurement",
    "Presence",
    "ReadProblem",
    "Relationship",
    "SRDocument",
    "SectionRole",
    "TextSource",
    "ValueType",
    "iter_items",
    "modifier_codes",
    "modifiers",
    "presence",
    "read_document",
]
