"""Secrets the Lambda handler reads at cold start: Secrets Manager and SSM Parameter Store.

Here because only `tmr.storage` may talk to boto3 (and SQLAlchemy: a rotated database secret is
read again when the database refuses the old credentials). The clients are created on first use (an
unconfigured function never pays for them) and may be injected (tests stub them with botocore's
Stubber). Error messages name the secret or parameter and AWS's error code, never a value.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from sqlalchemy import Engine, event
from sqlalchemy.engine import URL

log = logging.getLogger("tmr.storage.secrets")


class SecretLookupError(RuntimeError):
    """A secret could not be read or understood; the message is safe to log."""


class SecretSource(Protocol):
    """Where the handler's secrets come from."""

    def secret_string(self, secret_id: str) -> str:
        """The SecretString of a Secrets Manager secret (name or ARN)."""
        ...

    def parameters(self, names: Sequence[str]) -> dict[str, str]:
        """Decrypted values of SSM parameters (names or ARNs), keyed as asked."""
        ...


class SecretsManagerClient(Protocol):
    def get_secret_value(self, *, SecretId: str) -> Mapping[str, Any]: ...


class SsmClient(Protocol):
    def get_parameters(self, *, Names: list[str], WithDecryption: bool) -> Mapping[str, Any]: ...


def _client_error(what: str, exc: Exception) -> SecretLookupError:
    response = getattr(exc, "response", None) or {}
    code = response.get("Error", {}).get("Code") or type(exc).__name__
    return SecretLookupError(f"{what}: {code}")


class AwsSecrets:
    """Secrets Manager and SSM through boto3, in the function's region."""

    def __init__(
        self,
        region: str,
        *,
        secretsmanager: SecretsManagerClient | None = None,
        ssm: SsmClient | None = None,
    ) -> None:
        self.region = region
        self._secretsmanager = secretsmanager
        self._ssm = ssm

    def secret_string(self, secret_id: str) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        if self._secretsmanager is None:
            import boto3  # only when a secret is configured: a cold start without one skips it

            self._secretsmanager = boto3.client("secretsmanager", region_name=self.region)
        try:
            answer = self._secretsmanager.get_secret_value(SecretId=secret_id)
        except (BotoCoreError, ClientError) as exc:
            raise _client_error(f"cannot read the secret {secret_id}", exc) from exc
        value = answer.get("SecretString")
        if not isinstance(value, str):
            raise SecretLookupError(f"the secret {secret_id} has no SecretString (a binary secret?)")
        return value

    def parameters(self, names: Sequence[str]) -> dict[str, str]:
        from botocore.exceptions import BotoCoreError, ClientError

        if not names:
            return {}
        if self._ssm is None:
            import boto3

            self._ssm = boto3.client("ssm", region_name=self.region)
        try:  # one call for all of them (up to 10 per call; the handler asks for two at most)
            answer = self._ssm.get_parameters(Names=list(names), WithDecryption=True)
        except (BotoCoreError, ClientError) as exc:
            raise _client_error(f"cannot read the parameters {', '.join(names)}", exc) from exc
        found: dict[str, str] = {}
        for parameter in answer.get("Parameters", []):
            for key in (parameter.get("Name"), parameter.get("ARN")):
                if key in names and isinstance(parameter.get("Value"), str):
                    found[key] = parameter["Value"]
        missing = [name for name in names if name not in found]
        if missing:
            raise SecretLookupError(f"no such SSM parameter(s): {', '.join(missing)}")
        return found


def _secret_fields(secret: str, label: str) -> dict[str, Any]:
    try:
        fields = json.loads(secret)
    except ValueError:
        raise SecretLookupError(f"{label} is not JSON (expected the RDS secret format)") from None
    if not isinstance(fields, dict):
        raise SecretLookupError(f"{label} is not a JSON object (expected the RDS secret format)")
    engine = fields.get("engine")
    if engine is not None and "postgres" not in str(engine).lower():
        raise SecretLookupError(f"{label} is for the engine {engine!r}, not PostgreSQL")
    username, password = fields.get("username"), fields.get("password")
    if not isinstance(username, str) or not username or not isinstance(password, str):
        raise SecretLookupError(f"{label} has no username and password")
    return fields


def database_url_from_secret(
    secret: str,
    *,
    host: str | None = None,
    port: int | None = None,
    dbname: str | None = None,
    sslmode: str = "require",
    label: str = "the database secret",
) -> str:
    """A PostgreSQL URL from a secret in the RDS format (`{"username", "password", "host", "port",
    "dbname", "engine"}`). `host`, `port` and `dbname`, when given, win over the secret's: an
    RDS-managed secret holds only the credentials, and an RDS Proxy has its own endpoint."""
    fields = _secret_fields(secret, label)
    host = host or fields.get("host")
    if not isinstance(host, str) or not host:
        raise SecretLookupError(f"{label} names no host: set TMR_DATABASE_HOST")
    raw_port = port if port is not None else fields.get("port", 5432)
    try:
        port_number = int(raw_port)
    except (TypeError, ValueError):
        raise SecretLookupError(f"{label} has an invalid port") from None
    database = dbname or fields.get("dbname") or "postgres"
    url = URL.create(
        "postgresql+psycopg",
        username=fields["username"],
        password=fields["password"],
        host=host,
        port=port_number,
        database=str(database),
        query={"sslmode": sslmode},
    )
    return url.render_as_string(hide_password=False)


def _credentials_refused(exc: BaseException) -> bool:
    """PostgreSQL refused the user or password (28P01 invalid_password, 28000 invalid
    authorization); libpq reports it at connection time as text, so the text is checked too."""
    text = str(exc)
    return getattr(exc, "sqlstate", None) in {"28P01", "28000"} or "password authentication failed" in text


def reread_credentials_when_refused(
    engine: Engine, read_secret: Callable[[], str], *, label: str, min_interval_s: float = 10.0
) -> None:
    """Keep `engine` connecting across a rotation of its database secret.

    The secret is read once at cold start; RDS rotates a managed one every 7 days. Connections
    already open survive a rotation, but a new one made with the old password is refused: then
    the secret is read again (at most once per `min_interval_s`, so a wrong password does not turn
    every connection attempt into an AWS call) and the connection retried once with what it says.
    Later connections use the new credentials."""
    current: dict[str, str] = {}
    lock = threading.Lock()
    # None until the first re-read: the monotonic clock's origin is unspecified (on Linux it is
    # boot, so a fresh Lambda microVM reads a few seconds), so no number means "long ago".
    last_read: list[float | None] = [None]

    @event.listens_for(engine, "do_connect")
    def _connect(dialect: Any, _record: Any, cargs: list[Any], cparams: dict[str, Any]) -> Any:
        with lock:
            cparams.update(current)
        try:
            return dialect.connect(*cargs, **cparams)
        except Exception as exc:
            if not _credentials_refused(exc):
                raise
            with lock:
                now = time.monotonic()
                if last_read[0] is not None and now - last_read[0] < min_interval_s:
                    raise
                last_read[0] = now
                fields = _secret_fields(read_secret(), label)
                current.update(user=fields["username"], password=fields["password"])
                cparams.update(current)
            log.warning("the database refused the credentials: %s read again, connecting with it", label)
            return dialect.connect(*cargs, **cparams)
