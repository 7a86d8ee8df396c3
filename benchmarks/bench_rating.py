"""Rating speed against the emulator with injected upstream latency, on a real server.

    ./run bench rating [--latency-ms 50]

Registers every fixture model (each is rated at registration), times one rating from scratch
per model (in process, through the same service the server uses), then times 13 concurrent
`GET /rate` calls twice over HTTP: served from storage, and recomputed (ratings marked stale in
the database first). Prints the table of every fixture model's scores.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from common import ROOT, registry_server, summary_ms
from sqlalchemy import text
from tests.emulator.fixtures import hf_models
from tests.emulator.server import running_emulator
from tests.support import make_settings

from tmr.accounts.models import SYSTEM
from tmr.artifacts.models import ArtifactType
from tmr.container import build_registry
from tmr.storage.database import make_engine

COLUMNS = [
    "net_score", "ramp_up_time", "bus_factor", "performance_claims", "license", "dataset_and_code_score",
    "dataset_quality", "code_quality", "reproducibility", "reviewedness", "tree_score",
]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results" / "rating.json")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tmr-bench-rating-"))
    models = [m for m in hf_models() if not m.private]
    results: dict[str, object] = {"latency_ms": args.latency_ms, "models": len(models)}
    with running_emulator() as emulator:
        emulator.faults.set_latency(args.latency_ms / 1000)
        env = {"TMR_DATA_DIR": str(work / "data"), **emulator.env()}
        with (
            registry_server(env, work / "server.log") as server,
            httpx.Client(base_url=server.url, headers=server.headers, timeout=300) as client,
        ):
            register_times, ids = [], {}
            for model in models:
                started = time.perf_counter()
                response = client.post("/artifact/model", json={"url": model.url})
                register_times.append(time.perf_counter() - started)
                response.raise_for_status()
                ids[model.url] = response.json()["metadata"]["id"]
            results["register_and_rate"] = summary_ms(register_times)

            # One rating from scratch per model, through the service the server runs.
            registry = build_registry(make_settings(work / "data", emulator.url))
            rate_times, per_model = [], {}
            for url, artifact_id in ids.items():
                artifact = registry.artifacts.get(SYSTEM, ArtifactType.MODEL, artifact_id)
                calls = emulator.faults.requests_seen("")
                started = time.perf_counter()
                registry.ratings.compute(artifact)
                rate_times.append(time.perf_counter() - started)
                per_model[url.removeprefix("https://huggingface.co/")] = {
                    "ms": round(rate_times[-1] * 1000, 1),
                    "upstream_calls": emulator.faults.requests_seen("") - calls,
                }
            registry.close()
            results["rate_one_model"] = summary_ms(rate_times)
            results["rate_one_model_by_model"] = per_model

            thirteen = list(ids.values())[:13]

            def rate(artifact_id: str) -> float:
                started = time.perf_counter()
                client.get(f"/artifact/model/{artifact_id}/rate").raise_for_status()
                return time.perf_counter() - started

            with ThreadPoolExecutor(13) as pool:
                results["concurrent_13_stored"] = summary_ms(list(pool.map(rate, thirteen)))
            engine = make_engine(f"sqlite:///{work / 'data' / 'tmr.sqlite3'}")
            with engine.begin() as conn:
                conn.execute(text("UPDATE ratings SET failed = 1"))
            engine.dispose()
            with ThreadPoolExecutor(13) as pool:
                results["concurrent_13_recomputed"] = summary_ms(list(pool.map(rate, thirteen)))

            table = {}
            for url, artifact_id in ids.items():
                rating = client.get(f"/artifact/model/{artifact_id}/rate").json()
                table[url.removeprefix("https://huggingface.co/")] = {
                    **{c: round(rating[c], 2) for c in COLUMNS},
                    "size_score(pi/nano/pc/aws)": "/".join(f"{v:.2f}" for v in rating["size_score"].values()),
                    "category": rating["category"],
                }
            results["scores"] = table
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(
        json.dumps(
            {k: v for k, v in results.items() if k not in ("scores", "rate_one_model_by_model")}, indent=2
        )
    )
    for name, timing in per_model.items():
        print(f"rate {name}: {timing['ms']} ms, {timing['upstream_calls']} upstream calls")
    header = ["model", *COLUMNS, "size_score(pi/nano/pc/aws)", "category"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for name, row in table.items():
        print("| " + " | ".join([name, *(str(row[c]) for c in header[1:])]) + " |")


if __name__ == "__main__":
    main()
