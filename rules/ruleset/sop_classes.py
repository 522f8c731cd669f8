"""SOP classes in rule scopes: written as a UID or as pydicom's keyword for it."""

from __future__ import annotations

import re
from functools import cache

from pydicom._uid_dict import UID_dictionary

from rules.ruleset.suggest import did_you_mean

_UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")


@cache
def _keywords() -> dict[str, str]:
    return {
        entry[4]: uid
        for uid, entry in UID_dictionary.items()
        if entry[1] == "SOP Class" and entry[4]
    }


def sop_class_uid(value: str) -> str:
    """The UID for ``value`` (a UID, or a keyword such as ``ComprehensiveSRStorage``)."""
    if _UID.match(value):
        if len(value) > 64:
            raise ValueError(f"{value!r} is longer than a UID may be (64)")
        return value
    uid = _keywords().get(value)
    if uid is None:
        raise ValueError(f"unknown SOP class {value!r}" + did_you_mean(value, _keywords()))
    return uid
