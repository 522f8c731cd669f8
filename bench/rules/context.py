"""Context-engine throughput, with a naive NegEx-style peer in the same run.

    .venv/bin/python -m bench.rules.context [--repeat N] [--cpu K] [--kit FILE]

Pins the process to one core and measures CPU time (``time.process_time``), best of N
runs. The workload is a deterministic mix of ultrasound/MSK report sentences with one
to three target mentions each, plus the NegEx kit's sentences when the kit is present
(``/work/shared/benchmarks/negex``; skipped with a note otherwise). Each sentence is
scanned once and every mention in it is asked about, which is how the rule engine
calls us; ``analyze`` (a fresh scan per mention) is timed too.

The peer is the classic NegEx implementation strategy (GenNegEx, negex.py): the same
lexicon phrases, each compiled to its own regular expression and tried over the
sentence in turn (longest first), then the same forward/backward scope walk. It
checks that the combined token trie is what makes us fast, not a smaller lexicon.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import time
from collections.abc import Callable, Container, Mapping, Sequence
from pathlib import Path

from bench.rules.negex import DEFAULT_KIT, read_kit, target_span
from rules.context import ContextEngine, find_all
from rules.context.lexicon import Direction, TriggerCategory, TriggerGroup
from rules.context.tokens import DATE_CLASS, class_name

Mention = tuple[int, int]
Item = tuple[str, tuple[Mention, ...]]

_FINDINGS = (
    "Baker's cyst",
    "popliteal cyst",
    "joint effusion",
    "knee effusion",
    "hematoma",
    "abscess",
    "lipoma",
    "soft tissue mass",
    "tendon tear",
    "Achilles tendinosis",
    "gastrocnemius tear",
    "bursitis",
    "synovitis",
    "tophus",
    "foreign body",
    "DVT",
    "thrombus",
)
_TEMPLATES = (
    "No {a}.",
    "No {a}, {b} or {c}.",
    "No evidence of {a} in the {side} lower extremity; however, there is a {size} {b}.",
    "{Size} {a} measuring {n} x {m} cm in the {side} popliteal fossa.",
    "FINDINGS: No {a}. {B} measuring {n} cm.",
    "1. No {a}. 2. {B}. 3. {C}.",
    "The previously noted {a} is no longer visualized.",
    "Cannot exclude a small {a}.",
    "Calf swelling; evaluate for {a} vs {b}.",
    "Remote history of {a}, now with calf pain and {b}.",
    "No change in the size of the {a} compared with the prior exam.",
    "The {a} is not a {b}.",
    "Complex fluid collection with internal debris, likely {a}, no {b}.",
    "Compressible veins without {a}; incidental {b} measuring {n} cm.",
    "{A} is unchanged, again seen in the {side} calf.",
    "Possible {a} adjacent to the medial head of the gastrocnemius muscle.",
    "Status post arthroscopy with {a}, no {b}.",
    "Recommend MRI to evaluate for {a} if symptoms persist.",
    "Mother has {a}.",
    "Normal flow and compressibility of the common femoral, femoral and popliteal veins, "
    "with no intraluminal {a}; a {size} {b} extends into the calf.",
    "NO {A}. {B} AND {C} ARE NOT SEEN.",
    "{A} has resolved, but a {size} {b} persists.",
)


def msk_items(count: int, seed: int = 7) -> list[Item]:
    """Report-style sentences and the spans of their finding mentions."""
    rng = random.Random(seed)
    items: list[Item] = []
    for _ in range(count):
        template = rng.choice(_TEMPLATES)
        a, b, c = rng.sample(_FINDINGS, 3)
        size = rng.choice(("small", "moderate", "large", "tiny"))
        sentence = template.format(
            a=a,
            b=b,
            c=c,
            A=a[0].upper() + a[1:] if "NO {A}" not in template else a.upper(),
            B=b[0].upper() + b[1:] if "NO {A}" not in template else b.upper(),
            C=c[0].upper() + c[1:] if "NO {A}" not in template else c.upper(),
            side=rng.choice(("left", "right")),
            size=size,
            Size=size.capitalize(),
            n=f"{rng.uniform(0.5, 6):.1f}",
            m=f"{rng.uniform(0.5, 4):.1f}",
        )
        mentions: list[Mention] = []
        for finding in {a, b, c}:
            spans = find_all(sentence, finding)
            if spans:
                mentions.append(spans[0])
        if mentions:
            items.append((sentence, tuple(sorted(mentions))))
    return items


def kit_items(path: Path) -> list[Item]:
    return [(row.sentence, (span,)) for row in read_kit(path) if (span := target_span(row))]


class NaiveNegEx:
    """Per-trigger regular expressions tried one after another (the NegEx way)."""

    def __init__(self, engine: ContextEngine) -> None:
        lexicon = engine.lexicon
        rules: list[tuple[int, re.Pattern[str], int]] = []
        for tokens, g in lexicon.entries:
            body = r"\s*".join(_token_pattern(t, lexicon.classes) for t in tokens)
            rules.append((len(" ".join(tokens)), re.compile(rf"(?<!\w){body}(?!\w)", re.I), g))
        rules.sort(key=lambda r: -r[0])
        self._rules = [(pattern, g) for _, pattern, g in rules]
        self._groups = lexicon.groups

    def triggers(self, sentence: str) -> list[tuple[int, int, int]]:
        taken: list[tuple[int, int, int]] = []
        for pattern, g in self._rules:
            for m in pattern.finditer(sentence):
                s, e = m.span()
                if all(e <= ts or s >= te for ts, te, _ in taken):
                    taken.append((s, e, g))
        taken.sort()
        return taken

    def negated(self, triggers: list[tuple[int, int, int]], t: Mention) -> bool:
        negated = False
        for s, e, g in triggers:
            group = self._groups[g]
            if group.category is not TriggerCategory.NEGATION:
                continue
            if e <= t[0] and group.direction is not Direction.BACKWARD:
                between = triggers_between(triggers, e, t[0], self._groups)
                negated = negated or not between
            elif s >= t[1] and group.direction is not Direction.FORWARD:
                between = triggers_between(triggers, t[1], s, self._groups)
                negated = negated or not between
        return negated


def _token_pattern(token: str, classes: Mapping[str, Container[str]]) -> str:
    """A phrase token as a regex: a word class (``<name>``) becomes an alternation, the
    built-in date class a date pattern, so the peer matches what the engine matches."""
    name = class_name(token)
    if name is None:
        return re.escape(token)
    if name == DATE_CLASS:
        return r"(?:(?:19|20)\d\d|\d{1,4}[/.-]\d{1,2}(?:[/.-]\d{2,4})?)"
    members = classes[name]
    assert isinstance(members, frozenset)
    return "(?:" + "|".join(re.escape(w) for w in sorted(members, key=len, reverse=True)) + ")"


def triggers_between(
    triggers: list[tuple[int, int, int]], lo: int, hi: int, groups: Sequence[TriggerGroup]
) -> bool:
    """True if a termination lies between ``lo`` and ``hi`` (the scope is cut)."""
    return any(
        lo <= s and e <= hi and groups[g].category is TriggerCategory.TERMINATION
        for s, e, g in triggers
    )


def best_cpu(run: Callable[[], int], repeat: int) -> tuple[float, int]:
    best = float("inf")
    done = 0
    for _ in range(repeat):
        start = time.process_time()
        done = run()
        best = min(best, time.process_time() - start)
    return best, done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Context engine throughput vs a naive peer.")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--cpu", type=int, default=None, help="core to pin to (default: last)")
    parser.add_argument("--msk", type=int, default=4000, help="generated MSK sentences")
    parser.add_argument("--kit", type=Path, default=DEFAULT_KIT)
    args = parser.parse_args(argv)

    cpus = sorted(os.sched_getaffinity(0))
    cpu = args.cpu if args.cpu is not None else cpus[-1]
    os.sched_setaffinity(0, {cpu})

    started = time.process_time()
    engine = ContextEngine.default()
    compile_s = time.process_time() - started
    items = msk_items(args.msk)
    if args.kit.is_file():
        items += kit_items(args.kit)
        source = f"{args.msk} generated MSK sentences + NegEx kit sentences"
    else:
        source = f"{args.msk} generated MSK sentences (NegEx kit not found at {args.kit})"
    mentions = sum(len(m) for _, m in items)

    def ours_scan() -> int:
        n = 0
        for sentence, targets in items:
            scan = engine.scan(sentence)
            for t in targets:
                scan.context(t)
                n += 1
        return n

    def ours_analyze() -> int:
        n = 0
        for sentence, targets in items:
            for t in targets:
                engine.analyze(sentence, t)
                n += 1
        return n

    peer = NaiveNegEx(engine)

    def naive() -> int:
        n = 0
        for sentence, targets in items:
            found = peer.triggers(sentence)
            for t in targets:
                peer.negated(found, t)
                n += 1
        return n

    load = os.getloadavg()
    print(f"workload: {len(items)} sentences, {mentions} mentions ({source})")
    print(f"pinned to cpu {cpu}; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"lexicon: {len(engine.lexicon.entries)} phrase variants, compiled in {compile_s:.3f} s")
    scan_s, _ = best_cpu(ours_scan, args.repeat)
    analyze_s, _ = best_cpu(ours_analyze, args.repeat)
    peer_repeat = max(1, args.repeat // 2)
    naive_s, _ = best_cpu(naive, peer_repeat)
    print(f"  scan once + context per mention : {mentions / scan_s:10.0f} mentions/s")
    print(f"  analyze per mention             : {mentions / analyze_s:10.0f} mentions/s")
    print(f"  naive per-trigger regex peer    : {mentions / naive_s:10.0f} mentions/s")
    print(
        f"ratio ours/peer: {naive_s / scan_s:.1f}x (scan), {naive_s / analyze_s:.1f}x (analyze); "
        f"best CPU time of {args.repeat} (peer {peer_repeat}) runs"
    )
    print("goal: >= 20000 mentions/s on one core")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
