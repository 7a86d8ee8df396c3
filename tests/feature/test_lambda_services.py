"""The Lambda handler over the scaled-out stores: PostgreSQL (a fresh database, reached through
a database secret in the RDS format) and SeaweedFS (a bucket prefix of its own), with presigned
download redirects, as the function runs on AWS. Secrets Manager and SSM are stand-ins here (no
AWS to reach); tests/unit/test_lambda_secrets.py drives the real boto3 clients, stubbed."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import jwt
import psycopg
import pytest
from sqlalchemy.engine import make_url

import tmr.aws as aws
from tests import services
from tests.emulator.server import EmulatorServer
from tests.feature.conftest import HF
from tests.feature.test_lambda import (
    LambdaContext,
    body_bytes,
    body_json,
    header,
    http_api_event,
    login,
    query_of,
    rest_api_event,
)
from tests.zips import digests, model_files, unzip, zip_bytes
from tmr.storage.blobs.s3 import S3BlobStore

pytestmark = [pytest.mark.postgres, pytest.mark.s3]

SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:tmr/db-AbCdEf"
JWT_PARAM = "/tmr/jwt-secret"
JWT_KEY = "signing-key-from-parameter-store-" + "k" * 32


@pytest.fixture(scope="module")
def database() -> Iterator[dict[str, Any]]:
    """A database of its own on the throwaway cluster, described as an RDS secret; dropped after."""
    url = make_url(services.require("postgres"))
    name = f"tmr_lambda_{secrets.token_hex(4)}"
    admin = f"host={url.host} port={url.port} user={url.username} dbname={url.database}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]
    yield {
        "engine": "postgres",
        "host": url.host,
        "port": url.port,
        "dbname": name,
        "username": url.username,
        "password": url.password or "initial-password",  # the throwaway cluster trusts any
    }
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")  # type: ignore[arg-type]


class StandInSecrets:
    """Secrets Manager and Parameter Store as the function's role would see them."""

    def __init__(self, database: dict[str, Any]) -> None:
        self.database = database
        self.asked: list[str] = []

    def secret_string(self, secret_id: str) -> str:
        self.asked.append(secret_id)
        assert secret_id == SECRET_ARN
        return json.dumps(self.database)

    def parameters(self, names: Sequence[str]) -> dict[str, str]:
        self.asked.extend(names)
        assert list(names) == [JWT_PARAM]
        return {JWT_PARAM: JWT_KEY}


@pytest.fixture
def runtime(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, emulator: EmulatorServer, database: dict[str, Any]
) -> Iterator[aws.LambdaRuntime]:
    s3 = services.require("s3")
    for name in list(os.environ):
        if (name.startswith(("TMR_", "S3_")) and not name.startswith("TMR_TEST_")) or name == "AUTH_TOKEN":
            monkeypatch.delenv(name)
    env = {
        "TMR_DATA_DIR": str(tmp_path / "lambda"),
        "LOG_LEVEL": "0",
        "TMR_UPSTREAM_BACKOFF_S": "0.01",
        "AWS_LAMBDA_FUNCTION_NAME": "tmr",
        "TMR_ALLOW_DEFAULT_ADMIN_PASSWORD": "true",  # the contract's client signs in with it
        "TMR_DATABASE_SECRET_ARN": SECRET_ARN,
        "TMR_DATABASE_SSLMODE": "disable",  # the throwaway cluster has no TLS; RDS gets `require`
        "TMR_JWT_SECRET_PARAM": JWT_PARAM,
        "S3_BUCKET": s3["bucket"],
        "S3_ENDPOINT_URL": s3["endpoint_url"],
        "AWS_REGION": s3["region"],
        "TMR_S3_PREFIX": f"lambda/{uuid.uuid4().hex}/",
        "TMR_DOWNLOAD_REDIRECT": "presigned",
        "TMR_DOWNLOAD_REDIRECT_EXPIRES_S": "120",
        **emulator.env(),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    fresh = aws.LambdaRuntime(secrets=StandInSecrets(database))
    monkeypatch.setattr(aws, "_runtime", fresh)
    yield fresh
    if fresh._registry is not None:  # leave nothing in the shared bucket
        registry = fresh._registry
        assert isinstance(registry.blobs, S3BlobStore)
        registry.blobs.delete_packages()
        for digest in list(registry.blobs.iter_digests()):
            registry.blobs.delete(digest)
        registry.artifacts.reset()
    fresh.close()


Invoke = Callable[[dict[str, Any]], dict[str, Any]]


@pytest.fixture
def invoke(runtime: aws.LambdaRuntime) -> Invoke:
    def call(event: dict[str, Any]) -> dict[str, Any]:
        return aws.handler(event, LambdaContext())

    return call


def test_the_secrets_configure_the_registry(
    invoke: Invoke, runtime: aws.LambdaRuntime, database: dict[str, Any]
) -> None:
    assert invoke(http_api_event("GET", "/health"))["statusCode"] == 200
    url = make_url(runtime.settings.resolved_database_url)
    assert (url.drivername, url.database, url.query["sslmode"]) == (
        "postgresql+psycopg",
        database["dbname"],
        "disable",
    )
    assert runtime.registry.store.engine.dialect.name == "postgresql"
    token = login(invoke)["X-Authorization"].removeprefix("bearer ")
    jwt.decode(token, JWT_KEY, algorithms=["HS256"])  # signed with the key from Parameter Store
    assert runtime.settings.jwt_secret == JWT_KEY  # resolved from its parameter, not generated
    assert runtime._secrets is not None
    assert runtime._secrets.asked == [SECRET_ARN, JWT_PARAM]  # type: ignore[attr-defined]
    health = invoke(http_api_event("GET", "/health/components"))
    assert health["statusCode"] == 200


@pytest.mark.parametrize("event", [http_api_event, rest_api_event], ids=["http-api", "rest-api"])
def test_register_rate_and_download_through_a_presigned_url(
    invoke: Invoke, event: Callable[..., dict[str, Any]]
) -> None:
    auth = login(invoke, event)
    created = invoke(event("POST", "/artifact/model", {"url": f"{HF}/google-bert/bert-base-uncased"}, auth))
    assert created["statusCode"] == 201, created["body"]
    artifact_id = body_json(created)["metadata"]["id"]
    rating = invoke(event("GET", f"/artifact/model/{artifact_id}/rate", headers=auth))
    assert rating["statusCode"] == 200, rating["body"]
    assert {k: v for k, v in body_json(rating).items() if k != "safety"}.keys().__len__() == 26
    assert all(v is not None for v in body_json(rating).values())

    redirect = invoke(event("GET", f"/download/{artifact_id}", headers=auth))
    assert redirect["statusCode"] == 307, redirect["body"]
    location = header(redirect, "location")
    assert location is not None
    assert query_of(location)["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert query_of(location)["X-Amz-Expires"] == "120"
    assert header(redirect, "cache-control") == "private, no-store"
    fetched = httpx.get(location, timeout=30)
    assert fetched.status_code == 200
    assert header(redirect, "x-package-sha256") == hashlib.sha256(fetched.content).hexdigest()
    assert unzip(fetched.content)  # a real zip
    # Opting out proxies the same bytes through the function (small enough here).
    proxied = invoke(event("GET", f"/download/{artifact_id}", headers=auth, query={"redirect": "false"}))
    assert proxied["statusCode"] == 200
    assert proxied["isBase64Encoded"] is True
    assert body_bytes(proxied) == fetched.content


def test_an_upload_through_the_handler_lands_in_s3_and_postgres(
    invoke: Invoke, runtime: aws.LambdaRuntime
) -> None:
    auth = login(invoke)
    files = model_files(seed=7)
    uploaded = invoke(
        rest_api_event(
            "POST",
            "/artifact/model/upload",
            zip_bytes(files),
            auth | {"Content-Type": "application/zip"},
            query={"name": "acme/lambda-upload"},
        )
    )
    assert uploaded["statusCode"] == 201, uploaded["body"]
    artifact_id = body_json(uploaded)["metadata"]["id"]
    redirect = invoke(rest_api_event("GET", f"/download/{artifact_id}", headers=auth))
    assert redirect["statusCode"] == 307
    location = header(redirect, "location")
    assert location is not None
    package = httpx.get(location, timeout=30).content
    assert digests(unzip(package)) == digests(files)
    assert header(redirect, "x-package-sha256") == hashlib.sha256(package).hexdigest()
    blobs = runtime.registry.blobs
    assert all(blobs.exists(hashlib.sha256(data).hexdigest()) for data in files.values())


def test_maintenance_over_postgres_and_s3(
    invoke: Invoke, runtime: aws.LambdaRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runtime.registry.settings, "gc_grace_s", 0.0)  # S3 times cannot be set back
    assert invoke({"tmr": "migrate"})["tmr"] == "migrate"
    auth = login(invoke)
    kept = invoke(
        http_api_event("POST", "/artifact/model", {"url": f"{HF}/google-bert/bert-base-uncased"}, auth)
    )
    assert kept["statusCode"] == 201
    orphan = runtime.registry.blobs.put_bytes(b"bytes no artifact points at " + uuid.uuid4().bytes)
    summary = invoke({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}})
    assert (summary["tmr"], summary["removed"]) == ("gc", 1)
    assert not runtime.registry.blobs.exists(orphan.sha256)
    # What the artifact references stays.
    artifact_id = body_json(kept)["metadata"]["id"]
    assert invoke(http_api_event("GET", f"/download/{artifact_id}", headers=auth))["statusCode"] == 307


def test_a_rotated_database_password_is_read_again(
    monkeypatch: pytest.MonkeyPatch, invoke: Invoke, runtime: aws.LambdaRuntime, database: dict[str, Any]
) -> None:
    """RDS rotated the secret after the cold start: the next new connection is refused, the
    secret is read again, and the connection made with what it now says. (The throwaway cluster
    trusts every password, so the refusal is played by the driver's connect.)"""
    assert invoke(http_api_event("GET", "/health"))["statusCode"] == 200
    engine = runtime.registry.store.engine
    real_connect = engine.dialect.connect
    tried: list[str | None] = []

    def connect(*cargs: Any, **cparams: Any) -> Any:
        tried.append(cparams.get("password"))
        if cparams.get("password") != "rotated-password":
            raise psycopg.OperationalError(
                'connection failed: FATAL:  password authentication failed for user "x"'
            )
        return real_connect(*cargs, **cparams)

    monkeypatch.setattr(engine.dialect, "connect", connect)
    source = runtime._secrets
    assert isinstance(source, StandInSecrets)
    source.database = database | {"password": "rotated-password"}
    engine.dispose()  # the pooled connections go: the next request opens a new one
    assert invoke(http_api_event("GET", "/health"))["statusCode"] == 200
    assert tried == [database["password"], "rotated-password"]
    assert source.asked.count(SECRET_ARN) == 2
    engine.dispose()
    assert invoke(http_api_event("GET", "/health"))["statusCode"] == 200
    assert tried[2:] == ["rotated-password"]  # later connections use the new password at once
