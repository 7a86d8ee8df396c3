"""How PostgreSQL plans the regex scan's cursor, and what the plan costs, on a seeded catalogue.

    .venv/bin/python benchmarks/search_plan.py [--artifacts 1000000]

The scan (tmr.storage.metadata) declares a cursor over the literal-hinted rows and reads all of
them. PostgreSQL plans cursors for their first `cursor_tuple_fraction` (default 0.1) of rows;
the store sets 1.0. This seeds a fresh database (benchmarks/search_seed.py, ending with VACUUM
ANALYZE), then for the literal pattern of `./run bench search`, with and without a regular
user's visibility clause, prints the plan under both fractions and times reading the cursor.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_download import backend_env
from bench_search import regex_patterns
from common import ROOT
from search_seed import seed
from sqlalchemy import ColumnElement, select

from tmr.artifacts.interfaces import EVERYTHING, Scope
from tmr.search.prefilter import required_literals
from tmr.storage.database import make_engine
from tmr.storage.metadata import _LISTED, SqlMetadataStore, _contains_any, _in_scope
from tmr.storage.tables import ArtifactRow


def measure(store: SqlMetadataStore, clauses: list[ColumnElement[bool]], repeat: int) -> dict[str, object]:
    compiled = (
        select(*_LISTED, ArtifactRow.readme)
        .where(*clauses)
        .order_by(ArtifactRow.seq)
        .compile(dialect=store.engine.dialect)
    )
    out: dict[str, object] = {}
    for fraction in ("0.1", "1.0"):
        times: list[float] = []
        with store.engine.connect() as conn:
            raw: Any = conn.connection.driver_connection
            raw.execute(f"SET LOCAL cursor_tuple_fraction = {fraction}")
            plan = [
                r[0] for r in raw.execute("EXPLAIN DECLARE p CURSOR FOR " + str(compiled), compiled.params)
            ]
            for _ in range(repeat):
                started = time.perf_counter()
                with raw.cursor(name="tmr_plan_scan") as cursor:
                    cursor.execute(str(compiled), compiled.params)
                    rows = sum(1 for _ in cursor)
                times.append(time.perf_counter() - started)
            conn.rollback()
        out[f"cursor_tuple_fraction={fraction}"] = {
            "plan": plan,
            "rows": rows,
            "median_ms": round(statistics.median(times) * 1000, 1),
            "all_ms": [round(t * 1000, 1) for t in times],
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results" / "search-plan.json")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tmr-bench-search-plan-"))
    results: dict[str, object] = {"artifacts": args.artifacts}
    with backend_env("postgres", work) as env:
        url = env["TMR_DATABASE_URL"]
        store = SqlMetadataStore(make_engine(url))
        store.migrate()
        results["seed_s"] = round(seed(url, 0, args.artifacts), 1)
        pattern = regex_patterns(args.artifacts)["required_literal"][0]
        hint = _contains_any(required_literals(pattern) or [])
        for label, scope in (("admin", EVERYTHING), ("user", Scope(viewer="bench-reader"))):
            results[label] = measure(store, [*_in_scope(scope), hint], args.repeat)
            print(json.dumps({label: results[label]}, indent=1), flush=True)
        store.dispose()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
