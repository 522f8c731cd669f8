"""Precision, recall and F1 of the default pack on whole DVT reports
(``tests/rules/reports``), and how often each flag's certainty, laterality and
measurements are right.

    .venv/bin/python -m bench.rules.reports_eval [--errors]

Every report is built as a real DICOM object, encoded, read back and evaluated, as in
the tests. Per report and finding: an expected finding that is flagged is a true
positive, one that is not a false negative, a flagged finding not expected a false
positive. For each true positive, its certainty, laterality and measurements are
compared with the expected ones. "Exact" counts reports whose whole set of flags is
right in every attribute (what the tests assert).
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rules.api import RuleSet, load_ruleset
from rules.ruleset.vocabulary import FINDING_IDS
from tests.rules.reports.model import CASES_DIR, HELDOUT_DIR, Report, load_reports
from tests.rules.reports.test_reports import Observed, expected, observed, run

V3_DIR = Path(__file__).parent / "data"
"""Holds reports_v3.yaml (the folder's *.jsonl sets are corpus_eval's)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    report: Report
    expected: frozenset[Observed]
    flagged: frozenset[Observed]


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def score(name: str, outcomes: Sequence[Outcome], show_errors: bool) -> dict[str, float]:
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    right = Counter[str]()
    exact = 0
    errors: list[str] = []
    for o in outcomes:
        want = {e[0]: e for e in o.expected}
        got = {g[0]: g for g in o.flagged}
        for finding in want.keys() & got.keys():
            tp[finding] += 1
            w, g = want[finding], got[finding]
            right["certainty"] += w[1] == g[1]
            right["laterality"] += w[2] == g[2]
            right["measurements"] += w[3] == g[3]
        for finding in want.keys() - got.keys():
            fn[finding] += 1
        for finding in got.keys() - want.keys():
            fp[finding] += 1
        if o.expected == o.flagged:
            exact += 1
        else:
            wrong = sorted(o.expected ^ o.flagged, key=str)
            errors.append(
                f"    {o.report.id}: expected {sorted(o.expected - o.flagged, key=str)} "
                f"got {sorted(o.flagged - o.expected, key=str)}"
                if wrong
                else ""
            )
    total_tp = sum(tp.values())
    p, r, f = _prf(total_tp, sum(fp.values()), sum(fn.values()))
    print(
        f"{name}: {len(outcomes)} reports, "
        f"{sum(1 for o in outcomes if not o.expected)} with no flag expected"
    )
    print(
        f"  micro  P {p:.3f}  R {r:.3f}  F1 {f:.3f}  "
        f"(TP {total_tp}, FP {sum(fp.values())}, FN {sum(fn.values())})"
    )
    for finding in FINDING_IDS:
        if tp[finding] or fp[finding] or fn[finding]:
            fp_, rp_, ff_ = _prf(tp[finding], fp[finding], fn[finding])
            print(
                f"  {finding:22s} P {fp_:.3f}  R {rp_:.3f}  F1 {ff_:.3f}  "
                f"(TP {tp[finding]}, FP {fp[finding]}, FN {fn[finding]})"
            )
    if total_tp:
        attributes = ("certainty", "laterality", "measurements")
        print(
            "  of the true positives, right: "
            + ", ".join(f"{k} {right[k]}/{total_tp}" for k in attributes)
        )
    print(f"  reports exactly right (every flag and attribute): {exact}/{len(outcomes)}")
    if show_errors and errors:
        print("  errors:")
        print("\n".join(errors))
    return {"precision": p, "recall": r, "f1": f, "exact": exact / len(outcomes)}


def evaluate_reports(ruleset: RuleSet, folder: Path) -> list[Outcome]:
    return [
        Outcome(r, frozenset(expected(r)), frozenset(observed(run(r, ruleset))))
        for r in load_reports(folder)
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="P/R/F1 of the default pack on whole reports.")
    parser.add_argument("--errors", action="store_true", help="list the reports that are wrong")
    args = parser.parse_args(argv)
    ruleset = load_ruleset()
    print(f"rule set {ruleset.version} ({len(ruleset)} rules)")
    score(
        "whole reports (tests/rules/reports/cases)",
        evaluate_reports(ruleset, CASES_DIR),
        args.errors,
    )
    score(
        "held-out whole reports (tests/rules/reports/heldout)",
        evaluate_reports(ruleset, HELDOUT_DIR),
        args.errors,
    )
    score(
        "third batch, never tuned on (bench/rules/data/reports_v3.yaml)",
        evaluate_reports(ruleset, V3_DIR),
        args.errors,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
