"""Archive names are claimed before the index transaction (``Archive.claim``): a live
writer's name is waited for, a crash's leftover is taken over, a given-up name goes."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from triage.ingest.archive import Archive, Claim
from triage.settings import Settings

RELATIVE = "archive/1.2/1.2.3/1.2.3.4.dcm"


@pytest.fixture
def archive(settings: Settings) -> Archive:
    archive = Archive(
        data_dir=settings.data_dir, archive_dir=settings.archive_dir, tmp_dir=settings.tmp_dir
    )
    archive.prepare()
    return archive


def _temp(archive: Archive, content: bytes) -> Path:
    return archive.write_temp(content)


def _claim_in_thread(archive: Archive, temp: Path) -> tuple[threading.Thread, list[Claim]]:
    got: list[Claim] = []
    thread = threading.Thread(target=lambda: got.append(archive.claim(temp, RELATIVE)))
    thread.start()
    return thread, got


def test_a_fresh_claim_puts_the_file_at_its_name(archive: Archive, settings: Settings) -> None:
    temp = _temp(archive, b"first")
    claim = archive.claim(temp, RELATIVE)
    assert claim.fresh
    assert (settings.data_dir / RELATIVE).read_bytes() == b"first"
    claim.release(keep=True)
    assert (settings.data_dir / RELATIVE).read_bytes() == b"first"


def test_a_name_given_up_is_removed(archive: Archive, settings: Settings) -> None:
    claim = archive.claim(_temp(archive, b"first"), RELATIVE)
    claim.release(keep=False)
    assert not (settings.data_dir / RELATIVE).exists()
    claim.release(keep=False)  # idempotent


def test_a_second_writer_waits_and_finds_the_first_ones_file(archive: Archive) -> None:
    first = archive.claim(_temp(archive, b"first"), RELATIVE)
    thread, got = _claim_in_thread(archive, _temp(archive, b"second"))
    thread.join(0.3)
    assert thread.is_alive()  # held while the first writer's row is being committed
    first.release(keep=True)
    thread.join(10)
    (second,) = got
    assert not second.fresh  # a file is there: the index decides whose it is
    second.release(keep=False)
    assert archive.exists(RELATIVE)  # not fresh: never removed by the second writer


def test_a_second_writer_gets_the_name_when_the_first_gives_it_up(
    archive: Archive, settings: Settings
) -> None:
    first = archive.claim(_temp(archive, b"first"), RELATIVE)
    thread, got = _claim_in_thread(archive, _temp(archive, b"second"))
    thread.join(0.3)
    first.release(keep=False)
    thread.join(10)
    (second,) = got
    assert second.fresh
    assert (settings.data_dir / RELATIVE).read_bytes() == b"second"
    second.release(keep=True)


def test_a_leftover_is_taken_over_at_once(archive: Archive, settings: Settings) -> None:
    leftover = settings.data_dir / RELATIVE
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"half")
    claim = archive.claim(_temp(archive, b"whole"), RELATIVE)
    assert not claim.fresh
    assert leftover.read_bytes() == b"half"  # replaced only once the row reserves it
    claim.release(keep=False)
    assert leftover.read_bytes() == b"half"
