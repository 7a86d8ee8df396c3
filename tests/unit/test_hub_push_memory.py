"""Pushes through the Hugging Face door on a registry in memory, spoken in the Hub's wire format
over the TestClient: create_repo, preupload, the LFS batch and its grants, verify, NDJSON commits
(adds, overwrites, deletions, bad lines, escaping paths, stale parents), tags, the refusals
(pull requests, Xet, permissions) and the Hub's error headers. Each refusal is checked to change
nothing, by reading the repository back.

Why here: huggingface_hub's client (tests/feature/test_hf_push.py) needs sockets, and the unit
layer alone must cover src/tmr/hub/push.py and src/tmr/api/hfcompat_write.py. The LFS PUT route
spools to disk, so only its refusals run here; an object's bytes are stored through
`HubPushService.lfs_store` with a spool held in memory."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.unit.memory_app import ADMIN_HEADERS, memory_client
from tests.unit.test_api_memory import make_user
from tmr.accounts.models import SYSTEM, Principal
from tmr.artifacts.models import ArtifactType, Visibility
from tmr.artifacts.uploads import SpooledUpload
from tmr.container import Registry
from tmr.errors import InvalidInput
from tmr.hub.push import AddRegular, HubForbidden, push_url

THRESHOLD = 1024  # bytes: preupload sends files of at least this size over LFS
LIMIT = 64 * 1024  # the upload limit, which also caps a commit's body
WEIGHTS = b"\x01\x02" * 700
OID = hashlib.sha256(WEIGHTS).hexdigest()


@dataclass(frozen=True)
class Door:
    client: TestClient
    registry: Registry
    alice: dict[str, str]  # every permission
    bob: dict[str, str]  # search and download, no upload

    def principal(self, headers: dict[str, str]) -> Principal:
        return self.registry.accounts.check(headers["Authorization"].removeprefix("Bearer "))


def _hub(headers: dict[str, str]) -> dict[str, str]:
    """huggingface_hub's header: `Authorization: Bearer <the registry's token>`."""
    return {"Authorization": f"Bearer {headers['X-Authorization']}"}


@pytest.fixture
def door() -> Iterator[Door]:
    with memory_client(hub_lfs_threshold=THRESHOLD, upload_max_bytes=LIMIT) as (client, registry):
        alice = _hub(make_user(client, "alice", "upload", "search", "download"))
        bob = _hub(make_user(client, "bob", "search", "download"))
        yield Door(client, registry, alice, bob)


def add(path: str, data: bytes) -> dict[str, Any]:
    return {
        "key": "file",
        "value": {"path": path, "content": base64.b64encode(data).decode(), "encoding": "base64"},
    }


def lfs(path: str, oid: str, size: int | None) -> dict[str, Any]:
    return {"key": "lfsFile", "value": {"path": path, "algo": "sha256", "oid": oid, "size": size}}


def delete(path: str, folder: bool = False) -> dict[str, Any]:
    return {"key": "deletedFolder" if folder else "deletedFile", "value": {"path": path}}


def ndjson(*lines: object, parent: str | None = None) -> bytes:
    header = {"key": "header", "value": {"summary": "a commit", "description": "", "parentCommit": parent}}
    return b"".join(json.dumps(line).encode() + b"\n" for line in (header, *lines))


def commit(
    door: Door, repo: str, body: bytes, *, who: dict[str, str] | None = None, kind: str = "models"
) -> httpx.Response:
    return door.client.post(
        f"/api/{kind}/{repo}/commit/main",
        content=body,
        headers={**(door.alice if who is None else who), "Content-Type": "application/x-ndjson"},
    )


def head(door: Door, repo: str, kind: str = "models") -> str | None:
    info = door.client.get(f"/api/{kind}/{repo}", headers=door.alice)
    return str(info.json()["sha"]) if info.status_code == 200 else None


def files(door: Door, repo: str, kind: str = "models") -> dict[str, bytes]:
    """The repository's files and bytes, read back through the door (empty before a commit)."""
    info = door.client.get(f"/api/{kind}/{repo}", headers=door.alice)
    if info.status_code == 404:
        return {}
    prefix = "datasets/" if kind == "datasets" else ""
    found = {}
    for sibling in info.json()["siblings"]:
        path = sibling["rfilename"]
        got = door.client.get(f"/{prefix}{repo}/resolve/main/{path}", headers=door.alice)
        assert got.status_code == 200, got.text
        found[path] = got.content
    return found


def pushed(door: Door, type_: ArtifactType, repo: str) -> str | None:
    """The artifact id a push registered for `repo`, straight from the registry."""
    summary = door.registry.artifacts.url_taken(type_, push_url(repo))
    return None if summary is None else summary.id


# -- repositories ---------------------------------------------------------------------------------


def test_create_repo_makes_an_empty_repository_in_the_callers_namespace(door: Door) -> None:
    made = door.client.post("/api/repos/create", json={"name": "demo"}, headers=door.alice)
    assert made.json() == {"url": "http://testserver/alice/demo", "name": "alice/demo"}
    data = door.client.post("/api/repos/create", json={"name": "data", "type": "dataset"}, headers=door.alice)
    assert data.json()["url"] == "http://testserver/datasets/alice/data"
    empty = door.client.get("/alice/demo/resolve/main/README.md", headers=door.alice)
    assert (empty.status_code, empty.headers["X-Error-Code"]) == (404, "EntryNotFound")
    assert "the repository is empty" in empty.headers["X-Error-Message"]
    assert pushed(door, ArtifactType.MODEL, "alice/demo") is None  # nothing to rate or show yet
    # Created but never pushed: creating it again is no conflict.
    assert door.client.post("/api/repos/create", json={"name": "demo"}, headers=door.alice).status_code == 200

    assert commit(door, "alice/demo", ndjson(add("a.txt", b"a"))).status_code == 200
    again = door.client.post("/api/repos/create", json={"name": "demo"}, headers=door.alice)
    assert again.status_code == 409
    # create_repo(exist_ok=True) reads the URL from the 409's body.
    assert again.json() == {
        "error": "You already created this model repo",
        "url": "http://testserver/alice/demo",
    }
    assert again.headers["X-Error-Message"] == "You already created this model repo"


@pytest.mark.parametrize(
    ("body", "status", "said"),
    [
        ({"name": "space", "type": "space"}, 400, "model and dataset repositories"),
        ({"name": "bad name"}, 400, "invalid repository name"),
        ({"name": "x.git"}, 400, "invalid repository name"),
        ({"name": 7}, 400, "'name' must be a string"),
        ({"name": "x", "organization": "acme"}, 403, "namespace 'acme'"),
        ([1], 400, "must be a JSON object"),
        ("{", 400, "not JSON"),
    ],
)
def test_create_repo_refuses_bad_names_and_other_namespaces(
    door: Door, body: object, status: int, said: str
) -> None:
    sent = {"content": body} if isinstance(body, str) else {"json": body}
    refused = door.client.post("/api/repos/create", headers=door.alice, **sent)
    assert refused.status_code == status
    assert said in refused.json()["error"]
    assert said in refused.headers["X-Error-Message"]
    if isinstance(body, dict) and isinstance(body["name"], str):
        # Not recorded: a file of it is "repository not found", not "entry not found".
        repo = f"{body.get('organization') or 'alice'}/{body['name']}"
        missing = door.client.get(f"/{repo}/resolve/main/a", headers=door.alice)
        assert missing.headers["X-Error-Code"] == "RepoNotFound"


# -- commits --------------------------------------------------------------------------------------


def test_commits_add_overwrite_and_delete_files_of_a_private_artifact(door: Door) -> None:
    text = {"key": "file", "value": {"path": "notes/x.txt", "content": "héllo"}}  # utf-8, the default
    first = commit(
        door, "alice/demo", ndjson(add("a.txt", b"one"), text, add("logs/1", b"1"), add("logs/2", b"2"))
    )
    assert first.status_code == 200, first.text
    answer = first.json()
    assert answer["commitUrl"] == f"http://testserver/alice/demo/commit/{answer['commitOid']}"
    assert (answer["success"], answer["pullRequestUrl"]) == (True, None)
    assert head(door, "alice/demo") == answer["commitOid"]
    assert files(door, "alice/demo") == {
        "a.txt": b"one",
        "notes/x.txt": "héllo".encode(),
        "logs/1": b"1",
        "logs/2": b"2",
    }
    artifact_id = pushed(door, ArtifactType.MODEL, "alice/demo")
    assert artifact_id is not None
    artifact = door.registry.artifacts.get_any(SYSTEM, artifact_id)
    assert (artifact.name, artifact.visibility, artifact.created_by) == (
        "alice/demo",
        Visibility.PRIVATE,
        "alice",
    )

    second = commit(
        door, "alice/demo", ndjson(add("a.txt", b"two"), delete("notes/x.txt"), delete("logs/", folder=True))
    )
    assert second.status_code == 200, second.text
    assert second.json()["commitOid"] not in (answer["commitOid"], None)
    assert files(door, "alice/demo") == {"a.txt": b"two"}
    assert pushed(door, ArtifactType.MODEL, "alice/demo") == artifact_id  # the same artifact, replaced

    # An LFS line may name bytes the repository already holds (a copy needs no upload).
    copied = commit(door, "alice/demo", ndjson(lfs("b.txt", hashlib.sha256(b"two").hexdigest(), 3)))
    assert copied.status_code == 200, copied.text
    assert files(door, "alice/demo") == {"a.txt": b"two", "b.txt": b"two"}


def test_a_dataset_repository_is_pushed_under_datasets(door: Door) -> None:
    answer = commit(door, "alice/data", ndjson(add("train.csv", b"a,b\n1,2\n")), kind="datasets")
    assert answer.json()["commitUrl"].startswith("http://testserver/datasets/alice/data/commit/")
    assert files(door, "alice/data", kind="datasets") == {"train.csv": b"a,b\n1,2\n"}
    assert pushed(door, ArtifactType.DATASET, "alice/data") is not None
    assert pushed(door, ArtifactType.MODEL, "alice/data") is None


BAD_COMMITS = [
    pytest.param(ndjson() + b"{nope\n", 400, "line 2 is not JSON", id="not-json"),
    pytest.param(json.dumps(add("a.txt", b"x")).encode(), 400, "no header", id="no-header"),
    pytest.param(ndjson() + ndjson(), 400, "one header", id="two-headers"),
    pytest.param(ndjson([1]), 400, "must be an object", id="not-an-object"),
    pytest.param(ndjson({"key": "copyFile", "value": {"path": "a"}}), 400, "not supported", id="copy"),
    pytest.param(ndjson({"key": "file", "value": {"path": "a"}}), 400, "'content' must be", id="no-content"),
    pytest.param(
        ndjson({"key": "file", "value": {"path": "a", "content": "!!", "encoding": "base64"}}),
        400,
        "not base64",
        id="bad-base64",
    ),
    pytest.param(ndjson(lfs("w", "x" * 64, True)), 400, "'size' must be an integer", id="lfs-size"),
    pytest.param(
        ndjson({"key": "lfsFile", "value": {"path": "w", "algo": "md5", "oid": "x"}}), 400, "sha256", id="md5"
    ),
    pytest.param(ndjson(add("../x", b"x")), 400, "invalid path", id="traversal"),
    pytest.param(ndjson(add(".git/config", b"x")), 400, "invalid path", id="dot-git"),
    pytest.param(ndjson(add("a.txt/inner", b"x")), 400, "both a file and a folder", id="clash"),
    pytest.param(ndjson(delete("missing.txt")), 404, "doesn't exist", id="delete-missing"),
    pytest.param(ndjson(delete("nothing", folder=True)), 404, "doesn't exist", id="delete-missing-folder"),
    pytest.param(ndjson(delete("/", folder=True)), 400, "at least one file", id="delete-everything"),
    pytest.param(ndjson(lfs("w.dat", OID, len(WEIGHTS))), 400, "has not been uploaded", id="lfs-not-sent"),
    pytest.param(ndjson(lfs("w.dat", "bad", 1)), 400, "has not been uploaded", id="lfs-not-an-oid"),
    pytest.param(
        ndjson(lfs("copy", hashlib.sha256(b"a").hexdigest(), 9)),
        400,
        "is 1 bytes, not 9",
        id="lfs-wrong-size",
    ),
    pytest.param(ndjson(add("big.txt", b"x" * LIMIT)), 413, "exceeds", id="over-the-limit"),
]


@pytest.mark.parametrize(("body", "status", "said"), BAD_COMMITS)
def test_a_bad_commit_is_refused_and_changes_nothing(door: Door, body: bytes, status: int, said: str) -> None:
    assert commit(door, "alice/demo", ndjson(add("a.txt", b"a"), add("dir/b.txt", b"b"))).status_code == 200
    before = head(door, "alice/demo")
    refused = commit(door, "alice/demo", body)
    assert refused.status_code == status, refused.text
    assert said in refused.json()["error"]
    assert said in refused.headers["X-Error-Message"]
    if status == 404:
        assert refused.headers["X-Error-Code"] == "EntryNotFound"
    assert head(door, "alice/demo") == before
    assert files(door, "alice/demo") == {"a.txt": b"a", "dir/b.txt": b"b"}


def test_a_commit_on_a_stale_parent_is_refused_with_412(door: Door) -> None:
    first = commit(door, "alice/race", ndjson(add("a.txt", b"1"))).json()["commitOid"]
    second = commit(door, "alice/race", ndjson(add("b.txt", b"2"), parent=first))
    assert second.status_code == 200, second.text
    stale = commit(door, "alice/race", ndjson(add("c.txt", b"3"), parent=first))
    assert stale.status_code == 412
    assert "A commit has happened since" in stale.headers["X-Error-Message"]
    assert head(door, "alice/race") == second.json()["commitOid"]
    assert files(door, "alice/race") == {"a.txt": b"1", "b.txt": b"2"}
    # A parent for a repository that has no commit yet is stale too.
    assert commit(door, "alice/new", ndjson(add("a.txt", b"1"), parent=first)).status_code == 412
    assert pushed(door, ArtifactType.MODEL, "alice/new") is None


def test_a_commit_whose_head_moves_meanwhile_is_applied_again_on_the_new_head(
    door: Door, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another push lands between a commit's read of the head and its write, twice: first when
    the repository does not exist yet (the other push creates it), then when it does."""
    alice = door.principal(door.alice)
    registration = door.registry.registration
    prepare = registration.prepare_upload
    pending = ["other-2.txt", "other-1.txt"]
    busy = False

    def prepare_then_interleave(*args: Any, **kwargs: Any) -> Any:
        nonlocal busy
        admission = prepare(*args, **kwargs)
        if pending and not busy:  # the other push's own prepare does not interleave again
            busy = True
            try:
                files_ = [AddRegular(pending.pop(), b"o")]
                door.registry.hub_push.commit(alice, ArtifactType.MODEL, "alice/moving", "main", files_)
            finally:
                busy = False
        return admission

    monkeypatch.setattr(registration, "prepare_upload", prepare_then_interleave)
    landed = commit(door, "alice/moving", ndjson(add("mine.txt", b"m")))
    assert landed.status_code == 200, landed.text
    assert pending == []  # two writes were refused (created meanwhile, then changed meanwhile)
    assert files(door, "alice/moving") == {"other-1.txt": b"o", "other-2.txt": b"o", "mine.txt": b"m"}
    assert head(door, "alice/moving") == landed.json()["commitOid"]


def test_tags_are_versions(door: Door) -> None:
    early = door.client.post("/api/models/alice/demo/tag/main", json={"tag": "v1.0"}, headers=door.alice)
    assert (early.status_code, early.headers["X-Error-Code"]) == (404, "RepoNotFound")
    oid = commit(door, "alice/demo", ndjson(add("a.txt", b"a"))).json()["commitOid"]
    tagged = door.client.post("/api/models/alice/demo/tag/main", json={"tag": "v1.2"}, headers=door.alice)
    assert tagged.json() == {"tag": "1.2.0", "commitOid": oid}
    refs = door.client.get("/api/models/alice/demo/refs", headers=door.alice).json()
    assert [t["name"] for t in refs["tags"]] == ["1.2.0"]
    artifact_id = pushed(door, ArtifactType.MODEL, "alice/demo")
    assert artifact_id is not None
    for bad, said in (("nightly", "not a version"), ("  ", "non-empty"), (5, "non-empty")):
        refused = door.client.post("/api/models/alice/demo/tag/main", json={"tag": bad}, headers=door.alice)
        assert refused.status_code == 400
        assert said in refused.json()["error"]
    assert door.registry.artifacts.get_any(SYSTEM, artifact_id).version == "1.2.0"
    assert files(door, "alice/demo") == {"a.txt": b"a"}


def test_pull_requests_other_branches_and_xet_are_refused(door: Door) -> None:
    body = ndjson(add("a.txt", b"a"))
    for query in ("?create_pr=1", "?create_pr=true"):
        refused = door.client.post(
            f"/api/models/alice/demo/commit/main{query}", content=body, headers=door.alice
        )
        assert refused.status_code == 400
        assert "pull requests are not supported" in refused.headers["X-Error-Message"]
    dev = door.client.post("/api/models/alice/demo/commit/dev", content=body, headers=door.alice)
    assert (dev.status_code, dev.headers["X-Error-Code"]) == (404, "RevisionNotFound")
    assert pushed(door, ArtifactType.MODEL, "alice/demo") is None
    landed = door.client.post(
        "/api/models/alice/demo/commit/refs/heads/main?create_pr=0", content=body, headers=door.alice
    )
    assert landed.status_code == 200, landed.text

    for kind in ("models", "datasets"):
        xet = door.client.get(f"/api/{kind}/alice/demo/xet-write-token/main", headers=door.alice)
        assert xet.status_code == 501
        assert "HF_HUB_DISABLE_XET=1" in xet.headers["X-Error-Message"]
    forbidden = door.client.get("/api/models/bob/demo/xet-write-token/main", headers=door.bob)
    assert forbidden.status_code == 403  # no upload permission: refused before the way out


def test_validate_yaml_warns_and_never_errors(door: Door) -> None:
    good = door.client.post(
        "/api/validate-yaml", json={"content": "---\nlicense: mit\n---\n# m\n"}, headers=door.alice
    )
    assert good.json() == {"errors": [], "warnings": []}
    broken = door.client.post(
        "/api/validate-yaml", json={"content": "---\nlicense: [\n---\n"}, headers=door.alice
    )
    (warning,) = broken.json()["warnings"]
    assert "not valid YAML" in warning["message"]
    assert broken.json()["errors"] == []
    assert door.client.post("/api/validate-yaml", json={"content": 3}, headers=door.alice).status_code == 400


# -- preupload and LFS ----------------------------------------------------------------------------


def test_preupload_sends_large_files_over_lfs(door: Door) -> None:
    listing = {
        "files": [{"path": "config.json", "size": THRESHOLD - 1}, {"path": "w.dat", "size": THRESHOLD}]
    }
    answer = door.client.post("/api/models/alice/demo/preupload/main", json=listing, headers=door.alice)
    assert answer.json() == {
        "files": [
            {"path": "config.json", "uploadMode": "regular", "shouldIgnore": False, "oid": None},
            {"path": "w.dat", "uploadMode": "lfs", "shouldIgnore": False, "oid": None},
        ],
        "commitOid": None,
    }
    for files_, said in (
        ("all", "must be a list"),
        ([{"path": 1, "size": 1}], "string 'path'"),
        ([{"path": "a", "size": True}], "integer 'size'"),
        ([{"path": "a", "size": -1}], "invalid size"),
        ([{"path": "../a", "size": 1}], "invalid path"),
    ):
        refused = door.client.post(
            "/api/models/alice/demo/preupload/main", json={"files": files_}, headers=door.alice
        )
        assert refused.status_code == 400
        assert said in refused.json()["error"]
    assert (
        door.client.post("/api/models/bob/demo/preupload/main", json=listing, headers=door.bob).status_code
        == 403
    )


def _batch(door: Door, repo: str, objects: object, **extra: object) -> httpx.Response:
    body = {"operation": "upload", "transfers": ["basic"], "objects": objects, **extra}
    return door.client.post(f"/{repo}.git/info/lfs/objects/batch", json=body, headers=door.alice)


def _grant_of(batch: httpx.Response) -> str:
    """The grant in the upload URL of a batch's one object."""
    (obj,) = batch.json()["objects"]
    return httpx.URL(obj["actions"]["upload"]["href"]).params["grant"]


def test_the_lfs_batch_grants_signed_uploads_that_cannot_be_forged(door: Door) -> None:
    answer = _batch(door, "alice/demo", [{"oid": OID, "size": len(WEIGHTS)}])
    assert answer.headers["content-type"] == "application/vnd.git-lfs+json"
    assert (answer.json()["transfer"], answer.json()["hash_algo"]) == ("basic", "sha256")
    (obj,) = answer.json()["objects"]
    assert (obj["oid"], obj["size"]) == (OID, len(WEIGHTS))
    upload = httpx.URL(obj["actions"]["upload"]["href"])
    assert upload.path == f"/hub-lfs/{OID}"
    assert obj["actions"]["verify"]["href"] == f"http://testserver/hub-lfs/{OID}/verify"
    grant = upload.params["grant"]
    assert (upload.params["user"], upload.params["size"]) == ("alice", str(len(WEIGHTS)))

    push = door.registry.hub_push
    push.check_grant("alice", OID, len(WEIGHTS), grant)  # the registry's own: accepted
    for user, size, forged in (
        ("bob", len(WEIGHTS), grant),
        ("alice", 5, grant),
        ("alice", len(WEIGHTS), "0" + grant),
    ):
        with pytest.raises(HubForbidden):
            push.check_grant(user, OID, size, forged)
    # The PUT checks its grant before reading a byte, so a forged URL never spools anything.
    forged_put = door.client.put(str(upload.copy_set_param("grant", "0" + grant)), content=WEIGHTS)
    assert forged_put.status_code == 403
    assert forged_put.json() == {"error": "this upload URL was not issued by the registry"}
    not_an_oid = door.client.put(
        "/hub-lfs/abc", params={"user": "alice", "size": 3, "grant": grant}, content=b"abc"
    )
    assert not_an_oid.status_code == 400
    assert not door.registry.blobs.exists(OID)

    dataset = door.client.post(
        "/datasets/alice/data.git/info/lfs/objects/batch",
        json={"operation": "upload", "objects": [{"oid": OID, "size": 3}]},
        headers=door.alice,
    )
    push.check_grant("alice", OID, 3, _grant_of(dataset))


@pytest.mark.parametrize(
    ("objects", "extra", "said"),
    [
        ([{"oid": OID, "size": 1}], {"operation": "download"}, "takes uploads"),
        ([{"oid": OID, "size": 1}], {"transfers": ["ssh"]}, "basic LFS transfer"),
        ({"oid": OID}, {}, "must be a list"),
        ([{"oid": "A" * 64, "size": 1}], {}, "64 lowercase hex"),
        ([{"oid": OID, "size": 0}], {}, "between 1 and"),
        ([{"oid": OID, "size": 1 << 62}], {}, "between 1 and"),
    ],
)
def test_a_bad_lfs_batch_is_refused(door: Door, objects: object, extra: dict[str, object], said: str) -> None:
    refused = _batch(door, "alice/demo", objects, **extra)
    assert refused.status_code == 400
    assert said in refused.json()["error"]


class _MemoryPath:
    """The one thing `lfs_store` does with a spool's path: open it for reading."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def open(self, mode: str) -> io.BytesIO:
        assert mode == "rb"
        return io.BytesIO(self.data)


def _spooled(data: bytes) -> SpooledUpload:
    return SpooledUpload(cast(Path, _MemoryPath(data)), len(data), hashlib.sha256(data).hexdigest())


def test_an_lfs_object_joins_a_commit_only_once_its_sender_stored_it(door: Door) -> None:
    push = door.registry.hub_push
    grant = _grant_of(_batch(door, "alice/demo", [{"oid": OID, "size": len(WEIGHTS)}]))
    verify = f"/hub-lfs/{OID}/verify"
    unsent = door.client.post(verify, json={"oid": OID, "size": len(WEIGHTS)}, headers=door.alice)
    assert (unsent.status_code, unsent.headers["X-Error-Code"]) == (404, "EntryNotFound")

    with pytest.raises(InvalidInput, match="do not match the declared object"):
        push.lfs_store("alice", OID, len(WEIGHTS), grant, _spooled(WEIGHTS[:-1] + b"\x00"))
    with pytest.raises(HubForbidden):
        push.lfs_store("alice", OID, len(WEIGHTS), "0" * 64, _spooled(WEIGHTS))
    assert not door.registry.blobs.exists(OID)
    push.lfs_store("alice", OID, len(WEIGHTS), grant, _spooled(WEIGHTS))
    assert door.registry.blobs.exists(OID)

    assert door.client.post(verify, json={"oid": OID, "size": len(WEIGHTS)}, headers=door.alice).json() == {
        "success": True
    }
    wrong_size = door.client.post(verify, json={"oid": OID, "size": 3}, headers=door.alice)
    assert (wrong_size.status_code, "is not 3 bytes long" in wrong_size.json()["error"]) == (400, True)
    assert door.client.post(verify, json={"oid": "b" * 64, "size": 3}, headers=door.alice).status_code == 400
    assert door.client.post(verify, json={"oid": OID, "size": 3}, headers=door.bob).status_code == 403
    (again,) = _batch(door, "alice/demo", [{"oid": OID, "size": len(WEIGHTS)}]).json()["objects"]
    assert "actions" not in again  # sent once: not asked for again

    landed = commit(door, "alice/demo", ndjson(add("config.json", b"{}"), lfs("w.dat", OID, len(WEIGHTS))))
    assert landed.status_code == 200, landed.text
    assert files(door, "alice/demo") == {"config.json": b"{}", "w.dat": WEIGHTS}
    artifact_id = pushed(door, ArtifactType.MODEL, "alice/demo")
    assert artifact_id is not None
    stored = door.registry.artifacts.get_any(SYSTEM, artifact_id).file("w.dat")
    assert stored is not None
    assert (stored.sha256, stored.size) == (OID, len(WEIGHTS))

    # Another user who knows the digest has not sent the bytes: knowing it proves nothing.
    carol = _hub(make_user(door.client, "carol", "upload", "search", "download"))
    stolen = commit(door, "carol/copy", ndjson(lfs("w.dat", OID, None)), who=carol)
    assert stolen.status_code == 400
    assert "has not been uploaded" in stolen.json()["error"]
    assert pushed(door, ArtifactType.MODEL, "carol/copy") is None


# -- who may push ---------------------------------------------------------------------------------


def test_a_user_without_upload_and_a_stranger_change_nothing(door: Door) -> None:
    assert commit(door, "alice/demo", ndjson(add("a.txt", b"a"))).status_code == 200
    before = head(door, "alice/demo")
    bob_create = door.client.post("/api/repos/create", json={"name": "mine"}, headers=door.bob)
    assert bob_create.status_code == 403
    assert "'upload' permission" in bob_create.headers["X-Error-Message"]
    assert commit(door, "bob/mine", ndjson(add("a.txt", b"x")), who=door.bob).status_code == 403
    assert (
        door.client.post("/api/models/bob/mine/tag/main", json={"tag": "1.0.0"}, headers=door.bob).status_code
        == 403
    )
    assert _batch(door, "bob/mine", [{"oid": OID, "size": 1}]).status_code == 403  # alice, in bob's namespace
    elsewhere = commit(door, "bob/mine", ndjson(add("a.txt", b"x")))
    assert (elsewhere.status_code, "a registry user pushes to alice/<name>" in elsewhere.json()["error"]) == (
        403,
        True,
    )
    carol = _hub(make_user(door.client, "carol", "upload", "search", "download"))
    # Another's repository, pushed or not, is refused alike: nothing tells whether it exists.
    theirs = commit(door, "alice/demo", ndjson(add("a.txt", b"mine now")), who=carol)
    missing = commit(door, "alice/never-pushed", ndjson(add("a.txt", b"x")), who=carol)
    assert (theirs.status_code, missing.status_code) == (403, 403)
    assert theirs.json()["error"] == missing.json()["error"]
    assert "pushes to carol/<name>" in theirs.json()["error"]
    odd = commit(door, "alice/-x", ndjson(add("a.txt", b"x")))
    assert (odd.status_code, odd.headers["X-Error-Code"]) == (404, "RepoNotFound")

    anonymous = door.client.post("/api/repos/create", json={"name": "x"})
    assert (anonymous.status_code, anonymous.headers["X-Error-Code"]) == (401, "RepoNotFound")
    basic = door.client.post(
        "/api/repos/create", json={"name": "x"}, headers={"Authorization": "Basic YWxpY2U6cHc="}
    )
    assert (basic.status_code, basic.headers["X-Error-Message"]) == (
        401,
        "Invalid credentials in Authorization header",
    )
    dead = door.client.post(
        "/api/repos/create", json={"name": "x"}, headers={"Authorization": "Bearer not-a-token"}
    )
    assert dead.status_code == 401

    assert head(door, "alice/demo") == before
    assert files(door, "alice/demo") == {"a.txt": b"a"}
    everything = door.client.post("/artifacts", json=[{"name": "*"}], headers=ADMIN_HEADERS).json()
    assert [a["name"] for a in everything] == ["alice/demo"]


def test_a_reset_forgets_created_repositories_and_sent_objects(door: Door) -> None:
    push = door.registry.hub_push
    assert (
        door.client.post("/api/repos/create", json={"name": "empty"}, headers=door.alice).status_code == 200
    )
    grant = _grant_of(_batch(door, "alice/demo", [{"oid": OID, "size": len(WEIGHTS)}]))
    push.lfs_store("alice", OID, len(WEIGHTS), grant, _spooled(WEIGHTS))
    assert (
        "actions" not in _batch(door, "alice/demo", [{"oid": OID, "size": len(WEIGHTS)}]).json()["objects"][0]
    )

    assert door.client.delete("/reset", headers=ADMIN_HEADERS).status_code == 200
    new_alice = _hub(make_user(door.client, "alice", "upload", "search", "download"))  # another alice
    gone = door.client.get("/alice/empty/resolve/main/README.md", headers=new_alice)
    assert (gone.status_code, gone.headers["X-Error-Code"]) == (404, "RepoNotFound")
    asked = door.client.post(
        "/alice/demo.git/info/lfs/objects/batch",
        json={"operation": "upload", "objects": [{"oid": OID, "size": len(WEIGHTS)}]},
        headers=new_alice,
    )
    assert "actions" in asked.json()["objects"][0]  # her bytes are asked for
