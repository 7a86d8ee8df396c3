"""One contract suite for the blob store, run against the filesystem and S3 (SeaweedFS) stores.

Ranges, as both stores define them: `open(d, start, end)` yields bytes [start, end) clipped to the
blob, so a start at or past the end yields nothing; a negative start or an end before the start is
InvalidInput. A missing blob is NotFound as soon as `open` is called, before any iteration.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from botocore.exceptions import BotoCoreError

from tests import services
from tmr.errors import IntegrityError, InvalidInput, NotFound, StorageUnavailable
from tmr.storage.blobs.base import CHUNK_SIZE, BlobStore, Presigner, StoredBlob
from tmr.storage.blobs.factory import make_blob_store
from tmr.storage.blobs.filesystem import FilesystemBlobStore
from tmr.storage.blobs.s3 import S3BlobStore

MiB = 1024 * 1024
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
ABSENT = "0" * 64


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_s3_store(prefix: str | None = None, bucket: str | None = None) -> S3BlobStore:
    settings = services.require("s3")
    return S3BlobStore(
        bucket=bucket or settings["bucket"],
        region=settings["region"],
        endpoint_url=settings["endpoint_url"],
        prefix=prefix if prefix is not None else f"contract/{uuid.uuid4().hex}/",
    )


@pytest.fixture(params=["filesystem", pytest.param("s3", marks=pytest.mark.s3)])
def blob_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlobStore]:
    if request.param == "filesystem":
        yield FilesystemBlobStore(tmp_path / "blobs")
        return
    # A fresh prefix per test: tests see only their own blobs, and the teardown removes them.
    store = make_s3_store()
    yield store
    for digest in list(store.iter_digests()):
        store.delete(digest)


def collect(chunks: Iterator[bytes]) -> bytes:
    blocks = list(chunks)
    assert all(0 < len(block) <= CHUNK_SIZE for block in blocks)
    return b"".join(blocks)


def leftovers(store: BlobStore) -> list[str]:
    """Temporary files a write left behind (the filesystem store keeps them in `.tmp`)."""
    if isinstance(store, FilesystemBlobStore):
        tmp = store.root / ".tmp"
        return sorted(p.name for p in tmp.iterdir()) if tmp.exists() else []
    return []


# ------------------------------------------------------------------------------------------- writes


def test_is_a_blob_store(blob_store: BlobStore, request: pytest.FixtureRequest) -> None:
    assert isinstance(blob_store, BlobStore)  # the runtime-checkable protocol: every method there
    assert blob_store.name == request.node.callspec.params["blob_store"]
    blob_store.check()  # a usable store: raises StorageUnavailable otherwise (test_check_reports_...)


def test_round_trip(blob_store: BlobStore) -> None:
    data = b"weights " * 1000
    stored = blob_store.put_bytes(data)
    assert stored == StoredBlob(sha256=sha256(data), size=len(data))
    assert blob_store.exists(stored.sha256)
    assert blob_store.size(stored.sha256) == len(data)
    assert blob_store.read(stored.sha256) == data
    assert collect(blob_store.open(stored.sha256)) == data


def test_multi_chunk_round_trip_yields_bounded_chunks(blob_store: BlobStore) -> None:
    data = bytes(range(256)) * (10 * 1024 + 7)  # ~2.5 MiB: several CHUNK_SIZE chunks
    stored = blob_store.put_stream(data[i : i + 100_000] for i in range(0, len(data), 100_000))
    assert stored.sha256 == sha256(data)
    assert collect(blob_store.open(stored.sha256)) == data


def test_empty_blob(blob_store: BlobStore) -> None:
    stored = blob_store.put_stream(iter([]))
    assert stored == StoredBlob(sha256=EMPTY_SHA256, size=0)
    assert blob_store.exists(EMPTY_SHA256)
    assert blob_store.size(EMPTY_SHA256) == 0
    assert blob_store.read(EMPTY_SHA256) == b""
    assert list(blob_store.open(EMPTY_SHA256, 0, 10)) == []


def test_re_put_is_idempotent(blob_store: BlobStore) -> None:
    data = b"same bytes"
    first = blob_store.put_bytes(data)
    second = blob_store.put_stream([b"same ", b"bytes"])
    third = blob_store.put_stream([data], expected_sha256=sha256(data))
    assert first == second == third
    assert list(blob_store.iter_digests()) == [first.sha256]
    assert blob_store.read(first.sha256) == data
    assert leftovers(blob_store) == []


def test_digest_names_the_content_however_it_is_chunked(blob_store: BlobStore) -> None:
    data = b"".join(bytes([i]) * 1000 for i in range(50))
    whole = blob_store.put_bytes(data)
    pieces = blob_store.put_stream([data[:1], b"", data[1:777], data[777:]])
    other = blob_store.put_bytes(data + b"!")
    assert whole.sha256 == pieces.sha256 == sha256(data)
    assert other.sha256 == sha256(data + b"!") != whole.sha256
    assert blob_store.read(other.sha256) == data + b"!"


def test_expected_digest_match_is_accepted(blob_store: BlobStore) -> None:
    data = b"vouched for upstream"
    assert blob_store.put_stream([data], expected_sha256=sha256(data)).sha256 == sha256(data)


@pytest.mark.parametrize("size", [10, 9 * MiB], ids=["small", "spilled"])
def test_expected_digest_mismatch_leaves_nothing(blob_store: BlobStore, size: int) -> None:
    data = b"x" * size
    claimed = sha256(b"what upstream promised")
    with pytest.raises(IntegrityError) as caught:
        blob_store.put_stream([data[i : i + MiB] for i in range(0, size, MiB)], expected_sha256=claimed)
    assert caught.value.details["expected"] == claimed
    assert caught.value.details["actual"] == sha256(data)
    assert not blob_store.exists(sha256(data))
    assert not blob_store.exists(claimed)
    assert list(blob_store.iter_digests()) == []
    assert leftovers(blob_store) == []


def test_failing_source_leaves_nothing(blob_store: BlobStore) -> None:
    def source() -> Iterator[bytes]:
        yield b"partial "
        raise ConnectionResetError("upstream went away")

    with pytest.raises(ConnectionResetError):
        blob_store.put_stream(source())
    assert list(blob_store.iter_digests()) == []
    assert leftovers(blob_store) == []


# ------------------------------------------------------------------------------------------- ranges

RANGE_DATA = bytes(range(100))


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (0, None, RANGE_DATA),
        (0, 100, RANGE_DATA),
        (0, 10, RANGE_DATA[:10]),
        (10, 20, RANGE_DATA[10:20]),
        (95, None, RANGE_DATA[95:]),
        (95, 1000, RANGE_DATA[95:]),  # end past the blob: clipped
        (99, 100, RANGE_DATA[99:]),
        (5, 5, b""),  # empty range
        (0, 0, b""),
        (100, None, b""),  # start at the end: nothing
        (100, 200, b""),
        (150, None, b""),  # start past the end: nothing, not an error
        (150, 160, b""),
    ],
)
def test_ranges(blob_store: BlobStore, start: int, end: int | None, expected: bytes) -> None:
    digest = blob_store.put_bytes(RANGE_DATA).sha256
    assert b"".join(blob_store.open(digest, start, end)) == expected


def test_range_across_chunk_boundaries(blob_store: BlobStore) -> None:
    data = hashlib.sha256(b"seed").digest() * (3 * CHUNK_SIZE // 32)
    digest = blob_store.put_bytes(data).sha256
    start, end = CHUNK_SIZE - 10, 2 * CHUNK_SIZE + 10
    assert collect(blob_store.open(digest, start, end)) == data[start:end]
    assert collect(blob_store.open(digest, start)) == data[start:]


@pytest.mark.parametrize(("start", "end"), [(-1, None), (-1, 5), (10, 5)])
def test_invalid_ranges_are_rejected(blob_store: BlobStore, start: int, end: int | None) -> None:
    digest = blob_store.put_bytes(RANGE_DATA).sha256
    with pytest.raises(InvalidInput):
        blob_store.open(digest, start, end)


# ---------------------------------------------------------------------------------- missing, delete


@pytest.mark.parametrize(("start", "end"), [(0, None), (0, 10), (5, None), (3, 3)])
def test_missing_blob_is_not_found_before_iteration(
    blob_store: BlobStore, start: int, end: int | None
) -> None:
    with pytest.raises(NotFound):
        blob_store.open(ABSENT, start, end)  # raised by the call itself, not by the first next()


def test_missing_blob(blob_store: BlobStore) -> None:
    assert not blob_store.exists(ABSENT)
    with pytest.raises(NotFound):
        blob_store.size(ABSENT)
    with pytest.raises(NotFound):
        blob_store.read(ABSENT)


def test_delete(blob_store: BlobStore) -> None:
    keep = blob_store.put_bytes(b"keep")
    gone = blob_store.put_bytes(b"gone")
    blob_store.delete(gone.sha256)
    assert not blob_store.exists(gone.sha256)
    with pytest.raises(NotFound):
        blob_store.read(gone.sha256)
    blob_store.delete(gone.sha256)  # absent: not an error
    blob_store.delete(ABSENT)
    assert blob_store.read(keep.sha256) == b"keep"
    again = blob_store.put_bytes(b"gone")  # a deleted digest can be stored again
    assert blob_store.read(again.sha256) == b"gone"


def test_iter_digests(blob_store: BlobStore) -> None:
    assert list(blob_store.iter_digests()) == []
    digests = {blob_store.put_bytes(f"blob {i}".encode()).sha256 for i in range(5)}
    listed = list(blob_store.iter_digests())
    assert sorted(listed) == sorted(digests)
    removed = sorted(digests)[:2]
    for digest in removed:
        blob_store.delete(digest)
    assert set(blob_store.iter_digests()) == digests - set(removed)


# --------------------------------------------------------------------------------------- big blobs


def twenty_mib() -> Iterator[bytes]:
    """20 MiB in 1 MiB blocks, made on the fly: never more than one block alive here."""
    for i in range(20):
        yield hashlib.sha256(b"block %d" % i).digest() * (MiB // 32)


def test_20_mib_streams_without_holding_the_blob_in_memory(blob_store: BlobStore) -> None:
    expected = hashlib.sha256()
    for block in twenty_mib():
        expected.update(block)
    limit = 12 * MiB  # well under the blob's 20 MiB (the S3 store may buffer up to 8 MiB)

    tracemalloc.start()
    try:
        stored = blob_store.put_stream(twenty_mib())
        _, put_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        got = hashlib.sha256()
        size = 0
        for block in blob_store.open(stored.sha256):
            assert len(block) <= CHUNK_SIZE
            got.update(block)
            size += len(block)
        _, read_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert stored == StoredBlob(sha256=expected.hexdigest(), size=20 * MiB)
    assert (got.hexdigest(), size) == (expected.hexdigest(), 20 * MiB)
    assert blob_store.size(stored.sha256) == 20 * MiB
    assert put_peak < limit, f"put_stream peaked at {put_peak / MiB:.1f} MiB"
    assert read_peak < limit, f"open peaked at {read_peak / MiB:.1f} MiB"
    tail = b"".join(blob_store.open(stored.sha256, 20 * MiB - 40, None))
    assert tail == (hashlib.sha256(b"block 19").digest() * 2)[-40:]


# ---------------------------------------------------------------------------------- invalid digests

INVALID_DIGESTS = [
    "",
    "abc",
    "a" * 63,
    "a" * 65,
    "A" * 64,  # upper case: digests are lowercase hex only
    "g" * 64,
    "../" + "a" * 61,
    "ab/cd/" + "a" * 58,
    "a" * 62 + "\n",
    " " + "a" * 63,
]


@pytest.mark.parametrize("digest", INVALID_DIGESTS, ids=repr)
@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda s, d: s.exists(d), id="exists"),
        pytest.param(lambda s, d: s.size(d), id="size"),
        pytest.param(lambda s, d: s.open(d), id="open"),
        pytest.param(lambda s, d: s.read(d), id="read"),
        pytest.param(lambda s, d: s.delete(d), id="delete"),
        pytest.param(lambda s, d: s.put_stream([b"data"], expected_sha256=d), id="put_stream"),
    ],
)
def test_invalid_digests_are_rejected(
    blob_store: BlobStore, digest: str, call: Callable[[BlobStore, str], object]
) -> None:
    with pytest.raises(InvalidInput):
        call(blob_store, digest)
    assert list(blob_store.iter_digests()) == []


# ----------------------------------------------------------------------------------- concurrency


@pytest.mark.parametrize("size", [64 * 1024, 9 * MiB], ids=["small", "spilled"])
def test_concurrent_puts_of_the_same_content(blob_store: BlobStore, size: int) -> None:
    data = hashlib.sha256(b"shared").digest() * (size // 32)
    workers = 8
    barrier = threading.Barrier(workers)
    results: list[StoredBlob] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def put() -> None:
        try:
            barrier.wait(timeout=10)
            stored = blob_store.put_stream(data[i : i + MiB] for i in range(0, len(data), MiB))
            with lock:
                results.append(stored)
        except BaseException as exc:  # surfaced below, with the thread's traceback
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=put) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert results == [StoredBlob(sha256=sha256(data), size=len(data))] * workers
    assert list(blob_store.iter_digests()) == [sha256(data)]
    assert blob_store.read(sha256(data)) == data
    assert leftovers(blob_store) == []


# ------------------------------------------------------------------------------------ health check


@pytest.fixture(params=["filesystem", pytest.param("s3", marks=pytest.mark.s3)])
def broken_store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "filesystem":
        root = tmp_path / "not-a-directory"
        root.write_bytes(b"a file where the blob root should be")
        return FilesystemBlobStore(root)
    return make_s3_store(bucket=f"tmr-absent-{uuid.uuid4().hex[:12]}")


def test_check_reports_an_unusable_store(broken_store: BlobStore) -> None:
    with pytest.raises(StorageUnavailable):
        broken_store.check()


def test_put_into_an_unusable_filesystem_store_is_storage_unavailable(tmp_path: Path) -> None:
    root = tmp_path / "not-a-directory"
    root.write_bytes(b"")
    with pytest.raises(StorageUnavailable):
        FilesystemBlobStore(root).put_bytes(b"data")


# ----------------------------------------------------------------------------------------- factory


def test_factory_builds_a_filesystem_store(tmp_path: Path) -> None:
    store = make_blob_store(
        "filesystem", data_dir=tmp_path, bucket=None, region="us-east-1", endpoint_url=None
    )
    assert isinstance(store, FilesystemBlobStore)
    assert store.root == tmp_path / "blobs"


def test_factory_builds_an_s3_store() -> None:
    store = make_blob_store(
        "s3", data_dir=Path("unused"), bucket="b", region="eu-west-1", endpoint_url="http://127.0.0.1:1"
    )
    assert isinstance(store, S3BlobStore)
    assert (store.name, store.bucket, store.prefix, store.endpoint_url) == (
        "s3",
        "b",
        "blobs/",
        "http://127.0.0.1:1",
    )


@pytest.mark.parametrize(
    ("kind", "bucket"),
    [("s3", None), ("s3", ""), ("gcs", "b"), ("", None)],
    ids=["no-bucket", "empty", "gcs", "blank"],
)
def test_factory_rejects_bad_settings(tmp_path: Path, kind: str, bucket: str | None) -> None:
    with pytest.raises(InvalidInput):
        make_blob_store(kind, data_dir=tmp_path, bucket=bucket, region="us-east-1", endpoint_url=None)


# ------------------------------------------------------------- packages and presigned URLs (S3 only)
# The optional Presigner capability: whole download packages as objects of their own, beside the
# blobs but never among them, handed out as presigned URLs. Only the S3 store has it.

IDENTITY = hashlib.sha256(b"a package layout").hexdigest()
OTHER_IDENTITY = hashlib.sha256(b"another package layout").hexdigest()


def test_only_the_s3_store_can_presign(tmp_path: Path) -> None:
    assert not isinstance(FilesystemBlobStore(tmp_path / "blobs"), Presigner)
    s3 = S3BlobStore(bucket="b", region="us-east-1", endpoint_url="http://127.0.0.1:1")
    assert isinstance(s3, Presigner)
    assert isinstance(s3, BlobStore)


@pytest.fixture
def presigner() -> Iterator[S3BlobStore]:
    store = make_s3_store()
    store.package_part_size = 5 * MiB  # S3's smallest part: multipart uploads with little data
    yield store
    store.delete_packages()
    for digest in list(store.iter_digests()):
        store.delete(digest)


def pending_uploads(store: S3BlobStore) -> list[str]:
    """Multipart uploads begun under the packages prefix and neither completed nor aborted."""
    client = store._client
    answer = client.list_multipart_uploads(Bucket=store.bucket, Prefix=store.prefix + "packages/")
    return [upload.get("Key", "") for upload in answer.get("Uploads", [])]


def blocks(total: int, size: int = MiB) -> Iterator[bytes]:
    for offset in range(0, total, size):
        yield hashlib.sha256(b"%d" % offset).digest() * (min(size, total - offset) // 32)


@pytest.mark.s3
@pytest.mark.parametrize("size", [3 * 1024, 12 * MiB + 64], ids=["single-put", "multipart"])
def test_package_round_trip_through_a_presigned_url(presigner: S3BlobStore, size: int) -> None:
    data = b"".join(blocks(size))
    stored = presigner.put_package(IDENTITY, blocks(size), size=len(data))
    assert stored == StoredBlob(sha256=sha256(data), size=len(data))
    assert presigner.package_size(IDENTITY) == len(data)
    assert presigner.package_size(OTHER_IDENTITY) is None
    url = presigner.presigned_url(IDENTITY, expires_s=60, filename='bert "base".zip')
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in url  # signature v4
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200
    assert response.content == data
    assert response.headers["content-disposition"] == 'attachment; filename="bert _base_.zip"'
    part = httpx.get(url, headers={"Range": "bytes=10-19"}, timeout=10)
    assert part.status_code == 206  # S3 honours Range on a presigned URL
    assert part.content == data[10:20]
    assert pending_uploads(presigner) == []


@pytest.mark.s3
def test_packages_are_not_blobs(presigner: S3BlobStore) -> None:
    blob = presigner.put_bytes(b"a blob")
    presigner.put_package(IDENTITY, [b"a package"])
    assert list(presigner.iter_digests()) == [blob.sha256]  # orphan collection never sees it
    presigner.delete(blob.sha256)
    assert presigner.package_size(IDENTITY) == len(b"a package")


@pytest.mark.s3
def test_a_failing_source_leaves_no_package_and_no_upload(presigner: S3BlobStore) -> None:
    def source() -> Iterator[bytes]:
        yield from blocks(11 * MiB)  # two parts already uploaded when the source fails
        raise ConnectionResetError("the package's source went away")

    with pytest.raises(ConnectionResetError):
        presigner.put_package(IDENTITY, source(), size=20 * MiB)
    assert presigner.package_size(IDENTITY) is None
    assert pending_uploads(presigner) == []


@pytest.mark.s3
def test_a_failing_store_leaves_no_package_and_no_upload(
    presigner: S3BlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = presigner._client
    upload_part = client.upload_part
    calls: list[int] = []

    def flaky(**kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 2:
            raise BotoCoreError()
        return upload_part(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(client, "upload_part", flaky)
    with pytest.raises(StorageUnavailable):
        presigner.put_package(IDENTITY, blocks(16 * MiB))
    assert presigner.package_size(IDENTITY) is None
    assert pending_uploads(presigner) == []


@pytest.mark.s3
@pytest.mark.parametrize("size", [1024, 11 * MiB], ids=["single-put", "multipart"])
def test_bytes_that_are_not_the_expected_ones_leave_nothing(presigner: S3BlobStore, size: int) -> None:
    data = b"".join(blocks(size))
    with pytest.raises(IntegrityError):
        presigner.put_package(IDENTITY, blocks(size), expected_sha256=sha256(b"something else"))
    with pytest.raises(IntegrityError):
        presigner.put_package(IDENTITY, blocks(size), size=size + 1)
    assert presigner.package_size(IDENTITY) is None
    assert pending_uploads(presigner) == []
    assert presigner.put_package(IDENTITY, blocks(size), size=size, expected_sha256=sha256(data)).size == size


@pytest.mark.s3
def test_a_package_streams_without_being_held_in_memory(presigner: S3BlobStore) -> None:
    total = 24 * MiB
    tracemalloc.start()
    try:
        stored = presigner.put_package(IDENTITY, blocks(total), size=total)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert stored.size == total
    assert peak < 16 * MiB, f"put_package peaked at {peak / MiB:.1f} MiB"


@pytest.mark.s3
def test_delete_packages_removes_packages_and_abandoned_uploads(presigner: S3BlobStore) -> None:
    blob = presigner.put_bytes(b"kept")
    presigner.put_package(IDENTITY, [b"one"])
    presigner.put_package(OTHER_IDENTITY, [b"two"])
    abandoned = presigner._client.create_multipart_upload(
        Bucket=presigner.bucket, Key=presigner.package_key(sha256(b"crashed"))
    )
    assert abandoned["UploadId"]
    assert presigner.delete_packages() == 2
    assert presigner.package_size(IDENTITY) is None
    assert presigner.package_size(OTHER_IDENTITY) is None
    assert pending_uploads(presigner) == []
    assert presigner.read(blob.sha256) == b"kept"
    assert presigner.delete_packages() == 0


@pytest.mark.s3
def test_a_presigned_url_expires(presigner: S3BlobStore) -> None:
    presigner.put_package(IDENTITY, [b"short-lived"])
    url = presigner.presigned_url(IDENTITY, expires_s=1)
    # Polled until refused, not slept for a guessed time: the server's clock decides when.
    deadline = time.monotonic() + 30
    while (status := httpx.get(url, timeout=10).status_code) != 403:
        assert status == 200, status
        assert time.monotonic() < deadline, "the presigned URL still worked 30 s after it expired"
        time.sleep(0.25)


@pytest.mark.parametrize("identity", INVALID_DIGESTS, ids=repr)
@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda s, i: s.put_package(i, [b"zip"]), id="put_package"),
        pytest.param(lambda s, i: s.package_size(i), id="package_size"),
        pytest.param(lambda s, i: s.presigned_url(i), id="presigned_url"),
        pytest.param(lambda s, i: s.put_package(IDENTITY, [b"zip"], expected_sha256=i), id="expected"),
    ],
)
def test_invalid_package_identities_are_rejected(
    identity: str, call: Callable[[S3BlobStore, str], object]
) -> None:
    # Identities become keys: checked before any request (this store's endpoint answers nothing).
    store = S3BlobStore(bucket="b", region="us-east-1", endpoint_url="http://127.0.0.1:1")
    with pytest.raises(InvalidInput):
        call(store, identity)


# ------------------------------------------------------------------------------ orphan grace period


def test_iter_digests_by_write_time_and_rewrites_refresh_it(
    blob_store: BlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from tmr.storage.blobs import s3 as s3_module

    stored = blob_store.put_bytes(b"grace period")
    assert list(blob_store.iter_digests(written_before=time.time() - 600)) == []  # just written
    assert list(blob_store.iter_digests(written_before=time.time() + 600)) == [stored.sha256]
    if isinstance(blob_store, FilesystemBlobStore):
        path = blob_store.path_of(stored.sha256)
        os.utime(path, (time.time() - 7200, time.time() - 7200))
        assert list(blob_store.iter_digests(written_before=time.time() - 600)) == [stored.sha256]
        blob_store.put_bytes(b"grace period")  # the same bytes again: about to be referenced
        assert list(blob_store.iter_digests(written_before=time.time() - 600)) == []
    else:
        monkeypatch.setattr(s3_module, "TOUCH_AFTER_S", -1.0)  # every rewrite re-stamps
        cutoff = time.time() + 1.0  # S3 times have whole seconds
        assert list(blob_store.iter_digests(written_before=cutoff)) == [stored.sha256]
        # Rewritten until the server stamps a time past the cutoff (a second or two on its clock),
        # polled rather than slept for a guessed time.
        deadline = time.monotonic() + 30
        while True:
            blob_store.put_bytes(b"grace period")
            if list(blob_store.iter_digests(written_before=cutoff)) == []:
                break
            assert time.monotonic() < deadline, "a rewrite never refreshed the write time"
            time.sleep(0.25)
        assert b"".join(blob_store.open(stored.sha256)) == b"grace period"  # rewritten, still whole
