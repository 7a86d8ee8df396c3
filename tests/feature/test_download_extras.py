"""Downloads, issue 4 item 2: the package's sha256 from the first download, linked datasets as a
part, and presigned S3 redirects (against SeaweedFS)."""

from __future__ import annotations

import hashlib
import io
import uuid
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import update

from tests import services
from tests.emulator.server import EmulatorServer
from tests.feature.conftest import HF, register, rewire_downloads
from tests.support import auth_request, make_settings
from tmr.accounts.models import SYSTEM, User
from tmr.accounts.passwords import hash_password
from tmr.app import create_app
from tmr.artifacts.bundles import folder_name
from tmr.artifacts.packages import build_package
from tmr.container import Registry
from tmr.downloads import service as downloads
from tmr.errors import StorageUnavailable
from tmr.storage.blobs.s3 import S3BlobStore
from tmr.storage.tables import ArtifactRow

BERT = f"{HF}/google-bert/bert-base-uncased"  # its card names bookcorpus/bookcorpus and wikipedia
BOOKCORPUS = f"{HF}/datasets/bookcorpus/bookcorpus"
WIKIPEDIA = f"{HF}/datasets/wikimedia/wikipedia"
LARGE = f"{HF}/big/large-weights"  # 25 MB of weights
MiB = 1024 * 1024


def names(content: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert archive.testzip() is None
        return archive.namelist()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------- sha256 on first download


def test_the_first_download_announces_the_package_sha256(
    client: TestClient, auth: dict[str, str], bert: str
) -> None:
    first = client.get(f"/download/{bert}", headers=auth)
    assert first.headers["x-package-sha256"] == sha256(first.content)
    assert first.headers["repr-digest"].startswith("sha-256=:")


def test_a_first_range_request_announces_the_whole_package_sha256(
    client: TestClient, auth: dict[str, str], bert: str
) -> None:
    part = client.get(f"/download/{bert}?parts=config", headers={**auth, "Range": "bytes=0-9"})
    assert part.status_code == 206
    whole = client.get(f"/download/{bert}?parts=config", headers=auth)
    assert part.headers["x-package-sha256"] == sha256(whole.content)


def test_a_package_over_the_eager_limit_is_measured_on_its_first_whole_download(
    make_registry: Callable[..., Registry], auth_for: Callable[[TestClient], dict[str, str]]
) -> None:
    with TestClient(create_app(registry=make_registry(eager_digest_bytes=0))) as client:
        auth = auth_for(client)
        bert = register(client, auth, "model", BERT)["metadata"]["id"]
        part = client.get(f"/download/{bert}", headers={**auth, "Range": "bytes=0-9"})
        assert part.status_code == 206
        assert "x-package-sha256" not in part.headers  # a range measures nothing
        first = client.get(f"/download/{bert}", headers=auth)
        assert "x-package-sha256" not in first.headers
        later = client.get(f"/download/{bert}", headers={**auth, "Range": "bytes=0-9"})
        assert later.headers["x-package-sha256"] == sha256(first.content)


def test_a_304_carries_the_known_sha256(client: TestClient, auth: dict[str, str], bert: str) -> None:
    first = client.get(f"/download/{bert}", headers=auth)
    cached = client.get(f"/download/{bert}", headers={**auth, "If-None-Match": first.headers["etag"]})
    assert cached.status_code == 304
    assert cached.headers["x-package-sha256"] == sha256(first.content)


# ------------------------------------------------------------------------------------------ datasets


def test_linked_datasets_are_bundled_and_the_unregistered_ones_named(
    client: TestClient, auth: dict[str, str], bert: str, emulator: EmulatorServer
) -> None:
    books = register(client, auth, "dataset", BOOKCORPUS)["metadata"]
    response = client.get(f"/download/{bert}?parts=config,datasets", headers=auth)
    assert response.status_code == 200
    assert response.headers["x-included-datasets"] == books["id"]
    assert response.headers["x-skipped-datasets"] == "wikipedia"
    folder = f"datasets/{folder_name(books['name'], books['id'])}/"
    listed = names(response.content)
    assert f"{folder}plain_text/train-00000-of-00001.parquet" in listed
    assert f"{folder}README.md" in listed
    assert all(n.endswith((".json", ".gitattributes")) for n in listed if not n.startswith("datasets/"))
    # The dataset's data file was mirrored for this download, and checked: these are its bytes.
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        data = archive.read(f"{folder}plain_text/train-00000-of-00001.parquet")
    upstream = httpx.get(
        f"{emulator.url}/datasets/bookcorpus/bookcorpus/resolve/main/plain_text/train-00000-of-00001.parquet",
        follow_redirects=True,
    )
    assert upstream.status_code == 200
    assert data == upstream.content
    assert (
        client.get(f"/download/{bert}?parts=config", headers=auth).headers["etag"] != response.headers["etag"]
    )


def test_the_etag_follows_the_set_of_bundled_datasets(
    client: TestClient, auth: dict[str, str], bert: str
) -> None:
    url = f"/download/{bert}?parts=datasets"
    nothing = client.get(url, headers=auth)
    register(client, auth, "dataset", BOOKCORPUS)
    one = client.get(url, headers=auth)
    register(client, auth, "dataset", WIKIPEDIA)
    both = client.get(url, headers=auth)
    assert len({nothing.headers["etag"], one.headers["etag"], both.headers["etag"]}) == 3
    assert "x-skipped-datasets" not in both.headers
    assert len(both.headers["x-included-datasets"].split(", ")) == 2
    stale = client.get(url, headers={**auth, "If-None-Match": one.headers["etag"]})
    assert stale.status_code == 200


def test_a_dataset_part_with_no_dataset_registered(
    client: TestClient, auth: dict[str, str], bert: str
) -> None:
    response = client.get(f"/download/{bert}?parts=datasets", headers=auth)
    assert response.status_code == 200
    assert response.headers["x-included-datasets"] == ""
    assert response.headers["x-skipped-datasets"] == "bookcorpus/bookcorpus, wikipedia"
    assert names(response.content) == []  # an empty zip, and the headers say why
    whole = client.get(f"/download/{bert}?parts=weights,datasets", headers=auth)
    assert names(whole.content) == ["model.safetensors"]


def test_a_model_without_dataset_links(client: TestClient, auth: dict[str, str]) -> None:
    whisper = register(client, auth, "model", f"{HF}/openai/whisper-tiny")["metadata"]["id"]
    response = client.get(f"/download/{whisper}?parts=config,datasets", headers=auth)
    assert response.status_code == 200
    assert "x-skipped-datasets" not in response.headers
    assert (
        response.headers["etag"]
        == client.get(f"/download/{whisper}?parts=config", headers=auth).headers["etag"]
    )


def test_a_dataset_that_fails_to_mirror_fails_the_download(
    client: TestClient, auth: dict[str, str], bert: str, emulator: EmulatorServer
) -> None:
    register(client, auth, "dataset", BOOKCORPUS)
    emulator.faults.add(r"/datasets/bookcorpus/bookcorpus/resolve/.*\.parquet", status=503)
    response = client.get(f"/download/{bert}?parts=datasets", headers=auth)
    assert response.status_code == 503  # an error status, never a package short of a dataset
    emulator.faults.clear()
    assert client.get(f"/download/{bert}?parts=datasets", headers=auth).status_code == 200


@pytest.mark.parametrize("parts", ["weights,bogus", "dataset", "datasets,all"])
def test_an_unknown_part_is_a_400_listing_the_valid_ones(
    client: TestClient, auth: dict[str, str], bert: str, parts: str
) -> None:
    response = client.get(f"/download/{bert}", params={"parts": parts}, headers=auth)
    assert response.status_code == 400
    assert "weights, config, tokenizer, docs, code, data, other, datasets" in response.json()["detail"]


def make_private(registry: Registry, artifact_id: str) -> None:
    with registry.store.engine.begin() as conn:
        conn.execute(update(ArtifactRow).where(ArtifactRow.id == artifact_id).values(visibility="private"))


def test_datasets_the_user_may_not_see_are_skipped(
    client: TestClient, auth: dict[str, str], bert: str, registry: Registry
) -> None:
    books = register(client, auth, "dataset", BOOKCORPUS)["metadata"]["id"]
    wiki = register(client, auth, "dataset", WIKIPEDIA)["metadata"]["id"]
    make_private(registry, wiki)  # the admin's own: alice may not see it
    registry.store.put_user(User("alice", False, hash_password("alice's password")))
    token = client.put("/authenticate", json=auth_request("alice's password", "alice")).json()
    alice = {"X-Authorization": token}
    hers = client.get(f"/download/{bert}?parts=datasets", headers=alice)
    assert hers.status_code == 200
    assert hers.headers["x-included-datasets"] == books
    assert hers.headers["x-skipped-datasets"] == "wikipedia"
    admins = client.get(f"/download/{bert}?parts=datasets", headers=auth)
    assert admins.headers["x-included-datasets"] == f"{books}, {wiki}"
    assert admins.headers["etag"] != hers.headers["etag"]
    make_private(registry, bert)
    assert client.get(f"/download/{bert}", headers=alice).status_code == 404


# ------------------------------------------------------------------------------ presigned redirects


@pytest.fixture
def auth_for() -> Callable[[TestClient], dict[str, str]]:
    def login(client: TestClient) -> dict[str, str]:
        return {"X-Authorization": client.put("/authenticate", json=auth_request()).json()}

    return login


@pytest.fixture
def s3_registry(make_registry: Callable[..., Registry]) -> Iterator[Registry]:
    s3 = services.require("s3")
    registry = make_registry(
        blob_store="s3",
        s3_bucket=s3["bucket"],
        s3_endpoint_url=s3["endpoint_url"],
        aws_region=s3["region"],
        s3_prefix=f"downloads/{uuid.uuid4().hex}/",
        download_redirect="presigned",
        download_redirect_expires_s=120,
    )
    assert isinstance(registry.blobs, S3BlobStore)
    assert not registry.downloads.gate.inline  # each redirect asks S3: never tried on the loop
    registry.blobs.package_part_size = 5 * MiB
    yield registry
    registry.blobs.delete_packages()
    for digest in list(registry.blobs.iter_digests()):
        registry.blobs.delete(digest)


@pytest.fixture
def s3_client(s3_registry: Registry) -> Iterator[TestClient]:
    with TestClient(create_app(registry=s3_registry), follow_redirects=False) as test_client:
        yield test_client


def store_of(registry: Registry) -> S3BlobStore:
    assert isinstance(registry.blobs, S3BlobStore)
    return registry.blobs


def identity_of(registry: Registry, artifact_id: str) -> str:
    return build_package(registry.artifacts.get_any(SYSTEM, artifact_id)).identity


def pending_uploads(store: S3BlobStore) -> list[Any]:
    answer = store._client.list_multipart_uploads(Bucket=store.bucket, Prefix=store.prefix + "packages/")
    return list(answer.get("Uploads", []))


@pytest.mark.s3
def test_a_download_redirects_to_a_presigned_url_of_the_materialised_package(
    s3_client: TestClient, s3_registry: Registry, auth_for: Callable[[TestClient], dict[str, str]]
) -> None:
    auth = auth_for(s3_client)
    bert = register(s3_client, auth, "model", BERT)["metadata"]["id"]
    response = s3_client.get(f"/download/{bert}", headers=auth)
    assert response.status_code == 307
    location = response.headers["location"]
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in location
    assert "X-Amz-Expires=120" in location
    assert response.headers["cache-control"] == "private, no-store"
    fetched = httpx.get(location, timeout=10)
    assert fetched.status_code == 200
    assert names(fetched.content)
    assert response.headers["x-package-sha256"] == sha256(fetched.content)
    assert fetched.headers["content-disposition"] == 'attachment; filename="bert-base-uncased.zip"'
    proxied = s3_client.get(f"/download/{bert}?redirect=false", headers=auth)
    assert proxied.status_code == 200
    assert proxied.content == fetched.content
    assert proxied.headers["etag"] == response.headers["etag"]
    assert proxied.headers["x-package-sha256"] == response.headers["x-package-sha256"]
    # The package is not a blob: orphan collection neither counts nor removes it.
    assert s3_registry.artifacts.collect_orphans() == 0
    assert store_of(s3_registry).package_size(identity_of(s3_registry, bert)) == len(fetched.content)


@pytest.mark.s3
def test_ranges_redirect_too_and_s3_honours_them(
    s3_client: TestClient, auth_for: Callable[[TestClient], dict[str, str]]
) -> None:
    auth = auth_for(s3_client)
    bert = register(s3_client, auth, "model", BERT)["metadata"]["id"]
    whole = s3_client.get(f"/download/{bert}?redirect=false", headers=auth).content
    cut = len(whole) * 6 // 10
    resume = {**auth, "Range": f"bytes={cut}-"}
    first = s3_client.get(f"/download/{bert}", headers=resume)
    assert first.status_code == 307
    rest = httpx.get(first.headers["location"], headers={"Range": f"bytes={cut}-"}, timeout=10)
    assert rest.status_code == 206
    assert whole[:cut] + rest.content == whole
    # Answered here, without a redirect: unsatisfiable ranges, conditional hits, stale If-Range.
    beyond = s3_client.get(f"/download/{bert}", headers={**auth, "Range": f"bytes={len(whole)}-"})
    assert beyond.status_code == 416
    etag = first.headers["etag"]
    assert s3_client.get(f"/download/{bert}", headers={**auth, "If-None-Match": etag}).status_code == 304
    stale = s3_client.get(f"/download/{bert}", headers={**resume, "If-Range": '"an older package"'})
    assert stale.status_code == 200  # S3 ignores If-Range: a redirect would splice two packages
    assert stale.content == whole
    current = s3_client.get(f"/download/{bert}", headers={**resume, "If-Range": etag})
    assert current.status_code == 307


@pytest.mark.s3
def test_a_materialisation_that_fails_midway_leaves_no_package(
    s3_client: TestClient,
    s3_registry: Registry,
    auth_for: Callable[[TestClient], dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    auth = auth_for(s3_client)
    large = register(s3_client, auth, "model", LARGE)["metadata"]["id"]
    store = store_of(s3_registry)
    s3_registry.files.ensure_mirrored(s3_registry.artifacts.get_any(SYSTEM, large))
    weights = next(f for f in s3_registry.artifacts.get_any(SYSTEM, large).files if f.kind.value == "weights")
    assert weights.size > 3 * store.package_part_size
    original = store.open

    def failing_open(sha: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        chunks = original(sha, start, end)
        if sha != weights.sha256:
            return chunks

        def cut() -> Iterator[bytes]:
            sent = 0
            for chunk in chunks:
                yield chunk
                sent += len(chunk)
                if sent > 2 * store.package_part_size:  # two parts already uploaded
                    raise StorageUnavailable("the blob store went away mid-read")

        return cut()

    monkeypatch.setattr(store, "open", failing_open)
    response = s3_client.get(f"/download/{large}", headers=auth)
    assert response.status_code == 503
    identity = identity_of(s3_registry, large)
    assert store.package_size(identity) is None
    assert pending_uploads(store) == []
    assert s3_registry.store.peek_state(f"package-sha256:{identity}") is None
    monkeypatch.setattr(store, "open", original)
    again = s3_client.get(f"/download/{large}", headers=auth)
    assert again.status_code == 307
    assert store.package_size(identity) == int(
        s3_client.get(f"/download/{large}?redirect=false", headers={**auth, "Range": "bytes=0-0"})
        .headers["content-range"]
        .rsplit("/", 1)[1]
    )


@pytest.mark.s3
def test_reset_removes_materialised_packages(
    s3_client: TestClient, s3_registry: Registry, auth_for: Callable[[TestClient], dict[str, str]]
) -> None:
    auth = auth_for(s3_client)
    bert = register(s3_client, auth, "model", BERT)["metadata"]["id"]
    assert s3_client.get(f"/download/{bert}", headers=auth).status_code == 307
    package = build_package(s3_registry.artifacts.get_any(SYSTEM, bert))
    identity = package.identity
    assert store_of(s3_registry).package_size(identity) == package.length  # the whole zip, stored
    assert s3_client.delete("/reset", headers=auth).status_code == 200
    assert store_of(s3_registry).package_size(identity) is None
    assert list(store_of(s3_registry).iter_digests()) == []


@pytest.mark.s3
def test_a_dataset_bundle_redirects_like_any_package(
    s3_client: TestClient, auth_for: Callable[[TestClient], dict[str, str]]
) -> None:
    auth = auth_for(s3_client)
    bert = register(s3_client, auth, "model", BERT)["metadata"]["id"]
    register(s3_client, auth, "dataset", BOOKCORPUS)
    response = s3_client.get(f"/download/{bert}?parts=config,datasets", headers=auth)
    assert response.status_code == 307
    assert response.headers["x-skipped-datasets"] == "wikipedia"
    fetched = httpx.get(response.headers["location"], timeout=10).content
    assert any(n.startswith("datasets/") for n in names(fetched))


def test_presigned_redirects_need_the_s3_store(tmp_path: Any) -> None:
    with pytest.raises(ValidationError, match="TMR_DOWNLOAD_REDIRECT=presigned needs the S3 blob store"):
        make_settings(tmp_path, download_redirect="presigned")
    assert make_settings(tmp_path, s3_bucket="b", blob_store=None, download_redirect="presigned")


def test_a_store_that_cannot_presign_is_proxied(
    registry: Registry, client: TestClient, auth: dict[str, str], bert: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Settings refuse this pairing; a registry wired by hand can still hold it.
    warned: list[tuple[object, ...]] = []
    monkeypatch.setattr(downloads.log, "warning", lambda *args: warned.append(args))
    rewire_downloads(registry, presigned_redirects=True)
    response = client.get(f"/download/{bert}", headers=auth, follow_redirects=False)
    assert response.status_code == 200
    assert names(response.content)
    assert len(warned) == 1
    assert "cannot presign" in str(warned[0][0])
