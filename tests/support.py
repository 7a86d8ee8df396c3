"""Helpers shared by the test layers: fresh databases, settings, authenticated clients."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from tmr.settings import Settings
from tmr.storage.database import make_engine, migrate
from tmr.storage.tables import Base

ADMIN = "ece30861defaultadminuser"
PASSWORD = "correcthorsebatterystaple123(!__+@**(A'\"`;DROP TABLE packages;"
PASSWORD_YAML = "correcthorsebatterystaple123(!__+@**(A'\"`;DROP TABLE artifacts;"


def fresh_engine(url: str) -> Engine:
    """A migrated database with no rows: PostgreSQL is migrated once and truncated per test."""
    engine = make_engine(url)
    migrate(engine)
    if engine.dialect.name == "postgresql":
        names = ", ".join(t.name for t in Base.metadata.sorted_tables)
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    return engine


def make_settings(data_dir: Path, upstream_url: str | None = None, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "database_url": None,
        "blob_store": "filesystem",
        "s3_bucket": None,
        "hf_token": None,
        "github_token": None,
        "auth_token": None,
        "jwt_secret": None,
        "upstream_backoff_s": 0.01,
        "upstream_timeout_s": 5.0,
        "log_level": 0,
        "log_file": None,
        "public_url": None,
    }
    if upstream_url:
        values["hf_endpoint"] = upstream_url
        values["github_api_url"] = upstream_url + "/github"
    values.update(overrides)
    return Settings(**values)


def auth_request(password: str = PASSWORD, name: str = ADMIN) -> dict[str, Any]:
    return {"user": {"name": name, "is_admin": True}, "secret": {"password": password}}
