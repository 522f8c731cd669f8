"""In-process listener fixtures: a fresh data dir and database per test, the listener on an
ephemeral loopback port, and real pynetdicom SCUs talking to it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pynetdicom import AE
from pynetdicom.association import Association
from sqlalchemy import Engine, text

from dicom_listener.server import Listener
from triage.db.engine import make_engine
from triage.db.migrate import upgrade
from triage.ingest.payload import Received
from triage.ingest.result import IngestOutcome, IngestResult, StoreStatus
from triage.ingest.service import Ingestor
from triage.settings import Settings, load_settings

AE_TITLE = "MSKTRIAGE"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "bind_address": "127.0.0.1",
        "ae_title": AE_TITLE,
        "acse_timeout": 5.0,
        "dimse_timeout": 15.0,
        "network_timeout": 15.0,
    }
    values.update(overrides)
    return load_settings(environ={}, **values)


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    eng = make_engine(settings)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def ingestor(settings: Settings, engine: Engine) -> Ingestor:
    return Ingestor(settings=settings, engine=engine)


@dataclass
class RecordingIngest:
    """A stand-in ingestor for tests about the listener alone: keeps what it was given."""

    status: StoreStatus = StoreStatus.SUCCESS
    received: list[bytes] = field(default_factory=list)
    calling_aes: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    gate: threading.Event | None = None  # when given, ingest waits until it is set
    entered: threading.Event = field(default_factory=threading.Event)

    def _record(self, data: bytes, calling_ae: str) -> IngestResult:
        self.entered.set()
        if self.gate is not None:
            self.gate.wait(10)
        with self.lock:
            self.received.append(data)
            self.calling_aes.append(calling_ae)
        outcome = (
            IngestOutcome.STORED if self.status == StoreStatus.SUCCESS else IngestOutcome.REFUSED
        )
        return IngestResult(self.status, outcome)

    def ingest_file(
        self,
        path: Path,
        *,
        calling_ae: str,
        source: str = "dicom",
        move: bool = False,
        received: Received | None = None,
    ) -> IngestResult:
        data = path.read_bytes()
        if move:
            path.unlink()
        return self._record(data, calling_ae)

    def ingest_bytes(self, data: bytes, *, calling_ae: str, source: str = "dicom") -> IngestResult:
        return self._record(data, calling_ae)


StartListener = Callable[..., Listener]


@pytest.fixture
def start_listener(settings: Settings, ingestor: Ingestor) -> Iterator[StartListener]:
    """Start a listener on an ephemeral port: ``start_listener(settings=..., ingest=...)``."""
    started: list[Listener] = []

    def start(*, settings: Settings = settings, ingest: Any = ingestor, **kwargs: Any) -> Listener:
        listener = Listener(settings, ingest, **kwargs)
        listener.start(port=0)
        started.append(listener)
        return listener

    yield start
    for listener in started:
        listener.stop(timeout=5)


def associate(
    listener: Listener,
    contexts: Sequence[tuple[str, Sequence[str]]],
    *,
    calling: str = "PACS",
    called: str = AE_TITLE,
    tls_args: Any = None,
    max_pdu: int = 16382,
) -> Association:
    ae = AE(ae_title=calling)
    ae.acse_timeout = 10
    ae.dimse_timeout = 20
    ae.network_timeout = 20
    ae.maximum_pdu_size = max_pdu
    for abstract, syntaxes in contexts:
        ae.add_requested_context(abstract, list(syntaxes))
    host, port = listener.address
    return ae.associate(host, port, ae_title=called, tls_args=tls_args)


def rejection(assoc: Association) -> tuple[int, int, int]:
    """(result, source, reason) of the A-ASSOCIATE-RJ a requestor received."""
    assert assoc.is_rejected
    rj = assoc.acceptor.primitive
    assert rj is not None
    return int(rj.result or 0), int(rj.result_source or 0), int(rj.diagnostic or 0)


def index_rows(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT sop_instance_uid, revision, is_latest, archive_path, content_digest,"
                " calling_ae, transfer_syntax_uid, sop_class_uid FROM instance"
                " ORDER BY sop_instance_uid, revision"
            )
        )
        return [dict(r._mapping) for r in rows]


def files_under(folder: Path) -> list[Path]:
    """Every file below ``folder``."""
    if not folder.exists():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file())
