"""An upstream that hangs, drops the connection mid-answer or answers garbage, seen by a real
`tmr serve` through the emulator's faults (short timeouts and one retry, so a hang costs seconds).

An upstream that does not answer (hang, reset, 5xx) is a 503 naming it with a Retry-After; one
that answers something unreadable is a 502 naming it (repeating the request will not help by
itself). Either way nothing is stored, `/health/components` reports the upstream as failing, and
the first successful call afterwards makes it ok again.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.faults.helpers import HF, assert_names_component, client, component, names
from tests.emulator.server import EmulatorServer
from tests.processes import ServerProcess, registry_server

GH = "https://github.com"
WHISPER = f"{HF}/openai/whisper-tiny"


@pytest.fixture(scope="module")
def server(emulator: EmulatorServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    work = tmp_path_factory.mktemp("upstream-faults")
    env = {
        "TMR_DATA_DIR": str(work / "data"),
        "TMR_SPOOL_DIR": str(work),
        "TMR_UPSTREAM_TIMEOUT_S": "1",
        "TMR_UPSTREAM_RETRIES": "1",
        "TMR_UPSTREAM_BACKOFF_S": "0.05",
        **emulator.env(),
    }
    with registry_server(env, work / "server.log") as process:
        yield process


@pytest.fixture
def faults(emulator: EmulatorServer) -> Iterator[EmulatorServer]:
    emulator.faults.clear()
    yield emulator
    emulator.faults.clear()


@pytest.mark.parametrize(
    ("type_", "url", "path", "component_id", "health_id"),
    [
        (
            "model",
            WHISPER,
            r"^/api/models/openai/whisper-tiny$",
            "upstream:huggingface",
            "upstream_hugging_face",
        ),
        ("code", f"{GH}/psf/requests", r"^/github/repos/psf/requests$", "upstream:github", "upstream_github"),
    ],
)
def test_a_hanging_upstream_is_503_naming_it_and_health_recovers_by_itself(
    server: ServerProcess,
    faults: EmulatorServer,
    type_: str,
    url: str,
    path: str,
    component_id: str,
    health_id: str,
) -> None:
    faults.faults.add(path, delay_s=5)  # past the 1 s timeout, on the try and the retry
    with client(server) as http:
        hung = http.post(f"/artifact/{type_}", json={"url": url})
        assert_names_component(hung, component_id)
        assert "ReadTimeout" in hung.json()["detail"]
        failing = component(server, health_id)
        assert failing["status"] == "degraded"
        assert failing["issues"][0]["code"] == f"{health_id}_failing"
        assert url.rsplit("/", 1)[1] not in names(http)

        faults.faults.clear()
        assert http.post(f"/artifact/{type_}", json={"url": url}).status_code == 201
        assert component(server, health_id)["status"] == "ok"
        assert http.delete("/reset").status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        r"^/api/models/openai/whisper-tiny$",  # the repository's description
        r"^/openai/whisper-tiny/resolve/[^/]+/config\.json$",  # a file, streamed
    ],
)
def test_a_connection_reset_mid_answer_is_503_and_stores_nothing(
    server: ServerProcess, faults: EmulatorServer, path: str
) -> None:
    faults.faults.add(path, reset=True)
    with client(server) as http:
        assert_names_component(http.post("/artifact/model", json={"url": WHISPER}), "upstream:huggingface")
        assert faults.faults.requests_seen(path) >= 1
        assert "whisper-tiny" not in names(http)
        faults.faults.clear()
        assert http.post("/artifact/model", json={"url": WHISPER}).status_code == 201
        assert http.delete("/reset").status_code == 200


@pytest.mark.parametrize(
    "garbage",
    [
        b"<html><body>Bad gateway</body></html>",  # not JSON
        b"[1, 2, 3]",  # JSON, not a description
        b'{"sha": 5, "siblings": [1, "two", {"rfilename": 3}]}',  # files that are not files
        b'{"siblings": [{"rfilename": "config.json", "size": "big"}]}',  # a size that is not one
        b'{"siblings": "everything"}',
    ],
)
def test_an_upstream_answering_garbage_is_502_naming_it_and_stores_nothing(
    server: ServerProcess, faults: EmulatorServer, garbage: bytes
) -> None:
    faults.faults.add(r"^/api/models/openai/whisper-tiny$", status=200, body=garbage)
    with client(server) as http:
        answer = http.post("/artifact/model", json={"url": WHISPER})
        assert_names_component(answer, "upstream:huggingface", status=502)
        assert "whisper-tiny" not in names(http)
