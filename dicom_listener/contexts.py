"""What we accept: the SOP classes and transfer syntaxes of our presentation contexts.

The tables are data, so the conformance statement (docs/conformance.md) and the tests
can be checked against them.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from pydicom.uid import (
    JPEG2000,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEGLSNearLossless,
    RLELossless,
)
from pynetdicom.presentation import PresentationContext, build_context
from pynetdicom.service_class import StorageServiceClass
from pynetdicom.sop_class import register_uid

VERIFICATION = "1.2.840.10008.1.1"

# (UID, name) - the order is the order of docs/conformance.md's table.
STORAGE_SOP_CLASSES: tuple[tuple[str, str], ...] = (
    ("1.2.840.10008.5.1.4.1.1.88.11", "Basic Text SR Storage"),
    ("1.2.840.10008.5.1.4.1.1.88.22", "Enhanced SR Storage"),
    ("1.2.840.10008.5.1.4.1.1.88.33", "Comprehensive SR Storage"),
    ("1.2.840.10008.5.1.4.1.1.88.34", "Comprehensive 3D SR Storage"),
    ("1.2.840.10008.5.1.4.1.1.88.35", "Extensible SR Storage"),
    ("1.2.840.10008.5.1.4.1.1.88.59", "Key Object Selection Document Storage"),
    ("1.2.840.10008.5.1.4.1.1.6.1", "Ultrasound Image Storage"),
    ("1.2.840.10008.5.1.4.1.1.3.1", "Ultrasound Multi-frame Image Storage"),
    ("1.2.840.10008.5.1.4.1.1.6", "Ultrasound Image Storage (Retired)"),
    ("1.2.840.10008.5.1.4.1.1.3", "Ultrasound Multi-frame Image Storage (Retired)"),
    ("1.2.840.10008.5.1.4.1.1.6.2", "Enhanced US Volume Storage"),
    ("1.2.840.10008.5.1.4.1.1.7", "Secondary Capture Image Storage"),
    ("1.2.840.10008.5.1.4.1.1.7.1", "Multi-frame Single Bit Secondary Capture Image Storage"),
    (
        "1.2.840.10008.5.1.4.1.1.7.2",
        "Multi-frame Grayscale Byte Secondary Capture Image Storage",
    ),
    (
        "1.2.840.10008.5.1.4.1.1.7.3",
        "Multi-frame Grayscale Word Secondary Capture Image Storage",
    ),
    (
        "1.2.840.10008.5.1.4.1.1.7.4",
        "Multi-frame True Color Secondary Capture Image Storage",
    ),
    ("1.2.840.10008.5.1.4.1.1.104.1", "Encapsulated PDF Storage"),
    ("1.2.840.10008.5.1.4.1.1.104.2", "Encapsulated CDA Storage"),
)

# pynetdicom negotiates any abstract syntax we list, but serves a request only if it
# knows the UID's service class; for these retired UIDs it would abort the association
# on the first C-STORE, so we register them with the Storage service.
RETIRED_STORAGE_KEYWORDS: dict[str, str] = {
    "1.2.840.10008.5.1.4.1.1.6": "UltrasoundImageStorageRetired",
    "1.2.840.10008.5.1.4.1.1.3": "UltrasoundMultiFrameImageStorageRetired",
}

# (UID, name). When a peer proposes several in one context we take the first one *it*
# proposed that we support (``follow_requestor_order``): senders put the syntax they
# hold the object in first, so it arrives without being transcoded (a sender may be
# unable to decompress, and decompressing a lossy image only makes it bigger). We store
# the bytes as received and never decode pixel data.
TRANSFER_SYNTAXES: tuple[tuple[str, str], ...] = (
    (ExplicitVRLittleEndian, "Explicit VR Little Endian"),
    (ImplicitVRLittleEndian, "Implicit VR Little Endian"),
    (DeflatedExplicitVRLittleEndian, "Deflated Explicit VR Little Endian"),
    (JPEGLosslessSV1, "JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 SV1)"),
    (JPEGLossless, "JPEG Lossless, Non-Hierarchical (Process 14)"),
    (JPEGLSLossless, "JPEG-LS Lossless Image Compression"),
    (JPEG2000Lossless, "JPEG 2000 Image Compression (Lossless Only)"),
    (RLELossless, "RLE Lossless"),
    (ExplicitVRBigEndian, "Explicit VR Big Endian (retired)"),
    (JPEGBaseline8Bit, "JPEG Baseline (Process 1)"),
    (JPEGExtended12Bit, "JPEG Extended (Process 2 & 4)"),
    (JPEGLSNearLossless, "JPEG-LS Lossy (Near-Lossless) Image Compression"),
    (JPEG2000, "JPEG 2000 Image Compression"),
)

# The Verification SOP class has no data set, so the uncompressed syntaxes suffice.
VERIFICATION_TRANSFER_SYNTAXES: tuple[str, ...] = (
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    ExplicitVRBigEndian,
)

_registered = threading.Lock()


def register_retired_classes() -> None:
    """Make pynetdicom serve the retired US classes with the Storage service (idempotent)."""
    from pynetdicom import sop_class

    with _registered:
        for uid, keyword in RETIRED_STORAGE_KEYWORDS.items():
            if getattr(sop_class, keyword, None) is None:
                register_uid(uid, keyword, StorageServiceClass)


def follow_requestor_order(
    requested: Sequence[PresentationContext], supported: Sequence[PresentationContext]
) -> list[PresentationContext]:
    """Our contexts for the abstract syntaxes the requestor proposed, each with its
    transfer syntaxes in the requestor's order (pynetdicom accepts the first of the
    *acceptor's* list that was proposed)."""
    proposed: dict[str, list[str]] = {}
    for cx in requested:
        order = proposed.setdefault(str(cx.abstract_syntax), [])
        order += [str(ts) for ts in cx.transfer_syntax if str(ts) not in order]
    result = []
    for cx in supported:
        theirs = proposed.get(str(cx.abstract_syntax))
        if theirs is None:
            continue  # not proposed: irrelevant to this negotiation
        ours = {str(ts) for ts in cx.transfer_syntax}
        accepted = [ts for ts in theirs if ts in ours]
        result.append(build_context(str(cx.abstract_syntax), accepted or list(ours)))
    return result


def supported_contexts() -> list[PresentationContext]:
    """The presentation contexts our AE accepts, as SCP only."""
    register_retired_classes()
    storage_syntaxes = [uid for uid, _ in TRANSFER_SYNTAXES]
    contexts = [build_context(VERIFICATION, list(VERIFICATION_TRANSFER_SYNTAXES))]
    contexts += [build_context(uid, storage_syntaxes) for uid, _ in STORAGE_SOP_CLASSES]
    return contexts
