import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.feature.conftest import GH, register
from tests.support import auth_request
from tmr.app import create_app
from tmr.container import Registry
from tmr.errors import StorageUnavailable
from tmr.storage.blobs.filesystem import FilesystemBlobStore
from tmr.storage.metadata import SqlMetadataStore


def test_health(client: TestClient, auth: dict[str, str]) -> None:
    before = client.get("/health").json()
    register(client, auth, "code", f"{GH}/psf/requests")  # milliseconds of work, at least
    body = client.get("/health").json()
    assert body["status"] == "ok"
    assert body["uptime_s"] > before["uptime_s"]  # a clock that runs, read the same way twice
    assert (before["models"], before["code"]) == (0, 0)
    assert body["models"] == 0
    assert body["code"] == 1


def test_health_components_reflects_real_traffic(client: TestClient, auth: dict[str, str]) -> None:
    for _ in range(3):
        client.post("/artifacts", json=[{"name": "*"}], headers=auth)
    body = client.get("/health/components", params={"windowMinutes": 5, "includeTimeline": "true"}).json()
    assert body["window_minutes"] == 5
    assert body["generated_at"].endswith("Z")
    by_id = {c["id"]: c for c in body["components"]}
    assert {"api", "metadata_store", "blob_store", "upstream_hugging_face", "upstream_github"} <= set(by_id)
    api = by_id["api"]
    assert api["metrics"]["requests"] == 4  # authenticate and three enumerations; not this one yet
    bucket_minutes = 5 / len(api["timeline"])  # values are requests per minute in each bucket
    assert sum(e["value"] * bucket_minutes for e in api["timeline"]) == pytest.approx(4)
    assert by_id["metadata_store"]["status"] == "ok"
    assert by_id["blob_store"]["status"] == "ok"
    assert by_id["upstream_hugging_face"]["status"] == "unknown"  # never called yet
    for component in body["components"]:
        assert {"id", "status", "observed_at"} <= set(component)
        assert component["status"] in ("ok", "degraded", "critical", "unknown")


def test_health_components_reports_a_failing_upstream(
    client: TestClient, auth: dict[str, str], emulator: object
) -> None:
    emulator.faults.add(r"/github/repos/psf/requests", status=503)  # type: ignore[attr-defined]
    assert client.post("/artifact/code", json={"url": f"{GH}/psf/requests"}, headers=auth).status_code == 503
    github = next(
        c for c in client.get("/health/components").json()["components"] if c["id"] == "upstream_github"
    )
    assert github["status"] == "degraded"
    assert github["issues"]


@pytest.mark.parametrize(
    "params",
    [{"windowMinutes": 4}, {"windowMinutes": 1441}, {"windowMinutes": "x"}, {"includeTimeline": "maybe"}],
)
def test_health_components_validates_its_parameters(client: TestClient, params: dict[str, object]) -> None:
    assert client.get("/health/components", params=params).status_code == 400


def test_health_component_metrics_are_never_json_integers(client: TestClient, auth: dict[str, str]) -> None:
    """HealthMetricValue is `oneOf: [integer, number, string, boolean]`: a JSON integer matches two
    of them and so none; whole numbers go out as `17.0` (found by tests/e2e/test_schemathesis.py)."""
    client.post("/artifacts", json=[{"name": "*"}], headers=auth)
    text = client.get("/health/components").text
    metrics = {c["id"]: c["metrics"] for c in json.loads(text)["components"]}
    assert isinstance(metrics["api"]["requests"], float)
    assert metrics["api"]["requests"] >= 1
    assert metrics["metadata_store"]["backend"] == "sqlite"
    for values in metrics.values():
        assert not [v for v in values.values() if isinstance(v, int) and not isinstance(v, bool)], values


# Found by tests/e2e/test_schemathesis.py. Pending: the fix is in the routing, outside the change
# that found it; strict, so this fails once it lands (then drop the mark and the excuse there).
def test_405_names_every_method_of_the_path(client: TestClient, auth: dict[str, str]) -> None:
    """RFC 9110: a 405 lists every method the resource supports, here GET, PUT and DELETE."""
    response = client.patch("/artifacts/model/12345", json={}, headers=auth)
    assert response.status_code == 405
    assert {"GET", "PUT", "DELETE"} <= {m.strip() for m in response.headers["allow"].split(",")}


def test_tracks(client: TestClient) -> None:
    tracks = client.get("/tracks").json()["plannedTracks"]
    assert tracks
    assert set(tracks) <= {
        "Performance track",
        "Access control track",
        "High assurance track",
        "Other Security track",
    }


def test_everything_answers_under_api_too(client: TestClient, auth: dict[str, str]) -> None:
    assert client.get("/api/health").json()["status"] == "ok"
    assert client.post("/api/artifacts", json=[{"name": "*"}], headers=auth).status_code == 200
    assert client.put("/api/authenticate", json=auth_request()).status_code == 200


def test_cors_preflight_and_request_ids(make_registry: Callable[..., Registry]) -> None:
    registry = make_registry(cors_origins=["https://ui.example"])
    with TestClient(create_app(registry=registry)) as client:
        preflight = client.options(
            "/artifacts",
            headers={
                "Origin": "https://ui.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "x-authorization",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://ui.example"
        denied = client.options(
            "/artifacts", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
        )
        assert "access-control-allow-origin" not in denied.headers
        response = client.get("/health", headers={"X-Request-ID": "abc-123"})
        assert response.headers["x-request-id"] == "abc-123"
        assert len(client.get("/health").headers["x-request-id"]) == 32


def test_request_logs_are_json_lines(make_registry: Callable[..., Registry], tmp_path: Path) -> None:
    log_file = tmp_path / "tmr.log"
    registry = make_registry(log_level=1, log_file=log_file)
    with TestClient(create_app(registry=registry)) as client:
        client.get("/health", headers={"X-Request-ID": "req-1"})
        client.get("/artifacts/model/1")
    lines = [json.loads(line) for line in log_file.read_text().splitlines()]
    requests = [line for line in lines if line["msg"] == "request"]
    assert requests[0]["request_id"] == "req-1"
    assert requests[0]["status"] == 200
    assert requests[0]["method"] == "GET"
    assert requests[0]["path"] == "/health"
    assert requests[0]["latency_ms"] > 0  # measured, not a placeholder
    assert requests[1]["status"] == 403
    assert requests[1]["route"] == "/artifacts/{artifact_type}/{id}"


def test_log_level_zero_is_silent(make_registry: Callable[..., Registry], tmp_path: Path) -> None:
    log_file = tmp_path / "silent.log"
    registry = make_registry(log_level=0, log_file=log_file)
    with TestClient(create_app(registry=registry)) as client:
        client.get("/health")
    assert not log_file.exists() or log_file.read_text() == ""


def test_openapi_docs(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/artifacts",
        "/reset",
        "/artifact/{artifact_type}",
        "/artifact/byRegEx",
        "/authenticate",
        "/health/components",
    ):
        assert path in paths


def test_unexpected_errors_are_500_with_json(
    client: TestClient, auth: dict[str, str], registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*_args: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(registry.search, "by_name", boom)
    with TestClient(create_app(registry=registry), raise_server_exceptions=False) as c:
        response = c.get("/artifact/byName/x", headers=auth)
    assert response.status_code == 500
    assert response.json() == {"detail": "internal error", "code": "internal_error"}


class _Kept(logging.Handler):
    """Every record with its exception, as the server's log would hold it."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        self.lines.append(text)


_DRIVER_TEXT = (
    'connection to server at "db.internal.example" (10.0.0.5), port 5432 failed: '
    'FATAL: password authentication failed for user "tmr_master"'
)
_SECRETS = ("db.internal.example", "10.0.0.5", "tmr_master", "5432", "/srv/blobs-secret", "Errno")


def test_public_health_answers_say_what_failed_never_the_exception(
    make_registry: Callable[..., Registry], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Signed out, a failing store is named in general words; the driver's text (host, user,
    path) goes to the server's log only, on the API and on the dashboard's public view alike."""

    def database_down(*_args: object, **_kwargs: object) -> None:
        raise StorageUnavailable(f"metadata store unavailable: {_DRIVER_TEXT}")

    def blobs_down(*_args: object, **_kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", "/srv/blobs-secret/.tmp")

    monkeypatch.setattr(SqlMetadataStore, "ping", database_down)
    monkeypatch.setattr(SqlMetadataStore, "count", database_down)
    monkeypatch.setattr(FilesystemBlobStore, "check", blobs_down)
    registry = make_registry()
    kept = _Kept()
    with TestClient(create_app(registry=registry)) as client:
        # Added once the app has set up its logging; tmr's loggers do not propagate to the root.
        logging.getLogger("tmr").addHandler(kept)
        try:
            report = client.get("/health/components")
            by_id = {c["id"]: c for c in report.json()["components"]}
            assert by_id["metadata_store"]["status"] == by_id["blob_store"]["status"] == "critical"
            assert [i["summary"] for i in by_id["metadata_store"]["issues"]] == ["metadata store unreachable"]
            assert [i["summary"] for i in by_id["blob_store"]["issues"]] == ["blob store unreachable"]
            health = client.get("/health")
            assert health.status_code == 503
            page = client.get("/ui/health")
            assert "metadata store unreachable" in page.text
            for answer in (report, health, page):
                for secret in _SECRETS:
                    assert secret not in answer.text, (answer.url, secret)
        finally:
            logging.getLogger("tmr").removeHandler(kept)
    logged = "\n".join(kept.lines)
    assert "db.internal.example" in logged  # the detail is kept where operators look
    assert "/srv/blobs-secret" in logged
