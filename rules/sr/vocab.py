"""The concept tables the SR reader gives meaning to (``rules/sr/data/*.yaml``).

Loaded once, on first use, and validated then. Codes are keyed by (value, scheme) after
legacy SNOMED (SRT / SNM3 / 99SDM) codes are mapped to SNOMED CT, so a table may list a
concept either way and a document may use either.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any, TypeAlias

import yaml

from rules.sr.model import Code, SectionRole

LEGACY_SNOMED_SCHEMES = frozenset({"SRT", "SNM3", "99SDM"})

CodeKey: TypeAlias = tuple[str, str]


class Presence(StrEnum):
    """Value of a "Presence of property" modifier (DCM 121052)."""

    PRESENT = "present"
    ABSENT = "absent"
    UNDETERMINED = "undetermined"


class VocabularyError(ValueError):
    """A shipped concept table is malformed (a packaging bug, caught by the tests)."""


@dataclass(frozen=True, slots=True)
class Vocabulary:
    srt_to_sct: Mapping[str, str]
    section_roles: Mapping[CodeKey, SectionRole]
    laterality_concepts: frozenset[CodeKey]
    laterality_values: Mapping[CodeKey, str]
    finding_site_concepts: frozenset[CodeKey]
    anatomic_locations: frozenset[CodeKey]
    presence_concepts: frozenset[CodeKey]
    presence_values: Mapping[CodeKey, Presence]

    def key(self, value: str, scheme: str) -> CodeKey:
        """(value, scheme) with legacy SNOMED mapped to SCT."""
        if scheme in LEGACY_SNOMED_SCHEMES:
            mapped = self.srt_to_sct.get(value)
            if mapped is not None:
                return mapped, "SCT"
        return value, scheme

    def code(self, value: str, scheme: str, meaning: str = "") -> Code:
        """A Code with legacy SNOMED mapped to SCT (the meaning is kept as written)."""
        value, scheme = self.key(value, scheme)
        return Code(value, scheme, meaning)


def _load_yaml(name: str) -> dict[str, Any]:
    text = resources.files("rules.sr.data").joinpath(name).read_text(encoding="utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader, C or Python
    if not isinstance(data, dict):
        raise VocabularyError(f"{name}: expected a mapping at the top")
    return data


def _keys(name: str, where: str, rows: object, srt: Mapping[str, str]) -> list[CodeKey]:
    if not isinstance(rows, list):
        raise VocabularyError(f"{name}: {where} must be a list of [value, scheme, meaning]")
    out: list[CodeKey] = []
    for row in rows:
        if (
            not isinstance(row, list)
            or len(row) not in (2, 3)
            or not all(isinstance(part, str) and part for part in row)
        ):
            raise VocabularyError(f"{name}: {where}: bad code {row!r} (quote the value)")
        value, scheme = row[0], row[1]
        if scheme in LEGACY_SNOMED_SCHEMES and value in srt:
            value, scheme = srt[value], "SCT"
        out.append((value, scheme))
    return out


def _grouped(
    name: str, where: str, data: object, srt: Mapping[str, str], allowed: set[str]
) -> dict[str, list[CodeKey]]:
    if not isinstance(data, dict) or not set(data) <= allowed:
        raise VocabularyError(f"{name}: {where} must map {sorted(allowed)} to code lists")
    return {str(k): _keys(name, f"{where}.{k}", v, srt) for k, v in data.items()}


@cache
def vocabulary() -> Vocabulary:
    srt_data = _load_yaml("srt_to_sct.yaml").get("srt_to_sct")
    if not isinstance(srt_data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in srt_data.items()
    ):
        raise VocabularyError("srt_to_sct.yaml: srt_to_sct must map strings to strings")
    srt: dict[str, str] = srt_data

    name = "concepts.yaml"
    data = _load_yaml(name)
    roles = _grouped(
        name, "section_roles", data.get("section_roles"), srt,
        {r.value for r in SectionRole if r is not SectionRole.UNKNOWN},
    )  # fmt: skip
    section_roles: dict[CodeKey, SectionRole] = {}
    for role, keys in roles.items():
        for key in keys:
            if key in section_roles:
                raise VocabularyError(f"{name}: {key} has two section roles")
            section_roles[key] = SectionRole(role)
    sides = _grouped(
        name, "laterality_values", data.get("laterality_values"), srt,
        {"left", "right", "bilateral"},
    )  # fmt: skip
    presence = _grouped(
        name, "presence_values", data.get("presence_values"), srt, {p.value for p in Presence}
    )
    return Vocabulary(
        srt_to_sct=srt,
        section_roles=section_roles,
        laterality_concepts=frozenset(
            _keys(name, "laterality_concepts", data.get("laterality_concepts"), srt)
        ),
        laterality_values={key: side for side, keys in sides.items() for key in keys},
        finding_site_concepts=frozenset(
            _keys(name, "finding_site_concepts", data.get("finding_site_concepts"), srt)
        ),
        anatomic_locations=frozenset(
            _keys(name, "anatomic_locations", data.get("anatomic_locations"), srt)
        ),
        presence_concepts=frozenset(
            _keys(name, "presence_concepts", data.get("presence_concepts"), srt)
        ),
        presence_values={key: Presence(value) for value, keys in presence.items() for key in keys},
    )
