"""Before and after of the regex-scan fixes, in one process, on one database, run alternately.

    .venv/bin/python benchmarks/search_ab.py [--backend sqlite|postgres|both] [--artifacts 1000000]

`./run bench search` measures the registry over HTTP, but its before and after come from two runs
of two trees. This puts the old and new code side by side at the store level on the same seeded
catalogue (benchmarks/search_seed.py), alternating them request by request, so drift of the
machine hits both alike:

- before: google-re2's public `search` as the matcher (its Python wrapper on every row), the
  literal hints of `required_literals` only, and on PostgreSQL the previous scan (READMEs through
  a Python-level text loader, names decoded to str), kept here for the comparison;
- after: `compile_pattern` (RE2 asked directly on bytes), start-of-text hints for anchored
  patterns, and the store's binary-format scan;
- on PostgreSQL, the plans of the literal-hint cursor planned for a tenth and for all its rows;
- on SQLite also after + `PRAGMA mmap_size` (pages read through a memory map instead of a
  read() per page): a setting of tmr.storage.database, measured here as a proposal.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

import re2
from bench_download import backend_env
from bench_search import regex_patterns
from common import ROOT
from psycopg.abc import Buffer
from psycopg.adapt import Loader
from search_seed import seed
from sqlalchemy import event, select

from tmr.artifacts.interfaces import EVERYTHING, TextMatcher
from tmr.artifacts.models import ArtifactSummary, ArtifactType
from tmr.search.prefilter import required_literals, required_prefixes
from tmr.search.regex import compile_pattern
from tmr.storage.database import make_engine
from tmr.storage.metadata import _LISTED, SqlMetadataStore, _contains_any
from tmr.storage.tables import ArtifactRow

MMAP_BYTES = 4 << 30


class _RawText(Loader):
    """The previous scan's loader: `text` as bytes, through a Python call per value."""

    def load(self, data: Buffer) -> bytes:
        return bytes(data)


def previous_streamed_scan(
    store: SqlMetadataStore, matcher: TextMatcher, contains: Collection[str] | None
) -> list[ArtifactSummary]:
    """The PostgreSQL scan before this change (text format, names as str), for the comparison."""
    clauses = [_contains_any(contains)] if contains else []
    query = select(*_LISTED, ArtifactRow.readme).where(*clauses)
    compiled = query.order_by(ArtifactRow.seq).compile(dialect=store.engine.dialect)
    found: list[ArtifactSummary] = []
    with store.engine.connect() as conn:
        raw: Any = conn.connection.driver_connection
        with raw.cursor(name="tmr_ab_scan") as cursor:
            cursor.adapters.register_loader("text", _RawText)
            cursor.itersize = 2000
            cursor.execute(str(compiled), compiled.params)
            for artifact_id, name, type_, version, readme in cursor:
                if matcher.search(name) is not None or (readme and matcher.search(readme) is not None):
                    found.append(ArtifactSummary(artifact_id, name, ArtifactType(type_), version))
        conn.rollback()
    return found


def explain_literal_scan(store: SqlMetadataStore, pattern: str) -> dict[str, list[str]]:
    """PostgreSQL's plan for the scan's cursor with a literal hint, planned for the first tenth
    of the rows (the default for cursors) and for all of them (what the scan reads)."""
    query = select(*_LISTED, ArtifactRow.readme).where(_contains_any(required_literals(pattern) or []))
    compiled = query.order_by(ArtifactRow.seq).compile(dialect=store.engine.dialect)
    plans: dict[str, list[str]] = {}
    with store.engine.connect() as conn:
        raw: Any = conn.connection.driver_connection
        for fraction in ("0.1", "1.0"):
            raw.execute(f"SET LOCAL cursor_tuple_fraction = {fraction}")
            rows = raw.execute("EXPLAIN DECLARE tmr_explain CURSOR FOR " + str(compiled), compiled.params)
            plans[f"cursor_tuple_fraction={fraction}"] = [r[0] for r in rows.fetchall()]
        conn.rollback()
    return plans


def public_re2(pattern: str) -> TextMatcher:
    options = re2.Options()
    options.max_mem = 32 * 1024 * 1024
    options.log_errors = False
    matcher: TextMatcher = re2.compile(pattern, options)
    return matcher


def with_mmap(url: str) -> SqlMetadataStore:
    engine = make_engine(url)

    @event.listens_for(engine, "connect")
    def _mmap(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")

    return SqlMetadataStore(engine)


def compare(backend: str, artifacts: int, repeat: int) -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix=f"tmr-bench-search-ab-{backend}-"))
    try:
        return _compare(backend, artifacts, repeat, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _compare(backend: str, artifacts: int, repeat: int, work: Path) -> dict[str, object]:
    out: dict[str, object] = {"artifacts": artifacts}
    with backend_env(backend, work) as env:
        url = env.get("TMR_DATABASE_URL") or f"sqlite:///{work / 'tmr.sqlite3'}"
        store = SqlMetadataStore(make_engine(url))
        store.migrate()
        out["seed_s"] = round(seed(url, 0, artifacts), 1)
        mapped = with_mmap(url) if backend == "sqlite" else None
        if backend == "postgres":
            out["plans"] = explain_literal_scan(store, regex_patterns(artifacts)["required_literal"][0])
            print(json.dumps(out["plans"], indent=1), flush=True)
        for label, (pattern, _) in regex_patterns(artifacts).items():
            literals = required_literals(pattern)
            hints = required_prefixes(pattern) or literals

            def before(p: str = pattern, c: Any = literals) -> list[ArtifactSummary]:
                if backend == "sqlite":
                    return store.match_text(public_re2(p), EVERYTHING, c)
                return previous_streamed_scan(store, public_re2(p), c)

            def after(p: str = pattern, h: Any = hints) -> list[ArtifactSummary]:
                return store.match_text(compile_pattern(p), EVERYTHING, h)

            variants: dict[str, Callable[[], list[ArtifactSummary]]] = {"before": before, "after": after}
            if mapped is not None:
                variants["after_mmap"] = lambda p=pattern, h=hints: mapped.match_text(  # type: ignore[misc]
                    compile_pattern(p), EVERYTHING, h
                )
            times: dict[str, list[float]] = {v: [] for v in variants}
            answers: dict[str, list[ArtifactSummary]] = {}
            for name, run in variants.items():  # warm-up, and the answers to compare
                answers[name] = run()
            if any(a != answers["before"] for a in answers.values()):
                raise RuntimeError(f"{label}: the variants disagree")
            for _ in range(repeat):
                for name, run in variants.items():
                    started = time.perf_counter()
                    run()
                    times[name].append(time.perf_counter() - started)
            out[label] = {
                "pattern": pattern,
                "matches": len(answers["before"]),
                **{f"{v}_median_ms": round(statistics.median(t) * 1000, 1) for v, t in times.items()},
                **{f"{v}_all_ms": [round(x * 1000, 1) for x in t] for v, t in times.items()},
            }
            print(json.dumps({backend: {label: out[label]}}), flush=True)
        if mapped is not None:
            mapped.dispose()
        store.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--artifacts", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results" / "search-ab.json")
    args = parser.parse_args()
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    results = {b: compare(b, args.artifacts, args.repeat) for b in backends}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
