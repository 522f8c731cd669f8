"""Listener settings: the PDU limits (pdu_receive_limit is a listener setting)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dicom_listener.policy import receive_pdu_limit
from triage.settings import SettingsError, load_settings

from .conftest import make_settings


def test_pdu_receive_limit_from_the_environment(tmp_path: Path) -> None:
    settings = load_settings(
        environ={"MSK_TRIAGE_PDU_RECEIVE_LIMIT": "8388608", "MSK_TRIAGE_DATA_DIR": str(tmp_path)}
    )
    assert settings.pdu_receive_limit == 8 * 1024 * 1024
    defaults = load_settings(environ={})
    assert defaults.pdu_receive_limit == 64 * 1024 * 1024
    # a finite maximum: faster than unlimited, and bounds what a sender puts in one PDU
    assert defaults.maximum_pdu_size == 256 * 1024


@pytest.mark.parametrize("value", ["1000", "lots"])
def test_bad_pdu_receive_limit_is_named(value: str) -> None:
    with pytest.raises(SettingsError, match="MSK_TRIAGE_PDU_RECEIVE_LIMIT"):
        load_settings(environ={"MSK_TRIAGE_PDU_RECEIVE_LIMIT": value})


@pytest.mark.parametrize(
    ("advertised", "receive_limit", "expected"),
    [
        (0, 64 * 1024 * 1024, 64 * 1024 * 1024),  # unlimited: the receive limit bounds it
        (16384, 64 * 1024 * 1024, 1024 * 1024),  # small: still room for an A-ASSOCIATE-RQ
        (4 * 1024 * 1024, 2 * 1024 * 1024, 4 * 1024 * 1024),  # what we advertise we accept
    ],
)
def test_the_longest_pdu_we_read(
    tmp_path: Path, advertised: int, receive_limit: int, expected: int
) -> None:
    settings = make_settings(tmp_path, maximum_pdu_size=advertised, pdu_receive_limit=receive_limit)
    assert receive_pdu_limit(settings) == expected
