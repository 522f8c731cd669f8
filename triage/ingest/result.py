"""What ingesting one object came to, as the DICOM status to answer with."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum


class StoreStatus(IntEnum):
    """C-STORE response statuses we use (PS3.4 Annex B.2.3 and PS3.7 C.4.2)."""

    SUCCESS = 0x0000
    # Refused: out of resources (disk full, database unavailable, write failed).
    OUT_OF_RESOURCES = 0xA700
    # Error: data set does not match SOP class (unreadable / missing required tags).
    DATASET_DOES_NOT_MATCH_SOP_CLASS = 0xA900
    # Error: cannot understand (0xCxxx range). Sub-codes name the reason in logs.
    CANNOT_UNDERSTAND = 0xC000
    INVALID_UID = 0xC001
    SOP_INSTANCE_MISMATCH = 0xC002


class IngestOutcome(StrEnum):
    STORED = "stored"  # new instance, archived and indexed
    DUPLICATE = "duplicate"  # identical to the latest stored revision: acknowledged, not kept twice
    REVISION = "revision"  # same SOP Instance UID, different content: kept as a new revision
    REFUSED = "refused"  # nothing kept; see status and reason


@dataclass(frozen=True, slots=True)
class IngestResult:
    status: StoreStatus
    outcome: IngestOutcome
    reason: str = ""
    sop_instance_uid: str | None = None
    study_instance_uid: str | None = None
    revision: int | None = None

    @property
    def ok(self) -> bool:
        return self.status is StoreStatus.SUCCESS
