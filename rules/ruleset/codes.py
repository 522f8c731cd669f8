"""Coded concepts as rule authors write them: ``SCHEME:VALUE`` (or a mapping), with
legacy SNOMED-RT (``SRT``) codes mapped to SNOMED CT by the SR reader's own table, so a
rule's codes compare exactly like the document's."""

from __future__ import annotations

import re

from rules.sr.model import Code
from rules.sr.vocab import vocabulary

_CODE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_.\-]{0,15})\s*:\s*([^\s:]{1,64})\s*$")


def parse_code(text: str) -> Code:
    """``"SCT:367643001"`` → Code; raises ValueError naming the expected form."""
    m = _CODE.match(text)
    if m is None:
        raise ValueError(f"{text!r} is not a code; write SCHEME:VALUE, e.g. SCT:367643001")
    return vocabulary().code(m.group(2), m.group(1).upper())
