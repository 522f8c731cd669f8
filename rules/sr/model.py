"""Immutable, typed view of a Structured Report's content tree.

The tree is read once from the dataset (``rules.sr.reader``) and then only looked at:
every class here is a frozen, slotted dataclass, children are tuples, so a view can be
shared between threads and cached. Codes compare on (value, scheme) only; the meaning is
carried for display and never used to decide anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class ValueType(StrEnum):
    CONTAINER = "CONTAINER"
    TEXT = "TEXT"
    CODE = "CODE"
    NUM = "NUM"
    DATE = "DATE"
    TIME = "TIME"
    DATETIME = "DATETIME"
    PNAME = "PNAME"
    UIDREF = "UIDREF"
    COMPOSITE = "COMPOSITE"
    IMAGE = "IMAGE"
    WAVEFORM = "WAVEFORM"
    SCOORD = "SCOORD"
    SCOORD3D = "SCOORD3D"
    TCOORD = "TCOORD"
    TABLE = "TABLE"


class Relationship(StrEnum):
    CONTAINS = "CONTAINS"
    HAS_PROPERTIES = "HAS PROPERTIES"
    HAS_CONCEPT_MOD = "HAS CONCEPT MOD"
    HAS_OBS_CONTEXT = "HAS OBS CONTEXT"
    HAS_ACQ_CONTEXT = "HAS ACQ CONTEXT"
    INFERRED_FROM = "INFERRED FROM"
    SELECTED_FROM = "SELECTED FROM"


class SectionRole(StrEnum):
    """What the nearest recognised enclosing section says about its content.

    ``CLINICAL`` (indications, clinical information, history, reason for study) is
    never a finding. ``UNKNOWN`` means no enclosing section was recognised; content is
    then judged by its own words.
    """

    FINDINGS = "findings"
    IMPRESSION = "impression"
    CLINICAL = "clinical"
    RECOMMENDATION = "recommendation"
    COMMENT = "comment"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Code:
    value: str
    scheme: str
    meaning: str = field(default="", compare=False, hash=False)

    def __str__(self) -> str:
        return f'({self.value}, {self.scheme}, "{self.meaning}")'


@dataclass(frozen=True, slots=True)
class Measurement:
    value: float
    unit: Code | None


@dataclass(frozen=True, slots=True)
class ContentItem:
    """One content item.

    ``path`` is the 1-based position chain from the root (``"1.2.3"``; the root is
    ``"1"``). ``sections`` is the chain of CONTAINER concept names from the root down to
    (not including) this item; ``section_role`` the role of the nearest recognised level
    (the item's own concept name first, then its ancestors', containers or not), and
    ``role_concept`` the concept name that gave it (``None`` when the role is unknown).
    ``referenced_from`` is set on an item reached through a by-reference relationship:
    the path of the item that referenced it (the copy keeps the target's own ``path``,
    ``sections``, role and inherited context; its ``relationship`` is the reference's).

    ``laterality`` (``"left" | "right" | "bilateral" | None``) and ``finding_sites`` are
    inherited context: from HAS CONCEPT MOD Laterality / Finding Site on the item itself
    or the nearest ancestor that has one (TID 5100 puts them on the section container),
    else the document's header laterality. The nearest level that has any wins.
    """

    path: str
    value_type: ValueType
    relationship: Relationship | None
    concept: Code | None
    text: str | None = None
    code: Code | None = None
    measurement: Measurement | None = None
    children: tuple[ContentItem, ...] = ()
    sections: tuple[Code, ...] = ()
    section_role: SectionRole = SectionRole.UNKNOWN
    referenced_from: str | None = None
    laterality: str | None = None
    finding_sites: tuple[Code, ...] = ()
    role_concept: Code | None = None


class TextSource(StrEnum):
    """Where a piece of free text outside the content tree came from."""

    IMAGE_COMMENTS = "ImageComments"
    ADDITIONAL_PATIENT_HISTORY = "AdditionalPatientHistory"
    REASON_FOR_REQUESTED_PROCEDURE = "ReasonForTheRequestedProcedure"


@dataclass(frozen=True, slots=True)
class HeaderText:
    """Free text from the header (image or SR). Its ``path`` is the keyword, e.g.
    ``"ImageComments"``, so evidence can name where it came from."""

    source: TextSource
    text: str
    section_role: SectionRole

    @property
    def path(self) -> str:
        return str(self.source)


@dataclass(frozen=True, slots=True)
class ReadProblem:
    """A part of the document that was skipped, and why."""

    path: str
    reason: str


@dataclass(frozen=True, slots=True)
class SRDocument:
    """Everything the rules look at in one DICOM object (SR or not).

    Non-SR objects (e.g. US images) have ``root is None`` but may carry header text.
    """

    sop_class_uid: str
    sop_instance_uid: str
    study_instance_uid: str
    series_instance_uid: str
    modality: str
    study_description: str
    procedure_codes: tuple[Code, ...]
    root: ContentItem | None
    header_text: tuple[HeaderText, ...] = ()
    laterality: str | None = None
    problems: tuple[ReadProblem, ...] = ()
    predecessor_sop_instance_uids: tuple[str, ...] = ()
    completion_flag: str | None = None
    verification_flag: str | None = None
    item_count: int = 0
