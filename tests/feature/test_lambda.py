"""The Lambda entry point serves the same app through Mangum (API Gateway HTTP API, payload v2)."""

from __future__ import annotations

import base64
import importlib
import json
from pathlib import Path
from typing import Any

import pytest

from tests.emulator.server import EmulatorServer
from tests.support import auth_request


def http_api_event(
    method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    raw = json.dumps(body).encode() if body is not None else b""
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {
            "content-type": "application/json",
            "host": "abc.execute-api.us-east-1.amazonaws.com",
            **(headers or {}),
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc",
            "domainName": "abc.execute-api.us-east-1.amazonaws.com",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "198.51.100.7",
                "userAgent": "test",
            },
            "requestId": "req-lambda-1",
            "routeKey": "$default",
            "stage": "$default",
            "time": "26/Nov/2026:14:00:00 +0000",
            "timeEpoch": 1795000000000,
        },
        "body": base64.b64encode(raw).decode(),
        "isBase64Encoded": True,
    }


class Context:
    aws_request_id = "lambda-request-id-1"
    function_name = "tmr"
    memory_limit_in_mb = 1024

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


def test_lambda_handler_serves_the_contract(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, emulator: EmulatorServer
) -> None:
    monkeypatch.setenv("TMR_DATA_DIR", str(tmp_path / "lambda"))
    monkeypatch.setenv("LOG_LEVEL", "0")
    for key, value in emulator.env().items():
        monkeypatch.setenv(key, value)
    import tmr.aws

    aws = importlib.reload(tmr.aws)
    health = aws.handler(http_api_event("GET", "/health"), Context())
    assert health["statusCode"] == 200
    assert json.loads(health["body"])["status"] == "ok"
    login = aws.handler(http_api_event("PUT", "/authenticate", auth_request()), Context())
    token = json.loads(login["body"])
    created = aws.handler(
        http_api_event(
            "POST", "/artifact/code", {"url": "https://github.com/psf/requests"}, {"x-authorization": token}
        ),
        Context(),
    )
    assert created["statusCode"] == 201, created["body"]
    listed = aws.handler(
        http_api_event("POST", "/api/artifacts", [{"name": "*"}], {"x-authorization": token}), Context()
    )
    assert [a["name"] for a in json.loads(listed["body"])] == ["requests"]
    denied = aws.handler(http_api_event("POST", "/artifacts", [{"name": "*"}]), Context())
    assert denied["statusCode"] == 403
