"""AWS Lambda entry point: the registry behind API Gateway (through Mangum), and its maintenance.

`tmr.aws.handler(event, context)` answers three kinds of event:

- **HTTP requests**: API Gateway HTTP APIs (payload 2.0 or 1.0), REST APIs (1.0, with
  `multiValueHeaders`) and ALBs, through Mangum. A stage in the path (`/prod/...`) and a custom
  domain's base path mapping (`TMR_BASE_PATH`, e.g. `/registry`) are stripped before routing and
  become the ASGI `root_path`, so the links the registry writes (`download_url`, `/docs`) keep them.
  A request without `X-Request-ID` takes API Gateway's request id. A response over Lambda's 6 MB
  payload limit, which Lambda would turn into a bare 502, is answered 500 saying how to get the
  bytes instead (`TMR_DOWNLOAD_REDIRECT=presigned`, `Range`, `?parts=`).
- **Scheduled maintenance**: an EventBridge scheduled event
  (`{"source": "aws.events", "detail-type": "Scheduled Event", ...}`) or `{"tmr": "gc"}` deletes
  the blobs no artifact references (what `tmr gc` does) and returns
  `{"tmr": "gc", "removed": n, "seconds": s}`.
- **`{"tmr": "migrate"}`**, a direct invocation (a deployment pipeline's step): brings the schema
  to the newest revision, without building the rest of the registry; with
  `TMR_APP_DATABASE_SECRET_ARN` set (the migration function, which connects as the master user),
  then creates or updates the serving function's least-privilege role from that secret
  (tmr.storage.roles). Returns `{"tmr": "migrate", "seconds": s, "app_role": name or None}`.

Anything else raises `ValueError`: a mistaken invocation fails loudly rather than doing nothing.

Cold start: importing this module imports the application's code and does no I/O. The registry
(secrets, database, migrations when `TMR_MIGRATE_ON_START`, blob store) is built by the first
event, or already during Lambda's init phase, which runs with a full CPU, when the module is loaded
by the Lambda runtime (`AWS_LAMBDA_RUNTIME_API` is set). A build that fails (database down, secret
unreadable) is logged, answered 503, and tried again by the next event, instead of leaving the
container broken until Lambda recycles it.

Secrets never come from the function's configuration: `TMR_DATABASE_SECRET_ARN` (Secrets Manager,
RDS format) becomes `TMR_DATABASE_URL` (`sslmode=require` by default; with `verify-ca`/`verify-full`
the URL names the RDS CA bundle shipped in the package as `sslrootcert`), and `TMR_JWT_SECRET_PARAM`
/ `AUTH_TOKEN_PARAM` (SSM SecureStrings) become `TMR_JWT_SECRET` / `AUTH_TOKEN`, before the
registry is built. A value set directly wins over its reference (with a warning), so a local run
or a test needs no AWS. When the database refuses the credentials a secret gave (RDS rotates its
managed secrets every 7 days), the secret is read again and the connection retried. See
docs/lambda.md.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

from mangum import Mangum

from tmr.app import create_app
from tmr.container import Registry, build_registry
from tmr.observability.logs import configure_logging
from tmr.settings import Settings

if TYPE_CHECKING:
    from tmr.storage.secrets import SecretSource

log = logging.getLogger("tmr.aws")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# A synchronous invocation's response, JSON-encoded, may not exceed 6 MB (a base64 body grows by 4/3).
LAMBDA_RESPONSE_LIMIT = 6 * 1024 * 1024
MAINTENANCE_ACTIONS = ("gc", "migrate")
# The RDS certificate authorities (global-bundle.pem), put beside the `tmr` package by
# scripts/package_lambda.py: /var/task/rds-ca/global-bundle.pem on Lambda. TMR_DATABASE_SSLROOTCERT
# names another file (an RDS Proxy's CA, a local test CA).
RDS_CA_BUNDLE = Path(__file__).resolve().parent.parent / "rds-ca" / "global-bundle.pem"
# Read by the migration invocation only: the secret of the least-privilege role the serving
# function connects as, which `{"tmr": "migrate"}` creates and grants (tmr.storage.roles).
APP_SECRET_ENV = "TMR_APP_DATABASE_SECRET_ARN"  # noqa: S105 - a variable's name


def lambda_settings() -> Settings:
    """Settings from the environment, the data directory under /tmp (Lambda's only writable place)
    unless TMR_DATA_DIR says otherwise. The package cache is off unless TMR_PACKAGE_CACHE_BYTES
    sizes it: /tmp is small (512 MiB by default) and shared with upload spools and monitors, and
    a package too big for a 6 MB answer is a presigned redirect anyway."""
    defaults: dict[str, Any] = {}
    if not os.environ.get("TMR_DATA_DIR"):
        defaults["TMR_DATA_DIR"] = Path("/tmp/tmr")  # noqa: S108 - Lambda's only writable place
    if not os.environ.get("TMR_PACKAGE_CACHE_BYTES"):
        defaults["TMR_PACKAGE_CACHE_BYTES"] = 0
    return Settings(**defaults)


def resolve_secrets(settings: Settings, source: SecretSource | None = None) -> Settings:
    """`settings` with the values its secret references name. A value set directly wins over its
    reference: nothing is fetched for it (local runs and tests need no AWS) and a warning says so.
    Every reference is read in at most two calls (one secret, one batch of parameters)."""
    updates: dict[str, Any] = {}
    want_database = False
    if settings.database_secret_arn:
        if settings.database_url:
            log.warning("TMR_DATABASE_URL is set: TMR_DATABASE_SECRET_ARN is not read")
        else:
            want_database = True
    parameters: dict[str, str] = {}  # settings field -> SSM parameter name
    for field, reference, env, ref_env in (
        ("jwt_secret", settings.jwt_secret_param, "TMR_JWT_SECRET", "TMR_JWT_SECRET_PARAM"),
        ("auth_token", settings.auth_token_param, "AUTH_TOKEN", "AUTH_TOKEN_PARAM"),
        ("admin_password", settings.admin_password_param, "TMR_ADMIN_PASSWORD", "TMR_ADMIN_PASSWORD_PARAM"),
    ):
        if reference:
            # The admin password always has a value (the contract's default): only one given
            # explicitly stands in the way of its parameter.
            given = (
                field in settings.model_fields_set if field == "admin_password" else getattr(settings, field)
            )
            if given:
                log.warning(f"{env} is set: {ref_env} is not read")
            else:
                parameters[field] = reference
    if not want_database and not parameters:
        return settings
    from tmr.storage.secrets import AwsSecrets, database_url_from_secret

    source = source or AwsSecrets(settings.aws_region)
    if want_database:
        assert settings.database_secret_arn is not None
        updates["database_url"] = database_url_from_secret(
            source.secret_string(settings.database_secret_arn),
            host=settings.database_host,
            port=settings.database_port,
            dbname=settings.database_name,
            sslmode=settings.database_sslmode,
            label=f"the secret {settings.database_secret_arn}",
        )
        if settings.database_sslmode in ("verify-ca", "verify-full"):
            updates["database_url"] = with_root_certificate(
                updates["database_url"], database_root_certificate()
            )
    if parameters:
        values = source.parameters(list(dict.fromkeys(parameters.values())))
        updates |= {field: values[name] for field, name in parameters.items()}
    return type(settings)(**(settings.model_dump() | updates))


def database_root_certificate() -> Path:
    """The CA file that verifies the database's certificate: TMR_DATABASE_SSLROOTCERT, else the RDS
    bundle shipped in the package. A missing file fails the cold start here, naming the file,
    rather than later as libpq's "root certificate file does not exist" on every connection."""
    configured = os.environ.get("TMR_DATABASE_SSLROOTCERT")
    path = Path(configured) if configured else RDS_CA_BUNDLE
    if not path.is_file():
        raise FileNotFoundError(
            f"no CA bundle at {path} to verify the database's certificate: build the package with "
            "--rds-ca (docs/lambda.md) or set TMR_DATABASE_SSLROOTCERT"
        )
    return path


def with_root_certificate(url: str, root_certificate: Path) -> str:
    """`url` with `sslrootcert` set in its query, so libpq checks the server's certificate chain
    against that file (and, with `sslmode=verify-full`, its host name)."""
    base, _, query = url.partition("?")
    pairs = [(key, value) for key, value in parse_qsl(query, keep_blank_values=True) if key != "sslrootcert"]
    return f"{base}?{urlencode([*pairs, ('sslrootcert', str(root_certificate))])}"


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


def public_prefix(event: Mapping[str, Any], path: str, base_path: str) -> tuple[str, str]:
    """(what to strip from the request's path, the root path its client sees) for a gateway event.

    - A custom domain's base path mapping (`base_path`) when the path carries it; when it does
      not (the gateway removed it), the client still saw it, so it stays the root path.
    - A REST API names the resource path without the stage in `path` and with it in
      `requestContext.path`: nothing to strip, and the difference is the root path.
    - An HTTP API (and a REST-shaped 1.0 payload of one) on a named stage keeps the stage in the
      path: it is stripped. `$default` is no prefix."""
    if base_path and _under(path, base_path):
        return base_path, base_path
    context = event.get("requestContext") or {}
    stage = context.get("stage")
    if isinstance(stage, str) and stage and stage != "$default":
        outer, inner = context.get("path"), event.get("path")
        if isinstance(outer, str) and isinstance(inner, str) and outer != inner and outer.endswith(inner):
            return "", outer[: len(outer) - len(inner)].rstrip("/")
        if _under(path, "/" + stage):
            return "/" + stage, "/" + stage
    return "", base_path


class GatewayScope:
    """Fits Mangum's ASGI scope to the gateway in front: the stage or base path stripped and kept
    as `root_path`, and API Gateway's request id as the request id when the client sent none."""

    def __init__(self, app: ASGIApp, base_path: str = "/") -> None:
        self.app = app
        stripped = base_path.strip().strip("/")
        self.base_path = "/" + stripped if stripped else ""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            event: Mapping[str, Any] = scope.get("aws.event") or {}
            scope = dict(scope)
            strip, root = public_prefix(event, scope["path"], self.base_path)
            if strip:
                scope["path"] = scope["path"][len(strip) :] or "/"
            if root:
                scope["root_path"] = root
            headers = list(scope.get("headers") or [])
            gateway_id = (event.get("requestContext") or {}).get("requestId")
            if gateway_id and not any(bytes(name).lower() == b"x-request-id" for name, _ in headers):
                headers.append([b"x-request-id", str(gateway_id).encode("latin-1", "replace")])
                scope["headers"] = headers
        await self.app(scope, receive, send)


def _json_response(status: int, body: Mapping[str, Any], headers: Mapping[str, str]) -> dict[str, Any]:
    """A response every gateway payload format accepts (1.0 and 2.0 share these fields)."""
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json", **headers},
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


def _request_id(event: Mapping[str, Any]) -> str | None:
    for headers in (event.get("headers") or {}, event.get("multiValueHeaders") or {}):
        for name, value in headers.items():
            if name.lower() == "x-request-id" and value:
                return str(value[0] if isinstance(value, list) else value)
    gateway_id = (event.get("requestContext") or {}).get("requestId")
    return str(gateway_id) if gateway_id else None


def fit_response(response: dict[str, Any], event: Mapping[str, Any]) -> dict[str, Any]:
    """`response`, or a 500 explaining the limit when Lambda could not return it."""
    body = response.get("body") or ""
    if len(body) < LAMBDA_RESPONSE_LIMIT - 256 * 1024:  # the common case costs one len()
        return response
    size = len(json.dumps(response).encode())
    if size <= LAMBDA_RESPONSE_LIMIT:
        return response
    log.error("response over Lambda's payload limit", extra={"bytes": size, "status": response["statusCode"]})
    request_id = _request_id(event)
    return _json_response(
        500,
        {
            "detail": (
                f"the response ({size} bytes encoded) exceeds AWS Lambda's {LAMBDA_RESPONSE_LIMIT}-byte "
                "payload limit: download through a presigned URL (TMR_DOWNLOAD_REDIRECT=presigned), "
                "or in smaller pieces with Range or ?parts="
            ),
            "code": "lambda_response_too_large",
        },
        {"x-request-id": request_id} if request_id else {},
    )


def maintenance_action(event: Mapping[str, Any]) -> str | None:
    """The maintenance an event asks for ("gc" or "migrate"), None for anything else."""
    if event.get("source") == "aws.events" and event.get("detail-type") == "Scheduled Event":
        return "gc"
    action = event.get("tmr")
    if action is None:
        return None
    if action not in MAINTENANCE_ACTIONS:
        raise ValueError(f"unknown tmr action {action!r}: expected one of {', '.join(MAINTENANCE_ACTIONS)}")
    return str(action)


class LambdaRuntime:
    """What one Lambda container keeps between invocations: its settings (secrets resolved), the
    registry and the ASGI adapter, each built once, on first need."""

    def __init__(
        self,
        settings: Callable[[], Settings] = lambda_settings,
        secrets: SecretSource | None = None,
    ) -> None:
        self._make_settings = settings
        self._secrets = secrets
        self._settings: Settings | None = None
        self._database_secret: str | None = None  # the secret the database URL came from
        self._registry: Registry | None = None
        self._adapter: Mangum | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            base = self._make_settings()
            configure_logging(base.log_level, base.log_file)
            resolved = resolve_secrets(base, self._secrets)
            resolved.check_exposure(None)  # a Lambda behind a gateway is reachable by anyone
            self._settings = resolved
            if base.database_secret_arn and not base.database_url:
                self._database_secret = base.database_secret_arn
        return self._settings

    def _follow_rotation(self, follow: Callable[[Callable[[], str], str], None]) -> None:
        """Re-read the database secret when the database refuses its credentials (rotation);
        `follow` is the store's (or a bare engine's) hook for it."""
        arn = self._database_secret
        if arn is None:
            return
        from tmr.storage.secrets import AwsSecrets

        def read() -> str:
            if self._secrets is None:
                self._secrets = AwsSecrets(self.settings.aws_region)
            return self._secrets.secret_string(arn)

        follow(read, f"the secret {arn}")

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            settings = self.settings
            started = time.perf_counter()
            self._registry = build_registry(settings, run_migrations=settings.migrate_on_start)
            self._follow_rotation(self._registry.store.follow_credentials)
            log.info(
                "registry built",
                extra={
                    "seconds": round(time.perf_counter() - started, 3),
                    "migrated": settings.migrate_on_start,
                    "database": settings.resolved_database_url.split(":", 1)[0],
                    "blobs": settings.resolved_blob_store,
                },
            )
        return self._registry

    @property
    def adapter(self) -> Mangum:
        if self._adapter is None:
            app = create_app(self.settings, self.registry)
            self._adapter = Mangum(GatewayScope(app, self.settings.base_path), lifespan="off")
        return self._adapter

    def warm(self) -> None:
        """Build everything now (Lambda's init phase); a failure is logged and left to the next event."""
        try:
            _ = self.adapter
        except Exception:
            log.exception("cold start failed: the next event tries again")

    def close(self) -> None:
        if self._registry is not None:
            self._registry.close()
        self._settings = self._registry = self._adapter = None
        self._database_secret = None

    def handle(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        if not isinstance(event, Mapping):
            raise ValueError(f"expected a JSON object as the event, got {type(event).__name__}")
        if "requestContext" in event:
            return self._http(event, context)
        action = maintenance_action(event)
        if action == "gc":
            return self._gc(context)
        if action == "migrate":
            return self._migrate(context)
        raise ValueError(
            "unrecognised event (expected an API Gateway request, an EventBridge scheduled event, "
            f'or {{"tmr": "gc"|"migrate"}}); its keys: {sorted(event)[:12]}'
        )

    def _http(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        try:
            adapter = self.adapter
        except Exception:
            log.exception("the registry could not start")
            request_id = _request_id(event)
            return _json_response(
                503,
                {
                    "detail": "the registry could not start; the next request tries again",
                    "code": "unavailable",
                },
                {"retry-after": "1", **({"x-request-id": request_id} if request_id else {})},
            )
        response: dict[str, Any] = adapter(dict(event), context)
        return fit_response(response, event)

    def _gc(self, context: Any) -> dict[str, Any]:
        started = time.perf_counter()
        removed = self.registry.artifacts.collect_orphans(self.registry.settings.gc_grace_s)
        summary = {
            "tmr": "gc",
            "removed": removed,
            "seconds": round(time.perf_counter() - started, 3),
            "request_id": getattr(context, "aws_request_id", None),
        }
        log.info("orphan blobs collected", extra=summary)
        return summary

    def _migrate(self, context: Any) -> dict[str, Any]:
        from tmr.storage.database import make_engine
        from tmr.storage.metadata import SqlMetadataStore

        started = time.perf_counter()
        if self._registry is not None:
            self._registry.store.migrate()
        else:  # the rest of the registry may not start before the schema is current
            store = SqlMetadataStore(make_engine(self.settings.resolved_database_url))
            self._follow_rotation(store.follow_credentials)
            try:
                store.migrate()
            finally:
                store.dispose()
        app_role = self._grant_app_role()
        summary = {
            "tmr": "migrate",
            "seconds": round(time.perf_counter() - started, 3),
            "request_id": getattr(context, "aws_request_id", None),
            "app_role": app_role,
        }
        log.info("schema migrated", extra=summary)
        return summary

    def _grant_app_role(self) -> str | None:
        """With TMR_APP_DATABASE_SECRET_ARN set (the migration function's configuration), create
        or update the serving function's role from that secret and grant it rows only, as the
        migrating user; returns the role's name."""
        arn = os.environ.get(APP_SECRET_ENV)
        if not arn:
            return None
        from tmr.storage.database import make_engine
        from tmr.storage.metadata import SqlMetadataStore
        from tmr.storage.roles import app_credentials, ensure_app_role
        from tmr.storage.secrets import AwsSecrets

        if self._secrets is None:
            self._secrets = AwsSecrets(self.settings.aws_region)
        username, password = app_credentials(self._secrets.secret_string(arn), f"the secret {arn}")
        store = SqlMetadataStore(make_engine(self.settings.resolved_database_url))
        self._follow_rotation(store.follow_credentials)
        try:
            ensure_app_role(store.engine, username, password)
        finally:
            store.dispose()
        return username


_runtime = LambdaRuntime()


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The function's entry point: configure the Lambda function's handler as `tmr.aws.handler`."""
    return _runtime.handle(event, context)


if os.environ.get("AWS_LAMBDA_RUNTIME_API"):  # loaded by the Lambda runtime: build in the init phase
    _runtime.warm()
