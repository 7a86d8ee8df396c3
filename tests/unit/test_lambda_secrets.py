"""Lambda runtime configuration: the RDS secret format, Secrets Manager and SSM through boto3
(stubbed with botocore's Stubber: real clients, real request validation, no network), and which
value wins when both a value and a reference to it are set."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from tests.support import make_settings
from tmr.aws import resolve_secrets
from tmr.storage import secrets as secrets_module
from tmr.storage.secrets import (
    AwsSecrets,
    SecretLookupError,
    database_url_from_secret,
    reread_credentials_when_refused,
)

ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:tmr/db-AbCdEf"
RDS_SECRET = {
    "engine": "postgres",
    "host": "tmr.cluster-abc.eu-west-1.rds.amazonaws.com",
    "port": 5432,
    "dbname": "tmr",
    "username": "tmr_app",
    "password": "p@ss:w/rd?#%&é ' \"",  # everything a URL would break on
}


def client(service: str) -> Any:
    return boto3.client(
        service, region_name="eu-west-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )


@pytest.fixture
def secretsmanager() -> Iterator[tuple[Any, Stubber]]:
    sm = client("secretsmanager")
    with Stubber(sm) as stub:
        yield sm, stub
        stub.assert_no_pending_responses()


@pytest.fixture
def ssm() -> Iterator[tuple[Any, Stubber]]:
    ssm_client = client("ssm")
    with Stubber(ssm_client) as stub:
        yield ssm_client, stub
        stub.assert_no_pending_responses()


def secret_answer(secret: dict[str, Any] | str) -> dict[str, Any]:
    text = secret if isinstance(secret, str) else json.dumps(secret)
    return {"ARN": ARN, "Name": "tmr/db", "VersionId": "v1" * 16, "SecretString": text}


def parameter(name: str, value: str) -> dict[str, Any]:
    return {
        "Name": name,
        "Type": "SecureString",
        "Value": value,
        "Version": 3,
        "ARN": f"arn:aws:ssm:eu-west-1:123456789012:parameter{name}",
    }


# ------------------------------------------------------------------------- the RDS secret format


def test_an_rds_secret_becomes_a_psycopg_url_with_tls_required() -> None:
    url = make_url(database_url_from_secret(json.dumps(RDS_SECRET)))
    assert url.drivername == "postgresql+psycopg"
    assert (url.username, url.password) == ("tmr_app", RDS_SECRET["password"])  # quoted, then read back
    assert (url.host, url.port, url.database) == (RDS_SECRET["host"], 5432, "tmr")
    assert url.query == {"sslmode": "require"}


def test_the_deployment_names_where_to_connect_when_it_knows_better() -> None:
    # An RDS-managed secret holds only the credentials; an RDS Proxy has its own endpoint.
    managed = {"username": "tmr_app", "password": "pw"}
    url = make_url(
        database_url_from_secret(
            json.dumps(managed),
            host="proxy.example.internal",
            port=6432,
            dbname="registry",
            sslmode="verify-full",
        )
    )
    assert (url.host, url.port, url.database, url.query["sslmode"]) == (
        "proxy.example.internal",
        6432,
        "registry",
        "verify-full",
    )
    overridden = make_url(database_url_from_secret(json.dumps(RDS_SECRET), host="proxy.example.internal"))
    assert (overridden.host, overridden.port, overridden.database) == ("proxy.example.internal", 5432, "tmr")
    string_port = make_url(database_url_from_secret(json.dumps(managed | {"host": "h", "port": "5433"})))
    assert (string_port.port, string_port.database) == (5433, "postgres")


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("not json at all", "is not JSON"),
        ('["a", "list"]', "is not a JSON object"),
        (json.dumps(RDS_SECRET | {"engine": "mysql"}), "for the engine 'mysql'"),
        (json.dumps({"password": "pw", "host": "h"}), "has no username and password"),
        (json.dumps({"username": "u", "password": "pw"}), "names no host: set TMR_DATABASE_HOST"),
        (json.dumps(RDS_SECRET | {"port": "fivefourthreetwo"}), "has an invalid port"),
    ],
)
def test_a_secret_that_is_not_usable_says_why_without_its_values(secret: str, message: str) -> None:
    with pytest.raises(SecretLookupError, match=message) as caught:
        database_url_from_secret(secret, label="the secret tmr/db")
    assert RDS_SECRET["password"] not in str(caught.value)
    assert "pw" not in str(caught.value).replace("password", "")


# ----------------------------------------------------------------------- boto3, stubbed


def test_secrets_manager_is_asked_for_the_secret_string(secretsmanager: tuple[Any, Stubber]) -> None:
    sm, stub = secretsmanager
    stub.add_response("get_secret_value", secret_answer(RDS_SECRET), {"SecretId": ARN})
    assert json.loads(AwsSecrets("eu-west-1", secretsmanager=sm).secret_string(ARN)) == RDS_SECRET


def test_a_refused_secret_names_the_secret_and_the_error_code(secretsmanager: tuple[Any, Stubber]) -> None:
    sm, stub = secretsmanager
    stub.add_client_error("get_secret_value", "AccessDeniedException", "not allowed", 400, {"SecretId": ARN})
    with pytest.raises(SecretLookupError, match=f"cannot read the secret {ARN}: AccessDeniedException"):
        AwsSecrets("eu-west-1", secretsmanager=sm).secret_string(ARN)


def test_a_binary_secret_is_refused(secretsmanager: tuple[Any, Stubber]) -> None:
    sm, stub = secretsmanager
    stub.add_response(
        "get_secret_value", {"ARN": ARN, "Name": "tmr/db", "SecretBinary": b"\x00\x01"}, {"SecretId": ARN}
    )
    with pytest.raises(SecretLookupError, match="has no SecretString"):
        AwsSecrets("eu-west-1", secretsmanager=sm).secret_string(ARN)


def test_parameters_are_read_decrypted_in_one_call(ssm: tuple[Any, Stubber]) -> None:
    ssm_client, stub = ssm
    arn = "arn:aws:ssm:eu-west-1:123456789012:parameter/shared/admin-token"
    stub.add_response(
        "get_parameters",
        {
            "Parameters": [
                parameter("/tmr/jwt", "signing-key"),
                parameter("/shared/admin-token", "tok") | {"Name": arn},
            ]
        },
        {"Names": ["/tmr/jwt", arn], "WithDecryption": True},
    )
    values = AwsSecrets("eu-west-1", ssm=ssm_client).parameters(["/tmr/jwt", arn])
    assert values == {"/tmr/jwt": "signing-key", arn: "tok"}


def test_a_missing_parameter_is_named(ssm: tuple[Any, Stubber]) -> None:
    ssm_client, stub = ssm
    stub.add_response(
        "get_parameters",
        {"Parameters": [parameter("/tmr/jwt", "signing-key")], "InvalidParameters": ["/tmr/admin-token"]},
        {"Names": ["/tmr/jwt", "/tmr/admin-token"], "WithDecryption": True},
    )
    with pytest.raises(SecretLookupError, match="no such SSM parameter\\(s\\): /tmr/admin-token"):
        AwsSecrets("eu-west-1", ssm=ssm_client).parameters(["/tmr/jwt", "/tmr/admin-token"])


def test_a_refused_parameter_read_names_the_error_code(ssm: tuple[Any, Stubber]) -> None:
    ssm_client, stub = ssm
    stub.add_client_error("get_parameters", "AccessDeniedException", "kms:Decrypt denied", 400)
    with pytest.raises(SecretLookupError, match="/tmr/jwt: AccessDeniedException"):
        AwsSecrets("eu-west-1", ssm=ssm_client).parameters(["/tmr/jwt"])


# ---------------------------------------------------------------------------- precedence


class RecordingSource:
    """A secret source that records what it was asked (and fails when it should not be asked)."""

    def __init__(
        self, secrets: dict[str, str] | None = None, parameters: dict[str, str] | None = None
    ) -> None:
        self.secrets = secrets or {}
        self.params = parameters or {}
        self.asked: list[tuple[str, Any]] = []

    def secret_string(self, secret_id: str) -> str:
        self.asked.append(("secret", secret_id))
        return self.secrets[secret_id]

    def parameters(self, names: Sequence[str]) -> dict[str, str]:
        self.asked.append(("parameters", list(names)))
        return {name: self.params[name] for name in names}


def test_references_resolve_into_the_settings(tmp_path: Path) -> None:
    source = RecordingSource(
        {ARN: json.dumps(RDS_SECRET)}, {"/tmr/jwt": "signing-key", "/tmr/admin": "admin-tok"}
    )
    base = make_settings(
        tmp_path,
        database_secret_arn=ARN,
        jwt_secret_param="/tmr/jwt",
        auth_token_param="/tmr/admin",
    )
    resolved = resolve_secrets(base, source)
    assert make_url(resolved.resolved_database_url).password == RDS_SECRET["password"]
    assert resolved.resolved_database_url.startswith("postgresql+psycopg://tmr_app:")
    assert (resolved.jwt_secret, resolved.auth_token) == ("signing-key", "admin-tok")
    assert source.asked == [("secret", ARN), ("parameters", ["/tmr/jwt", "/tmr/admin"])]  # two calls in all
    assert resolved.data_dir == base.data_dir  # everything else is kept
    assert resolved.upstream_backoff_s == base.upstream_backoff_s


def test_a_value_set_directly_wins_over_its_reference_and_is_not_fetched(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = RecordingSource(parameters={"/tmr/admin": "admin-tok"})
    base = make_settings(
        tmp_path,
        database_url="postgresql://local@localhost/tmr",
        database_secret_arn=ARN,
        jwt_secret="set-directly",
        jwt_secret_param="/tmr/jwt",
        auth_token_param="/tmr/admin",
    )
    with caplog.at_level(logging.WARNING, logger="tmr.aws"):
        resolved = resolve_secrets(base, source)
    assert resolved.resolved_database_url == "postgresql+psycopg://local@localhost/tmr"
    assert resolved.jwt_secret == "set-directly"
    assert resolved.auth_token == "admin-tok"
    assert source.asked == [("parameters", ["/tmr/admin"])]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "TMR_DATABASE_URL is set: TMR_DATABASE_SECRET_ARN is not read",
        "TMR_JWT_SECRET is set: TMR_JWT_SECRET_PARAM is not read",
    ]


def test_the_admin_password_comes_from_its_parameter_unless_given(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The admin password always has a value (the contract's default): only one given explicitly
    # stands in the way of its parameter.
    source = RecordingSource(parameters={"/tmr/admin-password": "from-ssm-0123456789"})
    resolved = resolve_secrets(make_settings(tmp_path, admin_password_param="/tmr/admin-password"), source)
    assert resolved.admin_password == "from-ssm-0123456789"
    resolved.check_exposure(None)  # no longer the public default
    given = make_settings(tmp_path, admin_password="given-here", admin_password_param="/tmr/admin-password")
    with caplog.at_level(logging.WARNING, logger="tmr.aws"):
        assert resolve_secrets(given, RecordingSource()).admin_password == "given-here"
    assert "TMR_ADMIN_PASSWORD is set: TMR_ADMIN_PASSWORD_PARAM is not read" in caplog.text


def test_without_references_nothing_is_fetched_and_the_settings_are_the_same(tmp_path: Path) -> None:
    base = make_settings(tmp_path)
    assert resolve_secrets(base, RecordingSource()) is base


def test_one_parameter_for_both_values_is_read_once(tmp_path: Path) -> None:
    source = RecordingSource(parameters={"/tmr/shared": "one-value"})
    resolved = resolve_secrets(
        make_settings(tmp_path, jwt_secret_param="/tmr/shared", auth_token_param="/tmr/shared"), source
    )
    assert (resolved.jwt_secret, resolved.auth_token) == ("one-value", "one-value")
    assert source.asked == [("parameters", ["/tmr/shared"])]


def test_the_lambda_settings_read_the_references_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tmr.aws import lambda_settings

    for name, value in {
        "TMR_DATABASE_SECRET_ARN": ARN,
        "TMR_DATABASE_HOST": "proxy.example.internal",
        "TMR_DATABASE_PORT": "6432",
        "TMR_DATABASE_NAME": "registry",
        "TMR_DATABASE_SSLMODE": "verify-full",
        "TMR_JWT_SECRET_PARAM": "/tmr/jwt",
        "AUTH_TOKEN_PARAM": "/tmr/admin",
        "TMR_BASE_PATH": "/registry",
        "TMR_MIGRATE_ON_START": "false",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("TMR_DATA_DIR", raising=False)
    monkeypatch.delenv("TMR_DATABASE_URL", raising=False)
    settings = lambda_settings()
    assert str(settings.data_dir) == "/tmp/tmr"
    assert (settings.database_secret_arn, settings.database_host, settings.database_port) == (
        ARN,
        "proxy.example.internal",
        6432,
    )
    assert (settings.database_name, settings.database_sslmode) == ("registry", "verify-full")
    assert (settings.jwt_secret_param, settings.auth_token_param) == ("/tmr/jwt", "/tmr/admin")
    assert (settings.base_path, settings.migrate_on_start) == ("/registry", False)
    assert settings.package_cache_bytes == 0  # /tmp is small and shared: off unless sized
    monkeypatch.setenv("TMR_PACKAGE_CACHE_BYTES", "1000000")
    assert lambda_settings().package_cache_bytes == 1_000_000


# ------------------------------------------------------------------------------------ rotation


class Refusing:
    """A driver connect that refuses every password but `accepted`, as PostgreSQL does."""

    def __init__(self, real: Any, accepted: str) -> None:
        self.real = real
        self.accepted = accepted
        self.tried: list[str | None] = []

    def __call__(self, *cargs: Any, **cparams: Any) -> Any:
        password = cparams.pop("password", None)
        cparams.pop("user", None)
        self.tried.append(password)
        if password != self.accepted:
            raise OSError('connection failed: FATAL:  password authentication failed for user "tmr_app"')
        return self.real(*cargs, **cparams)


class FakeClock:
    """`time.monotonic` for the secrets module: its origin is unspecified (boot, on Linux), so the
    tests set it, starting a few seconds after boot as on a fresh Lambda microVM."""

    def __init__(self, now: float = 3.0) -> None:
        self.now = now

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(secrets_module, "time", fake)  # this module's clock only
    return fake


def rotation_engine(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, reads: list[str], **kw: Any
) -> tuple[Any, Refusing]:
    engine = create_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}", poolclass=NullPool)  # every connect is new
    refusing = Refusing(engine.dialect.connect, accepted="new-password")
    monkeypatch.setattr(engine.dialect, "connect", refusing)

    def read() -> str:
        reads.append("read")
        return json.dumps(RDS_SECRET | {"password": "new-password"})

    reread_credentials_when_refused(engine, read, label="the secret tmr/db", **kw)
    return engine, refusing


def test_a_refused_password_rereads_the_secret_once_and_keeps_the_new_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    reads: list[str] = []
    engine, refusing = rotation_engine(monkeypatch, tmp_path, reads)
    with engine.connect() as conn:
        assert conn.execute(text("select 1")).scalar() == 1
    assert refusing.tried == [None, "new-password"]  # the URL's (none here), then the secret's
    with engine.connect() as conn:
        conn.execute(text("select 1"))
    assert refusing.tried[2:] == ["new-password"]
    assert reads == ["read"]


def test_a_refusal_seconds_after_boot_rereads_the_secret(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, clock: FakeClock
) -> None:
    # The monotonic clock reads 3 s: a "last read at 0" would look 3 s old, inside the interval.
    reads: list[str] = []
    engine, refusing = rotation_engine(monkeypatch, tmp_path, reads, min_interval_s=10)
    with engine.connect() as conn:
        assert conn.execute(text("select 1")).scalar() == 1
    assert refusing.tried == [None, "new-password"]
    assert reads == ["read"]


def test_a_refusal_soon_after_a_reread_is_not_read_again(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, clock: FakeClock
) -> None:
    reads: list[str] = []
    engine, refusing = rotation_engine(monkeypatch, tmp_path, reads, min_interval_s=3600)
    refusing.accepted = "a-password-the-secret-does-not-hold"
    with pytest.raises(Exception, match="password authentication failed"):
        engine.connect()
    clock.now += 3599
    with pytest.raises(Exception, match="password authentication failed"):
        engine.connect()
    assert reads == ["read"]  # a wrong secret costs one AWS call per interval, not one per attempt
    clock.now += 1
    with pytest.raises(Exception, match="password authentication failed"):
        engine.connect()
    assert reads == ["read", "read"]  # the interval is over: the secret may have been fixed


def test_other_connection_failures_are_not_a_reason_to_read_the_secret(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    reads: list[str] = []
    engine, _ = rotation_engine(monkeypatch, tmp_path, reads)

    def unreachable(*_a: Any, **_k: Any) -> Any:
        raise OSError("connection to server at 10.0.0.5 port 5432 failed: timeout expired")

    monkeypatch.setattr(engine.dialect, "connect", unreachable)
    with pytest.raises(Exception, match="timeout expired"):
        engine.connect()
    assert reads == []


def test_the_clients_are_made_on_first_use_in_the_functions_region(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[tuple[str, str]] = []
    stubs: dict[str, Any] = {}
    real_clients = {service: client(service) for service in ("secretsmanager", "ssm")}

    def fake_client(service: str, region_name: str) -> Any:
        made.append((service, region_name))
        real = real_clients[service]
        stub = Stubber(real)
        if service == "secretsmanager":
            stub.add_response("get_secret_value", secret_answer(RDS_SECRET), {"SecretId": ARN})
        else:
            stub.add_response(
                "get_parameters",
                {"Parameters": [parameter("/tmr/jwt", "k")]},
                {"Names": ["/tmr/jwt"], "WithDecryption": True},
            )
        stub.activate()
        stubs[service] = stub
        return real

    monkeypatch.setattr(boto3, "client", fake_client)
    source = AwsSecrets("eu-west-1")
    assert made == []  # nothing until a secret is asked for
    assert source.parameters([]) == {}
    assert made == []
    source.secret_string(ARN)
    assert source.parameters(["/tmr/jwt"]) == {"/tmr/jwt": "k"}
    assert made == [("secretsmanager", "eu-west-1"), ("ssm", "eu-west-1")]
    for stub in stubs.values():
        stub.assert_no_pending_responses()
