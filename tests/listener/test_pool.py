"""Several listener processes behind one port (``dicom_listener.pool``).

The test process is the pool's parent, as ``msk-triage serve`` is: it binds the port
and hands connections to real listener processes (``python -m
triage.cli.listener_process``), which ingest into the test's database and archive.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydicom.uid import ExplicitVRLittleEndian
from pynetdicom.association import Association
from sqlalchemy import Engine

from dicom_listener.contexts import VERIFICATION
from dicom_listener.pool import ListenerPool, PoolStartError
from triage.cli.serve_cmd import LISTENER_PROCESS_COMMAND
from triage.ingest.service import Ingestor
from triage.settings import Settings

from .conftest import associate, files_under, index_rows, make_settings, rejection
from .factory import BASIC_TEXT_SR, US_IMAGE, make_dataset, write

pytestmark = pytest.mark.integration  # listener processes are subprocesses

STORE = [(BASIC_TEXT_SR, [ExplicitVRLittleEndian]), (US_IMAGE, [ExplicitVRLittleEndian])]
ECHO = [(VERIFICATION, [ExplicitVRLittleEndian])]

StartPool = Callable[..., ListenerPool]


@pytest.fixture
def start_pool(settings: Settings, engine: Engine) -> Iterator[StartPool]:
    """``start_pool(processes=2, settings=...)``: a started pool on an ephemeral port."""
    pools: list[ListenerPool] = []

    def start(*, processes: int = 2, settings: Settings = settings, **kwargs: Any) -> ListenerPool:
        Ingestor(settings=settings, engine=engine)  # the data dir, as serve prepares it
        pool = ListenerPool(
            settings, processes=processes, command=kwargs.pop("command", LISTENER_PROCESS_COMMAND)
        )
        pools.append(pool)
        pool.start(port=0)
        return pool

    yield start
    for pool in pools:
        pool.stop(timeout=5)


def _wait_for(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _store(pool: ListenerPool, files: list[Path]) -> list[int]:
    assoc = associate(pool, STORE)  # type: ignore[arg-type]
    assert assoc.is_established
    try:
        return [int(assoc.send_c_store(f).Status) for f in files]
    finally:
        assoc.release()


def _files(tmp_path: Path, count: int, prefix: str = "f") -> list[Path]:
    return [write(make_dataset(), tmp_path / "in" / f"{prefix}{i}.dcm") for i in range(count)]


def test_associations_are_spread_over_the_processes_and_all_stored(
    start_pool: StartPool, tmp_path: Path, engine: Engine, settings: Settings
) -> None:
    pool = start_pool(processes=2)
    assert [s.ready for s in pool.status()] == [True, True]
    files = _files(tmp_path, 20)
    statuses: list[list[int]] = []
    senders = [
        threading.Thread(target=lambda part=part: statuses.append(_store(pool, part)))
        for part in (files[0::4], files[1::4], files[2::4], files[3::4])
    ]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join(60)
    assert sorted(s for part in statuses for s in part) == [0] * 20
    assert sorted(s.served for s in pool.status()) == [2, 2]  # the least busy gets the next
    rows = index_rows(engine)
    assert len(rows) == 20
    assert {r["revision"] for r in rows} == {0}
    assert len(files_under(settings.archive_dir)) == 20
    _wait_for(lambda: files_under(settings.tmp_dir) == [])


def test_a_killed_listener_process_is_replaced(
    start_pool: StartPool, tmp_path: Path, engine: Engine, settings: Settings
) -> None:
    pool = start_pool(processes=2)
    before = {s.pid for s in pool.status()}
    victim = pool.status()[0].pid
    os.kill(victim, signal.SIGKILL)
    _wait_for(lambda: pool.restarts == 1)
    _wait_for(lambda: [s.ready for s in pool.status()] == [True, True])
    after = {s.pid for s in pool.status()}
    assert victim not in after
    assert len(after - before) == 1
    assert pool.restarts == 1
    files = _files(tmp_path, 4)
    assert _store(pool, files) == [0] * 4
    assert len(index_rows(engine)) == 4
    # the dead process's spool folder went when its successor started
    _wait_for(lambda: len(list(settings.tmp_dir.glob("rx-*"))) == 2)


def test_an_association_in_a_killed_process_is_cut_off_and_the_others_go_on(
    start_pool: StartPool, tmp_path: Path, engine: Engine
) -> None:
    pool = start_pool(processes=2)
    first = associate(pool, STORE)  # type: ignore[arg-type]
    second = associate(pool, STORE)  # type: ignore[arg-type]
    try:
        assert first.is_established
        assert second.is_established
        by_pid = {s.pid: s.associations for s in pool.status()}
        assert sorted(by_pid.values()) == [1, 1]
        os.kill(pool.status()[0].pid, signal.SIGKILL)
        _wait_for(lambda: pool.restarts == 1)
        files = _files(tmp_path, 2)
        results = []
        for assoc in (first, second):
            try:
                results.append(int(assoc.send_c_store(files[0]).Status))
            except Exception:  # pynetdicom may raise on a dead connection
                results.append(-1)
        # One association died with its process; the other stores as before.
        assert sorted(r == 0 for r in results) == [False, True]
    finally:
        for assoc in (first, second):
            if assoc.is_established:
                assoc.release()
    assert len(index_rows(engine)) == 1


def test_stop_lets_the_associations_of_every_process_finish(
    start_pool: StartPool, tmp_path: Path, engine: Engine
) -> None:
    pool = start_pool(processes=2)
    held = [associate(pool, STORE) for _ in range(2)]  # type: ignore[arg-type]
    assert all(a.is_established for a in held)
    assert sorted(s.associations for s in pool.status()) == [1, 1]
    files = _files(tmp_path, 2)
    outcome: list[bool] = []
    stopper = threading.Thread(target=lambda: outcome.append(pool.stop(timeout=20)))
    stopper.start()
    _wait_for(lambda: _refused(pool))  # no new connections once stopping
    # both processes still serve what they have: one more object each, then release
    assert [int(a.send_c_store(f).Status) for a, f in zip(held, files, strict=True)] == [0, 0]
    for assoc in held:
        assoc.release()
    stopper.join(30)
    assert outcome == [True]
    assert not pool.running
    assert len(index_rows(engine)) == 2


def test_stop_in_a_hurry_aborts_what_is_still_running(start_pool: StartPool) -> None:
    pool = start_pool(processes=2)
    held = [associate(pool, ECHO) for _ in range(2)]  # type: ignore[arg-type]
    assert all(a.is_established for a in held)
    hurry = threading.Event()
    hurry.set()
    assert pool.stop(timeout=20, hurry=hurry) is False
    _wait_for(lambda: all(a.is_aborted or not a.is_alive() for a in held))


def _refused(pool: ListenerPool) -> bool:
    host, port = pool.address
    try:
        with socket.create_connection((host, port), timeout=1):
            return False
    except OSError:
        return True


def test_the_association_limit_is_for_all_processes_together(
    start_pool: StartPool, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, max_associations=2)
    pool = start_pool(processes=2, settings=settings)
    held = [associate(pool, ECHO) for _ in range(2)]  # type: ignore[arg-type]
    try:
        assert all(a.is_established for a in held)
        over = associate(pool, ECHO)  # type: ignore[arg-type]
        # rejected-transient, service-provider (presentation), local-limit-exceeded
        assert rejection(over) == (2, 3, 2)
    finally:
        for assoc in held:
            assoc.release()
    _wait_for(lambda: sum(s.associations for s in pool.status()) == 0)
    again = associate(pool, ECHO)  # type: ignore[arg-type]
    assert again.is_established
    again.release()


def test_a_port_in_use_fails_before_any_process_starts(settings: Settings) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        pool = ListenerPool(settings, processes=2, command=LISTENER_PROCESS_COMMAND)
        with pytest.raises(OSError, match="in use") as raised:
            pool.start(port=port)
        assert raised.value.errno == 98  # EADDRINUSE
        assert pool.status() == []
        assert not pool.running


def test_a_listener_process_that_cannot_start_fails_the_start(tmp_path: Path) -> None:
    blocked = make_settings(tmp_path, data_dir=tmp_path / "blocked")
    blocked.data_dir.mkdir()
    blocked.tmp_dir.write_bytes(b"a file where the temp folder should be")
    pool = ListenerPool(blocked, processes=2, command=LISTENER_PROCESS_COMMAND)
    with pytest.raises(PoolStartError, match="tmp"):
        pool.start(port=0)
    assert not pool.running


def test_a_listener_process_that_exits_at_start_is_reported(settings: Settings) -> None:
    command = [sys.executable, "-c", "import sys; sys.exit(7)"]
    pool = ListenerPool(settings, processes=2, command=command)
    with pytest.raises(PoolStartError, match="exited with status 7 while starting"):
        pool.start(port=0)


def test_tls_is_handled_in_the_listener_processes(
    tmp_path: Path, engine: Engine, start_pool: StartPool
) -> None:
    import ssl

    from .test_tls import _self_signed

    cert, key = _self_signed(tmp_path, "server")
    settings = make_settings(tmp_path, tls_certificate=cert, tls_private_key=key)
    pool = start_pool(processes=2, settings=settings)
    client = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(cert))
    assoc: Association = associate(
        pool,  # type: ignore[arg-type]
        STORE,
        tls_args=(client, "localhost"),
    )
    assert assoc.is_established
    status = assoc.send_c_store(write(make_dataset(), tmp_path / "tls.dcm"))
    assoc.release()
    assert int(status.Status) == 0
    assert len(index_rows(engine)) == 1
