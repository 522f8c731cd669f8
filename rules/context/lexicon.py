"""The trigger lexicon: a YAML file validated at load into pydantic models.

Every problem is reported as ``file:line: message`` (all of them, not just the first),
with a close-match suggestion for a misspelt category, direction or key. The validated
file becomes a :class:`Lexicon`: trigger groups plus every phrase expanded to its token
sequences, ready for :mod:`rules.context.matcher`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from rules.context.phrases import PhraseSyntaxError, expand
from rules.context.tokens import DATE_CLASS, DATES, END, class_name, phrase_tokens


class TriggerCategory(StrEnum):
    NEGATION = "negation"
    UNCERTAINTY = "uncertainty"
    HISTORICAL = "historical"
    HYPOTHETICAL = "hypothetical"
    RESOLVED = "resolved"
    EXPERIENCER = "experiencer"
    # Keeps a known finding current ("unchanged", "again seen"): cancels historical.
    CURRENT = "current"
    # "previously noted": not historical itself; turns a negation of the same
    # target into "resolved".
    PRIOR_MENTION = "prior_mention"
    # Masks words that would otherwise trigger ("no change in", "not only").
    PSEUDO = "pseudo"
    # Ends the scope of other triggers ("but", "however", ";", "IMPRESSION:").
    TERMINATION = "termination"


UNSCOPED = frozenset({TriggerCategory.PSEUDO, TriggerCategory.TERMINATION})
SCOPED = frozenset(TriggerCategory) - UNSCOPED


class Direction(StrEnum):
    FORWARD = "forward"
    BACKWARD = "backward"
    BIDIRECTIONAL = "bidirectional"


def _choice(enum_cls: type[StrEnum], what: str) -> Any:
    names = [m.value for m in enum_cls]

    def check(value: object) -> object:
        if isinstance(value, str) and value not in names:
            close = difflib.get_close_matches(value, names, n=1, cutoff=0.6)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ValueError(f"unknown {what} '{value}'{hint}; expected one of: {', '.join(names)}")
        return value

    return BeforeValidator(check)


Category = Annotated[TriggerCategory, _choice(TriggerCategory, "category")]
DirectionName = Annotated[Direction, _choice(Direction, "direction")]


def _phrase(value: object) -> object:
    if isinstance(value, str):
        try:
            expand(value)
        except PhraseSyntaxError as exc:
            raise ValueError(f"bad phrase '{value}': {exc}") from None
    return value


Phrase = Annotated[str, BeforeValidator(_phrase)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CategoryRules(_Strict):
    """How scopes of one category end besides terminations: at a competing trigger of
    one of these categories (if that trigger's group ``competes``)."""

    terminated_by: tuple[Category, ...] = ()


class TriggerGroup(_Strict):
    category: Category
    phrases: tuple[Phrase, ...] = Field(min_length=1)
    direction: DirectionName | None = None
    # Longest scope in words (punctuation not counted); None = up to a termination.
    max_scope: int | None = Field(default=None, ge=1)
    # "sentence": scope runs to the sentence end, ignoring terminations (headings).
    scope: Literal["clause", "sentence"] = "clause"
    # False: this group does not cut the scope of categories that list it in
    # terminated_by (e.g. "suggestive of" inside "no findings suggestive of").
    competes: bool = True
    # Negation that is also uncertain ("unlikely"): negated, certainty possible.
    hedged: bool = False
    # Terminations only: the categories whose scope they end (empty = all).
    applies_to: tuple[Category, ...] = ()
    # Hypothetical only: a request to look for something ("evaluation for", "rule
    # out"); a post-negation after the target ("... is negative") answers it, so the
    # target is negated and current, not hypothetical.
    answered: bool = False
    # Historical only: what an earlier exam showed ("X was present on the prior
    # study"). A present-time word later in the clause (a termination group marked
    # ``present``: "..., and now measures 3 cm", "today") speaks of this exam too, and
    # the trigger then counts as a prior mention (not historical).
    earlier_exam: bool = False
    # Terminations only: these words speak of the present exam or visit ("now",
    # "today", "currently", "presents"); see ``earlier_exam``.
    present: bool = False
    note: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> TriggerGroup:
        scoped = self.category in SCOPED
        if scoped and self.direction is None:
            raise ValueError(f"a {self.category} group needs a direction")
        if not scoped:
            extra = [
                name
                for name, bad in (
                    ("direction", self.direction is not None),
                    ("max_scope", self.max_scope is not None),
                    ("scope", self.scope != "clause"),
                )
                if bad
            ]
            if extra:
                raise ValueError(f"a {self.category} group has no scope: remove {', '.join(extra)}")
        if self.hedged and self.category is not TriggerCategory.NEGATION:
            raise ValueError("hedged is only for negation groups")
        if self.applies_to and self.category is not TriggerCategory.TERMINATION:
            raise ValueError("applies_to is only for termination groups")
        if self.answered and self.category is not TriggerCategory.HYPOTHETICAL:
            raise ValueError("answered is only for hypothetical groups")
        if self.earlier_exam and self.category is not TriggerCategory.HISTORICAL:
            raise ValueError("earlier_exam is only for historical groups")
        if self.present and self.category is not TriggerCategory.TERMINATION:
            raise ValueError("present is only for termination groups")
        if any(c in UNSCOPED for c in self.applies_to):
            raise ValueError("applies_to names scoped categories only")
        return self


def _word(value: object) -> object:
    if isinstance(value, str) and len(phrase_tokens(value)) != 1:
        raise ValueError(f"'{value}' must be one word")
    return value


Word = Annotated[str, BeforeValidator(_word)]


class ClauseRules(_Strict):
    """When a comma starts a new statement, which ends the forward scope of every
    trigger before it ("No DVT, a 2 cm Baker's cyst is noted"); see
    :mod:`rules.context.clauses`. Words are single lower-case tokens."""

    # Words that may follow the comma first ("..., and a cyst is noted").
    conjunctions: tuple[Word, ...] = ()
    # Words that continue a list instead ("No DVT, effusion, or cyst is seen").
    list_words: tuple[Word, ...] = ()
    # Determiners that open a new noun phrase ("the", "a", "there").
    openers: tuple[Word, ...] = ()
    # A verb that makes the words after the comma a clause ("is", "measures", "noted").
    predicates: tuple[Word, ...] = ()
    # Size words that make a telegraphic statement ("No DVT, small effusion").
    sizes: tuple[Word, ...] = ()
    # Units of a size ("No DVT, 2 cm Baker's cyst").
    units: tuple[Word, ...] = ()
    # How many words after the comma a predicate may come.
    window: int = Field(default=8, ge=1)
    note: str = ""


def _class_name(value: object) -> object:
    if isinstance(value, str):
        if not re.fullmatch(r"[a-z_]+", value):
            raise ValueError(f"class name '{value}': lower-case letters and '_' only")
        if value == DATE_CLASS:
            raise ValueError(f"'{DATE_CLASS}' is built in (a year or a numeric date)")
    return value


ClassName = Annotated[str, BeforeValidator(_class_name)]


class LexiconFile(_Strict):
    version: Literal[1]
    description: str = ""
    # Words that end in a period without ending a sentence ("vs.", "e.g.", "Dr.").
    abbreviations: tuple[str, ...] = ()
    categories: dict[Category, CategoryRules] = Field(default_factory=dict)
    clauses: ClauseRules | None = None
    # Word classes a phrase names as <name>: any one of these words.
    classes: dict[ClassName, tuple[Word, ...]] = Field(default_factory=dict)
    groups: tuple[TriggerGroup, ...] = Field(min_length=1)


def _model_at(loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The model whose keys live at ``loc`` (for suggestions on an unknown key)."""
    if len(loc) == 1:
        return LexiconFile
    if len(loc) == 2 and loc[0] == "clauses":
        return ClauseRules
    if len(loc) == 3:
        models: dict[str, type[BaseModel]] = {"groups": TriggerGroup, "categories": CategoryRules}
        return models.get(str(loc[0]))
    return None


class LexiconError(ValueError):
    """Every problem found in a lexicon file, each as ``file:line: message``."""

    def __init__(self, errors: Sequence[str]) -> None:
        self.errors = tuple(errors)
        super().__init__("\n".join(self.errors))


@dataclass(frozen=True, slots=True)
class Lexicon:
    source: str
    groups: tuple[TriggerGroup, ...]
    # (token sequence, index into groups), one per expanded variant.
    entries: tuple[tuple[tuple[str, ...], int], ...]
    abbreviations: frozenset[str]
    terminated_by: dict[TriggerCategory, frozenset[TriggerCategory]]
    clauses: ClauseRules | None = None
    # The members of every word class a phrase may name (``date`` built in).
    classes: Mapping[str, Container[str]] = field(default_factory=lambda: {DATE_CLASS: DATES})


def load_lexicon(path: Path) -> Lexicon:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LexiconError([f"{path}: cannot read: {exc}"]) from None
    return parse_lexicon(text, str(path))


def parse_lexicon(text: str, source: str) -> Lexicon:
    lines: dict[tuple[str | int, ...], int] = {}
    errors: list[str] = []
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise LexiconError([f"{source}:{line}: YAML: {exc.problem or exc}"]) from None
    if root is None:
        raise LexiconError([f"{source}:1: empty lexicon file"])
    data = _Plain(source, lines, errors).convert(root, ())
    if errors:
        raise LexiconError(errors)
    try:
        parsed = LexiconFile.model_validate(data)
    except ValidationError as exc:
        raise LexiconError(_describe(exc, lines, source)) from None
    return _compile(parsed, lines, source)


class _Plain:
    """Turns a composed YAML node into plain Python data, recording the line of every
    path (so a pydantic error location can be shown as ``file:line``)."""

    def __init__(
        self, source: str, lines: dict[tuple[str | int, ...], int], errors: list[str]
    ) -> None:
        self.source = source
        self.lines = lines
        self.errors = errors
        self.scalars = yaml.constructor.SafeConstructor()

    def convert(self, node: yaml.Node, path: tuple[str | int, ...]) -> object:
        # A mapping value keeps the line of its key (already recorded).
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            out: dict[str, object] = {}
            for key_node, value_node in node.value:
                key = self.convert(key_node, path)
                line = key_node.start_mark.line + 1
                if not isinstance(key, str):
                    self.errors.append(f"{self.source}:{line}: keys must be text")
                    continue
                if key in out:
                    self.errors.append(f"{self.source}:{line}: duplicate key '{key}'")
                self.lines[(*path, key)] = line
                out[key] = self.convert(value_node, (*path, key))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(item, (*path, i)) for i, item in enumerate(node.value)]
        if "phrases" in path or "abbreviations" in path or _clause_word(path) or _class_word(path):
            # Always text: an unquoted `- no` must stay "no", not YAML 1.1's False.
            return str(node.value)
        return self.scalars.construct_object(node)


def _clause_word(path: tuple[str | int, ...]) -> bool:
    return len(path) == 3 and path[0] == "clauses" and isinstance(path[2], int)


def _class_word(path: tuple[str | int, ...]) -> bool:
    return len(path) == 3 and path[0] == "classes" and isinstance(path[2], int)


def _describe(
    exc: ValidationError, lines: dict[tuple[str | int, ...], int], source: str
) -> list[str]:
    out: list[str] = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if p != "[key]")
        line = 1
        for n in range(len(loc), -1, -1):
            if loc[:n] in lines:
                line = lines[loc[:n]]
                break
        message = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden" and loc:
            message = _unknown_key(str(loc[-1]), _model_at(loc))
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc)[1:]
        out.append(f"{source}:{line}: {where or 'file'}: {message}")
    return out


def _unknown_key(key: str, model: type[BaseModel] | None) -> str:
    if model is None:
        return f"unknown key '{key}'"
    names = list(model.model_fields)
    close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"unknown key '{key}'{hint}; allowed: {', '.join(names)}"


def _compile(parsed: LexiconFile, lines: dict[tuple[str | int, ...], int], source: str) -> Lexicon:
    errors: list[str] = []
    entries: list[tuple[tuple[str, ...], int]] = []
    first_seen: dict[tuple[str, ...], tuple[int, str]] = {}
    classes: dict[str, Container[str]] = {DATE_CLASS: DATES}
    classes.update(
        (name, frozenset(w.lower() for w in words)) for name, words in parsed.classes.items()
    )
    for g, group in enumerate(parsed.groups):
        for p, phrase in enumerate(group.phrases):
            line = lines.get(("groups", g, "phrases", p), lines.get(("groups", g), 1))
            for variant in expand(phrase):
                if END in variant[:-1]:
                    errors.append(
                        f"{source}:{line}: phrase '{phrase}': '{END}' (the end of the "
                        "sentence) can only be the last word"
                    )
                    break
                problem = _class_problem(variant, classes)
                if problem is not None:
                    errors.append(f"{source}:{line}: phrase '{phrase}': {problem}")
                    break
                if variant in first_seen:
                    other_line, other_cat = first_seen[variant]
                    errors.append(
                        f"{source}:{line}: phrase '{' '.join(variant)}' is already a "
                        f"{other_cat} trigger at line {other_line}"
                    )
                    continue
                first_seen[variant] = (line, group.category.value)
                entries.append((variant, g))
    terminated_by: dict[TriggerCategory, frozenset[TriggerCategory]] = {}
    for category, rules in parsed.categories.items():
        line = lines.get(("categories", category.value), 1)
        if category in UNSCOPED:
            errors.append(f"{source}:{line}: {category} has no scope to terminate")
        if any(c in UNSCOPED for c in rules.terminated_by):
            errors.append(f"{source}:{line}: terminated_by names scoped categories only")
        terminated_by[category] = frozenset(rules.terminated_by)
    if errors:
        raise LexiconError(errors)
    abbreviations = frozenset(a.lower().rstrip(".") for a in parsed.abbreviations)
    return Lexicon(
        source=source,
        groups=parsed.groups,
        entries=tuple(entries),
        abbreviations=abbreviations,
        terminated_by=terminated_by,
        clauses=parsed.clauses,
        classes=classes,
    )


def _class_problem(variant: tuple[str, ...], classes: Mapping[str, object]) -> str | None:
    for position, token in enumerate(variant):
        name = class_name(token)
        if name is None:
            continue
        if position == 0:
            return f"a word class ('{token}') cannot start a phrase"
        if name not in classes:
            close = difflib.get_close_matches(name, list(classes), n=1, cutoff=0.6)
            hint = f" (did you mean '<{close[0]}>'?)" if close else ""
            known = ", ".join(f"<{c}>" for c in classes)
            return f"unknown word class '{token}'{hint}; known: {known}"
    return None
