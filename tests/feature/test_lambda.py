"""The Lambda entry point, driven through `tmr.aws.handler` with real API Gateway payloads: HTTP
API (payload 2.0) and REST API (payload 1.0) requests, stages and custom-domain base paths, binary
bodies both ways, CORS preflights, request ids in the logs, and the maintenance events. SQLite and
files here; tests/feature/test_lambda_services.py runs the handler over PostgreSQL and SeaweedFS.

The event builders below are shared with those tests and with tests/e2e/test_lambda_package.py.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest

import tmr.aws as aws
from tests.emulator.server import EmulatorServer
from tests.feature.conftest import GH, HF
from tests.support import ADMIN, PASSWORD, auth_request
from tests.zips import digests, model_files, safetensors_bytes, unzip, zip_bytes
from tmr.storage.blobs.filesystem import FilesystemBlobStore
from tmr.storage.secrets import SecretLookupError

GATEWAY_HOST = "abc123.execute-api.us-east-1.amazonaws.com"
Body = Any  # JSON-able, or bytes sent as they are


def _encode(body: Body) -> tuple[bytes, str | None]:
    if body is None:
        return b"", None
    if isinstance(body, bytes):
        return body, None
    return json.dumps(body).encode(), "application/json"


def http_api_event(
    method: str,
    path: str,
    body: Body = None,
    headers: dict[str, str] | None = None,
    *,
    query: dict[str, str] | None = None,
    stage: str = "$default",
    host: str = GATEWAY_HOST,
    request_id: str = "gw-request-1",
) -> dict[str, Any]:
    """An API Gateway HTTP API event (payload 2.0). A named stage appears in the path, as it does
    when the API is called through its execute-api URL; bodies are base64, as the gateway sends
    any body it does not know to be text."""
    raw, content_type = _encode(body)
    full_path = path if stage == "$default" else f"/{stage}{path}"
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": full_path,
        "rawQueryString": urlencode(query or {}),
        "headers": {
            "host": host,
            "user-agent": "test",
            "x-forwarded-proto": "https",
            "x-forwarded-port": "443",
            **({"content-type": content_type} if content_type else {}),
            **{k.lower(): v for k, v in (headers or {}).items()},
        },
        **({"queryStringParameters": query} if query else {}),
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": host,
            "domainPrefix": host.split(".")[0],
            "http": {
                "method": method,
                "path": full_path,
                "protocol": "HTTP/1.1",
                "sourceIp": "198.51.100.7",
                "userAgent": "test",
            },
            "requestId": request_id,
            "routeKey": "$default",
            "stage": stage,
            "time": "26/Nov/2026:14:00:00 +0000",
            "timeEpoch": 1795000000000,
        },
        "body": base64.b64encode(raw).decode(),
        "isBase64Encoded": True,
    }


def rest_api_event(
    method: str,
    path: str,
    body: Body = None,
    headers: dict[str, str] | None = None,
    *,
    query: dict[str, str] | None = None,
    stage: str = "prod",
    host: str = GATEWAY_HOST,
    base_path: str = "",
    path_has_prefix: bool = False,
    request_id: str = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
) -> dict[str, Any]:
    """An API Gateway REST API proxy event (payload 1.0): `path` is the resource path (with the
    stage or base path only when `path_has_prefix`, as an HTTP API's 1.0 payload has it),
    `requestContext.path` what the client asked for, headers and query single- and multi-valued.
    Text bodies come as they are, binary ones (bytes) base64 (the API's binary media types)."""
    raw, content_type = _encode(body)
    prefix = base_path or f"/{stage}"
    all_headers = {
        "Host": host,
        "User-Agent": "test",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Port": "443",
        **({"Content-Type": content_type} if content_type else {}),
        **(headers or {}),
    }
    binary = isinstance(body, bytes)
    return {
        "resource": "/{proxy+}",
        "path": prefix + path if path_has_prefix else path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": {"proxy": path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": host,
            "httpMethod": method,
            "identity": {"sourceIp": "198.51.100.8", "userAgent": "test"},
            "path": prefix + path,
            "protocol": "HTTP/1.1",
            "requestId": request_id,
            "requestTimeEpoch": 1795000000000,
            "resourcePath": "/{proxy+}",
            "stage": stage,
        },
        "body": (base64.b64encode(raw).decode() if binary else raw.decode()) if body is not None else None,
        "isBase64Encoded": binary,
    }


class LambdaContext:
    """What the Lambda runtime passes as `context` (the attributes Mangum and tmr read)."""

    def __init__(self, request_id: str = "lambda-request-id-1") -> None:
        self.aws_request_id = request_id
        self.function_name = "tmr"
        self.function_version = "$LATEST"
        self.invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:tmr"
        self.memory_limit_in_mb = 1024
        self.log_group_name = "/aws/lambda/tmr"
        self.log_stream_name = "2026/11/26/[$LATEST]0123456789abcdef"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


def body_bytes(response: dict[str, Any]) -> bytes:
    body: str = response.get("body") or ""
    return base64.b64decode(body) if response.get("isBase64Encoded") else body.encode()


def body_json(response: dict[str, Any]) -> Any:
    return json.loads(body_bytes(response))


def header(response: dict[str, Any], name: str) -> str | None:
    """A response header from either payload format (2.0 `headers`, 1.0 also `multiValueHeaders`)."""
    for key, value in (response.get("headers") or {}).items():
        if key.lower() == name.lower():
            return str(value)
    for key, values in (response.get("multiValueHeaders") or {}).items():
        if key.lower() == name.lower():
            return ",".join(values)
    return None


def query_of(location: str) -> dict[str, str]:
    return dict(parse_qsl(location.split("?", 1)[1]))


Invoke = Callable[[dict[str, Any]], dict[str, Any]]


@pytest.fixture
def lambda_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, emulator: EmulatorServer) -> Path:
    """A Lambda-like environment over SQLite and files, the upstreams served by the emulator."""
    for name in list(os.environ):  # nothing from the developer's shell decides what runs
        ours = name.startswith(("TMR_", "S3_")) and not name.startswith("TMR_TEST_")
        if ours or name in {"AUTH_TOKEN", "AUTH_TOKEN_PARAM", "LOG_FILE", "AWS_LAMBDA_RUNTIME_API"}:
            monkeypatch.delenv(name)
    monkeypatch.setenv("TMR_DATA_DIR", str(tmp_path / "lambda"))
    monkeypatch.setenv("LOG_LEVEL", "0")
    monkeypatch.setenv("TMR_UPSTREAM_BACKOFF_S", "0.01")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "tmr")
    # The contract's client signs in with the published default password: allowed on purpose.
    monkeypatch.setenv("TMR_ALLOW_DEFAULT_ADMIN_PASSWORD", "true")
    for key, value in emulator.env().items():
        monkeypatch.setenv(key, value)
    return tmp_path


@pytest.fixture
def runtime(lambda_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[aws.LambdaRuntime]:
    """A fresh container: `tmr.aws.handler` serves from a runtime built on first use."""
    fresh = aws.LambdaRuntime()
    monkeypatch.setattr(aws, "_runtime", fresh)
    yield fresh
    fresh.close()


@pytest.fixture
def invoke(runtime: aws.LambdaRuntime) -> Invoke:
    def call(event: dict[str, Any]) -> dict[str, Any]:
        return aws.handler(event, LambdaContext())

    return call


def login(invoke: Invoke, event: Callable[..., dict[str, Any]] = http_api_event, **kw: Any) -> dict[str, str]:
    answer = invoke(event("PUT", "/authenticate", auth_request(), **kw))
    assert answer["statusCode"] == 200, answer
    return {"X-Authorization": body_json(answer)}


# ------------------------------------------------------------------------------------ HTTP API


def test_an_http_api_serves_the_contract(invoke: Invoke) -> None:
    health = invoke(http_api_event("GET", "/health"))
    assert health["statusCode"] == 200
    assert health["isBase64Encoded"] is False
    assert body_json(health)["status"] == "ok"
    auth = login(invoke)
    created = invoke(http_api_event("POST", "/artifact/code", {"url": f"{GH}/psf/requests"}, auth))
    assert created["statusCode"] == 201, created["body"]
    assert body_json(created)["data"]["download_url"].startswith(f"https://{GATEWAY_HOST}/download/")
    listed = invoke(http_api_event("POST", "/api/artifacts", [{"name": "*"}], auth))
    assert [a["name"] for a in body_json(listed)] == ["requests"]
    assert invoke(http_api_event("POST", "/artifacts", [{"name": "*"}]))["statusCode"] == 403


def test_a_rest_api_serves_the_contract(invoke: Invoke) -> None:
    health = invoke(rest_api_event("GET", "/health"))
    assert health["statusCode"] == 200
    assert "multiValueHeaders" in health  # a 1.0 response
    assert body_json(health)["status"] == "ok"
    auth = login(invoke, rest_api_event)
    created = invoke(
        rest_api_event("POST", "/artifact/model", {"url": f"{HF}/google-bert/bert-base-uncased"}, auth)
    )
    assert created["statusCode"] == 201, created["body"]
    # The client called https://host/prod/...: the link it gets back keeps the stage.
    artifact = body_json(created)
    assert (
        artifact["data"]["download_url"]
        == f"https://{GATEWAY_HOST}/prod/download/{artifact['metadata']['id']}"
    )
    by_name = invoke(rest_api_event("GET", "/artifact/byName/bert-base-uncased", headers=auth))
    assert by_name["statusCode"] == 200
    assert body_json(by_name)[0]["id"] == artifact["metadata"]["id"]
    page = invoke(rest_api_event("POST", "/artifacts", [{"name": "*"}], auth, query={"offset": "0"}))
    assert page["statusCode"] == 200
    assert len(body_json(page)) == 1


def test_a_header_sent_twice_in_a_rest_event_reaches_the_app(invoke: Invoke) -> None:
    event = rest_api_event("GET", "/health")
    event["multiValueHeaders"]["X-Request-ID"] = ["first", "second"]
    answer = invoke(event)
    assert answer["statusCode"] == 200
    assert header(answer, "x-request-id") == "first, second"  # joined, as HTTP folds them


# -------------------------------------------------------------------------------- base paths


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(
            lambda m, p, *a, **k: http_api_event(m, p, *a, stage="prod", **k), id="http-api-named-stage"
        ),
        pytest.param(
            lambda m, p, *a, **k: rest_api_event(m, p, *a, path_has_prefix=True, **k), id="1.0-stage-in-path"
        ),
    ],
)
def test_a_stage_in_the_path_is_stripped_and_kept_in_links(
    invoke: Invoke, event: Callable[..., dict[str, Any]]
) -> None:
    assert invoke(event("GET", "/health"))["statusCode"] == 200
    assert invoke(event("GET", "/api/health"))["statusCode"] == 200
    auth = login(invoke, event)
    created = invoke(event("POST", "/artifact/code", {"url": f"{GH}/psf/requests"}, auth))
    assert created["statusCode"] == 201, created["body"]
    assert body_json(created)["data"]["download_url"].startswith(f"https://{GATEWAY_HOST}/prod/download/")


def test_a_custom_domain_base_path(monkeypatch: pytest.MonkeyPatch, lambda_env: Path) -> None:
    monkeypatch.setenv("TMR_BASE_PATH", "/registry/")
    runtime = aws.LambdaRuntime()
    monkeypatch.setattr(aws, "_runtime", runtime)
    host = "models.example.com"

    def invoke(event: dict[str, Any]) -> dict[str, Any]:
        return aws.handler(event, LambdaContext())

    try:
        for path in ("/registry/health", "/registry/api/health"):
            answer = invoke(http_api_event("GET", path, host=host))
            assert answer["statusCode"] == 200, (path, answer)
        # A REST API behind the same mapping: the path may or may not carry the base path.
        mapped = invoke(
            rest_api_event("GET", "/registry/health", host=host, base_path="/registry", path_has_prefix=True)
        )
        assert mapped["statusCode"] == 200
        assert invoke(rest_api_event("GET", "/health", host=host, base_path="/registry"))["statusCode"] == 200
        assert (
            invoke(http_api_event("GET", "/registryfoo", host=host))["statusCode"] == 404
        )  # not a prefix match
        auth = login(invoke, http_api_event, host=host)
        created = invoke(
            http_api_event("POST", "/registry/artifact/code", {"url": f"{GH}/psf/requests"}, auth, host=host)
        )
        assert body_json(created)["data"]["download_url"].startswith(f"https://{host}/registry/download/")
        # The gateway may also hand over the path without the mapping: the links still carry it.
        again = invoke(
            http_api_event(
                "POST", "/artifact/model", {"url": f"{HF}/google-bert/bert-base-uncased"}, auth, host=host
            )
        )
        assert again["statusCode"] == 201, again["body"]
        assert body_json(again)["data"]["download_url"].startswith(f"https://{host}/registry/download/")
        docs = invoke(http_api_event("GET", "/registry/docs", host=host))
        assert "/registry/openapi.json" in body_bytes(docs).decode()
    finally:
        runtime.close()


# ------------------------------------------------------------------------------------- CORS


@pytest.mark.parametrize("event", [http_api_event, rest_api_event], ids=["http-api", "rest-api"])
def test_a_cors_preflight_is_answered(invoke: Invoke, event: Callable[..., dict[str, Any]]) -> None:
    preflight = invoke(
        event(
            "OPTIONS",
            "/artifacts",
            headers={
                "Origin": "https://ui.example.com",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "x-authorization,content-type",
            },
        )
    )
    assert preflight["statusCode"] == 200
    assert header(preflight, "access-control-allow-origin") in {"*", "https://ui.example.com"}
    assert "POST" in (header(preflight, "access-control-allow-methods") or "")
    assert "x-authorization" in (header(preflight, "access-control-allow-headers") or "").lower()
    # The real request then carries the CORS answer, and exposes the headers clients read.
    listed = invoke(
        event(
            "POST", "/artifacts", [{"name": "*"}], login(invoke, event) | {"Origin": "https://ui.example.com"}
        )
    )
    assert listed["statusCode"] == 200
    assert "offset" in (header(listed, "access-control-expose-headers") or "")


# ----------------------------------------------------------------------------- binary bodies


@pytest.mark.parametrize("event", [http_api_event, rest_api_event], ids=["http-api", "rest-api"])
def test_a_zip_uploads_as_a_binary_body_and_downloads_base64(
    invoke: Invoke, event: Callable[..., dict[str, Any]]
) -> None:
    auth = login(invoke, event)
    files = model_files()
    uploaded = invoke(
        event(
            "POST",
            "/artifact/model/upload",
            zip_bytes(files, folder="sentiment/"),
            auth | {"Content-Type": "application/zip"},
            query={"name": "acme/sentiment", "version": "1.0.0"},
        )
    )
    assert uploaded["statusCode"] == 201, uploaded["body"]
    artifact = body_json(uploaded)
    assert artifact["metadata"]["name"] == "acme/sentiment"
    assert artifact["files"] == len(files)
    # Without presigned redirects the package itself is the answer: binary, so base64.
    download = invoke(event("GET", f"/download/{artifact['metadata']['id']}", headers=auth))
    assert download["statusCode"] == 200
    assert download["isBase64Encoded"] is True
    assert header(download, "content-type") == "application/zip"
    package = body_bytes(download)
    assert header(download, "x-package-sha256") == hashlib.sha256(package).hexdigest()
    assert digests(unzip(package)) == digests(files)
    # A JSON answer stays text.
    rating = invoke(event("GET", f"/artifact/model/{artifact['metadata']['id']}/rate", headers=auth))
    assert rating["statusCode"] == 200
    assert rating["isBase64Encoded"] is False
    assert len(set(body_json(rating)) - {"safety"}) == 26  # the contract's fields, all of them


def test_a_response_over_lambdas_limit_is_a_500_that_says_what_to_do(invoke: Invoke) -> None:
    auth = login(invoke)
    big = model_files(weights=safetensors_bytes(shape=(1280, 1280)))  # 6.5 MB of random floats
    uploaded = invoke(
        http_api_event(
            "POST",
            "/artifact/model/upload",
            zip_bytes(big),
            auth | {"Content-Type": "application/zip"},
            query={"name": "acme/big"},
        )
    )
    assert uploaded["statusCode"] == 201, uploaded["body"]
    artifact_id = body_json(uploaded)["metadata"]["id"]
    too_big = invoke(
        http_api_event("GET", f"/download/{artifact_id}", headers=auth | {"X-Request-ID": "big-1"})
    )
    assert too_big["statusCode"] == 500
    assert body_json(too_big)["code"] == "lambda_response_too_large"
    assert "TMR_DOWNLOAD_REDIRECT=presigned" in body_json(too_big)["detail"]
    assert header(too_big, "x-request-id") == "big-1"
    # In pieces it fits.
    piece = invoke(
        http_api_event("GET", f"/download/{artifact_id}", headers=auth | {"Range": "bytes=0-1048575"})
    )
    assert piece["statusCode"] == 206
    assert len(body_bytes(piece)) == 1024 * 1024
    weights_free = invoke(
        http_api_event("GET", f"/download/{artifact_id}", headers=auth, query={"parts": "config"})
    )
    assert weights_free["statusCode"] == 200


# ------------------------------------------------------------------------------------ logs


def test_request_ids_and_the_lambda_request_id_are_logged(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], runtime: aws.LambdaRuntime
) -> None:
    monkeypatch.setenv("LOG_LEVEL", "1")
    sent = aws.handler(
        http_api_event("GET", "/health", headers={"X-Request-ID": "client-42"}), LambdaContext("L-1")
    )
    assert header(sent, "x-request-id") == "client-42"
    given = aws.handler(rest_api_event("GET", "/health", request_id="gw-77"), LambdaContext("L-2"))
    assert header(given, "x-request-id") == "gw-77"  # none sent: API Gateway's own id
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    requests = [line for line in lines if line.get("msg") == "request"]
    assert [(r["request_id"], r["lambda_request_id"], r["path"], r["status"]) for r in requests] == [
        ("client-42", "L-1", "/health", 200),
        ("gw-77", "L-2", "/health", 200),
    ]
    built = [line for line in lines if line.get("msg") == "registry built"]
    assert len(built) == 1  # once per container, not per request
    assert built[0]["database"] == "sqlite"


# ------------------------------------------------------------------------------ maintenance


def test_a_scheduled_event_collects_orphan_blobs(invoke: Invoke, runtime: aws.LambdaRuntime) -> None:
    blobs = runtime.registry.blobs
    assert isinstance(blobs, FilesystemBlobStore)
    orphan = blobs.put_bytes(b"an orphan blob left by a failed registration")
    day_ago = time.time() - 86400
    os.utime(blobs.path_of(orphan.sha256), (day_ago, day_ago))
    in_flight = blobs.put_bytes(b"a blob whose artifact is being committed right now")
    scheduled = {
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-11-26T03:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/tmr-gc"],
        "detail": {},
    }
    summary = invoke(scheduled)
    assert summary["tmr"] == "gc"
    assert summary["removed"] == 1
    assert summary["request_id"] == "lambda-request-id-1"
    assert not runtime.registry.blobs.exists(orphan.sha256)
    assert blobs.exists(in_flight.sha256)  # younger than TMR_GC_GRACE_S
    assert invoke({"tmr": "gc"})["removed"] == 0


def test_a_migrate_invocation_does_not_need_the_rest_of_the_registry(
    invoke: Invoke, runtime: aws.LambdaRuntime
) -> None:
    assert invoke({"tmr": "migrate"})["tmr"] == "migrate"
    assert runtime._registry is None  # only the schema was touched
    assert invoke(http_api_event("GET", "/health"))["statusCode"] == 200
    assert invoke({"tmr": "migrate"})["tmr"] == "migrate"  # then on the registry's own engine


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"tmr": "vacuum"}, "unknown tmr action 'vacuum'"),
        ({"source": "aws.s3", "detail-type": "Object Created"}, "unrecognised event"),
        ({}, "unrecognised event"),
    ],
)
def test_an_unknown_event_fails_loudly(invoke: Invoke, event: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        invoke(event)


# ---------------------------------------------------------------------- a failed cold start


class FlakySecrets:
    """A parameter store that fails its first read, as an unreachable endpoint would."""

    def __init__(self) -> None:
        self.calls = 0

    def secret_string(self, secret_id: str) -> str:
        raise AssertionError("no database secret is configured here")

    def parameters(self, names: Any) -> dict[str, str]:
        self.calls += 1
        if self.calls == 1:
            raise SecretLookupError("cannot read the parameters /tmr/jwt: ThrottlingException")
        return dict.fromkeys(names, "jwt-signing-key-from-ssm-0123456789abcdef")


def test_a_cold_start_that_fails_answers_503_and_the_next_request_retries(
    monkeypatch: pytest.MonkeyPatch, lambda_env: Path
) -> None:
    monkeypatch.setenv("TMR_JWT_SECRET_PARAM", "/tmr/jwt")
    secrets = FlakySecrets()
    runtime = aws.LambdaRuntime(secrets=secrets)
    try:
        first = runtime.handle(http_api_event("GET", "/health", request_id="gw-1"), LambdaContext())
        assert first["statusCode"] == 503
        assert body_json(first)["code"] == "unavailable"
        assert header(first, "x-request-id") == "gw-1"
        assert "ThrottlingException" not in first["body"]  # the details are in the log, not the answer
        second = runtime.handle(http_api_event("GET", "/health"), LambdaContext())
        assert second["statusCode"] == 200
        assert runtime.settings.jwt_secret == "jwt-signing-key-from-ssm-0123456789abcdef"
        assert secrets.calls == 2
    finally:
        runtime.close()


def test_the_init_phase_builds_the_registry_inside_the_lambda_runtime(lambda_env: Path) -> None:
    runtime = aws.LambdaRuntime()
    try:
        runtime.warm()
        assert runtime._adapter is not None
        assert runtime.handle(http_api_event("GET", "/health"), LambdaContext())["statusCode"] == 200
    finally:
        runtime.close()

    def no_settings() -> aws.Settings:
        raise RuntimeError("no settings")

    broken = aws.LambdaRuntime(settings=no_settings)
    broken.warm()  # logged, not raised: the first event tries again and answers 503
    assert broken.handle(http_api_event("GET", "/health"), LambdaContext())["statusCode"] == 503


# ---------------------------------------------------------------------------------- browser UI


def _cookies(response: dict[str, Any]) -> list[str]:
    """Set-Cookie from either payload format: 2.0 `cookies`, 1.0 `headers` (one) or
    `multiValueHeaders` (several)."""
    found = list(response.get("cookies") or [])
    for key, value in (response.get("headers") or {}).items():
        if key.lower() == "set-cookie":
            found.append(value)
    for key, values in (response.get("multiValueHeaders") or {}).items():
        if key.lower() == "set-cookie":
            found += values
    return found


def test_the_ui_keeps_the_stage_in_links_cookies_and_assets(invoke: Invoke) -> None:
    """The pages through API Gateway: every link, the hashed assets and the session cookie keep
    the stage the browser called, and a sign-in through the gateway opens a session."""
    form = invoke(rest_api_event("GET", "/ui/sign-in"))
    assert form["statusCode"] == 200
    page = body_bytes(form).decode()
    assert 'action="/prod/ui/sign-in"' in page
    css = re.search(r'href="/prod(/static/css/app\.[0-9a-f]{12}\.css)"', page)
    assert css is not None
    asset = invoke(rest_api_event("GET", css.group(1)))
    assert asset["statusCode"] == 200
    assert "immutable" in (header(asset, "cache-control") or "")
    nonce_cookie = next(c for c in _cookies(form) if c.startswith("tmr_sign_in="))
    assert "Path=/prod" in nonce_cookie
    assert "Secure" in nonce_cookie  # the gateway is HTTPS
    nonce = nonce_cookie.split(";", 1)[0].split("=", 1)[1]
    body = urlencode({"username": ADMIN, "password": PASSWORD, "nonce": nonce}).encode()
    signed_in = invoke(
        rest_api_event(
            "POST",
            "/ui/sign-in",
            body,
            {"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"tmr_sign_in={nonce}"},
        )
    )
    assert signed_in["statusCode"] == 303, body_bytes(signed_in)
    assert header(signed_in, "location") == "/prod/"
    session = next(c for c in _cookies(signed_in) if c.startswith("tmr_session="))
    assert "HttpOnly" in session
    assert "Path=/prod" in session
    home = invoke(rest_api_event("GET", "/", headers={"Cookie": session.split(";", 1)[0]}))
    assert home["statusCode"] == 200
    assert "Signed in as" in body_bytes(home).decode()


def test_a_lambda_refuses_the_public_default_admin_password(
    monkeypatch: pytest.MonkeyPatch, lambda_env: Path
) -> None:
    monkeypatch.delenv("TMR_ALLOW_DEFAULT_ADMIN_PASSWORD")
    runtime = aws.LambdaRuntime()
    try:
        answer = runtime.handle(http_api_event("GET", "/health"), LambdaContext())
        assert answer["statusCode"] == 503
        assert "default admin password" not in answer["body"]  # said in the log, not to the caller
    finally:
        runtime.close()
    monkeypatch.setenv("TMR_ADMIN_PASSWORD", "a-company-password-of-its-own")
    runtime = aws.LambdaRuntime()
    try:
        assert runtime.handle(http_api_event("GET", "/health"), LambdaContext())["statusCode"] == 200
        refused = runtime.handle(http_api_event("PUT", "/authenticate", auth_request()), LambdaContext())
        assert refused["statusCode"] == 401
        own = auth_request("a-company-password-of-its-own")
        assert (
            runtime.handle(http_api_event("PUT", "/authenticate", own), LambdaContext())["statusCode"] == 200
        )
    finally:
        runtime.close()
