"""The pure helpers of the download benchmark (benchmarks/download_*.py): what it reads from wrk,
how it judges a run, and that the packages it uploads are what they claim to be."""

from __future__ import annotations

import io
import json
import math
import random
import sys
import zipfile
from pathlib import Path

import pytest

from tmr.safety.safetensors_header import read_header

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from download_load import LoadResult, check_result, latency_summary_ms, parse_head, parse_wrk_output
from download_nginx import nginx_config, temp_modules
from download_packages import build_model, safetensors_bytes, small_weight_sizes

WRK_STDOUT = """Running 20s test @ http://127.0.0.1:8000/download/1
  2 threads and 100 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.46s   250.00ms   3.58s    70.00%
  776 requests in 20.04s, 18.90GB read
Requests/sec:     38.72
Transfer/sec:      0.94GB
WRK_JSON {"duration_us":20040000,"requests":776,"bytes":20300000000,\
"errors":{"connect":0,"read":0,"write":0,"status":0,"timeout":0},\
"latency_us":{"min":1200000,"mean":2461100.5,"stdev":250000.0,"p50":2424200,"p90":2800000,\
"p99":3226300,"max":3575800}}
"""


def result(requests: int, received: int, **errors: int) -> LoadResult:
    return LoadResult("wrk", 100, 20.0, requests, received, {"read": 0, "status": 0, **errors}, {})


def test_wrk_summary_is_read_from_the_scripts_json_line() -> None:
    parsed = parse_wrk_output(WRK_STDOUT, connections=100)
    assert (parsed.requests, parsed.bytes, parsed.duration_s) == (776, 20_300_000_000, 20.04)
    assert parsed.latency_ms["p99"] == 3226.3
    assert parsed.latency_ms["mean"] == 2461.1
    assert parsed.errors == {"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0}
    assert round(parsed.requests_per_s, 2) == 38.72
    assert round(parsed.mb_per_s, 1) == 1013.0


def test_wrk_output_without_the_json_line_is_an_error() -> None:
    with pytest.raises(ValueError, match="WRK_JSON"):
        parse_wrk_output("Running 20s test\n  0 requests\n", connections=100)


def test_a_clean_run_has_no_problems() -> None:
    # 10 complete responses plus partial ones in flight when the time ran out.
    assert check_result(result(10, 10 * 1000 + 50 * 500), body_length=1000) == []


def test_errors_short_bodies_and_empty_runs_are_problems() -> None:
    assert check_result(result(10, 10_000, status=3), body_length=1000) == ["3 status error(s)"]
    assert any("fewer than 10 full responses" in p for p in check_result(result(10, 9_000), body_length=1000))
    assert "no request completed" in check_result(result(0, 0), body_length=1000)
    too_many = check_result(result(1, 10**9), body_length=1000)
    assert any("more than" in p for p in too_many)


def test_latency_summary_matches_wrks_fields() -> None:
    summary = latency_summary_ms([i / 100 for i in range(101)])  # 0 ms to 1000 ms, 10 ms apart
    assert summary["p50"] == 500.0
    assert summary["p99"] == 990.0
    assert summary["max"] == 1000.0
    assert summary["mean"] == 500.0
    assert all(math.isnan(v) for v in latency_summary_ms([]).values())


def test_response_head_is_parsed() -> None:
    status, headers = parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\nX-Package-SHA256: ab\r\n\r\n")
    assert status == 200
    assert headers == {"content-length": "12", "x-package-sha256": "ab"}


def test_safetensors_weights_have_a_header_a_loader_accepts() -> None:
    data = safetensors_bytes(random.Random(1), 100_000, tensors=5)
    header = read_header(io.BytesIO(data), len(data))
    assert header.tensor_bytes == 100_000
    assert len(header.tensors) == 5
    assert (8 + header.header_length) % 8 == 0


def test_model_package_is_a_hugging_face_layout_zip() -> None:
    package = build_model("bench-x", 50_000, seed=3)
    with zipfile.ZipFile(io.BytesIO(package.zip_bytes)) as archive:
        assert archive.testzip() is None
        assert set(archive.namelist()) == {
            "README.md",
            "config.json",
            "tokenizer.json",
            "tokenizer_config.json",
            "model.safetensors",
        }
        assert json.loads(archive.read("config.json"))["model_type"] == "bert"
        weights = archive.read("model.safetensors")
    assert read_header(io.BytesIO(weights), len(weights)).tensor_bytes == 50_000
    assert build_model("bench-x", 50_000, seed=3).zip_bytes == package.zip_bytes  # reproducible


def test_small_sizes_stay_within_their_bounds() -> None:
    sizes = small_weight_sizes(499, 2048, 400 * 1024, seed=500)
    assert len(sizes) == 499
    assert all(2048 <= s <= 400 * 1024 for s in sizes)


def test_nginx_config_keeps_everything_in_its_directory() -> None:
    modules = temp_modules("--http-client-body-temp-path=/var/lib/nginx/body --http-proxy-temp-path=/x")
    assert modules == ["client_body", "proxy"]
    config = nginx_config(Path("/tmp/n"), Path("/tmp/n/www"), 8080, modules)
    assert "listen 127.0.0.1:8080;" in config
    assert "client_body_temp_path /tmp/n/client_body;" in config
    assert "sendfile on;" in config
    assert "access_log off;" in config
    assert "worker_processes 2;" in config
