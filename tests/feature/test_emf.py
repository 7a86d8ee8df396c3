"""CloudWatch embedded metric format: each request's log line is also a valid EMF document."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tmr.app import create_app
from tmr.container import Registry
from tmr.settings import Settings


def request_lines(log_file: Path) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in log_file.read_text().splitlines() if line.strip()]
    return [line for line in lines if line.get("msg") == "request"]


def assert_valid_emf(doc: dict[str, Any]) -> None:
    """The EMF specification's rules for one document."""
    meta = doc["_aws"]
    assert isinstance(meta["Timestamp"], int)
    for directive in meta["CloudWatchMetrics"]:
        assert directive["Namespace"] == "tmr"
        for dimension_set in directive["Dimensions"]:
            assert 1 <= len(dimension_set) <= 30
            for name in dimension_set:
                assert isinstance(doc[name], str)
        for metric in directive["Metrics"]:
            assert isinstance(doc[metric["Name"]], int | float)
            assert metric["Unit"] in {"Count", "Milliseconds"}


def test_request_lines_carry_emf_metrics(make_registry: Callable[..., Registry], tmp_path: Path) -> None:
    log_file = tmp_path / "tmr.log"
    registry = make_registry(metrics_emf="on", log_level=1, log_file=log_file)
    with TestClient(create_app(registry=registry)) as client:
        assert client.get("/health").status_code == 200
        assert client.get("/artifacts/model/123").status_code == 403
        assert client.get("/nowhere").status_code == 404
    lines = request_lines(log_file)
    assert len(lines) == 3
    for line in lines:
        assert_valid_emf(line)
        assert line["Requests"] == 1
        assert line["request_id"]
    health, denied, unmatched = lines
    assert (health["Route"], health["Method"], health["Errors"], health["ClientErrors"]) == (
        "/health",
        "GET",
        0,
        0,
    )
    assert denied["Route"] == "/artifacts/{artifact_type}/{id}"  # the template: bounded dimensions
    assert denied["ClientErrors"] == 1
    assert unmatched["Route"] == "unmatched"
    assert health["Latency"] == health["latency_ms"]


def test_emf_is_off_outside_lambda_unless_asked(
    make_registry: Callable[..., Registry], tmp_path: Path
) -> None:
    log_file = tmp_path / "tmr.log"
    registry = make_registry(log_level=1, log_file=log_file)
    with TestClient(create_app(registry=registry)) as client:
        client.get("/health")
    assert "_aws" not in request_lines(log_file)[0]
    assert Settings(AWS_LAMBDA_FUNCTION_NAME="tmr-api").emf_enabled
    assert not Settings(AWS_LAMBDA_FUNCTION_NAME="tmr-api", TMR_METRICS_EMF="off").emf_enabled
    assert Settings(TMR_METRICS_EMF="on").emf_enabled
    assert not Settings().emf_enabled
