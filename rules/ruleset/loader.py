"""Load rule files: YAML → validated ``Rule`` models, with every error at ``file:line``.

YAML is composed into nodes (not loaded straight to Python) so each value keeps the line
it came from; pydantic's error locations are then mapped back to those lines. Errors are
collected across all files and raised together, so one ``rules check`` run shows them all.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType, UnionType
from typing import Annotated, Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from rules.ruleset.schema import SCHEMA_VERSION, Rule, RuleFile
from rules.ruleset.suggest import did_you_mean

RULE_FILE_SUFFIXES = (".yaml", ".yml")
_MAX_DEPTH = 64
_MERGE_TAG = "tag:yaml.org,2002:merge"

Loc = tuple[str | int, ...]
_SINGLE_OR_LIST = frozenset({"near", "exclude", "coded", "measurements"})


@dataclass(frozen=True, slots=True)
class SourceRef:
    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True, slots=True)
class RuleError:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class RuleSetError(Exception):
    """One or more rule files are invalid; ``errors`` says where and why."""

    def __init__(self, errors: Sequence[RuleError]) -> None:
        self.errors = tuple(sorted(errors, key=lambda e: (e.file, e.line)))
        super().__init__("\n".join(str(e) for e in self.errors))


@dataclass(frozen=True, slots=True)
class LoadedRules:
    """Validated rules from one or more files, sorted by id."""

    rules: tuple[Rule, ...]
    sources: Mapping[str, SourceRef]
    files: tuple[str, ...]
    version: str


def rule_files(paths: Iterable[Path]) -> list[Path]:
    """The rule files named by ``paths``: files as given, folders searched recursively
    for ``*.yaml`` / ``*.yml`` (sorted, so the load order is stable)."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out.extend(
                sorted(p for p in path.rglob("*") if p.suffix in RULE_FILE_SUFFIXES and p.is_file())
            )
        else:
            out.append(path)
    return out


def load_files(paths: Sequence[Path]) -> LoadedRules:
    """Read and validate the rule files (or folders of them) in ``paths``.

    Raises RuleSetError listing every problem found in every file."""
    sources: list[tuple[str, str]] = []
    errors: list[RuleError] = []
    files = rule_files(paths)
    if not files:
        raise RuleSetError([RuleError(", ".join(map(str, paths)) or "-", 0, "no rule files")])
    for path in files:
        try:
            sources.append((str(path), path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as exc:
            errors.append(RuleError(str(path), 0, f"cannot read: {exc}"))
    if errors:
        # Validate what could be read too, so one run reports every problem.
        if sources:
            try:
                load_texts(sources)
            except RuleSetError as exc:
                errors.extend(exc.errors)
        raise RuleSetError(errors)
    return load_texts(sources)


def load_texts(sources: Sequence[tuple[str, str]]) -> LoadedRules:
    """Validate rule files given as (name, YAML text) pairs."""
    errors: list[RuleError] = []
    rules: list[Rule] = []
    where: dict[str, SourceRef] = {}
    for name, text in sources:
        for rule, ref in _load_one(name, text, errors):
            first = where.get(rule.id)
            if first is not None:
                errors.append(
                    RuleError(ref.file, ref.line, f"duplicate rule id {rule.id!r}; also at {first}")
                )
                continue
            where[rule.id] = ref
            rules.append(rule)
    if errors:
        raise RuleSetError(errors)
    if not rules:
        raise RuleSetError([RuleError(sources[0][0] if sources else "-", 0, "no rules")])
    ordered = tuple(sorted(rules, key=lambda r: r.id))
    return LoadedRules(
        rules=ordered,
        sources=MappingProxyType(where),
        files=tuple(name for name, _ in sources),
        version=ruleset_version(ordered),
    )


def ruleset_version(rules: Iterable[Rule]) -> str:
    """A hash of the rules' normalised content: the same rules give the same version
    whatever the file layout, key order, comments, formatting, short or long forms, and
    documentation (descriptions, code meanings)."""
    payload = {
        "schema": SCHEMA_VERSION,
        "rules": sorted(
            (_without_meanings(r.model_dump(mode="json", exclude={"description"})) for r in rules),
            key=lambda d: str(d["id"]),
        ),
    }
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _without_meanings(data: Any) -> Any:
    """Code meanings are for people; matching uses value and scheme only."""
    if isinstance(data, dict):
        return {
            k: _without_meanings(v)
            for k, v in data.items()
            if not (k == "meaning" and "value" in data and "scheme" in data)
        }
    if isinstance(data, list):
        return [_without_meanings(v) for v in data]
    return data


# --- one file -------------------------------------------------------------------------


def _load_one(name: str, text: str, errors: list[RuleError]) -> list[tuple[Rule, SourceRef]]:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        errors.append(RuleError(name, line, f"not valid YAML: {exc.problem or exc}"))
        return []
    except yaml.YAMLError as exc:
        errors.append(RuleError(name, 0, f"not valid YAML: {exc}"))
        return []
    if root is None:
        errors.append(RuleError(name, 1, "empty file; a rule file is a mapping with 'rules'"))
        return []
    lines: dict[Loc, int] = {}
    try:
        data = _to_python(root, (), lines, SafeConstructor(), 0)
    except _NodeError as exc:
        errors.append(RuleError(name, exc.line, exc.message))
        return []
    if not isinstance(data, dict):
        errors.append(RuleError(name, lines[()], "a rule file is a mapping with a 'rules' list"))
        return []
    try:
        parsed = RuleFile.model_validate(data)
    except ValidationError as exc:
        errors.extend(_rule_errors(name, data, lines, exc))
        return []
    return [
        (rule, SourceRef(name, lines.get(("rules", i), 0))) for i, rule in enumerate(parsed.rules)
    ]


class _NodeError(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def _to_python(node: Node, loc: Loc, lines: dict[Loc, int], c: SafeConstructor, depth: int) -> Any:
    line = node.start_mark.line + 1
    lines.setdefault(loc, line)
    if depth > _MAX_DEPTH:
        raise _NodeError(line, "nested too deeply")
    if isinstance(node, ScalarNode):
        return c.construct_object(node, deep=True)
    if isinstance(node, SequenceNode):
        return [_to_python(n, (*loc, i), lines, c, depth + 1) for i, n in enumerate(node.value)]
    if isinstance(node, MappingNode):
        out: dict[str, Any] = {}
        first_seen: dict[str, int] = {}
        merged: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            if key_node.tag == _MERGE_TAG:
                # "<<: *defaults": keys written here win over merged ones.
                parts = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
                for part in parts:
                    value = _to_python(part, loc, lines, c, depth + 1)
                    if not isinstance(value, dict):
                        raise _NodeError(key_line, "'<<' merges a mapping")
                    for k, v in value.items():
                        merged.setdefault(k, v)
                continue
            if not isinstance(key_node, ScalarNode):
                raise _NodeError(key_line, "keys must be plain words")
            key = str(c.construct_object(key_node))
            if key in first_seen:
                first = first_seen[key]
                raise _NodeError(key_line, f"key {key!r} repeated (first at line {first})")
            first_seen[key] = key_line
            lines[(*loc, key)] = key_line
            out[key] = _to_python(value_node, (*loc, key), lines, c, depth + 1)
        for k, v in merged.items():
            out.setdefault(k, v)
        return out
    raise _NodeError(line, "unsupported YAML node")


# --- pydantic errors → file:line --------------------------------------------------------


def _rule_errors(
    name: str, data: dict[str, Any], lines: Mapping[Loc, int], exc: ValidationError
) -> list[RuleError]:
    out: list[RuleError] = []
    seen: set[tuple[int, str]] = set()
    details = exc.errors(include_url=False)
    item_locs = [tuple(e["loc"]) for e in details]
    for err in details:
        full = tuple(err["loc"])
        if err["type"] == "too_short" and any(
            len(o) > len(full) and o[: len(full)] == full for o in item_locs
        ):
            continue  # a list whose items failed is not also "too short"
        data_loc, shown, rest = _split_loc(data, full)
        line = _line_for(lines, data_loc)
        message = f"{_where(data, shown)}{_message(err, shown, rest)}"
        if (line, message) not in seen:
            seen.add((line, message))
            out.append(RuleError(name, line, message))
    return out


def _split_loc(data: Any, loc: Loc) -> tuple[Loc, Loc, Loc]:
    """Split pydantic's ``loc`` into the path that exists in the data (for the line),
    the same path as shown to the author, and the rest (a missing field, or pydantic's
    union-member tags). A singleton written without its list ("near: {...}") has no
    index in the data but keeps ``[0]`` in what is shown."""
    node = data
    data_loc: list[str | int] = []
    for i, part in enumerate(loc):
        in_dict = isinstance(node, dict) and isinstance(part, str) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_dict or in_list:
            node = node[part]
        elif isinstance(node, dict) and part == 0 and i > 0 and loc[i - 1] in _SINGLE_OR_LIST:
            continue
        else:
            return tuple(data_loc), loc[:i], loc[i:]
        data_loc.append(part)
    return tuple(data_loc), loc, ()


def _line_for(lines: Mapping[Loc, int], loc: Loc) -> int:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return 0


def _where(data: dict[str, Any], loc: Loc) -> str:
    """``rule 'x': match.terms[2]: `` — the rule by id when it has one."""
    prefix = ""
    rest = loc
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
        rule = data["rules"][loc[1]]
        rid = rule.get("id") if isinstance(rule, dict) else None
        prefix = f"rule {rid!r}" if isinstance(rid, str) else f"rules[{loc[1]}]"
        rest = loc[2:]
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in rest).lstrip(".")
    parts = [p for p in (prefix, path) if p]
    return ": ".join(parts) + ": " if parts else ""


def _message(err: ErrorDetails, loc: Loc, rest: Loc) -> str:
    kind = err["type"]
    if kind == "missing" and rest:
        return f"missing {rest[0]!r}"
    if kind == "extra_forbidden" and loc:
        key = str(loc[-1])
        return f"unknown key {key!r}" + did_you_mean(key, _fields_at(loc[:-1]))
    msg = re.sub(r"^(Value error|Assertion failed), ", "", err["msg"])
    if kind in ("literal_error", "enum"):
        expected = re.findall(r"'([^']*)'", str(err.get("ctx", {}).get("expected", "")))
        msg += did_you_mean(str(err["input"]), expected)
    return msg


def _fields_at(loc: Loc) -> list[str]:
    """The keys valid at ``loc`` (a mapping in the rule file), for suggestions."""
    tp: Any = RuleFile
    for part in loc:
        tp = _unwrap(tp)
        if isinstance(part, int):
            args = get_args(tp)
            tp = args[0] if args else Any
        elif isinstance(tp, type) and issubclass(tp, BaseModel) and part in tp.model_fields:
            tp = tp.model_fields[part].annotation
        else:
            return []
    tp = _unwrap(tp)
    return list(tp.model_fields) if isinstance(tp, type) and issubclass(tp, BaseModel) else []


def _unwrap(tp: Any) -> Any:
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin in (Union, UnionType):
            models = [a for a in get_args(tp) if isinstance(a, type) and issubclass(a, BaseModel)]
            if not models:
                return tp
            tp = models[0]
        else:
            return tp
