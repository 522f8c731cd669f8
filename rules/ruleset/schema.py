"""The rule-file schema: pydantic models every rule file is validated into at load.

A rule file is a mapping with one key, ``rules``, holding a list of rules. Everything is
data: terms are words (variants are generated from them, see ``variants``), operators
come from closed sets, codes compare on value and scheme. Nothing here is evaluated as an
expression. ``docs/rules.md`` is the reference for authors; keep the two in step.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from rules.ruleset.codes import parse_code
from rules.ruleset.lexical import variants
from rules.ruleset.sop_classes import sop_class_uid
from rules.ruleset.suggest import did_you_mean
from rules.ruleset.units import UNITS
from rules.ruleset.vocabulary import FINDINGS, Priority
from rules.sr.model import Code, SectionRole

RULE_ID = re.compile(r"^[a-z0-9][a-z0-9_.\-]{0,99}$")
SCHEMA_VERSION = 1


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class CodeRef(_Model):
    """A coded concept: ``SCHEME:VALUE`` or ``{value, scheme, meaning}``. The meaning is
    documentation only; legacy SRT codes are mapped to SNOMED CT at load."""

    value: Annotated[str, Field(min_length=1, max_length=64)]
    scheme: Annotated[str, Field(min_length=1, max_length=16)]
    meaning: str = ""

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, data: Any) -> Any:
        if isinstance(data, str):
            code = parse_code(data)
            return {"value": code.value, "scheme": code.scheme, "meaning": code.meaning}
        if isinstance(data, dict) and "value" in data and "scheme" in data:
            code = parse_code(f"{data['scheme']}:{data['value']}")
            return {**data, "value": code.value, "scheme": code.scheme}
        return data

    def code(self) -> Code:
        return Code(self.value, self.scheme, self.meaning)


class Term(_Model):
    """A phrase to look for. Written as a plain string, or as a mapping to say how its
    variants are generated: ``plural`` (the last word's plural forms, default on) and
    ``variants`` (extra spellings the generator cannot guess)."""

    text: Annotated[str, Field(min_length=1, max_length=200)]
    plural: bool = True
    variants: tuple[Annotated[str, Field(min_length=1, max_length=200)], ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, data: Any) -> Any:
        return {"text": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _has_words(self) -> Term:
        for text in (self.text, *self.variants):
            variants(text, plural=self.plural)  # raises ValueError naming the problem
        return self


class Near(_Model):
    """Anatomical (or other) context the mention needs: one of ``terms`` within
    ``within`` words of it, or anywhere in the same sentence when ``within`` is absent.
    ``same_clause`` keeps the window in the mention's clause: it does not reach back
    across "," or ";" to an earlier word, nor forward across ";" (for generic words such
    as "rupture" that belong to the structure named in their own clause)."""

    terms: Annotated[tuple[Term, ...], Field(min_length=1)]
    within: Annotated[int, Field(ge=1, le=50)] | None = None
    same_clause: bool = False

    @field_validator("within", mode="before")
    @classmethod
    def _words(cls, value: Any) -> Any:
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ValueError("within is a number of words (1-50); leave it out for the sentence")
        return value


class Exclusion(_Model):
    """Phrases that veto a mention: when one overlaps it (``within: 0``, the default),
    lies within N words of it, or anywhere in its sentence (``within: sentence``)."""

    phrases: Annotated[tuple[Term, ...], Field(min_length=1)]
    within: Annotated[int, Field(ge=0, le=50)] | Literal["sentence"] = 0

    @field_validator("within", mode="before")
    @classmethod
    def _words_or_sentence(cls, value: Any) -> Any:
        if value == "sentence" or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        raise ValueError(
            "within is a number of words (0 = overlapping the mention) or 'sentence'"
            + did_you_mean(str(value), ["sentence"])
        )


Comparator = Literal[">", ">=", "<", "<="]


class CodedMatch(_Model):
    """A coded finding: a CODE item whose concept name is one of ``concepts`` (default
    Finding, DCM 121071) and whose value is one of ``findings``; if ``sites`` is given,
    its finding site (own or inherited from its section) must be one of them. Presence
    "Absent" never flags; ``presence: required`` also refuses items with no presence."""

    concepts: tuple[CodeRef, ...] = (CodeRef(value="121071", scheme="DCM", meaning="Finding"),)
    findings: Annotated[tuple[CodeRef, ...], Field(min_length=1)]
    sites: tuple[CodeRef, ...] = ()
    presence: Literal["optional", "required"] = "optional"


class MeasurementMatch(_Model):
    """A numeric measurement: a NUM item whose concept name is one of ``concepts``,
    converted to ``unit``, compared with ``threshold``. ``sites`` restricts the finding
    site (own, its group's, or its section's); ``findings`` requires the measurement's
    group to hold a CODE finding from that set."""

    concepts: Annotated[tuple[CodeRef, ...], Field(min_length=1)]
    comparator: Comparator
    threshold: float
    unit: str
    sites: tuple[CodeRef, ...] = ()
    findings: tuple[CodeRef, ...] = ()

    @field_validator("unit")
    @classmethod
    def _known_unit(cls, unit: str) -> str:
        if unit not in UNITS:
            raise ValueError(f"unknown unit {unit!r}" + did_you_mean(unit, list(UNITS)))
        return unit


class Match(_Model):
    """What makes a mention. Each kind is an alternative way to find the finding."""

    terms: tuple[Term, ...] = ()
    abbreviations: tuple[Annotated[str, Field(min_length=1, max_length=20)], ...] = ()
    near: tuple[Near, ...] = ()
    exclude: tuple[Exclusion, ...] = ()
    coded: tuple[CodedMatch, ...] = ()
    measurements: tuple[MeasurementMatch, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _single_to_list(cls, data: Any) -> Any:
        # ``near: {...}`` and ``coded: {...}`` read better than one-element lists.
        if isinstance(data, dict):
            data = dict(data)
            for key in ("near", "exclude", "coded", "measurements"):
                if isinstance(data.get(key), dict):
                    data[key] = [data[key]]
        return data

    @model_validator(mode="after")
    def _something_to_match(self) -> Match:
        if not (self.terms or self.abbreviations or self.coded or self.measurements):
            raise ValueError("match needs terms, abbreviations, coded or measurements")
        if (self.near or self.exclude) and not (self.terms or self.abbreviations):
            raise ValueError("near and exclude apply to terms; this match has none")
        return self


class Scope(_Model):
    """Where a rule applies. Each list, when given, must contain the document's value;
    patterns are literal text with ``*`` (any run of characters) and ``?`` (one
    character), compared without regard to case."""

    modalities: tuple[Annotated[str, Field(min_length=1, max_length=16)], ...] = ()
    sop_classes: tuple[Annotated[str, Field(min_length=1, max_length=64)], ...] = ()
    study_descriptions: tuple[Annotated[str, Field(min_length=1, max_length=128)], ...] = ()
    procedure_codes: tuple[CodeRef, ...] = ()
    section_roles: tuple[SectionRole, ...] = ()
    sections: tuple[CodeRef, ...] = ()

    @field_validator("modalities")
    @classmethod
    def _upper(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(v.upper() for v in values)

    @field_validator("sop_classes")
    @classmethod
    def _sop_class_uids(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(sop_class_uid(v) for v in values)


class Rule(_Model):
    id: str
    version: Annotated[int, Field(ge=1)]
    finding: str
    priority: Priority | None = None
    certainty: Literal["definite", "possible"] = "definite"
    description: str = ""
    scope: Scope = Scope()
    match: Match

    @field_validator("id")
    @classmethod
    def _id_grammar(cls, value: str) -> str:
        if not RULE_ID.match(value):
            raise ValueError(
                "rule id must be lower-case letters, digits, '.', '_' or '-' "
                "(at most 100), starting with a letter or digit"
            )
        return value

    @field_validator("finding")
    @classmethod
    def _known_finding(cls, value: str) -> str:
        if value not in FINDINGS:
            raise ValueError(f"unknown finding {value!r}" + did_you_mean(value, list(FINDINGS)))
        return value

    @property
    def effective_priority(self) -> Priority:
        return self.priority or FINDINGS[self.finding].priority


class RuleFile(_Model):
    rules: tuple[Rule, ...]
