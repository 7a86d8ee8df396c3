"""The upload page in process: the form without JavaScript (multipart) and the script's shape (the
zip as the body), both ending in the upload service; refusals tied to their field; an upload cut
off halfway, a forged form key or a hostile zip leave no spooled file, no artifact and no blob."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from collections.abc import Callable, Iterator, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.requests import ClientDisconnect

from tests.feature.web_support import listed, ui_sign_in
from tests.zips import evil_pickle, model_files, safetensors_bytes, zip_bytes
from tmr.accounts.models import User
from tmr.accounts.passwords import hash_password
from tmr.app import create_app
from tmr.container import Registry

LIMIT = 1024 * 1024
ZIP = "application/zip"


@pytest.fixture
def spool(tmp_path: Path) -> Path:
    path = tmp_path / "spool"
    path.mkdir()
    return path


@pytest.fixture
def registry(make_registry: Callable[..., Registry], spool: Path) -> Registry:
    return make_registry(TMR_SPOOL_DIR=str(spool), TMR_UPLOAD_MAX_BYTES=str(LIMIT))


@pytest.fixture
def signed_in(client: TestClient) -> str:
    return ui_sign_in(client)


def send_form(
    client: TestClient,
    key: str | None,
    body: bytes | None,
    *,
    name: str = "acme/sentiment",
    version: str = "",
    type_: str = "model",
    filename: str = "sentiment.zip",
) -> httpx.Response:
    """What a browser without JavaScript sends: the form as multipart/form-data."""
    data = {"type": type_, "name": name, "version": version}
    if key is not None:
        data["form_key"] = key
    files = {"file": (filename, body or b"", "application/zip")}
    return client.post("/ui/upload", data=data, files=files, follow_redirects=False)


def send_raw(client: TestClient, key: str | None, body: bytes, **query: str) -> httpx.Response:
    """What the page's script sends: the zip as the body, the fields in the query."""
    headers = {"Content-Type": ZIP} | ({"X-Form-Key": key} if key is not None else {})
    params = {"type": "model", "name": "acme/sentiment"} | query
    return client.post("/ui/upload", params=params, content=body, headers=headers, follow_redirects=False)


def tied_error(html: str, field: str) -> str:
    control = re.search(rf'<input id="f-{field}"[^>]*>', html)
    assert control is not None
    assert f"f-{field}-error" in control.group(0)
    message = re.search(rf'<p class="field-error" id="f-{field}-error">(.*?)</p>', html, re.S)
    assert message is not None
    return re.sub(r"<[^>]+>", "", message.group(1))


def assert_nothing_left(client: TestClient, auth: dict[str, str], registry: Registry, spool: Path) -> None:
    assert list(spool.iterdir()) == []  # the spooled upload is gone
    assert listed(client, auth) == []  # nothing listed
    registry.artifacts.collect_orphans()
    assert list(registry.blobs.iter_digests()) == []  # and no blob outlives collection


def test_the_page_shows_the_limits_from_settings(client: TestClient, signed_in: str) -> None:
    page = client.get("/ui/upload")
    assert page.status_code == 200
    assert 'enctype="multipart/form-data"' in page.text
    assert '<label for="f-file">Zip file</label>' in page.text
    assert "<dt>Zip file</dt><dd>at most 1.0 MB</dd>" in page.text
    assert "<dt>Files in the zip</dt><dd>at most 10,000</dd>" in page.text
    assert f'data-max-bytes="{LIMIT}"' in page.text
    assert 'aria-live="polite"' in page.text
    assert re.search(r'<script src="/static/js/upload\.[0-9a-f]{12}\.js" defer>', page.text)


def test_a_form_upload_goes_to_the_new_private_artifact(
    client: TestClient, auth: dict[str, str], signed_in: str, spool: Path
) -> None:
    response = send_form(client, signed_in, zip_bytes(model_files()), version="v1.2")
    assert response.status_code == 303, response.text
    [artifact] = listed(client, auth)
    assert artifact["name"] == "acme/sentiment"
    assert response.headers["location"] == f"/ui/artifacts/{artifact['id']}?notice=uploaded"
    got = client.get(f"/artifacts/model/{artifact['id']}", headers=auth).json()
    assert got["data"]["url"].startswith("upload:sha256:")
    assert list(spool.iterdir()) == []


def test_the_script_s_upload_answers_where_to_go(
    client: TestClient, auth: dict[str, str], signed_in: str, spool: Path
) -> None:
    response = send_raw(client, signed_in, zip_bytes(model_files()), type="dataset", name="acme/data")
    assert response.status_code == 201, response.text
    [artifact] = listed(client, auth)
    assert artifact["type"] == "dataset"
    assert response.json() == {
        "id": artifact["id"],
        "location": f"/ui/artifacts/{artifact['id']}?notice=uploaded",
    }
    assert list(spool.iterdir()) == []


def test_a_malicious_pickle_is_uploaded_marked_unsafe(
    client: TestClient, auth: dict[str, str], signed_in: str
) -> None:
    files = model_files() | {"pytorch_model.bin": evil_pickle()}
    response = send_form(client, signed_in, zip_bytes(files))
    assert response.status_code == 303
    assert response.headers["location"].endswith("?notice=uploaded-unsafe")
    [artifact] = listed(client, auth)
    safety = client.get(f"/artifact/model/{artifact['id']}/safety", headers=auth).json()
    assert safety["unsafe"] is True
    notice = client.get("/ui/upload?notice=uploaded-unsafe").text
    assert "run code when loaded" in notice


@pytest.mark.parametrize("shape", ["form", "script"])
def test_not_a_zip_is_said_at_the_file_field(
    client: TestClient, auth: dict[str, str], registry: Registry, spool: Path, signed_in: str, shape: str
) -> None:
    body = b"this is not a zip archive at all"
    if shape == "form":
        response = send_form(client, signed_in, body)
        assert response.status_code == 400
        assert "Not a readable zip archive" in tied_error(response.text, "file")
        assert 'value="acme/sentiment"' in response.text  # what was typed comes back
    else:
        response = send_raw(client, signed_in, body)
        assert response.status_code == 400
        assert "Not a readable zip archive" in response.json()["errors"]["file"]
    assert_nothing_left(client, auth, registry, spool)


def test_a_hostile_zip_is_refused_naming_the_entry(
    client: TestClient, auth: dict[str, str], registry: Registry, spool: Path, signed_in: str
) -> None:
    response = send_form(client, signed_in, zip_bytes({"../../etc/cron.d/x": b"* * * * * root sh"}))
    assert response.status_code == 400
    assert "contains '..' (entry ../../etc/cron.d/x)" in tied_error(response.text, "file").replace(
        "&#39;", "'"
    )
    assert_nothing_left(client, auth, registry, spool)


def test_too_large_is_413_announced_or_found_while_spooling(
    client: TestClient, auth: dict[str, str], registry: Registry, spool: Path, signed_in: str
) -> None:
    # Announced over the limit: refused before a byte is read, on the error page.
    announced = send_raw(client, signed_in, b"PK" + bytes(2 * LIMIT))
    assert announced.status_code == 413
    assert "larger than the limit of 1.0 MB" in announced.text
    big_form = send_form(client, signed_in, b"PK" + bytes(2 * LIMIT))
    assert big_form.status_code == 413
    # Within the form's allowance, but the file itself is over: the spooler stops at the limit.
    response = send_form(client, signed_in, b"PK" + bytes(LIMIT))
    assert response.status_code == 413
    assert "exceeds the size limit (the limit is 1.0 MB)" in tied_error(response.text, "file")
    assert_nothing_left(client, auth, registry, spool)


def test_a_form_without_a_length_is_refused_before_it_is_read(
    client: TestClient, auth: dict[str, str], registry: Registry, spool: Path, signed_in: str
) -> None:
    request = client.build_request(
        "POST",
        "/ui/upload",
        data={"form_key": signed_in, "type": "model", "name": "x"},
        files={"file": ("a.zip", zip_bytes(model_files()), ZIP)},
    )

    def chunks() -> Iterator[bytes]:
        yield request.read()

    response = client.post(
        "/ui/upload",
        content=chunks(),
        headers={"Content-Type": request.headers["content-type"]},
        follow_redirects=False,
    )
    assert response.status_code == 411
    assert_nothing_left(client, auth, registry, spool)


def test_missing_fields_and_a_bad_version_are_said_at_their_fields(
    client: TestClient, auth: dict[str, str], registry: Registry, spool: Path, signed_in: str
) -> None:
    no_file = send_form(client, signed_in, None, filename="")
    assert no_file.status_code == 400
    assert tied_error(no_file.text, "file") == "Error: Choose a zip file to upload."
    no_name = send_form(client, signed_in, zip_bytes(model_files()), name="  ")
    assert no_name.status_code == 400
    assert "Enter a name" in tied_error(no_name.text, "name")
    version = send_form(client, signed_in, zip_bytes(model_files()), version="banana")
    assert version.status_code == 400
    assert "Not a version" in tied_error(version.text, "version")
    reserved = send_raw(client, signed_in, zip_bytes(model_files()), name="*")
    assert reserved.status_code == 400
    assert "is reserved" in reserved.json()["errors"]["name"]
    assert_nothing_left(client, auth, registry, spool)


def test_the_same_zip_twice_is_409_with_a_link_to_the_first(
    client: TestClient, auth: dict[str, str], signed_in: str
) -> None:
    body = zip_bytes(model_files())
    assert send_form(client, signed_in, body).status_code == 303
    [first] = listed(client, auth)
    again = send_form(client, signed_in, body, name="other")
    assert again.status_code == 409
    assert first["id"] in tied_error(again.text, "file")
    assert f'href="/ui/artifacts/{first["id"]}"' in again.text
    script = send_raw(client, signed_in, body, name="other")
    assert script.status_code == 409
    assert script.json()["existing"] == f"/ui/artifacts/{first['id']}"
    assert len(listed(client, auth)) == 1


def test_other_content_is_415(client: TestClient, signed_in: str) -> None:
    response = client.post(
        "/ui/upload", content=b"x", headers={"Content-Type": "text/plain", "X-Form-Key": signed_in}
    )
    assert response.status_code == 415
    assert "Send the zip with this page" in response.text


def test_forms_without_this_session_s_key_store_nothing(
    client: TestClient, auth: dict[str, str], registry: Registry, spool: Path, signed_in: str
) -> None:
    registry.store.put_user(User("alice", False, hash_password("alice-password-1")))
    with TestClient(create_app(registry=registry)) as other:
        other_key = ui_sign_in(other, "alice", "alice-password-1")
    body = zip_bytes(model_files())
    for key in (None, "0" * 64, other_key):
        for response in (send_form(client, key, body), send_raw(client, key, body) if key else None):
            if response is None:
                continue
            assert response.status_code == 403, key
            assert "This form has expired or was not sent from this session" in response.text
    assert_nothing_left(client, auth, registry, spool)


def _cut_off(
    client: TestClient, registry: Registry, spool: Path, query: str, headers: dict[str, str], body: bytes
) -> list[str]:
    """Send half of `body`, then hang up, straight to the application (as a server passes on a
    client that closed its connection). Returns what the spool held when the client hung up."""
    app = create_app(registry=registry)
    cookie = f"tmr_session={client.cookies['tmr_session']}"
    raw_headers = [(k.lower().encode(), v.encode()) for k, v in (headers | {"cookie": cookie}).items()]
    raw_headers.append((b"content-length", str(len(body)).encode()))
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": body[: len(body) // 2], "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[MutableMapping[str, Any]] = []
    spooled: list[str] = []

    async def receive() -> dict[str, Any]:
        if len(messages) == 1:
            spooled.extend(os.listdir(spool))
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/ui/upload",
        "raw_path": b"/ui/upload",
        "root_path": "",
        "query_string": query.encode(),
        "headers": raw_headers,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }

    def hang_up() -> None:
        with contextlib.suppress(ClientDisconnect):
            asyncio.run(app(scope, receive, send))

    # A thread of its own: the browser tests' Playwright may hold this thread's event loop.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(hang_up).result()
    assert not any(m.get("status") in (201, 303) for m in sent)
    return spooled


def test_an_upload_cut_off_halfway_leaves_nothing(
    client: TestClient, auth: dict[str, str], registry: Registry, spool: Path, signed_in: str
) -> None:
    body = zip_bytes(model_files())
    # The script's shape: the zip streams into the spool, which is removed when the client goes.
    headers = {"content-type": ZIP, "x-form-key": signed_in}
    during = _cut_off(client, registry, spool, "type=model&name=cut-off", headers, body)
    assert [Path(name).suffix for name in during] == [".zip"]  # half of it was spooled when the client went
    assert_nothing_left(client, auth, registry, spool)
    # The form's shape, cut off inside the file part.
    form = client.build_request(
        "POST",
        "/ui/upload",
        data={"form_key": signed_in, "type": "model", "name": "cut-off"},
        files={"file": ("a.zip", body, ZIP)},
    )
    _cut_off(client, registry, spool, "", {"content-type": form.headers["content-type"]}, form.read())
    assert_nothing_left(client, auth, registry, spool)
    # The registry is unharmed: the same zip uploads whole.
    assert send_form(client, signed_in, body).status_code == 303
    assert [a["name"] for a in listed(client, auth)] == ["acme/sentiment"]


def test_uploads_bigger_than_the_json_body_cap_go_through(
    make_registry: Callable[..., Registry], tmp_path: Path
) -> None:
    """The page's route is exempt from the 1 MiB cap on JSON bodies, like the API's upload."""
    registry = make_registry(TMR_SPOOL_DIR=str(tmp_path))
    weights = safetensors_bytes((1024, 640), seed=9)  # 2.6 MB that do not compress
    with TestClient(create_app(registry=registry)) as client:
        key = ui_sign_in(client)
        form = send_form(client, key, zip_bytes(model_files(weights=weights)), name="big-form")
        assert form.status_code == 303, form.text
        script = send_raw(client, key, zip_bytes(model_files(seed=2, weights=weights)), name="big-script")
        assert script.status_code == 201, script.text
