"""Resumable uploads over HTTP in process (`/uploads`), on SQLite and on PostgreSQL: the whole
protocol, the same artifact and answer as the one-request upload, and every refusal (a wrong
offset, too many bytes, an early or changed finish, someone else's or an expired session, no
permission, a bad name, type, version or length, two parts at one offset, a part cut mid-body),
and the parts kept from orphan collection while their session is open, and only then."""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests import services
from tests.feature.conftest import BERT, register
from tests.feature.test_uploads import listed, login, upload
from tests.support import auth_request, fresh_engine
from tests.zips import model_files, zip_bytes
from tmr.accounts.models import Permission, User
from tmr.accounts.passwords import hash_password
from tmr.app import create_app
from tmr.artifacts.upload_sessions import UploadSessionService
from tmr.container import Registry
from tmr.storage.upload_sessions import SqlUploadSessionStore

PART = 4096
BODY = zip_bytes(model_files(), folder="sentiment/")  # about 9 KiB: three parts
SHA = hashlib.sha256(BODY).hexdigest()
OCTETS = {"Content-Type": "application/offset+octet-stream"}


@pytest.fixture(scope="module")
def private_postgres() -> Iterator[str]:
    """A database of this module's own: its schema is this branch's, whatever else shares the cluster."""
    with services.fresh_postgres_database("tmr_upload_sessions") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def registry(request: pytest.FixtureRequest, make_registry: Callable[..., Registry]) -> Registry:
    if request.param == "sqlite":
        return make_registry(upload_part_bytes=PART)
    url = request.getfixturevalue("private_postgres")
    fresh_engine(url).dispose()  # migrated, every table emptied
    return make_registry(upload_part_bytes=PART, database_url=url)


def create(
    client: TestClient,
    who: dict[str, str],
    length: int = len(BODY),
    expect: int = 201,
    **params: str,
) -> dict[str, Any]:
    query = {"type": "model", "name": "acme/sentiment"} | params
    response = client.post("/uploads", params=query, headers=who | {"Upload-Length": str(length)})
    assert response.status_code == expect, response.text
    answer: dict[str, Any] = response.json()
    return answer


def patch(client: TestClient, who: dict[str, str], sid: str, offset: int, data: bytes) -> httpx.Response:
    return client.patch(
        f"/uploads/{sid}", content=data, headers=who | OCTETS | {"Upload-Offset": str(offset)}
    )


def send(
    client: TestClient, who: dict[str, str], sid: str, body: bytes = BODY, upto: int | None = None
) -> None:
    for start in range(0, len(body) if upto is None else upto, PART):
        sent = patch(client, who, sid, start, body[start : start + PART])
        assert sent.status_code == 204, sent.text
        assert sent.headers["upload-offset"] == str(min(start + PART, len(body)))


def finish(
    client: TestClient, who: dict[str, str], sid: str, sha: str = SHA, expect: int = 201
) -> dict[str, Any]:
    response = client.post(f"/uploads/{sid}/finish", json={"sha256": sha}, headers=who)
    assert response.status_code == expect, response.text
    answer: dict[str, Any] = response.json()
    return answer


def offset_of(client: TestClient, who: dict[str, str], sid: str) -> int:
    response = client.get(f"/uploads/{sid}", headers=who)
    assert response.status_code == 200, response.text
    return int(response.json()["offset"])


def clocked(registry: Registry, start: datetime) -> list[datetime]:
    """The registry's sessions on a clock the test moves (`now[0]`)."""
    now = [start]
    settings = registry.settings
    registry.upload_sessions = UploadSessionService(
        SqlUploadSessionStore(registry.store.engine),  # type: ignore[attr-defined]
        registry.blobs,
        registry.registration,
        part_bytes=settings.upload_part_bytes,
        ttl_s=settings.upload_session_ttl_s,
        limits=settings.upload_limits,
        spool_dir=settings.spool_dir,
        clock=lambda: now[0],
    )
    return now


def digests_of(body: bytes) -> set[str]:
    return {hashlib.sha256(body[i : i + PART]).hexdigest() for i in range(0, len(body), PART)}


def test_a_session_registers_what_the_one_request_upload_registers(
    client: TestClient, auth: dict[str, str], make_registry: Callable[..., Registry]
) -> None:
    session = create(client, auth, version="v1.2")
    assert session | {"id": "", "created_at": "", "expires_at": ""} == {
        "id": "",
        "state": "open",
        "offset": 0,
        "length": len(BODY),
        "part_bytes": PART,
        "type": "model",
        "name": "acme/sentiment",
        "version": "v1.2",
        "created_at": "",
        "expires_at": "",
    }
    sid = session["id"]
    head = client.head(f"/uploads/{sid}", headers=auth)
    assert (head.status_code, head.headers["upload-offset"], head.headers["upload-length"]) == (
        200,
        "0",
        str(len(BODY)),
    )
    send(client, auth, sid)
    assert client.get(f"/uploads/{sid}", headers=auth).json()["state"] == "complete"
    answer = finish(client, auth, sid)

    # The same zip through POST /artifact/model/upload, on a registry of its own.
    other = make_registry()
    with TestClient(create_app(registry=other)) as plain:
        token = {"X-Authorization": plain.put("/authenticate", json=auth_request()).json()}
        direct = upload(plain, token, BODY, version="v1.2")
    for body in (answer, direct):
        body["metadata"].pop("id")
        body["data"].pop("download_url")
    assert answer == direct
    assert answer["data"]["url"] == f"upload:sha256:{SHA}"
    assert answer["version"] == "1.2.0"
    # Finishing twice: the session is gone.
    assert finish(client, auth, sid, expect=404)["code"] == "upload_session_not_found"
    assert client.head(f"/uploads/{sid}", headers=auth).status_code == 404


def test_the_location_names_the_session(client: TestClient, auth: dict[str, str]) -> None:
    response = client.post(
        "/uploads", params={"type": "code", "name": "tool"}, headers=auth | {"Upload-Length": "10"}
    )
    assert response.headers["location"] == f"http://testserver/uploads/{response.json()['id']}"
    assert response.headers["upload-offset"] == "0"


def test_a_part_at_another_offset_is_409_naming_the_offset(client: TestClient, auth: dict[str, str]) -> None:
    sid = create(client, auth)["id"]
    send(client, auth, sid, upto=PART)
    for wrong in (0, PART + 1):
        refused = patch(client, auth, sid, wrong, BODY[wrong : wrong + 10])
        assert refused.status_code == 409
        assert refused.headers["upload-offset"] == str(PART)
        assert refused.json()["details"] == {"offset": PART}
    assert offset_of(client, auth, sid) == PART


def test_too_many_bytes_are_413_and_store_nothing(client: TestClient, auth: dict[str, str]) -> None:
    sid = create(client, auth, length=PART + 10)["id"]
    assert patch(client, auth, sid, 0, b"x" * (PART + 1)).status_code == 413  # announced

    def unannounced() -> Iterator[bytes]:
        yield b"x" * PART
        yield b"x"

    chunked = client.patch(
        f"/uploads/{sid}", content=unannounced(), headers=auth | OCTETS | {"Upload-Offset": "0"}
    )
    assert chunked.status_code == 413
    send(client, auth, sid, b"y" * (PART + 10), upto=PART)
    past = patch(client, auth, sid, PART, b"z" * 11)
    assert (past.status_code, "past the upload's length" in past.json()["detail"]) == (413, True)
    assert offset_of(client, auth, sid) == PART


def test_a_part_is_octets_at_a_numbered_offset(client: TestClient, auth: dict[str, str]) -> None:
    sid = create(client, auth)["id"]
    json_part = client.patch(
        f"/uploads/{sid}",
        content=b"{}",
        headers=auth | {"Upload-Offset": "0", "Content-Type": "application/json"},
    )
    assert json_part.status_code == 415
    assert client.patch(f"/uploads/{sid}", content=b"x", headers=auth | OCTETS).status_code == 400
    assert patch(client, auth, sid, -1, b"x").status_code == 400
    plain = {"Content-Type": "application/octet-stream", "Upload-Offset": "0"}
    assert client.patch(f"/uploads/{sid}", content=b"x", headers=auth | plain).status_code == 204


def test_finishing_early_is_400_and_keeps_the_session(client: TestClient, auth: dict[str, str]) -> None:
    sid = create(client, auth)["id"]
    send(client, auth, sid, upto=PART)
    early = finish(client, auth, sid, expect=400)
    assert early["details"] == {"offset": PART, "length": len(BODY)}
    assert finish(client, auth, sid, sha="not hex", expect=400)["code"] == "invalid_input"
    send_rest = BODY[PART:]
    for start in range(0, len(send_rest), PART):
        assert patch(client, auth, sid, PART + start, send_rest[start : start + PART]).status_code == 204
    assert finish(client, auth, sid)["metadata"]["name"] == "acme/sentiment"


def test_a_changed_zip_is_refused_and_nothing_is_registered(client: TestClient, auth: dict[str, str]) -> None:
    sid = create(client, auth)["id"]
    send(client, auth, sid)
    refused = finish(client, auth, sid, sha=hashlib.sha256(b"another zip").hexdigest(), expect=400)
    assert "the uploaded bytes changed since the push began" in refused["detail"]
    assert client.get(f"/uploads/{sid}", headers=auth).status_code == 404
    assert listed(client, auth) == []


def test_someone_elses_session_does_not_exist(
    client: TestClient, auth: dict[str, str], registry: Registry
) -> None:
    alice = login(client, registry, "alice")
    bob = login(client, registry, "bob")
    sid = create(client, alice)["id"]
    send(client, alice, sid, upto=PART)
    for who in (bob, auth):  # the default admin too
        assert client.get(f"/uploads/{sid}", headers=who).status_code == 404
        assert client.head(f"/uploads/{sid}", headers=who).status_code == 404
        assert patch(client, who, sid, PART, BODY[PART : 2 * PART]).status_code == 404
        assert finish(client, who, sid, expect=404)["code"] == "upload_session_not_found"
        assert client.delete(f"/uploads/{sid}", headers=who).status_code == 404
    assert offset_of(client, alice, sid) == PART


def test_an_expired_session_is_gone(client: TestClient, auth: dict[str, str], registry: Registry) -> None:
    now = clocked(registry, datetime.now(UTC))
    sid = create(client, auth)["id"]
    send(client, auth, sid, upto=PART)
    now[0] += timedelta(seconds=registry.settings.upload_session_ttl_s)
    gone = client.get(f"/uploads/{sid}", headers=auth)
    assert gone.status_code == 404
    assert "expired" in gone.json()["detail"]
    assert patch(client, auth, sid, PART, BODY[PART : 2 * PART]).status_code == 404
    assert client.delete(f"/uploads/{sid}", headers=auth).status_code == 404


def test_a_deleted_session_is_gone(client: TestClient, auth: dict[str, str]) -> None:
    sid = create(client, auth)["id"]
    send(client, auth, sid, upto=PART)
    deleted = client.delete(f"/uploads/{sid}", headers=auth)
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert client.get(f"/uploads/{sid}", headers=auth).status_code == 404
    assert client.delete(f"/uploads/{sid}", headers=auth).status_code == 404


def test_a_session_needs_the_upload_permission(
    client: TestClient, auth: dict[str, str], registry: Registry
) -> None:
    registry.store.put_user(User("reader", False, hash_password("pw-reader"), frozenset({Permission.SEARCH})))
    reader = {"X-Authorization": client.put("/authenticate", json=auth_request("pw-reader", "reader")).json()}
    refused = create(client, reader, expect=401)
    assert refused["details"]["missing_permission"] == "upload"
    sid = create(client, auth)["id"]
    assert client.head(f"/uploads/{sid}", headers=reader).status_code == 401
    assert client.head(f"/uploads/{sid}", headers=auth).status_code == 200
    assert (
        client.post(
            "/uploads", params={"type": "model", "name": "x"}, headers={"Upload-Length": "5"}
        ).status_code
        == 403
    )


def test_a_bad_name_type_version_or_length_is_refused_at_once(
    client: TestClient, auth: dict[str, str]
) -> None:
    assert "reserved" in create(client, auth, name="*", expect=400)["detail"]
    assert create(client, auth, type="banana", expect=400)["code"] == "invalid_input"
    assert create(client, auth, version="banana", expect=400)["code"] == "invalid_input"
    for length in ("", "-1", "ten", "0"):
        response = client.post(
            "/uploads", params={"type": "model", "name": "n"}, headers=auth | {"Upload-Length": length}
        )
        assert response.status_code == 400, length
    assert client.post("/uploads", params={"type": "model", "name": "n"}, headers=auth).status_code == 400
    assert create(client, auth, length=5 * 1024**3 + 1, expect=413)["code"] == "payload_too_large"


def test_a_hub_repository_name_is_refused_at_once(client: TestClient, auth: dict[str, str]) -> None:
    register(client, auth, "model", BERT)
    refused = create(client, auth, name="google-bert/bert-base-uncased", expect=409)
    assert "Hugging Face repository id" in refused["detail"]


def test_two_parts_at_one_offset_one_is_taken(
    client: TestClient, auth: dict[str, str], registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    sid = create(client, auth)["id"]
    both_stored = threading.Barrier(2, timeout=30)
    put_bytes = registry.blobs.put_bytes

    def put_together(data: bytes) -> Any:  # both requests are past their offset check by now
        stored = put_bytes(data)
        both_stored.wait()
        return stored

    monkeypatch.setattr(registry.blobs, "put_bytes", put_together)
    statuses: list[int] = []

    def send_first_part(body: bytes) -> None:
        statuses.append(patch(client, auth, sid, 0, body).status_code)

    threads = [threading.Thread(target=send_first_part, args=(BODY[:PART],)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(statuses) == [204, 409]
    assert offset_of(client, auth, sid) == PART


def test_a_part_cut_mid_body_stores_nothing(
    client: TestClient, auth: dict[str, str], registry: Registry
) -> None:
    sid = create(client, auth)["id"]
    part = BODY[:PART]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "PATCH",
        "scheme": "http",
        "path": f"/uploads/{sid}",
        "raw_path": f"/uploads/{sid}".encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"x-authorization", auth["X-Authorization"].encode()),
            (b"upload-offset", b"0"),
            (b"content-type", b"application/offset+octet-stream"),
            (b"content-length", str(PART).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    arriving: list[dict[str, Any]] = [{"type": "http.request", "body": part[:1000], "more_body": True}]

    async def receive() -> dict[str, Any]:
        return arriving.pop(0) if arriving else {"type": "http.disconnect"}

    async def sent(_message: Any) -> None:
        pass

    asyncio.run(client.app(scope, receive, sent))  # type: ignore[arg-type]
    assert offset_of(client, auth, sid) == 0
    assert not registry.blobs.exists(hashlib.sha256(part[:1000]).hexdigest())
    assert not registry.blobs.exists(hashlib.sha256(part).hexdigest())
    send(client, auth, sid)  # the whole part, sent again, is taken
    assert finish(client, auth, sid)["data"]["url"] == f"upload:sha256:{SHA}"


def test_parts_are_kept_from_collection_while_open_and_only_then(
    client: TestClient, auth: dict[str, str], registry: Registry
) -> None:
    collect = registry.artifacts.collect_orphans
    deleted_body, finished_body = BODY + b"\0deleted", BODY
    deleted = create(client, auth, length=len(deleted_body))["id"]
    send(client, auth, deleted, deleted_body)
    finished = create(client, auth)["id"]
    send(client, auth, finished)
    parts = digests_of(deleted_body) | digests_of(finished_body)
    collect()  # no grace: only references keep a blob
    assert all(registry.blobs.exists(d) for d in parts)

    assert client.delete(f"/uploads/{deleted}", headers=auth).status_code == 204
    collect()
    assert not any(registry.blobs.exists(d) for d in digests_of(deleted_body) - digests_of(finished_body))
    assert all(registry.blobs.exists(d) for d in digests_of(finished_body))

    finish(client, auth, finished)
    collect()
    assert not any(registry.blobs.exists(d) for d in digests_of(finished_body))

    # A session past its expiry (created on a clock two days behind) no longer keeps its parts.
    clocked(registry, datetime.now(UTC) - timedelta(days=2))
    expired = create(client, auth)["id"]
    send(client, auth, expired)
    collect()
    assert not any(registry.blobs.exists(d) for d in digests_of(BODY))


def test_reset_forgets_every_session(client: TestClient, auth: dict[str, str], registry: Registry) -> None:
    sid = create(client, auth)["id"]
    send(client, auth, sid, upto=PART)
    admin = registry.accounts.check(auth["X-Authorization"])
    assert registry.transactions.listing(admin) == []  # a session is no transaction, even to an admin
    assert client.delete("/reset", headers=auth).status_code == 200
    assert client.get(f"/uploads/{sid}", headers=auth).status_code == 404
    assert not registry.blobs.exists(hashlib.sha256(BODY[:PART]).hexdigest())
    assert registry.transactions.listing(registry.accounts.check(auth["X-Authorization"])) == []


def test_the_upload_limits_and_duplicates_apply_at_the_finish(
    client: TestClient, auth: dict[str, str], make_registry: Callable[..., Registry]
) -> None:
    upload(client, auth, BODY)
    sid = create(client, auth, name="acme/copy")["id"]
    send(client, auth, sid)
    duplicate = finish(client, auth, sid, expect=409)
    assert "already uploaded" in duplicate["detail"]
    assert client.get(f"/uploads/{sid}", headers=auth).status_code == 404

    small = make_registry(upload_part_bytes=PART, upload_max_expanded_bytes=1000)
    with TestClient(create_app(registry=small)) as tight:
        token = {"X-Authorization": tight.put("/authenticate", json=auth_request()).json()}
        sid = create(tight, token)["id"]
        send(tight, token, sid)
        assert finish(tight, token, sid, expect=413)["code"] == "payload_too_large"
        assert listed(tight, token) == []


def test_the_routes_are_documented(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert set(paths["/uploads"]) == {"post"}
    assert set(paths["/uploads/{id}"]) == {"get", "head", "patch", "delete"}
    assert set(paths["/uploads/{id}/finish"]) == {"post"}
    patch_ = paths["/uploads/{id}"]["patch"]
    assert set(patch_["requestBody"]["content"]) == {"application/octet-stream"}
    assert "application/offset+octet-stream" in patch_["description"]
