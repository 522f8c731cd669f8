"""Association policy from the settings: AE titles, PDU limits, TLS."""

from __future__ import annotations

import ssl
from dataclasses import dataclass

from triage.settings import Settings

# The largest non-P-DATA PDU we accept when a small maximum PDU is configured: an
# A-ASSOCIATE-RQ proposing 128 presentation contexts with many transfer syntaxes each
# stays well below this.
_MIN_PDU_LIMIT = 1 << 20


class ListenerConfigError(Exception):
    """Settings the listener cannot start with; the message says which and why."""


@dataclass(frozen=True, slots=True)
class Policy:
    ae_title: str
    allowed_calling_aets: tuple[str, ...]  # empty: any calling AE title
    pdu_limit: int  # longest PDU we read before closing the connection
    tls: ssl.SSLContext | None
    warnings: tuple[str, ...]


def build_policy(settings: Settings) -> Policy:
    warnings: list[str] = []
    if not settings.allowed_calling_aets:
        warnings.append(
            "MSK_TRIAGE_ALLOWED_CALLING_AETS is empty: associations from ANY calling AE "
            "title are accepted; list your PACS AE titles to restrict this"
        )
    tls = tls_context(settings)
    if tls is None:
        warnings.append("TLS is off: DICOM traffic (with PHI) is not encrypted")
    return Policy(
        ae_title=settings.ae_title,
        allowed_calling_aets=tuple(settings.allowed_calling_aets),
        pdu_limit=receive_pdu_limit(settings),
        tls=tls,
        warnings=tuple(warnings),
    )


def receive_pdu_limit(settings: Settings) -> int:
    """The longest PDU we read. pynetdicom does not enforce the maximum it advertises.

    With an advertised maximum, a longer P-DATA PDU is a protocol violation; without one
    (0, unlimited) ``max_pdu_receive`` bounds what one PDU can make us allocate.
    """
    if settings.maximum_pdu_size:
        return max(settings.maximum_pdu_size, _MIN_PDU_LIMIT)
    return settings.pdu_receive_limit


def tls_context(settings: Settings) -> ssl.SSLContext | None:
    """A server context from the tls_* settings, or None when TLS is not configured.

    TLS 1.2 or newer (the BCP 195 profiles); with ``tls_ca_certificates`` the peer must
    present a certificate signed by one of those CAs.
    """
    cert, key, cas = (
        settings.tls_certificate,
        settings.tls_private_key,
        settings.tls_ca_certificates,
    )
    if cert is None and key is None:
        if cas is not None:
            raise ListenerConfigError(
                "MSK_TRIAGE_TLS_CA_CERTIFICATES is set but TLS is off: also set "
                "MSK_TRIAGE_TLS_CERTIFICATE and MSK_TRIAGE_TLS_PRIVATE_KEY"
            )
        return None
    if cert is None or key is None:
        raise ListenerConfigError(
            "TLS needs both MSK_TRIAGE_TLS_CERTIFICATE and MSK_TRIAGE_TLS_PRIVATE_KEY"
        )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(certfile=cert, keyfile=key)
    except (OSError, ssl.SSLError) as exc:
        raise ListenerConfigError(
            f"cannot load the TLS certificate {cert} / key {key}: {exc}"
        ) from None
    if cas is not None:
        try:
            context.load_verify_locations(cafile=cas)
        except (OSError, ssl.SSLError) as exc:
            raise ListenerConfigError(f"cannot load the TLS CA certificates {cas}: {exc}") from None
        context.verify_mode = ssl.CERT_REQUIRED
    return context
