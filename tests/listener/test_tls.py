"""TLS: stores over TLS, an idle client does not block others, client certificates."""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
from pathlib import Path

import pytest
from pydicom.uid import ExplicitVRLittleEndian

from dicom_listener.contexts import VERIFICATION
from dicom_listener.policy import ListenerConfigError, tls_context

from .conftest import RecordingIngest, StartListener, associate, make_settings
from .factory import BASIC_TEXT_SR, make_dataset, write

# The certificates come from the openssl CLI (a subprocess; scripts/test installs it).
pytestmark = pytest.mark.integration

ECHO = [(VERIFICATION, [ExplicitVRLittleEndian])]


def _self_signed(folder: Path, name: str) -> tuple[Path, Path]:
    cert, key = folder / f"{name}.crt", folder / f"{name}.key"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec",
            "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-days", "2", "-subj", f"/CN={name}",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    folder = tmp_path_factory.mktemp("certs")
    return {name: _self_signed(folder, name) for name in ("server", "client", "stranger")}


def _client_context(
    certs: dict[str, tuple[Path, Path]], identity: str | None = None
) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(certs["server"][0]))
    if identity is not None:
        ctx.load_cert_chain(*map(str, certs[identity]))
    return ctx


def test_store_over_tls(
    tmp_path: Path, certs: dict[str, tuple[Path, Path]], start_listener: StartListener
) -> None:
    cert, key = certs["server"]
    settings = make_settings(tmp_path, tls_certificate=cert, tls_private_key=key)
    ingest = RecordingIngest()
    listener = start_listener(settings=settings, ingest=ingest)
    tls = (_client_context(certs), "localhost")
    assoc = associate(listener, [(BASIC_TEXT_SR, [ExplicitVRLittleEndian])], tls_args=tls)
    assert assoc.is_established
    assert int(assoc.send_c_store(write(make_dataset(), tmp_path / "a.dcm")).Status) == 0
    assoc.release()
    assert len(ingest.received) == 1
    # plain TCP is not served on a TLS port
    assert not associate(listener, ECHO).is_established


def test_idle_client_does_not_block_new_tls_associations(
    tmp_path: Path, certs: dict[str, tuple[Path, Path]], start_listener: StartListener
) -> None:
    cert, key = certs["server"]
    settings = make_settings(tmp_path, tls_certificate=cert, tls_private_key=key, acse_timeout=2)
    listener = start_listener(settings=settings, ingest=RecordingIngest())
    idle = [socket.create_connection(listener.address) for _ in range(3)]  # never handshake
    try:
        results: list[bool] = []

        def echo() -> None:
            assoc = associate(listener, ECHO, tls_args=(_client_context(certs), "localhost"))
            results.append(assoc.is_established and int(assoc.send_c_echo().Status) == 0)
            assoc.release()

        worker = threading.Thread(target=echo, daemon=True)
        worker.start()
        worker.join(30)
        assert results == [True]
        # and the idle ones are dropped once the ACSE timeout has passed
        for sock in idle:
            sock.settimeout(15)
            assert sock.recv(1) == b""
    finally:
        for sock in idle:
            sock.close()


def test_client_certificate_required_when_cas_are_configured(
    tmp_path: Path, certs: dict[str, tuple[Path, Path]], start_listener: StartListener
) -> None:
    cert, key = certs["server"]
    settings = make_settings(
        tmp_path,
        tls_certificate=cert,
        tls_private_key=key,
        tls_ca_certificates=certs["client"][0],
    )
    listener = start_listener(settings=settings, ingest=RecordingIngest())
    trusted = associate(listener, ECHO, tls_args=(_client_context(certs, "client"), "localhost"))
    assert trusted.is_established
    trusted.release()
    for identity in (None, "stranger"):
        refused = associate(
            listener, ECHO, tls_args=(_client_context(certs, identity), "localhost")
        )
        assert not refused.is_established


def test_incomplete_tls_settings_are_reported(
    tmp_path: Path, certs: dict[str, tuple[Path, Path]]
) -> None:
    cert, key = certs["server"]
    with pytest.raises(ListenerConfigError, match="MSK_TRIAGE_TLS_PRIVATE_KEY"):
        tls_context(make_settings(tmp_path, tls_certificate=cert))
    with pytest.raises(ListenerConfigError, match="TLS is off"):
        tls_context(make_settings(tmp_path, tls_ca_certificates=cert))
    with pytest.raises(ListenerConfigError, match="cannot load"):
        tls_context(make_settings(tmp_path, tls_certificate=key, tls_private_key=key))
    assert tls_context(make_settings(tmp_path, tls_certificate=cert, tls_private_key=key))
