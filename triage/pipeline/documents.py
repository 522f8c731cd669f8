"""Read a study's current objects from the archive into the rules' document views.

SR objects are read whole (their content tree is the report); other objects only up to
their pixel data (the reader stops there), for header text such as ImageComments.
An SR that cannot be read - not DICOM, damaged, or its archive file gone - is kept with
the reason, so the study can be recorded as unreadable rather than silently empty.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from rules.sr.model import SectionRole, SRDocument
from rules.sr.reader import SR_SOP_CLASS_PREFIX, DocumentReadError, read_document

PURGED = "file removed by archive retention (retention_days)"


@dataclass(frozen=True, slots=True)
class ArchivedObject:
    """What the pipeline needs of one instance row (its latest revision)."""

    sop_instance_uid: str
    sop_class_uid: str
    revision: int
    archive_path: str  # relative to the data dir
    purged: bool = False  # archive retention removed the file (the index row stays)

    @property
    def is_report(self) -> bool:
        return self.sop_class_uid.startswith(SR_SOP_CLASS_PREFIX)


@dataclass(frozen=True, slots=True)
class Unreadable:
    sop_instance_uid: str
    reason: str


@dataclass(frozen=True, slots=True)
class StudyDocuments:
    """A study's readable reports and images with findings text, and what failed."""

    reports: tuple[SRDocument, ...]
    unreadable_reports: tuple[Unreadable, ...]
    images: tuple[SRDocument, ...]  # non-SR objects whose header has findings text
    unreadable_images: tuple[Unreadable, ...]


def read_study(objects: Iterable[ArchivedObject], data_dir: Path) -> StudyDocuments:
    reports: list[SRDocument] = []
    bad_reports: list[Unreadable] = []
    images: list[SRDocument] = []
    bad_images: list[Unreadable] = []
    for obj in objects:
        if obj.purged:
            if obj.is_report:
                bad_reports.append(Unreadable(obj.sop_instance_uid, PURGED))
            continue  # an image's header text is gone with it: nothing to report
        try:
            doc = _read(obj, data_dir)
        except DocumentReadError as exc:
            problem = Unreadable(obj.sop_instance_uid, str(exc))
            (bad_reports if obj.is_report else bad_images).append(problem)
            continue
        if obj.is_report:
            reports.append(doc)
        elif has_findings_text(doc):
            images.append(doc)
    return StudyDocuments(tuple(reports), tuple(bad_reports), tuple(images), tuple(bad_images))


def has_findings_text(doc: SRDocument) -> bool:
    """Header text the rules can flag (ImageComments); clinical text (reason for the
    procedure, patient history) never becomes a finding."""
    return any(text.section_role is not SectionRole.CLINICAL for text in doc.header_text)


def _read(obj: ArchivedObject, data_dir: Path) -> SRDocument:
    path = data_dir / obj.archive_path
    try:
        return read_document(path)
    except DocumentReadError as exc:
        if isinstance(exc.__cause__, FileNotFoundError):
            raise DocumentReadError(f"archive file missing: {obj.archive_path}") from None
        raise
