"""The database URL the Lambda handler builds from its secret verifies the server's certificate:
`sslmode=verify-full` with `sslrootcert` naming the RDS CA bundle (or TMR_DATABASE_SSLROOTCERT),
and a missing bundle stops the cold start by name instead of connecting unverified."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.support import make_settings
from tmr import aws
from tmr.aws import resolve_secrets, with_root_certificate

ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-0a1b2c"
SECRET = json.dumps({"username": "tmr_app", "password": "p@ss w/rd?&sslrootcert=/evil"})
HOST = "tmr.abcdefghij.us-east-1.rds.amazonaws.com"


class OneSecret:
    def secret_string(self, secret_id: str) -> str:
        assert secret_id == ARN
        return SECRET

    def parameters(self, names: Sequence[str]) -> dict[str, str]:
        raise AssertionError(f"no parameter was configured, yet {names} were asked for")


@pytest.fixture
def bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "rds-ca" / "global-bundle.pem"
    path.parent.mkdir()
    path.write_text("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n")
    monkeypatch.setattr(aws, "RDS_CA_BUNDLE", path)
    monkeypatch.delenv("TMR_DATABASE_SSLROOTCERT", raising=False)
    return path


def _resolve(tmp_path: Path, sslmode: str) -> str:
    settings = make_settings(
        tmp_path,
        database_secret_arn=ARN,
        database_host=HOST,
        database_name="tmr",
        database_sslmode=sslmode,
    )
    url = resolve_secrets(settings, OneSecret()).database_url
    assert url is not None
    return url


def test_verify_full_names_the_shipped_rds_bundle(tmp_path: Path, bundle: Path) -> None:
    url = _resolve(tmp_path, "verify-full")
    parsed = make_url(url)
    assert parsed.query == {"sslmode": "verify-full", "sslrootcert": str(bundle)}
    assert (parsed.host, parsed.username, parsed.password) == (
        HOST,
        "tmr_app",
        "p@ss w/rd?&sslrootcert=/evil",
    )
    assert "sslmode=verify-full&sslrootcert=" in url


def test_a_configured_root_certificate_wins(
    tmp_path: Path, bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy_ca = tmp_path / "proxy-ca.pem"
    proxy_ca.write_text("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n")
    monkeypatch.setenv("TMR_DATABASE_SSLROOTCERT", str(proxy_ca))
    assert make_url(_resolve(tmp_path, "verify-ca")).query["sslrootcert"] == str(proxy_ca)


def test_a_missing_bundle_stops_the_cold_start_by_name(
    tmp_path: Path, bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle.unlink()
    with pytest.raises(FileNotFoundError, match=r"global-bundle\.pem") as caught:
        _resolve(tmp_path, "verify-full")
    assert "p@ss" not in str(caught.value)
    monkeypatch.setenv("TMR_DATABASE_SSLROOTCERT", str(tmp_path / "nowhere.pem"))
    with pytest.raises(FileNotFoundError, match=r"nowhere\.pem"):
        _resolve(tmp_path, "verify-full")


def test_require_adds_no_root_certificate(tmp_path: Path, bundle: Path) -> None:
    assert make_url(_resolve(tmp_path, "require")).query == {"sslmode": "require"}


def test_the_root_certificate_replaces_one_already_in_the_query(tmp_path: Path) -> None:
    url = "postgresql+psycopg://u:p%40@h:5432/db?sslmode=verify-full&sslrootcert=/tmp/other.pem"
    fitted = with_root_certificate(url, tmp_path / "ca dir" / "bundle.pem")
    assert make_url(fitted).query == {
        "sslmode": "verify-full",
        "sslrootcert": str(tmp_path / "ca dir" / "bundle.pem"),
    }
    assert make_url(fitted).password == "p@"
