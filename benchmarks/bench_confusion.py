"""Package-confusion audit: precision and recall on the labelled set the tests build.

    ./run bench confusion

Runs the scoring core (tmr.confusion) over tests/confusion_cases.py: popular Hugging Face names,
generated look-alikes per category (some with scripted download traffic) and hard negatives
(siblings, other sizes, same-organisation versions). A look-alike counts as found when it is
flagged as imitating the name it was made from; any flagged negative is a false positive.
Prints precision and recall overall and per category; writes bench-results/confusion.json.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path

from common import ROOT
from tests.confusion_cases import build_cases

from tmr.confusion import scoring


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results" / "confusion.json")
    parser.add_argument("--threshold", type=float, default=scoring.THRESHOLD)
    args = parser.parse_args()
    cases, searches = build_cases()
    started = time.perf_counter()
    findings = scoring.audit(
        [c.stats for c in cases], {c.name: c.downloads for c in cases}, searches, threshold=args.threshold
    )
    elapsed = time.perf_counter() - started
    flagged = {f.suspect: f for f in findings}
    tp, fn, fp = Counter[str](), Counter[str](), Counter[str]()
    misses, false_alarms = [], []
    for case in cases:
        finding = flagged.get(case.name)
        if case.imitates is None:
            if finding is not None:
                fp[case.category] += 1
                false_alarms.append({"name": case.name, "imitates": finding.imitates, "score": finding.score})
        elif finding is not None and finding.imitates == case.imitates:
            tp[case.category] += 1
        else:
            fn[case.category] += 1
            misses.append(
                {
                    "name": case.name,
                    "category": case.category,
                    "expected": case.imitates,
                    "got": finding.imitates if finding else None,
                }
            )

    def ratio(a: int, b: int) -> float:
        return round(a / b, 3) if b else 1.0

    total_tp, total_fp, total_fn = sum(tp.values()), sum(fp.values()), sum(fn.values())
    # Precision per category: of the findings that name a category, how many are right (a
    # look-alike flagged with the wrong target counts against it). Recall: by generated category.
    labels = {c.name: c.imitates for c in cases}
    said, right = Counter[str](), Counter[str]()
    for f in findings:
        for category in f.categories:
            said[category] += 1
            right[category] += labels.get(f.suspect) == f.imitates
    per_category = {
        c: {
            "positives": tp[c] + fn[c],
            "found": tp[c],
            "recall": ratio(tp[c], tp[c] + fn[c]),
            "findings_naming_it": said[c],
            "precision": ratio(right[c], said[c]),
        }
        for c in sorted(set(tp) | set(fn) | set(said))
    }
    results = {
        "artifacts": len(cases),
        "positives": total_tp + total_fn,
        "negatives": sum(1 for c in cases if c.imitates is None),
        "threshold": args.threshold,
        "weights": {"name": scoring.W_NAME, "popularity_gap": scoring.W_GAP, "traffic": scoring.W_TRAFFIC},
        "precision": ratio(total_tp, total_tp + total_fp),
        "recall": ratio(total_tp, total_tp + total_fn),
        "true_positives": total_tp,
        "false_positives": total_fp,
        "false_negatives": total_fn,
        "per_category": per_category,
        "false_positives_by_kind": dict(fp),
        "audit_ms": round(elapsed * 1000, 1),
        "misses": misses,
        "false_alarms": false_alarms,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(
        f"{len(cases)} artifacts, {results['positives']} look-alikes, {results['negatives']} negatives; "
        f"audit {results['audit_ms']} ms"
    )
    print(
        f"overall: precision {results['precision']}, recall {results['recall']} "
        f"(tp {total_tp}, fp {total_fp}, fn {total_fn})"
    )
    print("| category | look-alikes | found | recall | findings naming it | precision |")
    print("|---|---|---|---|---|---|")
    for c, row in per_category.items():
        print(
            f"| {c} | {row['positives']} | {row['found']} | {row['recall']} | "
            f"{row['findings_naming_it']} | {row['precision']} |"
        )
    for m in misses:
        print("missed:", json.dumps(m, ensure_ascii=False))
    for f in false_alarms:
        print("false alarm:", json.dumps(f, ensure_ascii=False))


if __name__ == "__main__":
    main()
