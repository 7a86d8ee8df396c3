"""The Lambda runtime over stores in memory: API Gateway events through Mangum to the app (stage
prefix stripped, the gateway's request id kept), maintenance events (gc, migrate), a cold start
that fails answered with 503 and retried on the next event, and malformed events refused."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from tests.unit.memory_app import TOKEN, memory_settings, memory_stores
from tests.unit.memory_repo import MemoryBlobs
from tmr.aws import LambdaRuntime
from tmr.settings import Settings


def lambda_settings(**overrides: Any) -> Settings:
    """A Lambda is reachable by anyone: the public default admin password must be allowed explicitly."""
    return memory_settings(allow_default_admin_password=True, **overrides)


CONTEXT = SimpleNamespace(aws_request_id="req-1", function_name="tmr", memory_limit_in_mb=512)


def http_event(
    path: str, *, method: str = "GET", stage: str = "$default", headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """An HTTP API (payload 2.0) event."""
    raw_path = path if stage == "$default" else f"/{stage}{path}"
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": raw_path,
        "rawQueryString": "",
        "headers": {"host": "api.example.com", **(headers or {})},
        "requestContext": {
            "stage": stage,
            "requestId": "gateway-id-7",
            "http": {"method": method, "path": raw_path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.9"},
        },
        "isBase64Encoded": False,
    }


def body_of(response: dict[str, Any]) -> Any:
    body = response["body"]
    if response.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    return json.loads(body)


@pytest.fixture
def runtime() -> Iterator[tuple[LambdaRuntime, MemoryBlobs]]:
    with memory_stores() as (_engine, blobs):
        runtime = LambdaRuntime(settings=lambda: lambda_settings(migrate_on_start=True))
        try:
            yield runtime, blobs
        finally:
            runtime.close()


def test_an_http_event_reaches_the_app_under_its_stage(runtime: tuple[LambdaRuntime, MemoryBlobs]) -> None:
    lambda_runtime, _ = runtime
    response = lambda_runtime.handle(http_event("/health", stage="prod"), CONTEXT)
    assert response["statusCode"] == 200
    assert body_of(response)["status"] == "ok"
    assert response["headers"]["x-request-id"] == "gateway-id-7"  # the gateway's id, none sent
    own = lambda_runtime.handle(http_event("/health", headers={"x-request-id": "mine"}), CONTEXT)
    assert own["headers"]["x-request-id"] == "mine"
    listed = lambda_runtime.handle(
        http_event("/artifact/byName/nothing", headers={"x-authorization": TOKEN}), CONTEXT
    )
    assert listed["statusCode"] == 404


def test_maintenance_events_collect_orphans_and_migrate(runtime: tuple[LambdaRuntime, MemoryBlobs]) -> None:
    lambda_runtime, blobs = runtime
    orphan = blobs.put_bytes(b"nobody refers to me").sha256
    scheduled = {"source": "aws.events", "detail-type": "Scheduled Event"}
    summary = lambda_runtime.handle(scheduled, CONTEXT)
    assert summary["tmr"] == "gc"
    assert summary["request_id"] == "req-1"
    # The default grace keeps a blob written moments ago; the write time of this fake is 0 (1970).
    assert summary["removed"] == 1
    assert orphan not in blobs.blobs
    migrated = lambda_runtime.handle({"tmr": "migrate"}, CONTEXT)
    assert migrated["tmr"] == "migrate"
    assert migrated["app_role"] is None
    with pytest.raises(ValueError, match="unknown tmr action"):
        lambda_runtime.handle({"tmr": "explode"}, CONTEXT)
    with pytest.raises(ValueError, match="expected a JSON object"):
        lambda_runtime.handle([], CONTEXT)  # type: ignore[arg-type]


def test_migrate_before_any_registry_uses_a_bare_engine() -> None:
    runtime = LambdaRuntime(settings=lambda: lambda_settings(database_url="sqlite://"))
    try:
        summary = runtime.handle({"tmr": "migrate"}, CONTEXT)
    finally:
        runtime.close()
    assert summary["tmr"] == "migrate"


def test_a_cold_start_that_fails_answers_503_and_the_next_event_retries() -> None:
    attempts: list[int] = []

    def settings() -> Settings:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("the database secret is unreadable")
        return lambda_settings()

    with memory_stores():
        runtime = LambdaRuntime(settings=settings)
        runtime.warm()  # the init phase: a failure is logged, not raised
        try:
            response = runtime.handle(http_event("/health", headers={"x-request-id": "r-9"}), CONTEXT)
            assert response["statusCode"] == 200
            assert len(attempts) == 2
        finally:
            runtime.close()
    failing = LambdaRuntime(settings=lambda: (_ for _ in ()).throw(RuntimeError("no settings")))
    refused = failing.handle(http_event("/health", headers={"x-request-id": "r-10"}), CONTEXT)
    assert refused["statusCode"] == 503
    assert refused["headers"]["retry-after"] == "1"
    assert refused["headers"]["x-request-id"] == "r-10"
    assert body_of(refused)["code"] == "unavailable"
