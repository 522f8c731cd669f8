"""Turn a pydicom ``Dataset`` into the parser's raw form, so one walk reads both.

Elements pydicom has not converted yet are taken as their raw bytes; converted ones keep
their Python value (text as ``str``, integers as a tuple). Iterative, so a deeply nested
Dataset built in memory does not hit the recursion limit.
"""

from __future__ import annotations

from struct import Struct

from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from rules.sr import _tags as tags
from rules.sr._dicom import SEQUENCE_TAGS, Parsed, RawItem, RawValue, add_problem, tag_str

_UL_LITTLE = Struct("<I")
_UL_BIG = Struct(">I")


def parsed_from_dataset(ds: Dataset) -> Parsed:
    top: RawItem = {}
    stack: list[tuple[Dataset, RawItem]] = [(ds, top)]
    while stack:
        source, target = stack.pop()
        for tag in source.keys():  # noqa: SIM118 - iterating a Dataset converts every element
            try:
                element: object = source.get_item(tag)  # reads a deferred value
                if isinstance(element, RawDataElement):
                    is_sequence = element.VR == "SQ" or (
                        element.VR in (None, "UN") and tag in SEQUENCE_TAGS
                    )
                    if element.value is not None and not is_sequence:
                        target[tag] = _raw_leaf(tag, element)
                        continue
                    element = source[tag]  # converts (and caches) in the Dataset
            except Exception as exc:  # pydicom raises many kinds on bad bytes or files
                add_problem(target, f"{tag_str(tag)} cannot be read: {exc}")
                continue
            if not isinstance(element, DataElement):
                continue
            value = element.value
            if element.VR == "SQ":
                items: list[RawItem] = []
                target[tag] = items
                for child in value or ():
                    raw_child: RawItem = {}
                    items.append(raw_child)
                    stack.append((child, raw_child))
            else:
                target[tag] = _leaf(value)
    meta: RawItem = {}
    file_meta = getattr(ds, "file_meta", None)
    if isinstance(file_meta, Dataset):
        for meta_tag in (tags.MEDIA_SOP_CLASS, tags.MEDIA_SOP_INSTANCE):
            if meta_tag in file_meta:
                meta[meta_tag] = _leaf(file_meta[meta_tag].value)
    return Parsed(top, meta)


def _raw_leaf(tag: int, element: RawDataElement) -> RawValue:
    value = element.value
    assert isinstance(value, bytes)
    if tag == tags.REFERENCED_CONTENT_ITEM_IDENTIFIER and len(value) % 4 == 0:
        unpack = _UL_LITTLE if element.is_little_endian else _UL_BIG
        return tuple(n for (n,) in unpack.iter_unpack(value))
    return value


def _leaf(value: object) -> RawValue:
    if value is None:
        return b""
    if isinstance(value, bytes | str):
        return value
    if isinstance(value, int):
        return (value,)
    if isinstance(value, MultiValue | list | tuple):
        if all(isinstance(v, int) for v in value):
            return tuple(value)
        return "\\".join(str(v) for v in value)
    return str(value)
