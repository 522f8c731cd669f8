"""The closed finding vocabulary of DESIGN.md: ids, default priorities, supersession."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType


class Priority(StrEnum):
    URGENT = "urgent"
    HIGH = "high"
    ROUTINE = "routine"

    @property
    def rank(self) -> int:
        """Higher is more pressing (so ``max`` picks the most urgent)."""
        return _PRIORITY_RANK[self]


_PRIORITY_RANK = {Priority.ROUTINE: 0, Priority.HIGH: 1, Priority.URGENT: 2}


@dataclass(frozen=True, slots=True)
class FindingSpec:
    id: str
    priority: Priority
    covers: str
    supersedes: str | None = None


FINDINGS: MappingProxyType[str, FindingSpec] = MappingProxyType(
    {
        spec.id: spec
        for spec in (
            FindingSpec("bakers_cyst", Priority.ROUTINE, "popliteal (Baker's) cyst, intact"),
            FindingSpec(
                "ruptured_bakers_cyst",
                Priority.HIGH,
                "ruptured, leaking or dissecting popliteal cyst",
                supersedes="bakers_cyst",
            ),
            FindingSpec("joint_effusion", Priority.ROUTINE, "fluid in a joint or its recesses"),
            FindingSpec("gout", Priority.HIGH, "double contour sign, tophi, crystal aggregates"),
            FindingSpec("tendon_abnormality", Priority.ROUTINE, "tendinopathy, tendon tear"),
            FindingSpec("muscle_injury", Priority.ROUTINE, "muscle tear or strain, herniation"),
            FindingSpec("hematoma", Priority.ROUTINE, "hematoma in soft tissue or muscle"),
            FindingSpec("abscess", Priority.URGENT, "abscess, collection suspected infected"),
            FindingSpec("soft_tissue_mass", Priority.HIGH, "soft tissue mass or solid lesion"),
            FindingSpec("bursitis", Priority.ROUTINE, "bursitis, distended bursa (not Baker's)"),
            FindingSpec("synovitis", Priority.ROUTINE, "synovial thickening, hyperaemic synovium"),
            FindingSpec("foreign_body", Priority.HIGH, "retained soft-tissue foreign body"),
        )
    }
)
"""Every finding id a rule may name, in the order of DESIGN.md's table."""

FINDING_IDS: tuple[str, ...] = tuple(FINDINGS)
