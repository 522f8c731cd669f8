"""Precision, recall and F1 of the default pack: on the project's own labelled corpus
(``tests/rules/corpus/cases``) and on the shared development set.

    .venv/bin/python -m bench.rules.corpus_eval [--dev FILE] [--errors]

Two more sets in the dev-set format live in ``bench/rules/data``: ``heldout_v1`` was
written after the pack and the corpus and measured once untouched (P 0.974, R 0.927,
F1 0.950), then its four errors were fixed, so it is now tuning data; ``heldout_v2`` was
written after those fixes and is not used to tune anything: its figures are the honest
estimate.

Every case is built as a real DICOM object, encoded, read back and evaluated, as in the
tests. Scoring per case: a finding in ``labels`` (``expect``) that is flagged is a true
positive, one that is not is a false negative; a flagged finding outside ``labels`` and
``also_ok`` is a false positive (``also_ok`` findings may be flagged or not). Micro
figures pool all findings; per-finding figures follow.

The dev set lives outside the repository (``../shared/corpus``); only this bench reads it.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydicom.dataset import Dataset

from rules.api import RuleSet, evaluate, load_ruleset
from rules.ruleset.vocabulary import FINDING_IDS
from rules.sr import build
from rules.sr.model import Code
from rules.sr.reader import read_document
from rules.sr.vocab import Presence
from tests.rules.corpus.cases_model import dataset
from tests.rules.corpus.test_corpus import load_cases

DEFAULT_DEV = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "dev_msk.jsonl"
DATA = Path(__file__).parent / "data"


@dataclass(frozen=True, slots=True)
class Scored:
    id: str
    labels: frozenset[str]
    also_ok: frozenset[str]
    flagged: frozenset[str]
    text: str


def _flagged(ds: Dataset, ruleset: RuleSet) -> frozenset[str]:
    doc = read_document(build.to_bytes(ds))
    return frozenset(f.finding for f in evaluate(doc, ruleset).flags)


def own_corpus(ruleset: RuleSet) -> list[Scored]:
    return [
        Scored(
            c.id,
            frozenset(c.expect),
            frozenset(),
            _flagged(dataset(c), ruleset),
            c.text or c.image_comments or str(c.sections or c.coded or c.groups),
        )
        for c in load_cases()
    ]


def _dev_dataset(case: dict[str, object]) -> Dataset:
    if "coded" in case:
        coded = case["coded"]
        assert isinstance(coded, dict)

        def code(key: str) -> Code | None:
            raw = coded.get(key)
            return Code(*raw) if isinstance(raw, list) else None

        finding = code("finding")
        assert finding is not None
        presence = coded.get("presence")
        item = build.coded_finding(
            finding,
            site=code("site"),
            presence=Presence(presence) if isinstance(presence, str) else None,
        )
        return build.sr_document(build.diagnostic_report(coded_findings=[item]))
    section, text = case["section"], case["text"]
    assert isinstance(section, str)
    assert isinstance(text, str)
    key = {
        "findings": "findings",
        "impression": "impressions",
        "comment": "comments",
        "indication": "indications",
        "history": "history",
        "recommendation": "recommendations",
    }[section]
    return build.sr_document(build.diagnostic_report(**{key: [text]}))  # type: ignore[arg-type]


def dev_corpus(path: Path, ruleset: RuleSet) -> list[Scored]:
    out: list[Scored] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        case = json.loads(line)
        out.append(
            Scored(
                case["id"],
                frozenset(case["labels"]),
                frozenset(case.get("also_ok", [])),
                _flagged(_dev_dataset(case), ruleset),
                case.get("text") or json.dumps(case.get("coded")),
            )
        )
    return out


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def report(name: str, scored: Sequence[Scored], show_errors: bool) -> None:
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    errors: list[str] = []
    for s in scored:
        for hit in s.labels & s.flagged:
            tp[hit] += 1
        for miss in s.labels - s.flagged:
            fn[miss] += 1
        for false in s.flagged - s.labels - s.also_ok:
            fp[false] += 1
        if s.labels - s.flagged or s.flagged - s.labels - s.also_ok:
            missed = sorted(s.labels - s.flagged)
            extra = sorted(s.flagged - s.labels - s.also_ok)
            errors.append(f"    {s.id}: missed {missed} false {extra}: {s.text}")
    p, r, f = _prf(sum(tp.values()), sum(fp.values()), sum(fn.values()))
    print(f"{name}: {len(scored)} cases, {sum(1 for s in scored if not s.labels)} with no label")
    print(
        f"  micro  P {p:.3f}  R {r:.3f}  F1 {f:.3f}  "
        f"(TP {sum(tp.values())}, FP {sum(fp.values())}, FN {sum(fn.values())})"
    )
    for finding in _present(FINDING_IDS, tp, fp, fn):
        fp_, rp_, ff_ = _prf(tp[finding], fp[finding], fn[finding])
        print(
            f"  {finding:22s} P {fp_:.3f}  R {rp_:.3f}  F1 {ff_:.3f}  "
            f"(TP {tp[finding]}, FP {fp[finding]}, FN {fn[finding]})"
        )
    if show_errors and errors:
        print("  errors:")
        print("\n".join(errors))


def _present(ids: Iterable[str], *counters: Counter[str]) -> list[str]:
    return [i for i in ids if any(c[i] for c in counters)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="P/R/F1 of the default rule pack.")
    parser.add_argument("--dev", type=Path, default=DEFAULT_DEV)
    parser.add_argument("--errors", action="store_true", help="list the misclassified cases")
    args = parser.parse_args(argv)
    ruleset = load_ruleset()
    print(f"rule set {ruleset.version} ({len(ruleset)} rules)")
    report("own corpus (tests/rules/corpus)", own_corpus(ruleset), args.errors)
    if args.dev.exists():
        report(f"dev set ({args.dev.name})", dev_corpus(args.dev, ruleset), args.errors)
    else:
        print(f"dev set not found at {args.dev}; skipped")
    for name, label in (("heldout_v1", "tuned on"), ("heldout_v2", "never tuned on")):
        report(f"{name} ({label})", dev_corpus(DATA / f"{name}.jsonl", ruleset), args.errors)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
