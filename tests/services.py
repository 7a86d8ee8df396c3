"""Where the real test services are: read from the environment `scripts/services.sh start` writes.

    scripts/services.sh start && source .services/env

Tests that need a service call `require("postgres")` / `require("s3")`: they skip when the service
is not configured, unless TMR_REQUIRE_SERVICES=1 (CI), where a missing service fails the test
loudly instead of letting a green run hide that half the suite never ran.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from typing import Literal, NoReturn, TypedDict, overload

import psycopg
import pytest
from sqlalchemy.engine import make_url

SERVICE_HINT = "start it with `scripts/services.sh start && source .services/env`"


class S3Settings(TypedDict):
    endpoint_url: str
    bucket: str
    region: str


def postgres_url() -> str | None:
    """SQLAlchemy URL of the throwaway PostgreSQL database, or None when not configured."""
    return os.environ.get("TMR_TEST_POSTGRES_URL") or None


def s3_settings() -> S3Settings | None:
    """Endpoint, bucket and region of the test S3 server, or None when not configured.

    Credentials are not returned: boto3 reads AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY itself.
    """
    endpoint = os.environ.get("TMR_TEST_S3_ENDPOINT")
    if not endpoint:
        return None
    return S3Settings(
        endpoint_url=endpoint,
        bucket=os.environ.get("TMR_TEST_S3_BUCKET") or "tmr-test",
        region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
    )


def services_required() -> bool:
    return os.environ.get("TMR_REQUIRE_SERVICES", "").strip().lower() in {"1", "true", "yes"}


def missing(name: str, variable: str) -> NoReturn:
    """Skip (or, with TMR_REQUIRE_SERVICES=1, fail) because service `name` is not configured."""
    reason = f"{name} is not configured ({variable} is unset): {SERVICE_HINT}"
    if services_required():
        pytest.fail(f"TMR_REQUIRE_SERVICES=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@overload
def require(name: Literal["postgres"]) -> str: ...
@overload
def require(name: Literal["s3"]) -> S3Settings: ...
def require(name: Literal["postgres", "s3"]) -> str | S3Settings:
    """The settings of service `name`; skip or fail (see module docstring) when it is missing."""
    if name == "postgres":
        url = postgres_url()
        if url is None:
            missing("PostgreSQL", "TMR_TEST_POSTGRES_URL")
        return url
    if name == "s3":
        settings = s3_settings()
        if settings is None:
            missing("S3 (SeaweedFS)", "TMR_TEST_S3_ENDPOINT")
        return settings
    raise ValueError(f"unknown service {name!r}; expected 'postgres' or 's3'")


@contextlib.contextmanager
def fresh_postgres_database(prefix: str) -> Iterator[str]:
    """A database of its own on the services' cluster (named `<prefix>_<random>`), dropped
    afterwards: tests and benchmarks never share one, whatever ran before them."""
    url = make_url(require("postgres"))
    name = f"{prefix}_{secrets.token_hex(4)}"
    admin = f"host={url.host} port={url.port} user={url.username} dbname={url.database}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")  # type: ignore[arg-type]
