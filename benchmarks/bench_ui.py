"""The browser UI's pages and the dashboard's feed, timed over HTTP against `./run serve`.

    ./run bench ui [--requests 30] [--out bench-results/ui.json]

Starts the emulator and a registry on the embedded default, registers every fixture repository
of the emulator (models, datasets, code) through the contract API, signs in through the sign-in
form as a browser does, then fetches each page `--requests` times in a row with the session
cookie: the home page (everything, a name search, a regex search), an artifact page (rated model
with lineage), the license-check page, the dashboard, its live fragment and the JSON feed. Then
it starts the download workload from the workload API (8 clients, 200 downloads of the largest
registered model) and reports its own numbers. Server peak RSS (VmHWM) at the end.
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
from pathlib import Path

import httpx
from common import ROOT, peak_rss_mib, registry_server, summary_ms
from tests.emulator.fixtures import github_repos, hf_datasets, hf_models
from tests.emulator.server import running_emulator
from tests.support import ADMIN, PASSWORD


def log(message: str) -> None:
    print(f"bench: {message}", flush=True)


def sign_in(client: httpx.Client) -> None:
    form = client.get("/ui/sign-in")
    nonce = re.search(r'name="nonce" value="([^"]+)"', form.text)
    assert nonce is not None
    done = client.post("/ui/sign-in", data={"username": ADMIN, "password": PASSWORD, "nonce": nonce.group(1)})
    assert done.status_code == 303, done.text


def time_page(client: httpx.Client, path: str, runs: int) -> dict[str, float]:
    samples, size = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(path)
        samples.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise RuntimeError(f"{path} answered {response.status_code}: {response.text[:300]}")
        size = len(response.content)
    return {**summary_ms(samples), "bytes": size}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results" / "ui.json")
    args = parser.parse_args()
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as work, running_emulator() as emulator:
        env = {"TMR_DATA_DIR": f"{work}/data", "TMR_SPOOL_DIR": work, **emulator.env()}
        with registry_server(env, Path(work) / "server.log") as server:
            api = httpx.Client(base_url=server.url, headers=server.headers, timeout=300)
            wanted = [("model", m.url) for m in hf_models() if not m.private]
            wanted += [("dataset", d.url) for d in hf_datasets()] + [("code", g.url) for g in github_repos()]
            ids: dict[str, str] = {}
            started = time.perf_counter()
            for artifact_type, url in wanted:
                response = api.post(f"/artifact/{artifact_type}", json={"url": url})
                if response.status_code == 201:
                    ids[url] = response.json()["metadata"]["id"]
            log(f"registered {len(ids)} of {len(wanted)} in {time.perf_counter() - started:.1f} s")
            results["artifacts"] = len(ids)
            lora = ids["https://huggingface.co/acme/base-lm-finetuned-lora"]
            bert = ids["https://huggingface.co/google-bert/bert-base-uncased"]
            pages = {
                "home (everything)": "/",
                "home (name search)": "/?q=bert-base-uncased&mode=name",
                "home (regex search)": "/?q=bert|gpt&mode=regex",
                "artifact page (lineage, rating)": f"/ui/artifacts/{lora}",
                "artifact page (bert)": f"/ui/artifacts/{bert}",
                "license check": f"/ui/artifacts/{bert}/license-check?github_url=https://github.com/google-research/bert",
                "dashboard": "/ui/health",
                "dashboard live fragment": "/ui/health/live",
                "JSON feed (60 min)": "/operations/activity?window=60",
            }
            timings: dict[str, dict[str, float]] = {}
            with httpx.Client(base_url=server.url, timeout=120) as browser:
                sign_in(browser)
                for label, path in pages.items():
                    timings[label] = time_page(browser, path, args.requests)
                    log(f"{label}: p50 {timings[label]['p50_ms']} ms, p99 {timings[label]['p99_ms']} ms")
            results["pages"] = timings
            sizes = {
                url: api.get(f"/artifact/model/{i}/cost").json()[i]["total_cost"]
                for url, i in ids.items()
                if "/datasets/" not in url and "github.com" not in url
            }
            biggest_url = max(sizes, key=lambda u: sizes[u])
            start = api.post(
                "/workloads",
                json={"artifact_id": ids[biggest_url], "clients": 8, "requests": 200, "time_limit_s": 60},
            )
            if start.status_code != 202:
                raise RuntimeError(f"workload start: {start.status_code} {start.text}")
            run_id = start.json()["id"]
            deadline = time.monotonic() + 90
            run = start.json()
            while run["status"] in ("queued", "running") and time.monotonic() < deadline:
                time.sleep(0.5)
                run = api.get(f"/workloads/{run_id}").json()
            results["workload"] = {"package": biggest_url, "package_mb": sizes[biggest_url], **run}
            log(f"workload on {biggest_url}: {json.dumps(run.get('results'))}")
            results["server_peak_rss_mib"] = peak_rss_mib(server.process.pid)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=str))
    log(f"results in {args.out}")


if __name__ == "__main__":
    main()
