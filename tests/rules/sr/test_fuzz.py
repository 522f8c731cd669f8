"""Random corruption of valid files: read_document returns a document or raises
DocumentReadError, nothing else (seeded, so a failure is reproducible)."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from rules.sr import DocumentReadError, SRDocument, build, iter_items, read_document
from tests.rules.sr import samples

_ITEM_TAG = b"\xfe\xff\x00\xe0"
_SQ_VR = b"SQ\x00\x00"


def _bases() -> list[bytes]:
    with_reference = build.diagnostic_report(
        findings=["Cyst."],
        impressions=["See finding."],
    )
    with_reference.ContentSequence[1].ContentSequence[0].ContentSequence = [
        build.reference("1.1.1")
    ]
    return [
        build.to_bytes(build.sr_document(samples.diagnostic_content())),
        build.to_bytes(build.sr_document(samples.vascular_content()), undefined_lengths=True),
        build.to_bytes(
            build.sr_document(samples.measurement_content(), charset="ISO_IR 100"),
            transfer_syntax=build.IMPLICIT_VR_LITTLE_ENDIAN,
        ),
        build.to_bytes(
            build.sr_document(with_reference), transfer_syntax=build.EXPLICIT_VR_BIG_ENDIAN
        ),
        build.to_bytes(
            build.sr_document(samples.diagnostic_content()),
            transfer_syntax=build.DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
        ),
        build.to_bytes(build.us_image(image_comments="Cyst", reason_for_procedure="Pain")),
    ]


def _flip(rng: random.Random, data: bytearray) -> None:
    for _ in range(rng.randint(1, 8)):
        data[rng.randrange(len(data))] = rng.randrange(256)


def _smash_length(rng: random.Random, data: bytearray) -> None:
    """Overwrite the length after a sequence VR or an item tag (the fragile places)."""
    marker = rng.choice([_ITEM_TAG, _SQ_VR])
    spots = [i for i in range(len(data)) if data.startswith(marker, i)]
    if spots:
        at = rng.choice(spots) + 4
        data[at : at + 4] = rng.choice(
            [b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", rng.randbytes(4), b"\x07\x00\x00\x00"]
        )


def _truncate(rng: random.Random, data: bytearray) -> None:
    del data[rng.randrange(len(data)) :]


def _delete(rng: random.Random, data: bytearray) -> None:
    start = rng.randrange(len(data))
    del data[start : start + rng.randint(1, 64)]


def _insert(rng: random.Random, data: bytearray) -> None:
    at = rng.randrange(len(data))
    data[at:at] = rng.randbytes(rng.randint(1, 64))


def _duplicate(rng: random.Random, data: bytearray) -> None:
    start = rng.randrange(len(data))
    chunk = data[start : start + rng.randint(8, 256)]
    at = rng.randrange(len(data))
    data[at:at] = chunk


MUTATIONS: list[Callable[[random.Random, bytearray], None]] = [
    _flip,
    _smash_length,
    _truncate,
    _delete,
    _insert,
    _duplicate,
]


def mutate(rng: random.Random, data: bytearray, times: int) -> None:
    for _ in range(times):
        if len(data) < 2:
            return
        rng.choice(MUTATIONS)(rng, data)


def _check(doc: SRDocument) -> None:
    """The view is usable: walkable, and counted right."""
    walked = sum(1 for _ in iter_items(doc.root))
    assert walked == doc.item_count
    assert all(isinstance(p.reason, str) and p.reason for p in doc.problems)
    for item in iter_items(doc.root, references=True):
        assert item.path.startswith("1")


@pytest.mark.parametrize("seed", range(6))
def test_corrupted_files_never_crash(seed: int) -> None:
    rng = random.Random(seed)
    bases = _bases()
    outcomes = {"document": 0, "refused": 0}
    for _ in range(400):
        data = bytearray(rng.choice(bases))
        mutate(rng, data, rng.randint(1, 3))
        try:
            doc = read_document(bytes(data))
        except DocumentReadError:
            outcomes["refused"] += 1
            continue
        _check(doc)
        outcomes["document"] += 1
    # Most corruptions still leave a readable document.
    assert outcomes["document"] > outcomes["refused"]
