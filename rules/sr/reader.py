"""Read any DICOM object into an ``SRDocument``: the SR content tree (if any) and header
free text.

    read_document(source) -> SRDocument

``source`` is a pydicom ``Dataset``, the bytes of a file, a path, or a binary file object.
Only input that is not DICOM at all (or cannot be read) raises ``DocumentReadError``;
anything wrong inside a readable object is skipped and recorded as a ``ReadProblem``.

How it stays fast: the bytes are parsed once by a small iterative parser (``_dicom``) into
dicts of raw values; the walk below decodes only the attributes the view needs, caches
decoded codes across items and documents, and builds the immutable tree bottom-up without
recursion.
"""

from __future__ import annotations

import math
import os
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from struct import Struct
from typing import BinaryIO, TypeVar, cast

from pydicom.dataset import Dataset

from rules.sr import _tags as tags
from rules.sr._charset import DEFAULT as DEFAULT_CHARSET
from rules.sr._charset import Charset, TextDecodeError, charset_for
from rules.sr._dicom import (
    PROBLEM,
    NotDicomError,
    Parsed,
    RawItem,
    RawValue,
    parse_file,
    problems_of,
)
from rules.sr._from_dataset import parsed_from_dataset
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
from rules.sr.vocab import Vocabulary, vocabulary

# Content-tree levels below the root that are read; deeper content is skipped (recorded).
MAX_DEPTH = 100
# References resolved per document (each costs a little; real reports have a handful).
MAX_REFERENCES = 5000
# Most of an image file is pixel data, which is never needed: a path or file object is
# read in a first bite of this size, and only read to its end when the header runs on.
FIRST_READ = 1 << 20

SR_SOP_CLASS_PREFIX = "1.2.840.10008.5.1.4.1.1.88."

Source = Dataset | bytes | bytearray | memoryview | str | os.PathLike[str] | BinaryIO


class DocumentReadError(Exception):
    """The input is not DICOM at all, or could not be read."""


def read_document(source: Source) -> SRDocument:
    """Read one DICOM object (SR or not) into its immutable view."""
    try:
        if isinstance(source, Dataset):
            parsed = parsed_from_dataset(source)
        elif isinstance(source, bytes | bytearray | memoryview):
            parsed = parse_file(bytes(source))
        elif isinstance(source, str | os.PathLike):
            with Path(source).open("rb") as handle:
                parsed = _parse_stream(handle)
        else:
            # (mypy does not narrow Dataset out of the union here)
            parsed = _parse_stream(cast(BinaryIO, source))
    except OSError as exc:
        raise DocumentReadError(f"cannot read: {exc}") from exc
    except NotDicomError as exc:
        raise DocumentReadError(str(exc)) from exc
    return _Reader(parsed).document()


def _parse_stream(stream: BinaryIO) -> Parsed:
    """Parse from a file object, leaving the pixel data of a large image unread when the
    first bite already holds everything before it."""
    head = _read(stream, FIRST_READ)
    if len(head) < FIRST_READ:
        return parse_file(head)
    try:
        parsed = parse_file(head)
    except NotDicomError:
        parsed = None  # e.g. a deflated data set cut mid-stream: read it all
    if parsed is not None and parsed.stopped_at_pixels:
        return parsed
    return parse_file(head + _read(stream, -1))


def _read(stream: BinaryIO, size: int) -> bytes:
    """``size`` bytes (fewer only at the end), or everything left when ``size`` is -1;
    unbuffered streams may return short reads, so keep reading."""
    chunks: list[bytes] = []
    got = 0
    while size < 0 or got < size:
        data = stream.read(-1 if size < 0 else size - got)
        if not isinstance(data, bytes):
            raise DocumentReadError("the file object did not return bytes (open it in 'rb' mode)")
        if not data:
            break
        chunks.append(data)
        got += len(data)
    return b"".join(chunks)


# Raw ValueType / RelationshipType values, as written (padded or not) and as pydicom gives
# them, straight to the enum: one dict lookup per item.
_E = TypeVar("_E", ValueType, Relationship)


def _enum_map(members: type[_E]) -> dict[bytes | str | None, _E]:
    out: dict[bytes | str | None, _E] = {}
    for member in members:
        text = member.value
        for variant in (text, text + " ", text + "\x00"):
            out[variant] = member
            out[variant.encode("ascii")] = member
    return out


_VALUE_TYPES = _enum_map(ValueType)
_RELATIONSHIPS = _enum_map(Relationship)


def _enum(table: dict[bytes | str | None, _E], raw: RawValue | None) -> _E | None:
    """The enum for a raw CS value; written sloppily ("text", "contains  ") as a fallback."""
    if not isinstance(raw, bytes | str):
        return None
    found = table.get(raw)
    if found is None:
        text = raw.decode("ascii", "replace") if isinstance(raw, bytes) else raw
        found = table.get(" ".join(text.upper().split()))
    return found


_HAS_CONCEPT_MOD = Relationship.HAS_CONCEPT_MOD
# Value types whose concept name is required (PS3.3 C.17.3, Concept Name Code Sequence).
_NEEDS_CONCEPT = frozenset(
    {
        ValueType.TEXT, ValueType.NUM, ValueType.CODE, ValueType.DATETIME, ValueType.DATE,
        ValueType.TIME, ValueType.UIDREF, ValueType.PNAME,
    }
)  # fmt: skip
# (A CONTAINER below the root needs one only when it has a heading: "containers without
# headings do not require Concept Name Code Sequence".)
_TEXT_VALUE_TAGS = {
    ValueType.TEXT: tags.TEXT_VALUE,
    ValueType.DATE: tags.DATE,
    ValueType.TIME: tags.TIME,
    ValueType.DATETIME: tags.DATETIME,
    ValueType.UIDREF: tags.UID,
    ValueType.PNAME: tags.PERSON_NAME,
}
_HEADER_LATERALITY = {"L": "left", "R": "right", "B": "bilateral"}


class _SkipItemError(Exception):
    """This item cannot be read; the reason goes into a ReadProblem."""


class _CodeInfo:
    """A decoded code and what the vocabulary says about it, cached by its raw bytes."""

    __slots__ = ("code", "is_laterality", "is_site", "is_site_name", "role", "side")

    def __init__(self, code: Code, vocab: Vocabulary) -> None:
        key = (code.value, code.scheme)
        self.code = code
        self.role = vocab.section_roles.get(key)
        self.is_laterality = key in vocab.laterality_concepts
        self.is_site = key in vocab.finding_site_concepts
        self.is_site_name = key in vocab.anatomic_locations
        self.side = vocab.laterality_values.get(key)


_CODE_CACHE: dict[tuple[object, ...], _CodeInfo] = {}
_CODE_CACHE_LIMIT = 50_000


class _Ref:
    """A by-reference child: the item at ``target`` shown under the referencing item."""

    __slots__ = ("entry", "relationship", "source", "target", "target_index")

    def __init__(self, source: int, entry: str, target: str, relationship: Relationship) -> None:
        self.source = source  # node index of the referencing item
        self.entry = entry  # path of the by-reference content item itself
        self.target = target
        self.relationship = relationship
        self.target_index = -1  # set once resolved; -1 = dangling or broken


class _Node:
    __slots__ = (
        "child_sections", "code", "concept", "kids", "laterality", "measurement", "path",
        "relationship", "role", "role_concept", "sections", "sites", "text", "value_type",
    )  # fmt: skip

    def __init__(
        self,
        path: str,
        value_type: ValueType,
        relationship: Relationship | None,
        concept: Code | None,
        sections: tuple[Code, ...],
        role: SectionRole,
        role_concept: Code | None,
    ) -> None:
        self.path = path
        self.value_type = value_type
        self.relationship = relationship
        self.concept = concept
        self.sections = sections
        self.child_sections = (
            (*sections, concept)
            if value_type is ValueType.CONTAINER and concept is not None
            else sections
        )
        self.role = role
        self.role_concept = role_concept
        self.text: str | None = None
        self.code: Code | None = None
        self.measurement: Measurement | None = None
        self.laterality: str | None = None
        self.sites: tuple[Code, ...] = ()
        self.kids: list[int | _Ref] = []


class _Reader:
    def __init__(self, parsed: Parsed) -> None:
        self.ds = parsed.dataset
        self.vocab = vocabulary()
        self.problems: list[ReadProblem] = [ReadProblem("file", p) for p in parsed.problems]
        self.ul = Struct(("<" if parsed.little_endian else ">") + "I")
        self.problems.extend(ReadProblem("file", p) for p in problems_of(self.ds))
        self.charset = self._charset(self.ds, DEFAULT_CHARSET, "SpecificCharacterSet")
        meta = parsed.meta
        self.meta_sop_class = self._uid(meta.get(tags.MEDIA_SOP_CLASS))
        self.meta_sop_instance = self._uid(meta.get(tags.MEDIA_SOP_INSTANCE))

    # -- small decoders ----------------------------------------------------------------

    def _charset(self, raw: RawItem, inherited: Charset, path: str) -> Charset:
        value = raw.get(tags.SPECIFIC_CHARACTER_SET)
        if value is None:
            return inherited
        if not isinstance(value, bytes | str):
            self.problems.append(ReadProblem(path, "Specific Character Set is malformed"))
            return inherited
        charset = charset_for(value)
        if charset.problem:
            self.problems.append(ReadProblem(path, charset.problem + "; decoded leniently"))
        return charset

    def _text(self, value: RawValue | None, charset: Charset, path: str) -> str | None:
        if value is None:
            return None
        if not isinstance(value, bytes | str):
            raise _SkipItemError("a text value is malformed")
        try:
            return charset.decode(value)
        except TextDecodeError as problem:
            self.problems.append(ReadProblem(path, problem.reason))
            return problem.text

    @staticmethod
    def _uid(value: RawValue | None) -> str:
        if isinstance(value, bytes):
            return value.decode("ascii", "replace").strip(" \x00")
        if isinstance(value, str):
            return value.strip(" \x00")
        return ""

    def _header(self, tag: int, path: str) -> str:
        try:
            return self._text(self.ds.get(tag), self.charset, path) or ""
        except _SkipItemError as skip:
            self.problems.append(ReadProblem(path, str(skip)))
            return ""

    def _code_info(self, sequence: RawValue | None, charset: Charset, what: str) -> _CodeInfo:
        """The first item of a code sequence, decoded (raises _SkipItemError if unusable)."""
        if not isinstance(sequence, list) or not sequence:
            raise _SkipItemError(f"{what} is missing or empty")
        item = sequence[0]
        value = item.get(tags.CODE_VALUE)
        if value is None:
            value = item.get(tags.LONG_CODE_VALUE) or item.get(tags.URN_CODE_VALUE)
        scheme = item.get(tags.CODING_SCHEME_DESIGNATOR)
        meaning = item.get(tags.CODE_MEANING, b"")
        if not (
            isinstance(value, bytes | str)
            and isinstance(scheme, bytes | str)
            and isinstance(meaning, bytes | str)
        ):
            raise _SkipItemError(f"{what} has no usable code value or coding scheme")
        if PROBLEM in item:
            raise _SkipItemError(f"{what}: {'; '.join(problems_of(item))}")
        key = (value, scheme, meaning, charset)
        info = _CODE_CACHE.get(key)
        if info is not None:
            return info
        try:
            value_text = charset.decode(value).strip()
            scheme_text = charset.decode(scheme).strip()
        except TextDecodeError as problem:
            raise _SkipItemError(f"{what}: {problem.reason}") from problem
        if not value_text:
            raise _SkipItemError(f"{what} has an empty code value")
        if not scheme_text:
            raise _SkipItemError(f"{what} has an empty coding scheme designator")
        cacheable = True
        try:
            meaning_text = charset.decode(meaning).strip()
        except TextDecodeError as problem:
            # The meaning is only displayed: keep the best-effort text, keep the item.
            meaning_text, cacheable = problem.text.strip(), False
        info = _CodeInfo(self.vocab.code(value_text, scheme_text, meaning_text), self.vocab)
        if cacheable:
            if len(_CODE_CACHE) >= _CODE_CACHE_LIMIT:
                _CODE_CACHE.clear()
            _CODE_CACHE[key] = info
        return info

    # -- the document ------------------------------------------------------------------

    def document(self) -> SRDocument:
        ds = self.ds
        sop_class = self._uid(ds.get(tags.SOP_CLASS_UID)) or self.meta_sop_class
        laterality = self._header_laterality()
        root: ContentItem | None = None
        count = 0
        if tags.VALUE_TYPE in ds or tags.CONTENT_SEQUENCE in ds:
            root, count = self._tree(laterality)
        elif sop_class.startswith(SR_SOP_CLASS_PREFIX):
            self.problems.append(ReadProblem("1", "SR object without a content tree"))
        # Everything that may record a problem runs before the problems are collected.
        modality = self._header(tags.MODALITY, "Modality")
        study_description = self._header(tags.STUDY_DESCRIPTION, "StudyDescription")
        completion = self._header(tags.COMPLETION_FLAG, "CompletionFlag") or None
        verification = self._header(tags.VERIFICATION_FLAG, "VerificationFlag") or None
        procedure_codes = self._procedure_codes()
        header_text = self._header_texts()
        return SRDocument(
            sop_class_uid=sop_class,
            sop_instance_uid=self._uid(ds.get(tags.SOP_INSTANCE_UID)) or self.meta_sop_instance,
            study_instance_uid=self._uid(ds.get(tags.STUDY_INSTANCE_UID)),
            series_instance_uid=self._uid(ds.get(tags.SERIES_INSTANCE_UID)),
            modality=modality,
            study_description=study_description,
            procedure_codes=procedure_codes,
            root=root,
            header_text=header_text,
            laterality=laterality,
            problems=tuple(self.problems),
            predecessor_sop_instance_uids=self._predecessors(),
            completion_flag=completion,
            verification_flag=verification,
            item_count=count,
        )

    def _header_laterality(self) -> str | None:
        for tag, keyword in (
            (tags.IMAGE_LATERALITY, "ImageLaterality"),
            (tags.LATERALITY, "Laterality"),
            (tags.FRAME_LATERALITY, "FrameLaterality"),
        ):
            side = _HEADER_LATERALITY.get(self._header(tag, keyword).upper())
            if side is not None:
                return side
        return None

    def _procedure_codes(self) -> tuple[Code, ...]:
        sequence = self.ds.get(tags.PROCEDURE_CODE_SEQUENCE)
        if not isinstance(sequence, list):
            return ()
        codes: list[Code] = []
        for index, item in enumerate(sequence, 1):
            try:
                codes.append(self._code_info([item], self.charset, "procedure code").code)
            except _SkipItemError as skip:
                self.problems.append(ReadProblem(f"ProcedureCodeSequence[{index}]", str(skip)))
        return tuple(codes)

    def _predecessors(self) -> tuple[str, ...]:
        uids: list[str] = []
        for study in _items(self.ds.get(tags.PREDECESSOR_DOCUMENTS_SEQUENCE)):
            for series in _items(study.get(tags.REFERENCED_SERIES_SEQUENCE)):
                for sop in _items(series.get(tags.REFERENCED_SOP_SEQUENCE)):
                    uid = self._uid(sop.get(tags.REFERENCED_SOP_INSTANCE_UID))
                    if uid and uid not in uids:
                        uids.append(uid)
        return tuple(uids)

    def _header_texts(self) -> tuple[HeaderText, ...]:
        found: list[tuple[TextSource, RawValue | None, Charset]] = [
            (TextSource.IMAGE_COMMENTS, self.ds.get(tags.IMAGE_COMMENTS), self.charset),
            (
                TextSource.ADDITIONAL_PATIENT_HISTORY,
                self.ds.get(tags.ADDITIONAL_PATIENT_HISTORY),
                self.charset,
            ),
            (
                TextSource.REASON_FOR_REQUESTED_PROCEDURE,
                self.ds.get(tags.REASON_FOR_REQUESTED_PROCEDURE),
                self.charset,
            ),
        ]
        for sequence_tag in (tags.REQUEST_ATTRIBUTES_SEQUENCE, tags.REFERENCED_REQUEST_SEQUENCE):
            for item in _items(self.ds.get(sequence_tag)):
                charset = self._charset(item, self.charset, "SpecificCharacterSet")
                found.append(
                    (
                        TextSource.REASON_FOR_REQUESTED_PROCEDURE,
                        item.get(tags.REASON_FOR_REQUESTED_PROCEDURE),
                        charset,
                    )
                )
        texts: list[HeaderText] = []
        seen: set[tuple[TextSource, str]] = set()
        for source, raw, charset in found:
            try:
                text = self._text(raw, charset, source.value)
            except _SkipItemError as skip:
                self.problems.append(ReadProblem(source.value, str(skip)))
                continue
            text = (text or "").strip()
            if not text or (source, text) in seen:
                continue
            seen.add((source, text))
            role = (
                SectionRole.FINDINGS
                if source is TextSource.IMAGE_COMMENTS
                else SectionRole.CLINICAL
            )
            texts.append(HeaderText(source, text, role))
        return tuple(texts)

    # -- the content tree ----------------------------------------------------------------

    def _tree(self, header_laterality: str | None) -> tuple[ContentItem | None, int]:
        ds = self.ds
        nodes: list[_Node] = []
        index_of: dict[str, int] = {}
        refs: list[_Ref] = []
        problems = self.problems
        text_tags = _TEXT_VALUE_TAGS

        # The root: the data set itself. Read leniently (skipping it would lose everything).
        value_type = _enum(_VALUE_TYPES, ds.get(tags.VALUE_TYPE))
        if value_type is not ValueType.CONTAINER:
            problems.append(ReadProblem("1", "the root content item is not a CONTAINER"))
        try:
            root_info: _CodeInfo | None = self._code_info(
                ds.get(tags.CONCEPT_NAME_CODE_SEQUENCE), self.charset, "document title"
            )
        except _SkipItemError as skip:
            problems.append(ReadProblem("1", str(skip)))
            root_info = None
        root_role = root_info.role if root_info else None
        root = _Node(
            "1",
            ValueType.CONTAINER,
            None,
            root_info.code if root_info else None,
            (),
            root_role or SectionRole.UNKNOWN,
            root_info.code if root_info and root_role else None,
        )
        root.laterality = header_laterality
        self._own_context(root, ds, root_info, self.charset)
        nodes.append(root)
        index_of["1"] = 0

        stack: list[tuple[RawItem, str, int, int, Charset]] = []
        self._push_children(stack, ds, "1", 0, 1, self.charset)
        while stack:
            raw, path, parent_index, depth, charset = stack.pop()
            parent = nodes[parent_index]
            if PROBLEM in raw:
                problems.extend(ReadProblem(path, p) for p in problems_of(raw))
            if tags.SPECIFIC_CHARACTER_SET in raw:
                charset = self._charset(raw, charset, path)
            relationship = _enum(_RELATIONSHIPS, raw.get(tags.RELATIONSHIP_TYPE))
            value_type = _enum(_VALUE_TYPES, raw.get(tags.VALUE_TYPE))
            try:
                if relationship is None:
                    raise _SkipItemError("missing or unknown RelationshipType")
                if value_type is None:
                    if tags.REFERENCED_CONTENT_ITEM_IDENTIFIER in raw:
                        ref = _Ref(parent_index, path, self._target(raw), relationship)
                        parent.kids.append(ref)
                        refs.append(ref)
                        continue
                    raise _SkipItemError("missing or unknown ValueType")
                concept_sequence = raw.get(tags.CONCEPT_NAME_CODE_SEQUENCE)
                info: _CodeInfo | None = None
                if concept_sequence is not None or value_type in _NEEDS_CONCEPT:
                    info = self._code_info(concept_sequence, charset, "concept name")
                role_concept: Code | None
                if info is not None and info.role is not None:
                    role, role_concept = info.role, info.code
                else:
                    role, role_concept = parent.role, parent.role_concept
                node = _Node(
                    path,
                    value_type,
                    relationship,
                    info.code if info else None,
                    parent.child_sections,
                    role,
                    role_concept,
                )
                text_tag = text_tags.get(value_type)
                if text_tag is not None:
                    node.text = self._text(raw.get(text_tag), charset, path)
                    if node.text is None:
                        raise _SkipItemError(f"{value_type.value} item without its value")
                elif value_type is ValueType.CODE:
                    node.code = self._code_info(
                        raw.get(tags.CONCEPT_CODE_SEQUENCE), charset, "coded value"
                    ).code
                elif value_type is ValueType.NUM:
                    node.measurement = self._measurement(raw, charset)
            except _SkipItemError as skip:
                problems.append(ReadProblem(path, f"skipped: {skip}"))
                continue
            node.laterality = parent.laterality
            node.sites = parent.sites
            self._own_context(node, raw, info, charset)
            index = len(nodes)
            nodes.append(node)
            index_of[path] = index
            parent.kids.append(index)
            if tags.CONTENT_SEQUENCE in raw:
                if depth >= MAX_DEPTH:
                    problems.append(
                        ReadProblem(path, f"content nested deeper than {MAX_DEPTH} levels skipped")
                    )
                else:
                    self._push_children(stack, raw, path, index, depth + 1, charset)

        order: Sequence[int] = range(len(nodes) - 1, -1, -1)  # children come after parents
        if refs:
            self._resolve(refs, nodes, index_of)
            order = self._build_order(nodes)
        return self._build(nodes, order), len(nodes)

    @staticmethod
    def _push_children(
        stack: list[tuple[RawItem, str, int, int, Charset]],
        raw: RawItem,
        path: str,
        index: int,
        depth: int,
        charset: Charset,
    ) -> None:
        children = raw.get(tags.CONTENT_SEQUENCE)
        if not isinstance(children, list):
            return
        prefix = path + "."
        for position in range(len(children), 0, -1):
            stack.append((children[position - 1], prefix + str(position), index, depth, charset))

    def _measurement(self, raw: RawItem, charset: Charset) -> Measurement | None:
        values = raw.get(tags.MEASURED_VALUE_SEQUENCE)
        if not isinstance(values, list):
            raise _SkipItemError("NUM item without a Measured Value Sequence")
        if not values:
            return None  # allowed: the reason is in a Numeric Value Qualifier
        item = values[0]
        if PROBLEM in item:
            raise _SkipItemError(f"measured value: {'; '.join(problems_of(item))}")
        number = item.get(tags.NUMERIC_VALUE)
        if not isinstance(number, bytes | str):
            raise _SkipItemError("measured value without a Numeric Value")
        text = number.decode("ascii", "replace") if isinstance(number, bytes) else number
        text = text.split("\\")[0].strip(" \x00")
        try:
            value = float(text)
        except ValueError:
            raise _SkipItemError(f"Numeric Value {text[:32]!r} is not a number") from None
        if not math.isfinite(value):
            raise _SkipItemError(f"Numeric Value {text[:32]!r} is not finite")
        unit: Code | None = None
        if tags.MEASUREMENT_UNITS_CODE_SEQUENCE in item:
            unit = self._code_info(
                item.get(tags.MEASUREMENT_UNITS_CODE_SEQUENCE), charset, "measurement units"
            ).code
        return Measurement(value, unit)

    def _target(self, raw: RawItem) -> str:
        value = raw[tags.REFERENCED_CONTENT_ITEM_IDENTIFIER]
        if isinstance(value, tuple):
            numbers = value
        elif isinstance(value, bytes) and value and len(value) % 4 == 0:
            numbers = tuple(n for (n,) in self.ul.iter_unpack(value))
        else:
            raise _SkipItemError("Referenced Content Item Identifier is malformed")
        if not numbers or numbers[0] != 1 or 0 in numbers:
            raise _SkipItemError(f"Referenced Content Item Identifier {numbers} is not a path")
        return ".".join(map(str, numbers))

    def _own_context(
        self, node: _Node, raw: RawItem, info: _CodeInfo | None, charset: Charset
    ) -> None:
        """Laterality and finding sites stated at this item: its HAS CONCEPT MOD
        Laterality / Finding Site children (a site's own laterality counts too), and a
        container named by an anatomic location."""
        sites: list[Code] = []
        if info is not None and info.is_site_name and node.value_type is ValueType.CONTAINER:
            sites.append(info.code)
        side: str | None = None
        children = raw.get(tags.CONTENT_SEQUENCE)
        if isinstance(children, list):
            for child in children:
                if _enum(_RELATIONSHIPS, child.get(tags.RELATIONSHIP_TYPE)) is not _HAS_CONCEPT_MOD:
                    continue
                try:
                    concept = self._code_info(
                        child.get(tags.CONCEPT_NAME_CODE_SEQUENCE), charset, "modifier"
                    )
                    if not (concept.is_laterality or concept.is_site):
                        continue
                    value = self._code_info(
                        child.get(tags.CONCEPT_CODE_SEQUENCE), charset, "modifier value"
                    )
                except _SkipItemError:
                    continue  # recorded when the child itself is read
                if concept.is_laterality:
                    side = side or value.side
                    continue
                sites.append(value.code)
                if side is None:
                    side = self._site_laterality(child, charset)
        if side is not None:
            node.laterality = side
        if sites:
            node.sites = tuple(sites)

    def _site_laterality(self, site: RawItem, charset: Charset) -> str | None:
        children = site.get(tags.CONTENT_SEQUENCE)
        if not isinstance(children, list):
            return None
        for child in children:
            if _enum(_RELATIONSHIPS, child.get(tags.RELATIONSHIP_TYPE)) is not _HAS_CONCEPT_MOD:
                continue
            try:
                concept = self._code_info(
                    child.get(tags.CONCEPT_NAME_CODE_SEQUENCE), charset, "modifier"
                )
                if concept.is_laterality:
                    return self._code_info(
                        child.get(tags.CONCEPT_CODE_SEQUENCE), charset, "modifier value"
                    ).side
            except _SkipItemError:
                continue
        return None

    # -- references ----------------------------------------------------------------------

    def _resolve(self, refs: list[_Ref], nodes: list[_Node], index_of: dict[str, int]) -> None:
        """Point each reference at its target, and break the ones that would make a loop.

        Showing a target under its source means the target's subtree must be built before
        the source. Reference r1 depends on r2 when r2's source lies in r1's target subtree;
        a cycle in that graph (including a target that contains its own source) cannot be
        built, so one reference per cycle is dropped and recorded.
        """
        live: list[_Ref] = []
        for ref in refs:
            source_path = nodes[ref.source].path
            if len(live) >= MAX_REFERENCES:
                self.problems.append(
                    ReadProblem(ref.entry, f"more than {MAX_REFERENCES} references: skipped")
                )
                continue
            target = index_of.get(ref.target)
            if target is None:
                self.problems.append(
                    ReadProblem(ref.entry, f"reference to {ref.target}, which does not exist")
                )
                continue
            if _within(source_path, ref.target):
                self.problems.append(
                    ReadProblem(ref.entry, f"reference to {ref.target} loops back on itself")
                )
                continue
            ref.target_index = target
            live.append(ref)
        if len(live) < 2:
            return
        # Sources sorted in tree order, so those inside one subtree are a contiguous run.
        by_source = sorted(live, key=lambda r: _path_key(nodes[r.source].path))
        keys = [_path_key(nodes[r.source].path) for r in by_source]

        def dependents(ref: _Ref) -> list[_Ref]:
            low = _path_key(ref.target)
            lo = bisect_left(keys, low)
            hi = lo
            while hi < len(keys) and keys[hi][: len(low)] == low:
                hi += 1
            return by_source[lo:hi]

        state: dict[int, int] = {}  # id(ref) -> 1 on the DFS path, 2 done
        for start in live:
            if state.get(id(start)):
                continue
            state[id(start)] = 1
            path = [(start, iter(dependents(start)))]
            while path:
                ref, pending = path[-1]
                advanced = False
                for nxt in pending:
                    if nxt.target_index < 0:
                        continue
                    mark = state.get(id(nxt))
                    if mark == 1:
                        nxt.target_index = -1
                        self.problems.append(
                            ReadProblem(
                                nxt.entry, f"reference to {nxt.target} makes a cycle: skipped"
                            )
                        )
                    elif mark is None:
                        state[id(nxt)] = 1
                        path.append((nxt, iter(dependents(nxt))))
                        advanced = True
                        break
                if not advanced:
                    state[id(ref)] = 2
                    path.pop()

    @staticmethod
    def _build_order(nodes: list[_Node]) -> list[int]:
        """Post-order over child and (acyclic, resolved) reference edges."""
        order: list[int] = []
        done = bytearray(len(nodes))
        for start in range(len(nodes)):
            if done[start]:
                continue
            done[start] = 1
            path = [(start, 0)]
            while path:
                index, position = path[-1]
                kids = nodes[index].kids
                while position < len(kids):
                    kid = kids[position]
                    position += 1
                    nxt = kid if isinstance(kid, int) else kid.target_index
                    if nxt >= 0 and not done[nxt]:
                        done[nxt] = 1
                        path[-1] = (index, position)
                        path.append((nxt, 0))
                        break
                else:
                    order.append(index)
                    path.pop()
        return order

    def _build(self, nodes: list[_Node], order: Sequence[int]) -> ContentItem:
        built: list[ContentItem | None] = [None] * len(nodes)
        for index in order:
            node = nodes[index]
            children: list[ContentItem] = []
            for kid in node.kids:
                if isinstance(kid, int):
                    item = built[kid]
                    assert item is not None
                    children.append(item)
                elif kid.target_index >= 0:
                    target = built[kid.target_index]
                    assert target is not None
                    children.append(
                        replace(target, relationship=kid.relationship, referenced_from=node.path)
                    )
            built[index] = ContentItem(
                node.path,
                node.value_type,
                node.relationship,
                node.concept,
                node.text,
                node.code,
                node.measurement,
                tuple(children),
                node.sections,
                node.role,
                None,
                node.laterality,
                node.sites,
                node.role_concept,
            )
        root = built[0]
        assert root is not None
        return root


def _items(value: RawValue | None) -> list[RawItem]:
    return value if isinstance(value, list) else []


def _within(path: str, ancestor: str) -> bool:
    """``path`` is ``ancestor`` or lies below it."""
    return path == ancestor or path.startswith(ancestor + ".")


def _path_key(path: str) -> tuple[int, ...]:
    return tuple(int(part) for part in path.split("."))
