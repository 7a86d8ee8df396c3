"""Package-confusion audit: precision and recall on the labelled set the tests build.

    ./run bench confusion

Runs the scoring core (tmr.confusion) over tests/confusion_cases.py: popular Hugging Face names,
generated look-alikes per category (some with scripted download traffic) and hard negatives
(siblings, other sizes, same-organisation versions). A look-alike counts as found when it is
flagged as imitating the name it was made from; any flagged negative is a false positive.
Prints precision and recall overall and per category; writes bench-results/confusion.json.

Then the whole audit, as an administrator calls it (GET /audit/package-confusion on an in-process
app over SQLite): the same labelled names as artifacts, with seeded traffic in the download
history and the search hits (the popular names found and downloaded by many users, a third of
the look-alikes boosted by a scripted client, the rest quiet); precision and recall of the
route's findings. Last, the route's cost at 500 and 3,000 artifacts of similar names: the first
call (computed), the next (cached) and the one after a new artifact (recomputed).
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from common import ROOT
from fastapi.testclient import TestClient
from sqlalchemy import insert
from tests.confusion_cases import EPOCH, POPULAR, Case, build_cases
from tests.support import auth_request, make_settings

from tmr.app import create_app
from tmr.confusion import scoring
from tmr.container import Registry, build_registry
from tmr.storage.tables import ArtifactRow, DownloadEventRow, SearchHitRow

AUDIT = "/audit/package-confusion"


def core(args: argparse.Namespace) -> dict[str, object]:
    """The scoring core on the labelled set (as before the route existed)."""
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
    return results


# --- the whole audit through the route, on a seeded registry ----------------------------------


def _registry(path: Path) -> Registry:
    return build_registry(make_settings(path, None))


def _seed(registry: Registry, cases: list[Case], extra: list[str], rng: random.Random) -> None:
    """Artifacts and their traffic, written in bulk (the rows the registry's own writers make).

    Popular names, mirrors and hard negatives: organic downloads (many users, spread over weeks,
    each a few minutes after a search that showed it), counts scaled down from the labelled
    set's (downloads / 10,000, search hits / 100). Boosted look-alikes: the labelled set's
    scripted burst (one client, every 7 s, never searched). Quiet look-alikes: a few downloads
    by mistyping users who never searched, and a few search hits."""
    now = datetime.now(UTC)
    shift = now - timedelta(days=75) - EPOCH
    names = [c.name for c in cases] + extra
    artifacts = [
        {
            "id": f"{i + 1:012d}",
            "type": "model",
            "name": name,
            "url": f"upload:bench:{i}",
            "source": "upload",
            "visibility": "public",
            "created_at": now,
            "updated_at": now,
            "created_by": "bench",
        }
        for i, name in enumerate(names)
    ]
    ids = {a["name"]: a["id"] for a in artifacts}
    downloads: list[dict[str, Any]] = []
    hits: list[dict[str, Any]] = []

    def download(name: str, user: str, client: str, at: datetime) -> None:
        downloads.append(
            {"artifact_id": ids[name], "artifact_type": "model", "artifact_name": name, "user_name": user,
             "client": client, "door": "api", "allowed": True, "at": at}
        )  # fmt: skip

    def hit(name: str, user: str, at: datetime) -> None:
        hits.append({"artifact_id": ids[name], "user_name": user, "client": None, "kind": "name", "at": at})

    def organic(name: str, n: int) -> None:
        for _ in range(n):
            user = f"user{rng.randrange(400)}"
            at = now - timedelta(days=rng.uniform(1, 60))
            hit(name, user, at - timedelta(minutes=rng.uniform(1, 30)))
            download(name, user, f"10.1.{user[4:]}.1", at)

    for case in cases:
        if case.imitates is None:
            organic(case.name, case.stats.downloads // 10_000)
            for event in case.downloads:
                hit(case.name, event.user, event.at + shift - timedelta(minutes=5))
                download(case.name, event.user, event.client, event.at + shift)
            for _ in range(case.stats.search_hits // 100):
                hit(case.name, f"user{rng.randrange(400)}", now - timedelta(days=rng.uniform(1, 60)))
        else:
            for event in case.downloads:  # the boosted third
                download(case.name, event.user, event.client, event.at + shift)
            for _ in range(case.stats.downloads // 100 if not case.downloads else 0):
                user = f"victim{rng.randrange(50)}"
                download(case.name, user, f"10.2.{user[6:]}.1", now - timedelta(days=rng.uniform(1, 60)))
            for _ in range(case.stats.search_hits // 10):
                hit(case.name, f"user{rng.randrange(400)}", now - timedelta(days=rng.uniform(1, 60)))
    for name in extra:
        organic(name, rng.randrange(6))
    with registry.store.engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(insert(ArtifactRow), artifacts)
        if downloads:
            conn.execute(insert(DownloadEventRow), downloads)
        if hits:
            conn.execute(insert(SearchHitRow), hits)


def _login(client: TestClient) -> dict[str, str]:
    response = client.put("/authenticate", json=auth_request())
    response.raise_for_status()
    return {"X-Authorization": response.json()}


def _all_findings(client: TestClient, auth: dict[str, str]) -> list[dict[str, Any]]:
    findings: list[dict[str, Any]] = []
    offset: int | None = 0
    while offset is not None:
        response = client.get(AUDIT, params={"offset": offset, "limit": 100}, headers=auth)
        response.raise_for_status()
        page = response.json()
        findings += page["findings"]
        offset = page["next_offset"]
    return findings


def route_audit(path: Path) -> dict[str, Any]:
    """Precision and recall of the route's findings on the labelled set with seeded traffic."""
    cases, _ = build_cases()
    registry = _registry(path)
    try:
        _seed(registry, cases, [], random.Random(461))
        with TestClient(create_app(registry=registry)) as client:
            auth = _login(client)
            started = time.perf_counter()
            findings = _all_findings(client, auth)
            elapsed = time.perf_counter() - started
    finally:
        registry.close()
    labels = {c.name: c for c in cases}
    flagged = {f["name"]: f for f in findings}
    tp = sum(1 for c in cases if c.imitates and flagged.get(c.name, {}).get("imitates") == c.imitates)
    fp = sum(1 for f in findings if labels[f["name"]].imitates != f["imitates"])
    positives = sum(1 for c in cases if c.imitates)
    boosted = [c for c in cases if c.imitates and c.downloads]
    boosted_found = sum(1 for c in boosted if flagged.get(c.name, {}).get("imitates") == c.imitates)
    out = {
        "artifacts": len(cases),
        "positives": positives,
        "findings": len(findings),
        "precision": round(tp / (tp + fp), 3) if tp + fp else 1.0,
        "recall": round(tp / positives, 3),
        "true_positives": tp,
        "false_positives": fp,
        "false_negatives": positives - tp,
        "boosted_recall": round(boosted_found / len(boosted), 3) if boosted else 1.0,
        "route_ms": round(elapsed * 1000, 1),
        "false_alarms": [
            {"name": f["name"], "imitates": f["imitates"], "score": f["score"]}
            for f in findings
            if labels[f["name"]].imitates != f["imitates"]
        ],
        "misses_by_category": dict(
            Counter(
                c.category
                for c in cases
                if c.imitates and flagged.get(c.name, {}).get("imitates") != c.imitates
            )
        ),
    }
    print(
        f"route on the seeded registry ({len(cases)} artifacts, {positives} look-alikes, traffic seeded): "
        f"precision {out['precision']}, recall {out['recall']} (tp {tp}, fp {fp}, fn {positives - tp}); "
        f"boosted look-alikes found {boosted_found}/{len(boosted)}; {out['route_ms']} ms"
    )
    print("  misses by category:", out["misses_by_category"])
    for alarm in out["false_alarms"]:
        print("  false alarm:", json.dumps(alarm, ensure_ascii=False))
    return out


_WORDS = sorted(
    {w for p in POPULAR for w in p.split("/")[1].replace("_", "-").replace(".", "-").split("-") if w}
)


def _similar_names(n: int, rng: random.Random, taken: set[str]) -> list[str]:
    """Names made of the popular names' own words: the worst case for candidate picking."""
    out: list[str] = []
    while len(out) < n:
        name = f"team{rng.randrange(60)}/" + "-".join(rng.sample(_WORDS, rng.randint(2, 4)))
        if name not in taken:
            taken.add(name)
            out.append(name)
    return out


def route_cost(path: Path, size: int) -> dict[str, Any]:
    """The route at `size` artifacts: first call (computed), second (cached), after a new one."""
    rng = random.Random(size)
    cases, _ = build_cases()
    cases = cases[:size]
    extra = _similar_names(size - len(cases), rng, {c.name for c in cases})
    registry = _registry(path)
    try:
        _seed(registry, cases, extra, rng)
        with TestClient(create_app(registry=registry)) as client:
            auth = _login(client)

            def call() -> tuple[float, dict[str, Any]]:
                started = time.perf_counter()
                response = client.get(AUDIT, params={"limit": 100}, headers=auth)
                response.raise_for_status()
                return time.perf_counter() - started, response.json()

            cold, first = call()
            warm, second = call()
            now = datetime.now(UTC)
            with registry.store.engine.begin() as conn:  # type: ignore[attr-defined]
                conn.execute(
                    insert(ArtifactRow),
                    [{"id": "999999999999", "type": "model", "name": "acme-ai/gpt-2", "url": "upload:new",
                      "source": "upload", "visibility": "public", "created_at": now, "updated_at": now}],
                )  # fmt: skip
            fresh, third = call()
    finally:
        registry.close()
    assert (first["cached"], second["cached"], third["cached"]) == (False, True, False)
    out = {
        "artifacts": size,
        "findings": first["total"],
        "computed_ms": round(cold * 1000, 1),
        "cached_ms": round(warm * 1000, 1),
        "after_new_artifact_ms": round(fresh * 1000, 1),
    }
    print(
        f"route at {size} artifacts: computed {out['computed_ms']} ms, cached {out['cached_ms']} ms, "
        f"after a new artifact {out['after_new_artifact_ms']} ms ({out['findings']} findings)"
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results" / "confusion.json")
    parser.add_argument("--threshold", type=float, default=scoring.THRESHOLD)
    parser.add_argument(
        "--sizes", type=int, nargs="*", default=[500, 3000], help="artifacts for the route's cost"
    )
    args = parser.parse_args()
    results: dict[str, object] = {"core": core(args)}
    with tempfile.TemporaryDirectory(prefix="tmr-bench-confusion-") as tmp:
        results["route"] = route_audit(Path(tmp) / "labelled")
        results["route_cost"] = [route_cost(Path(tmp) / f"cost{n}", n) for n in args.sizes]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
