from __future__ import annotations

import pytest

from triage.ingest.uid import is_valid_uid


@pytest.mark.parametrize(
    "uid",
    [
        "1.2.840.10008.5.1.4.1.1.88.33",
        "0",
        "1.0.2",
        "2.25.329800735698586629295641978511506172918",
        "1." + "2" * 62,  # 64 characters
    ],
)
def test_valid_uids(uid: str) -> None:
    assert is_valid_uid(uid)


@pytest.mark.parametrize(
    "uid",
    [
        "",
        "../../x",
        "1.2.3/../4",
        "1.2.3\\4",
        "1." + "2" * 63,  # 65 characters
        "1.02.3",  # leading zero in a component
        "01.2",
        "1..2",
        ".1.2",
        "1.2.",
        "1.2.3\x00",  # padding is stripped by the reader, never accepted here
        "1.2\x003",
        "1.2 3",
        "1.2.3\n",
        "1.2.٣",  # an Arabic-Indic digit is a digit to str.isdigit, not to DICOM
        "1.2.a",
    ],
)
def test_invalid_uids(uid: str) -> None:
    assert not is_valid_uid(uid)
