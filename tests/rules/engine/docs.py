"""Small SRDocuments built directly (no DICOM) for engine unit tests."""

from __future__ import annotations

from collections.abc import Sequence

from rules.sr import codes
from rules.sr.model import (
    Code,
    ContentItem,
    HeaderText,
    Measurement,
    Relationship,
    SectionRole,
    SRDocument,
    TextSource,
    ValueType,
)

COMPREHENSIVE = "1.2.840.10008.5.1.4.1.1.88.33"
_ROLE_SECTION = {
    SectionRole.FINDINGS: codes.FINDINGS,
    SectionRole.IMPRESSION: codes.IMPRESSIONS,
    SectionRole.CLINICAL: codes.CLINICAL_INFORMATION,
    SectionRole.RECOMMENDATION: codes.RECOMMENDATIONS,
    SectionRole.COMMENT: codes.SUMMARY,
    SectionRole.UNKNOWN: Code("99", "99TEST", "Other"),
}


def text_item(
    path: str,
    value: str,
    role: SectionRole = SectionRole.FINDINGS,
    *,
    laterality: str | None = None,
) -> ContentItem:
    return ContentItem(
        path=path,
        value_type=ValueType.TEXT,
        relationship=Relationship.CONTAINS,
        concept=codes.FINDING,
        text=value,
        sections=(codes.DIAGNOSTIC_IMAGING_REPORT, _ROLE_SECTION[role]),
        section_role=role,
        laterality=laterality,
    )


def code_item(
    path: str,
    value: Code,
    *,
    sites: Sequence[Code] = (),
    presence: Code | None = None,
    laterality: str | None = None,
    role: SectionRole = SectionRole.FINDINGS,
) -> ContentItem:
    children: list[ContentItem] = []
    if presence is not None:
        children.append(
            ContentItem(
                path=f"{path}.1",
                value_type=ValueType.CODE,
                relationship=Relationship.HAS_PROPERTIES,
                concept=codes.PRESENCE,
                code=presence,
            )
        )
    return ContentItem(
        path=path,
        value_type=ValueType.CODE,
        relationship=Relationship.CONTAINS,
        concept=codes.FINDING,
        code=value,
        children=tuple(children),
        section_role=role,
        finding_sites=tuple(sites),
        laterality=laterality,
    )


def num_item(
    path: str, concept: Code, value: float, unit: str, *, sites: Sequence[Code] = ()
) -> ContentItem:
    return ContentItem(
        path=path,
        value_type=ValueType.NUM,
        relationship=Relationship.CONTAINS,
        concept=concept,
        measurement=Measurement(value, Code(unit, "UCUM", unit)),
        section_role=SectionRole.FINDINGS,
        finding_sites=tuple(sites),
    )


def group(path: str, children: Sequence[ContentItem]) -> ContentItem:
    return ContentItem(
        path=path,
        value_type=ValueType.CONTAINER,
        relationship=Relationship.CONTAINS,
        concept=Code("125007", "DCM", "Measurement Group"),
        children=tuple(children),
        section_role=SectionRole.FINDINGS,
    )


def document(
    items: Sequence[ContentItem] = (),
    *,
    header: Sequence[HeaderText] = (),
    modality: str = "SR",
    study_description: str = "US DOPPLER VEINS LOWER EXTREMITY",
    sop_class: str = COMPREHENSIVE,
    root: bool = True,
) -> SRDocument:
    tree = (
        ContentItem(
            path="1",
            value_type=ValueType.CONTAINER,
            relationship=None,
            concept=codes.DIAGNOSTIC_IMAGING_REPORT,
            children=tuple(items),
        )
        if root
        else None
    )
    return SRDocument(
        sop_class_uid=sop_class,
        sop_instance_uid="1.2.3.4",
        study_instance_uid="1.2.3",
        series_instance_uid="1.2.3.5",
        modality=modality,
        study_description=study_description,
        procedure_codes=(),
        root=tree,
        header_text=tuple(header),
    )


def texts(*values: str, role: SectionRole = SectionRole.FINDINGS) -> SRDocument:
    return document([text_item(f"1.{i + 1}", v, role) for i, v in enumerate(values)])


def comments(value: str) -> HeaderText:
    return HeaderText(TextSource.IMAGE_COMMENTS, value, SectionRole.FINDINGS)


def history(value: str) -> HeaderText:
    return HeaderText(TextSource.ADDITIONAL_PATIENT_HISTORY, value, SectionRole.CLINICAL)
