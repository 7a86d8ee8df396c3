"""Losing a store and getting it back, on a real `tmr serve` over a PostgreSQL and a SeaweedFS of
this module's own (tests/private_services.py), stopped and started again mid-operation.

Each test stores something first and records its package's sha256, then stops a store in the
middle of an upload, a download or a registration, and checks: every request meanwhile is a 503
naming the component with a Retry-After, `/health/components` names it, the same server process
serves again once the store is back (no restart), what was stored before downloads byte for
byte as before, and nothing of the failed requests is visible.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests import services
from tests.e2e.faults.helpers import (
    HF,
    assert_names_component,
    client,
    component,
    names,
    package_sha256,
    register_held,
    upload,
    wait_until,
)
from tests.emulator.server import EmulatorServer
from tests.private_services import (
    PrivatePostgres,
    PrivateSeaweed,
    ServiceUnavailableHere,
    private_postgres,
    private_seaweed,
)
from tests.processes import ServerProcess, registry_server
from tests.zips import model_files, safetensors_bytes, zip_bytes


def _unavailable(reason: str) -> None:
    if services.services_required():
        pytest.fail(f"TMR_REQUIRE_SERVICES=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def postgres() -> Iterator[PrivatePostgres]:
    try:
        with private_postgres() as server:
            yield server
    except ServiceUnavailableHere as exc:
        _unavailable(str(exc))


@pytest.fixture(scope="module")
def seaweed() -> Iterator[PrivateSeaweed]:
    try:
        with private_seaweed() as server:
            yield server
    except ServiceUnavailableHere as exc:
        _unavailable(str(exc))


@pytest.fixture(scope="module")
def server(
    postgres: PrivatePostgres,
    seaweed: PrivateSeaweed,
    emulator: EmulatorServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ServerProcess]:
    work: Path = tmp_path_factory.mktemp("store-faults")
    env = {
        "TMR_DATA_DIR": str(work / "data"),
        "TMR_SPOOL_DIR": str(work),
        "TMR_DATABASE_URL": postgres.url(),
        # Every download reads the stores: a package cached on local disk would not need them.
        "TMR_PACKAGE_CACHE_BYTES": "0",
        **seaweed.env(f"faults-{secrets.token_hex(4)}/"),
        **emulator.env(),
    }
    with registry_server(env, work / "server.log") as process:
        yield process


@pytest.fixture
def restarted(postgres: PrivatePostgres, seaweed: PrivateSeaweed) -> Iterator[None]:
    """Whatever a test stopped runs again afterwards, even when the test failed halfway."""
    yield
    if seaweed.process is None:
        seaweed.start()
    if postgres.port and not (postgres.data / "postmaster.pid").exists():
        postgres.start()


def _model(seed: int, weights_shape: tuple[int, int] = (256, 256)) -> bytes:
    return zip_bytes(model_files(seed=seed, weights=safetensors_bytes(weights_shape, seed=seed)))


def _read_stopping(stream: httpx.Response, after: int, stop: Callable[[], None]) -> tuple[bytes, bool]:
    """Read a streamed answer, calling `stop` once `after` bytes arrived: the bytes received, and
    whether the answer was cut short by an error."""
    received = bytearray()
    stopped = False
    try:
        for chunk in stream.iter_raw(64 * 1024):
            received += chunk
            if len(received) >= after and not stopped:
                stop()
                stopped = True
    except httpx.HTTPError:
        return bytes(received), True
    return bytes(received), False


def _stored(http: httpx.Client, name: str, seed: int) -> tuple[str, str]:
    """Upload a model and download it once: its id and its package's sha256."""
    created = upload(http, name, _model(seed))
    assert created.status_code == 201, created.text
    artifact_id: str = created.json()["metadata"]["id"]
    return artifact_id, package_sha256(http, artifact_id)


def test_the_blob_store_lost_mid_upload_refuses_clearly_and_comes_back(
    server: ServerProcess, seaweed: PrivateSeaweed, restarted: None
) -> None:
    with client(server) as http:
        kept, kept_sha = _stored(http, "faults/s3-kept", seed=11)

        failed = upload(http, "faults/s3-mid-upload", _model(12, (512, 512)), during=seaweed.stop)
        assert_names_component(failed, "blob_store")
        assert "blob store" in failed.json()["detail"]

        assert_names_component(http.get(f"/download/{kept}"), "blob_store")
        registering = http.post("/artifact/model", json={"url": f"{HF}/nomic/tiny-mit-model"})
        assert_names_component(registering, "blob_store")
        blobs = component(server, "blob_store")
        assert blobs["status"] == "critical"
        assert blobs["issues"][0]["code"] == "blob_store_unreachable"
        assert component(server, "metadata_store")["status"] == "ok"

        seaweed.start()
        wait_until(lambda: component(server, "blob_store")["status"] == "ok", "the blob store to be ok")
        assert package_sha256(http, kept) == kept_sha
        assert "s3-mid-upload" not in names(http)
        assert upload(http, "faults/s3-mid-upload", _model(12, (512, 512))).status_code == 201
        assert http.post("/artifact/model", json={"url": f"{HF}/nomic/tiny-mit-model"}).status_code == 201


def test_a_download_cut_by_the_blob_store_resumes_byte_for_byte_once_it_is_back(
    server: ServerProcess, seaweed: PrivateSeaweed, restarted: None
) -> None:
    with client(server) as http:
        # About 16 MiB of weights: far more than the sockets between the server and this test
        # buffer, so most of it is still in the store when the store stops.
        created = upload(http, "faults/s3-mid-download", _model(21, (2048, 2048)))
        assert created.status_code == 201, created.text
        artifact_id = created.json()["metadata"]["id"]
        with http.stream("GET", f"/download/{artifact_id}") as stream:
            assert stream.status_code == 200
            length = int(stream.headers["Content-Length"])
            etag, announced = stream.headers["ETag"], stream.headers["X-Package-SHA256"]
            received, cut = _read_stopping(stream, 1024 * 1024, seaweed.stop)
        assert cut  # the connection is dropped: never a package silently missing its end
        assert len(received) < length

        seaweed.start()  # S3 answers; its volumes may still be joining: 503 until they do
        answers: list[httpx.Response] = []

        def resumed() -> bool:
            answers.append(
                http.get(
                    f"/download/{artifact_id}", headers={"Range": f"bytes={len(received)}-", "If-Range": etag}
                )
            )
            return answers[-1].status_code != 503

        wait_until(resumed, "the blob store to serve the rest of the package")
        rest = answers[-1]
        assert rest.status_code == 206, rest.text
        assert hashlib.sha256(received + rest.content).hexdigest() == announced


def test_the_database_lost_mid_upload_refuses_clearly_and_comes_back(
    server: ServerProcess, postgres: PrivatePostgres, restarted: None
) -> None:
    with client(server) as http:
        kept, kept_sha = _stored(http, "faults/pg-kept", seed=31)

        failed = upload(http, "faults/pg-mid-upload", _model(32), during=postgres.stop)
        assert_names_component(failed, "database")
        assert "database" in failed.json()["detail"]
        assert str(postgres.port) not in failed.text  # the driver's text stays in the log

        assert_names_component(http.get(f"/download/{kept}"), "database")
        assert_names_component(
            http.post("/artifact/model", json={"url": f"{HF}/openai/whisper-tiny"}), "database"
        )
        assert_names_component(httpx.get(f"{server.url}/health", timeout=30), "database")
        database = component(server, "metadata_store")
        assert database["status"] == "critical"
        assert database["issues"][0]["summary"] == "metadata store unreachable"

        postgres.start()
        wait_until(
            lambda: httpx.get(f"{server.url}/health", timeout=30).status_code == 200, "/health to answer"
        )
        assert component(server, "metadata_store")["status"] == "ok"
        assert package_sha256(http, kept) == kept_sha
        assert "pg-mid-upload" not in names(http)
        assert upload(http, "faults/pg-mid-upload", _model(32)).status_code == 201


def test_a_registration_that_loses_the_database_before_its_commit_leaves_nothing(
    server: ServerProcess, postgres: PrivatePostgres, emulator: EmulatorServer, restarted: None
) -> None:
    """The registration is held on an upstream file while the database stops; when the file
    comes, its blobs are written and the commit fails: no artifact, only collectable blobs."""
    url = f"{HF}/microsoft/DialoGPT-small"
    answer = register_held(server, emulator, url, r"/microsoft/DialoGPT-small/resolve/", postgres.stop)
    assert_names_component(answer, "database")
    postgres.start()
    with client(server) as http:
        wait_until(lambda: http.get("/health").status_code == 200, "the database to come back")
        assert "DialoGPT-small" not in names(http)
        assert http.post("/artifact/model", json={"url": url}).status_code == 201


def test_a_registration_that_loses_the_blob_store_mid_way_leaves_nothing(
    server: ServerProcess, seaweed: PrivateSeaweed, emulator: EmulatorServer, restarted: None
) -> None:
    url = f"{HF}/acme/base-lm"
    answer = register_held(server, emulator, url, r"/acme/base-lm/resolve/", seaweed.stop)
    assert_names_component(answer, "blob_store")
    seaweed.start()
    with client(server) as http:
        assert "base-lm" not in names(http)
        assert http.post("/artifact/model", json={"url": url}).status_code == 201
