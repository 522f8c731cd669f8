"""SR reading throughput: bytes -> content tree, with a naive pydicom peer in the same run.

    .venv/bin/python -m bench.rules.read [--files N] [--distinct N] [--large N] [--repeat N]
                                         [--cpu K]

Builds a corpus in memory with ``rules.sr.build`` (seeded): N TID 5100 venous duplex
reports of ~50 content items (half written with defined lengths, half with undefined
lengths and delimiters, as modalities differ), plus larger TID 2000 / TID 1500 reports.
pydicom's writer is slow (~25 ms a report), so ``--distinct`` different reports are
built and cycled to make up N files; neither reader keeps anything between files that
would make a repeat cheaper (ours caches decoded codes, which repeat across real
reports of one template anyway).
Pins the process to one core and measures CPU time (``time.process_time``), best of
``--repeat`` runs, for:

- ours: ``read_document(bytes)``, the whole immutable view (header, tree, roles,
  inherited laterality and sites, references);
- peer: ``pydicom.dcmread`` plus the usual attribute walk over the content tree
  (``item.ConceptNameCodeSequence[0].CodeValue`` ...), collecting the same values
  (value type, relationship, concept, text, coded value, number and unit) but none of
  the derived context;
- ``dcmread`` alone, for scale.

Goal: at least 30,000 content items/s for ours.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pydicom
from pydicom.dataset import Dataset

from rules.sr import build, codes, read_document
from rules.sr.build import MeasurementGroup, VascularSection, Vessel
from rules.sr.model import Code
from rules.sr.vocab import Presence

GOAL_ITEMS_PER_S = 30_000

_VEINS = (
    codes.COMMON_FEMORAL_VEIN,
    codes.FEMORAL_VEIN,
    codes.POPLITEAL_VEIN,
    codes.POSTERIOR_TIBIAL_VEIN,
    codes.GREAT_SAPHENOUS_VEIN,
    Code("71758008", "SCT", "Peroneal Vein"),
)
_TEXTS = (
    "Veins are compressible with normal phasic flow.",
    "No intraluminal thrombus.",
    "Incidental {n} cm Baker's cyst in the popliteal fossa.",
    "Small knee joint effusion.",
    "Subcutaneous edema of the calf.",
    "No evidence of deep vein thrombosis.",
    "Hypoechoic collection, possibly a hematoma, measuring {n} cm.",
)
_FINDINGS = (codes.CYST, codes.EFFUSION, codes.HEMATOMA, codes.ABSCESS)
_SITES = (codes.POPLITEAL_FOSSA, codes.KNEE_JOINT, Code("68367000", "SCT", "Thigh"))


@dataclass(frozen=True, slots=True)
class Corpus:
    name: str
    files: tuple[bytes, ...]
    items: int  # content items per pass, as read_document counts them


def _text(rng: random.Random) -> str:
    return rng.choice(_TEXTS).format(n=f"{rng.uniform(0.5, 6):.1f}")


def vascular(rng: random.Random) -> Dataset:
    sections = []
    for side in ("right", "left"):
        vessels = tuple(
            Vessel(
                vein,
                (
                    (codes.PEAK_SYSTOLIC_VELOCITY, round(rng.uniform(10, 60), 1)),
                    (codes.END_DIASTOLIC_VELOCITY, round(rng.uniform(2, 15), 1)),
                ),
            )
            for vein in rng.sample(_VEINS, 5)
        )
        coded: tuple[Dataset, ...] = ()
        if rng.random() < 0.3:
            coded = (
                build.coded_finding(
                    rng.choice(_FINDINGS),
                    site=rng.choice(_SITES),
                    presence=rng.choice((Presence.PRESENT, Presence.ABSENT)),
                ),
            )
        texts = tuple(_text(rng) for _ in range(rng.randint(1, 3)))
        sections.append(VascularSection(side, vessels=vessels, texts=texts, coded=coded))
    content = build.vascular_report(
        sections, summary=[_text(rng)], indications=["Calf swelling, rule out DVT."]
    )
    return build.sr_document(content)


def diagnostic(rng: random.Random, findings: int) -> Dataset:
    coded = [
        build.coded_finding(rng.choice(_FINDINGS), site=rng.choice(_SITES), laterality="left")
        for _ in range(findings // 4)
    ]
    content = build.diagnostic_report(
        indications=[_text(rng) for _ in range(findings // 10)],
        findings=[_text(rng) for _ in range(findings)],
        coded_findings=coded,
        impressions=[_text(rng) for _ in range(findings // 5)],
        comments=[_text(rng)],
    )
    return build.sr_document(content)


def measurements(rng: random.Random, groups: int) -> Dataset:
    content = build.measurement_report(
        [
            MeasurementGroup(
                f"finding-{i}",
                rng.choice(_FINDINGS),
                site=rng.choice(_SITES),
                laterality=rng.choice(("left", "right")),
                measurements=tuple(
                    (codes.LENGTH, round(rng.uniform(0.5, 8), 2), codes.CM) for _ in range(3)
                ),
                tracking_uid=f"1.2.826.0.1.3680043.10.1447.9.{i}",
            )
            for i in range(groups)
        ]
    )
    return build.sr_document(content)


def _cycle(distinct: list[bytes], count: int) -> tuple[bytes, ...]:
    return tuple(distinct[i % len(distinct)] for i in range(count))


def corpora(files: int, distinct: int, large: int, seed: int = 11) -> list[Corpus]:
    rng = random.Random(seed)
    half = max(1, min(distinct, files) // 2)
    defined = _cycle([build.to_bytes(vascular(rng)) for _ in range(half)], files // 2)
    undefined = _cycle(
        [build.to_bytes(vascular(rng), undefined_lengths=True) for _ in range(half)],
        files - files // 2,
    )
    big = tuple(
        build.to_bytes(
            diagnostic(rng, 300) if i % 2 else measurements(rng, 120),
            undefined_lengths=bool(i % 3 == 0),
        )
        for i in range(large)
    )
    out = []
    for name, data in (
        ("TID 5100 ~50 items, defined lengths", defined),
        ("TID 5100 ~50 items, undefined lengths", undefined),
        ("TID 2000/1500 ~800 items, mixed", big),
    ):
        if data:
            out.append(Corpus(name, data, sum(read_document(d).item_count for d in data)))
    return out


def naive_walk(data: bytes) -> int:
    """The peer: dcmread, then the attribute walk most SR code does."""
    ds = pydicom.dcmread(io.BytesIO(data))
    values: list[tuple[object, ...]] = []
    stack: list[Dataset] = list(ds.get("ContentSequence", []))
    while stack:
        item = stack.pop()
        concept = item.ConceptNameCodeSequence[0] if "ConceptNameCodeSequence" in item else None
        row: tuple[object, ...] = (
            item.get("ValueType"),
            item.get("RelationshipType"),
            (concept.CodeValue, concept.CodingSchemeDesignator, concept.CodeMeaning)
            if concept is not None
            else None,
        )
        if "TextValue" in item:
            row += (item.TextValue,)
        if "ConceptCodeSequence" in item:
            value = item.ConceptCodeSequence[0]
            row += (value.CodeValue, value.CodingSchemeDesignator, value.CodeMeaning)
        if "MeasuredValueSequence" in item and item.MeasuredValueSequence:
            measured = item.MeasuredValueSequence[0]
            unit = measured.MeasurementUnitsCodeSequence[0]
            row += (float(measured.NumericValue), unit.CodeValue)
        values.append(row)
        stack.extend(item.get("ContentSequence", []))
    return len(values) + 1  # + the root, as read_document counts it


def ours(data: bytes) -> int:
    return read_document(data).item_count


def dcmread_only(data: bytes) -> int:
    pydicom.dcmread(io.BytesIO(data))
    return 0


def best_cpu(run: Callable[[bytes], int], files: Sequence[bytes], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        for data in files:
            run(data)
        best = min(best, time.process_time() - start)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="SR reading throughput vs a naive peer.")
    parser.add_argument("--files", type=int, default=2000, help="~50-item vascular SRs")
    parser.add_argument("--distinct", type=int, default=250, help="different reports built")
    parser.add_argument("--large", type=int, default=40, help="~800-item reports")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cpu", type=int, default=None, help="core to pin to (default: last)")
    args = parser.parse_args(argv)

    cpu = args.cpu if args.cpu is not None else sorted(os.sched_getaffinity(0))[-1]
    os.sched_setaffinity(0, {cpu})
    started = time.perf_counter()
    sets = corpora(args.files, args.distinct, args.large)
    print(f"corpus built in {time.perf_counter() - started:.1f} s; pinned to CPU {cpu}")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    # Sanity: the peer sees the same number of items as we do.
    for corpus in sets:
        for data in set(corpus.files):
            if naive_walk(data) != ours(data):
                raise SystemExit(f"{corpus.name}: the peer counts items differently")

    print(
        f"\n{'corpus':40} {'files':>6} {'items':>7}  {'ours items/s':>13} {'files/s':>8}"
        f"  {'peer items/s':>13} {'files/s':>8}  {'ratio':>6}  {'dcmread files/s':>15}"
    )
    total_files = total_items = 0
    total_ours = total_peer = 0.0
    for corpus in sets:
        ours_s = best_cpu(ours, corpus.files, args.repeat)
        peer_s = best_cpu(naive_walk, corpus.files, args.repeat)
        read_s = best_cpu(dcmread_only, corpus.files, args.repeat)
        n = len(corpus.files)
        print(
            f"{corpus.name:40} {n:6d} {corpus.items:7d}  {corpus.items / ours_s:13,.0f}"
            f" {n / ours_s:8,.0f}  {corpus.items / peer_s:13,.0f} {n / peer_s:8,.0f}"
            f"  {peer_s / ours_s:5.1f}x  {n / read_s:15,.0f}"
        )
        total_files += n
        total_items += corpus.items
        total_ours += ours_s
        total_peer += peer_s
    rate = total_items / total_ours
    print(
        f"{'all':40} {total_files:6d} {total_items:7d}  {rate:13,.0f}"
        f" {total_files / total_ours:8,.0f}  {total_items / total_peer:13,.0f}"
        f" {total_files / total_peer:8,.0f}  {total_peer / total_ours:5.1f}x"
    )
    verdict = "met" if rate >= GOAL_ITEMS_PER_S else "NOT met"
    print(f"\ngoal >= {GOAL_ITEMS_PER_S:,} items/s on one core: {verdict} ({rate:,.0f})")
    return 0 if rate >= GOAL_ITEMS_PER_S else 1


if __name__ == "__main__":
    raise SystemExit(main())
