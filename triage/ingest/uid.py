"""The DICOM UID grammar (PS3.5 section 9.1): the only gate between a UID and a path."""

from __future__ import annotations

import re

MAX_UID_LENGTH = 64

# Components of ASCII digits, separated by single dots; no leading zero unless the
# component is "0" itself. Deliberately [0-9], not \d (which admits other scripts' digits).
_UID = re.compile(r"(?:0|[1-9][0-9]*)(?:\.(?:0|[1-9][0-9]*))*")


def is_valid_uid(value: str) -> bool:
    return 0 < len(value) <= MAX_UID_LENGTH and _UID.fullmatch(value) is not None
