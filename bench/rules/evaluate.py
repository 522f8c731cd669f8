"""Rule evaluation throughput (content tree already read), and what 1,000 rules cost.

    .venv/bin/python -m bench.rules.evaluate [--docs N] [--repeat N] [--cpu K]

Builds a seeded corpus with ``rules.sr.build`` and reads it once with ``read_document``
(not timed): TID 5100 venous duplex reports of ~50 content items (two sides, vessel
groups with velocities, a few sentences of findings, a summary, indications) and TID
2000 reports with several findings/impression sentences. Then, pinned to one core,
CPU time (``time.process_time``), best of ``--repeat`` runs, it times ``evaluate`` —
the context engine included — with:

- the default MSK pack;
- 20 rules (text rules of the default pack) and 1,000 rules (the whole pack plus
  synthetic-but-plausible rules: structure x pathology phrases, near-context and
  exclusions, scopes, coded and measurement rules);
- a naive peer on the same 20 / 1,000 rules: every term variant its own regular
  expression, tried over every text in turn (the "loop of regexes per rule" design),
  with the same context engine on what it finds.

Goals: >= 2,000 documents/s with the default pack; 1,000 rules <= 2x the cost of 20.

Last, one unpunctuated run-on finding text of growing length (many findings, triggers
and sizes in one "sentence"): the CPU time per mention must stay flat (near-linear
near-context, laterality, size and context lookups), not grow with the text.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import time
from collections.abc import Callable, Sequence
from functools import partial

from rules.api import RuleSet, evaluate, load_ruleset
from rules.context.engine import ContextEngine
from rules.engine.compiled import compile_rules
from rules.ruleset.lexical import variants
from rules.ruleset.loader import load_texts
from rules.ruleset.schema import Rule
from rules.ruleset.vocabulary import FINDING_IDS
from rules.sr import build, codes, read_document
from rules.sr.build import VascularSection, Vessel
from rules.sr.model import Code, SRDocument, ValueType

GOAL_DOCS_PER_S = 2_000
GOAL_RATIO = 2.0

_NEGATIVE = (
    "The common femoral, femoral and popliteal veins are fully compressible.",
    "Normal phasic flow with augmentation.",
    "No intraluminal thrombus is seen.",
    "No evidence of deep vein thrombosis in the {side} lower extremity.",
    "The calf veins are patent where visualized.",
    "Subcutaneous edema of the calf.",
    "The great saphenous vein is patent and compressible.",
    "Spontaneous flow in the posterior tibial and peroneal veins.",
)
_MSK = (
    "Incidental {n} cm Baker's cyst in the {side} popliteal fossa.",
    "Small knee joint effusion.",
    "Hypoechoic collection in the medial calf, possibly a hematoma, measuring {n} cm.",
    "No Baker's cyst or joint effusion.",
    "Fluid between the medial gastrocnemius and soleus, consistent with tennis leg.",
    "Ruptured Baker's cyst with fluid dissecting into the calf.",
    "Small left pleural effusion incidentally noted.",
    "Reactive inguinal lymph nodes.",
    "Achilles tendinosis with fusiform thickening.",
    "Cannot exclude a small abscess.",
)
_INDICATIONS = (
    "{Side} calf pain and swelling, ? DVT.",
    "Leg swelling after long-haul flight.",
    "Calf pain; evaluate for DVT vs Baker's cyst.",
)
_VEINS = (
    codes.COMMON_FEMORAL_VEIN,
    codes.FEMORAL_VEIN,
    codes.POPLITEAL_VEIN,
    codes.POSTERIOR_TIBIAL_VEIN,
    codes.GREAT_SAPHENOUS_VEIN,
    Code("71758008", "SCT", "Peroneal Vein"),
    Code("26703007", "SCT", "Anterior Tibial Vein"),
    Code("32764006", "SCT", "Small saphenous vein"),
)


def _sentence(rng: random.Random, bank: Sequence[str], side: str) -> str:
    return rng.choice(bank).format(n=f"{rng.uniform(1, 5):.1f}", side=side, Side=side.capitalize())


def corpus(count: int, seed: int = 7) -> list[SRDocument]:
    """``count`` documents, read once (the timed part starts from the content tree)."""
    rng = random.Random(seed)
    out: list[SRDocument] = []
    for i in range(count):
        side = rng.choice(("left", "right"))
        texts = [_sentence(rng, _NEGATIVE, side) for _ in range(rng.randint(2, 3))]
        if rng.random() < 0.6:
            texts.append(_sentence(rng, _MSK, side))
        if i % 4 == 3:
            content = build.diagnostic_report(
                indications=[_sentence(rng, _INDICATIONS, side)],
                findings=[*texts, *(_sentence(rng, _NEGATIVE, side) for _ in range(3))],
                impressions=[_sentence(rng, _NEGATIVE + _MSK, side)],
            )
        else:
            sections = [
                VascularSection(
                    laterality=s,
                    vessels=tuple(
                        Vessel(
                            vessel=v,
                            velocities=(
                                (codes.PEAK_SYSTOLIC_VELOCITY, rng.uniform(10, 40)),
                                (codes.END_DIASTOLIC_VELOCITY, rng.uniform(2, 10)),
                            ),
                        )
                        for v in _VEINS
                    ),
                    texts=tuple(texts if s == side else texts[:1]),
                )
                for s in ("left", "right")
            ]
            content = build.vascular_report(
                sections,
                summary=[_sentence(rng, _NEGATIVE + _MSK, side)],
                indications=[_sentence(rng, _INDICATIONS, side)],
            )
        out.append(read_document(build.to_bytes(build.sr_document(content))))
    return out


# --- synthetic rules -------------------------------------------------------------------

_STRUCTURES = (
    "medial gastrocnemius", "lateral gastrocnemius", "soleus", "plantaris", "popliteus",
    "semimembranosus", "semitendinosus", "biceps femoris", "gracilis", "sartorius",
    "rectus femoris", "vastus medialis", "vastus lateralis", "vastus intermedius",
    "adductor longus", "adductor magnus", "iliopsoas", "gluteus medius", "gluteus minimus",
    "tensor fasciae latae", "tibialis anterior", "tibialis posterior", "peroneus longus",
    "peroneus brevis", "flexor hallucis longus", "flexor digitorum longus",
    "extensor hallucis longus", "extensor digitorum longus", "Achilles", "patellar",
    "quadriceps", "plantar fascia", "iliotibial band", "pes anserine", "prepatellar",
    "infrapatellar", "retrocalcaneal", "olecranon", "trochanteric", "subacromial",
    "first metatarsophalangeal", "talonavicular", "subtalar", "tibiotalar", "sinus tarsi",
    "tarsal tunnel", "Hoffa fat pad", "lateral collateral", "medial collateral", "hamstring",
)  # fmt: skip
_PATHOLOGIES = (
    "tear", "partial tear", "complete tear", "strain", "rupture", "tendinosis",
    "tendinopathy", "thickening", "calcification", "bursitis", "effusion", "cyst",
    "ganglion", "hematoma", "collection", "lesion", "nodule", "mass", "enthesopathy",
    "tenosynovitis", "synovitis", "fluid", "defect", "herniation", "avulsion",
)  # fmt: skip
_NEAR = ("muscle", "tendon", "bursa", "joint", "insertion", "origin", "sheath", "recess")
_EXCLUDE = ("vein", "thrombus", "artery", "normal", "intact", "pleural", "lymph node")


def synthetic_rules(count: int, seed: int = 11) -> str:
    """``count`` plausible rules as one YAML rule file (validated like any other)."""
    rng = random.Random(seed)
    lines = ["rules:"]
    for i in range(count):
        structure = rng.choice(_STRUCTURES)
        pathology = rng.choice(_PATHOLOGIES)
        other = rng.choice(_PATHOLOGIES)
        lines += [
            f"  - id: syn.{i:04d}",
            "    version: 1",
            f"    finding: {rng.choice(FINDING_IDS)}",
        ]
        if i % 7 == 0:
            lines += ["    scope:", '      study_descriptions: ["US *"]']
        lines += [
            "    match:",
            "      terms:",
            f'        - "{structure} {pathology}"',
            f'        - "{pathology} of the {structure}"',
            f'        - "{structure} {other}"',
        ]
        if i % 3 == 0:
            lines += [
                "      near:",
                f"        terms: [{rng.choice(_NEAR)}, {rng.choice(_NEAR)}]",
                "        within: 6",
            ]
        if i % 2 == 0:
            lines += [
                "      exclude:",
                f"        - phrases: [{rng.choice(_EXCLUDE)}]",
                "          within: 3",
            ]
        if i % 10 == 0:
            lines += [
                "      coded:",
                f'        findings: ["SCT:{1000000 + i}"]',
                '        sites: ["SCT:32361000"]',
            ]
        if i % 25 == 0:
            lines += [
                "      measurements:",
                f'        concepts: ["SCT:{2000000 + i}"]',
                '        comparator: ">"',
                "        threshold: 5",
                "        unit: mm",
            ]
    return "\n".join(lines) + "\n"


def _yaml_rule(rule: Rule) -> str:
    """One pack rule back as YAML (JSON is YAML), for mixing with synthetic ones."""
    return "  - " + rule.model_dump_json(exclude_defaults=True)


def rule_sets(pack: RuleSet) -> tuple[RuleSet, RuleSet]:
    text_rules = [r for r in pack.rules if r.match.terms][:20]
    twenty = "rules:\n" + "\n".join(_yaml_rule(r) for r in text_rules) + "\n"
    extra = 1000 - len(pack.rules)
    everything = "rules:\n" + "\n".join(_yaml_rule(r) for r in pack.rules) + "\n"
    synthetic = synthetic_rules(extra)
    small = compile_rules(load_texts([("twenty.yaml", twenty)]))
    large = compile_rules(load_texts([("pack.yaml", everything), ("syn.yaml", synthetic)]))
    assert len(small) == 20, len(small)
    assert len(large) == 1000, len(large)
    return small, large


# --- the naive peer ----------------------------------------------------------------------


class NaivePeer:
    """A regex per term variant per rule, every text tried against every one; what it
    finds is sent to the same context engine (one scan per sentence)."""

    def __init__(self, ruleset: RuleSet, engine: ContextEngine) -> None:
        self.engine = engine
        self.patterns: list[tuple[str, re.Pattern[str]]] = []
        for rule in ruleset.rules:
            for term in rule.match.terms:
                for v in variants(term.text, plural=term.plural):
                    body = r"[\s\-]+".join(re.escape(t) for t in v)
                    self.patterns.append((rule.finding, re.compile(rf"\b{body}\b", re.I)))

    def __call__(self, doc: SRDocument) -> set[str]:
        found: set[str] = set()
        stack = [doc.root] if doc.root is not None else []
        while stack:
            item = stack.pop()
            stack.extend(item.children)
            if item.value_type is not ValueType.TEXT or not item.text:
                continue
            text = item.text.replace("'", "")
            for finding, pattern in self.patterns:
                m = pattern.search(text)
                if m is None:
                    continue
                for start, end in self.engine.split_sentences(text):
                    if start <= m.start() < end:
                        result = self.engine.scan(text[start:end]).context(
                            (m.start() - start, m.end() - start)
                        )
                        if result.is_finding:
                            found.add(finding)
        return found


# --- run-on text ---------------------------------------------------------------------------

_RUN_ON = (
    "no thrombus no Baker's cyst there is a small knee joint effusion with fluid between the "
    "medial gastrocnemius and soleus and a left calf hematoma measuring 2 cm possible abscess "
)


def run_on(units: int) -> SRDocument:
    """One findings TEXT item: ``units`` copies of a clause-joined run-on, no full stop."""
    content = build.diagnostic_report(findings=[_RUN_ON * units])
    return read_document(build.to_bytes(build.sr_document(content)))


# --- timing ------------------------------------------------------------------------------


def best_cpu(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Rule evaluation throughput.")
    parser.add_argument("--docs", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--cpu", type=int, default=None, help="core to pin to (default: last)")
    args = parser.parse_args(argv)
    cpu = args.cpu if args.cpu is not None else max(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})

    docs = corpus(args.docs)
    items = sum(d.item_count for d in docs)
    engine = ContextEngine.default()
    started = time.process_time()
    pack = load_ruleset()
    pack_s = time.process_time() - started
    small, large = rule_sets(pack)
    started = time.process_time()
    compile_rules(load_texts([("syn.yaml", synthetic_rules(1000))]))
    compile_1000_s = time.process_time() - started

    def run(ruleset: RuleSet) -> Callable[[], object]:
        return lambda: [evaluate(d, ruleset, engine) for d in docs]

    for ruleset in (pack, small, large):  # warm caches (lexicon, lru caches)
        run(ruleset)()
    pack_t = best_cpu(run(pack), args.repeat)
    small_t = best_cpu(run(small), args.repeat)
    large_t = best_cpu(run(large), args.repeat)
    naive_small, naive_large = NaivePeer(small, engine), NaivePeer(large, engine)
    naive_small_t = best_cpu(lambda: [naive_small(d) for d in docs], max(1, args.repeat // 2))
    naive_large_t = best_cpu(lambda: [naive_large(d) for d in docs], 1)

    flagged = sum(1 for d in docs if evaluate(d, pack, engine).flags)
    load = os.getloadavg()
    n = len(docs)
    print(
        f"workload: {n} documents, {items} content items ({items / n:.0f}/doc), {flagged} flagged"
    )
    print(f"pinned to cpu {cpu}; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"default pack: {len(pack)} rules, loaded+compiled in {pack_s:.3f} s CPU")
    print(f"1,000 synthetic rules compiled in {compile_1000_s:.3f} s CPU")
    print("evaluate (content tree already read, context engine included), CPU time:")
    print(f"  default pack ({len(pack):4d} rules) : {n / pack_t:8.0f} docs/s")
    print(f"  20 rules               : {n / small_t:8.0f} docs/s")
    print(f"  1,000 rules            : {n / large_t:8.0f} docs/s")
    print(f"  cost 1,000 / 20 rules  : {large_t / small_t:8.2f}x  (goal <= {GOAL_RATIO:.1f}x)")
    print("naive peer (regex per term variant per rule):")
    print(f"  20 rules               : {n / naive_small_t:8.0f} docs/s")
    print(f"  1,000 rules            : {n / naive_large_t:8.0f} docs/s")
    print(f"  cost 1,000 / 20 rules  : {naive_large_t / naive_small_t:8.2f}x")
    print(f"ours vs peer at 1,000 rules: {naive_large_t / large_t:.1f}x faster")
    print(f"goal: >= {GOAL_DOCS_PER_S} docs/s on one core")
    print("one run-on sentence of growing length (default pack), CPU time per mention:")
    per_mention: list[float] = []
    for units in (100, 400, 1600):
        doc = run_on(units)
        mentions = len(evaluate(doc, pack, engine).candidates)
        seconds = best_cpu(partial(evaluate, doc, pack, engine), 3)
        per_mention.append(seconds / mentions)
        print(
            f"  {len(_RUN_ON) * units:7d} chars, {mentions:5d} mentions: "
            f"{seconds * 1000:7.1f} ms, {seconds / mentions * 1e6:6.1f} us/mention"
        )
    print(f"  per-mention cost, longest / shortest: {per_mention[-1] / per_mention[0]:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
