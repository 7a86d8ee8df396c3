"""S3BlobStore's own logic over an in-memory S3 client: keys under the prefix, digest checks before
any upload, re-stamping old blobs, ranges clipped as S3 clips them, packages as multipart uploads
(aborted on failure), and every S3 failure but a missing object turned into StorageUnavailable.
The real protocol is checked against SeaweedFS by tests/feature/storage."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.response import StreamingBody

from tmr.errors import IntegrityError, InvalidInput, NotFound, StorageUnavailable
from tmr.storage.blobs.s3 import S3BlobStore

FRESH = datetime.now(UTC)
OLD = FRESH - timedelta(days=2)


def client_error(operation: str, code: str, status: int) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, operation
    )


@dataclass
class Paginator:
    """Listings come in pages of two; like boto3's, a paginator sends nothing until iterated."""

    s3: FakeS3
    operation: str

    def paginate(self, Bucket: str, Prefix: str) -> Iterator[dict[str, Any]]:
        self.s3._call(self.operation)
        if self.operation == "list_multipart_uploads":
            yield {"Uploads": [{"Key": k, "UploadId": k} for k in self.s3.uploads if k.startswith(Prefix)]}
            return
        listed = [
            {"Key": k, "LastModified": m}
            for k, (_, m) in sorted(self.s3.objects.items())
            if k.startswith(Prefix)
        ]
        for start in range(0, len(listed), 2):
            yield {"Contents": listed[start : start + 2]}
        yield {}


@dataclass
class FakeS3:
    """The S3 calls the store makes, on a dict of objects; `fail[operation]` raises instead."""

    objects: dict[str, tuple[bytes, datetime]] = field(default_factory=dict)
    uploads: dict[str, dict[int, bytes]] = field(default_factory=dict)
    aborted: list[str] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    fail: dict[str, Exception] = field(default_factory=dict)
    delete_errors: list[dict[str, str]] = field(default_factory=list)

    def _call(self, operation: str) -> None:
        self.calls.append(operation)
        if operation in self.fail:
            raise self.fail[operation]

    def head_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        self._call("head_object")
        if Key not in self.objects:
            raise client_error("HeadObject", "404", 404)
        data, modified = self.objects[Key]
        return {"ContentLength": len(data), "LastModified": modified}

    def put_object(self, Bucket: str, Key: str, Body: bytes, ContentType: str) -> dict[str, Any]:
        self._call("put_object")
        self.objects[Key] = (Body, FRESH)
        return {}

    def copy_object(self, Bucket: str, Key: str, **_kwargs: Any) -> dict[str, Any]:
        self._call("copy_object")
        self.objects[Key] = (self.objects[Key][0], FRESH)
        return {}

    def get_object(self, Bucket: str, Key: str, Range: str | None = None) -> dict[str, Any]:
        self._call("get_object")
        if Key not in self.objects:
            raise client_error("GetObject", "NoSuchKey", 404)
        data = self.objects[Key][0]
        if Range is not None:
            first, _, last = Range.removeprefix("bytes=").partition("-")
            if int(first) >= len(data):
                raise client_error("GetObject", "InvalidRange", 416)
            data = data[int(first) : int(last) + 1 if last else None]
        return {"Body": StreamingBody(io.BytesIO(data), len(data))}

    def delete_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        self._call("delete_object")
        self.objects.pop(Key, None)
        return {}

    def head_bucket(self, Bucket: str) -> dict[str, Any]:
        self._call("head_bucket")
        return {}

    def get_paginator(self, operation: str) -> Paginator:
        return Paginator(self, operation)

    def delete_objects(self, Bucket: str, Delete: dict[str, Any]) -> dict[str, Any]:
        self._call("delete_objects")
        for item in Delete["Objects"]:
            self.objects.pop(item["Key"], None)
        return {"Errors": self.delete_errors} if self.delete_errors else {}

    def create_multipart_upload(self, Bucket: str, Key: str, ContentType: str) -> dict[str, Any]:
        self._call("create_multipart_upload")
        self.uploads[Key] = {}
        return {"UploadId": Key}

    def upload_part(
        self, Bucket: str, Key: str, UploadId: str, PartNumber: int, Body: bytes
    ) -> dict[str, Any]:
        self._call("upload_part")
        self.uploads[UploadId][PartNumber] = Body
        return {"ETag": f'"{PartNumber}"'}

    def complete_multipart_upload(
        self, Bucket: str, Key: str, UploadId: str, MultipartUpload: dict[str, Any]
    ) -> dict[str, Any]:
        self._call("complete_multipart_upload")
        parts = self.uploads.pop(UploadId)
        numbers = [p["PartNumber"] for p in MultipartUpload["Parts"]]
        assert numbers == sorted(parts)
        self.objects[Key] = (b"".join(parts[n] for n in numbers), FRESH)
        return {}

    def abort_multipart_upload(self, Bucket: str, Key: str, UploadId: str) -> dict[str, Any]:
        self._call("abort_multipart_upload")
        self.uploads.pop(UploadId, None)
        self.aborted.append(Key)
        return {}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def s3() -> FakeS3:
    return FakeS3()


@pytest.fixture
def store(s3: FakeS3) -> S3BlobStore:
    return S3BlobStore("bucket", "us-east-1", prefix="blobs/", client=s3)


def test_a_store_needs_a_bucket() -> None:
    with pytest.raises(InvalidInput, match="needs a bucket"):
        S3BlobStore("", "us-east-1", client=FakeS3())


def test_bytes_go_under_their_digest_once(store: S3BlobStore, s3: FakeS3) -> None:
    stored = store.put_stream([b"hello ", b"", b"world"])
    assert stored.sha256 == sha(b"hello world")
    assert stored.size == 11
    assert s3.objects[f"blobs/{stored.sha256}"][0] == b"hello world"
    s3.calls.clear()
    store.put_bytes(b"hello world")  # stored recently: one HEAD, no upload, no copy
    assert s3.calls == ["head_object"]
    assert store.exists(stored.sha256)
    assert store.size(stored.sha256) == 11
    assert store.read(stored.sha256) == b"hello world"
    assert "bucket" in repr(store)


def test_an_old_blob_written_again_is_restamped(store: S3BlobStore, s3: FakeS3) -> None:
    digest = sha(b"old")
    s3.objects[f"blobs/{digest}"] = (b"old", OLD)
    store.put_bytes(b"old")
    assert s3.calls == ["head_object", "copy_object"]
    assert s3.objects[f"blobs/{digest}"][1] == FRESH


def test_bytes_that_do_not_match_their_digest_are_never_uploaded(store: S3BlobStore, s3: FakeS3) -> None:
    with pytest.raises(IntegrityError, match="expected digest"):
        store.put_stream([b"abc"], expected_sha256=sha(b"xyz"))
    assert s3.objects == {}
    with pytest.raises(InvalidInput, match="not a sha256"):
        store.put_stream([b"abc"], expected_sha256="../etc/passwd")


def test_ranges_are_clipped_like_http_ranges(store: S3BlobStore, s3: FakeS3) -> None:
    digest = store.put_bytes(b"0123456789").sha256
    assert b"".join(store.open(digest, 2, 5)) == b"234"
    assert b"".join(store.open(digest, 7)) == b"789"
    assert b"".join(store.open(digest, 20)) == b""  # past the end: empty, not an error
    assert list(store.open(digest, 4, 4)) == []
    with pytest.raises(NotFound):
        store.open(sha(b"missing"), 3, 3)
    with pytest.raises(NotFound):
        store.open(sha(b"missing"))
    with pytest.raises(NotFound):
        store.size(sha(b"missing"))
    with pytest.raises(InvalidInput, match="range end"):
        store.open(digest, 5, 2)


def test_listing_skips_non_digests_and_honours_the_write_time(store: S3BlobStore, s3: FakeS3) -> None:
    new = store.put_bytes(b"new").sha256
    old = sha(b"old")
    s3.objects[f"blobs/{old}"] = (b"old", OLD)
    s3.objects["blobs/packages/x.zip"] = (b"zip", OLD)
    assert sorted(store.iter_digests()) == sorted([new, old])
    assert list(store.iter_digests(written_before=(FRESH - timedelta(hours=1)).timestamp())) == [old]
    store.delete(old)
    store.delete(old)  # already gone: nothing to do
    assert list(store.iter_digests()) == [new]
    store.check()


@pytest.mark.parametrize(
    ("operation", "label", "call"),
    [
        ("head_object", "head_object", lambda store: store.exists(sha(b"x"))),
        ("put_object", "upload", lambda store: store.put_bytes(b"x")),
        ("get_object", "get_object", lambda store: store.read(sha(b"x"))),
        ("delete_object", "delete_object", lambda store: store.delete(sha(b"x"))),
        ("list_objects_v2", "list_objects_v2", lambda store: list(store.iter_digests())),
        ("head_bucket", "head_bucket", lambda store: store.check()),
    ],
)
@pytest.mark.parametrize(
    "error", [client_error("Op", "AccessDenied", 403), EndpointConnectionError(endpoint_url="http://s3.test")]
)
def test_every_other_failure_is_the_store_being_unavailable(
    store: S3BlobStore, s3: FakeS3, operation: str, label: str, call: Any, error: Exception
) -> None:
    s3.fail[operation] = error
    with pytest.raises(StorageUnavailable, match=f"S3 {label} failed"):
        call(store)


def test_a_missing_bucket_is_not_a_missing_blob(store: S3BlobStore, s3: FakeS3) -> None:
    s3.fail["get_object"] = client_error("GetObject", "NoSuchBucket", 404)
    with pytest.raises(StorageUnavailable):
        store.read(sha(b"x"))
    s3.fail["delete_object"] = client_error("DeleteObject", "NoSuchKey", 404)
    store.delete(sha(b"x"))  # a missing object is already deleted


def test_a_stale_existing_blob_whose_restamp_fails_is_unavailable(store: S3BlobStore, s3: FakeS3) -> None:
    s3.objects[f"blobs/{sha(b'old')}"] = (b"old", OLD)
    s3.fail["copy_object"] = client_error("CopyObject", "SlowDown", 503)
    with pytest.raises(StorageUnavailable, match="copy_object"):
        store.put_bytes(b"old")


def test_a_small_package_is_one_put_and_a_large_one_goes_in_parts(store: S3BlobStore, s3: FakeS3) -> None:
    identity = sha(b"package-identity")
    small = store.put_package(identity, [b"PK", b"small"], size=7)
    assert small.size == 7
    assert "create_multipart_upload" not in s3.calls
    assert store.package_size(identity) == 7
    assert store.package_size(sha(b"other")) is None
    store.package_part_size = 4
    data = [b"abcdef", b"gh", b"ijklm"]
    large = store.put_package(identity, data, expected_sha256=sha(b"".join(data)))
    assert large.sha256 == sha(b"abcdefghijklm")
    assert s3.objects[store.package_key(identity)][0] == b"abcdefghijklm"
    assert s3.calls.count("upload_part") == 2  # "abcdef", then "gh" + "ijklm"
    assert s3.uploads == {}


def test_a_package_that_fails_is_aborted_and_never_appears(store: S3BlobStore, s3: FakeS3) -> None:
    identity = sha(b"package-identity")
    store.package_part_size = 4
    with pytest.raises(IntegrityError, match="expected size"):
        store.put_package(identity, [b"abcdef", b"gh"], size=100)
    assert s3.aborted == [store.package_key(identity)]
    assert store.package_key(identity) not in s3.objects
    s3.fail["upload_part"] = client_error("UploadPart", "InternalError", 500)
    with pytest.raises(StorageUnavailable, match="upload_part"):
        store.put_package(identity, [b"abcdef"])
    s3.fail.pop("upload_part")
    s3.fail["complete_multipart_upload"] = client_error("CompleteMultipartUpload", "InternalError", 500)
    with pytest.raises(StorageUnavailable, match="complete_multipart_upload"):
        store.put_package(identity, [b"abcdef"])
    s3.fail["put_object"] = client_error("PutObject", "InternalError", 500)
    with pytest.raises(StorageUnavailable, match="put_object"):
        store.put_package(identity, [b"ab"])
    s3.fail["abort_multipart_upload"] = client_error("AbortMultipartUpload", "InternalError", 500)
    s3.fail.pop("complete_multipart_upload")
    with pytest.raises(IntegrityError):
        store.put_package(identity, [b"abcdef"], size=1)  # the abort fails too: logged, not raised


def test_deleting_packages_removes_objects_and_pending_uploads(store: S3BlobStore, s3: FakeS3) -> None:
    blob = store.put_bytes(b"a blob").sha256
    for seed in range(3):
        store.put_package(sha(bytes([seed])), [b"zip"])
    s3.uploads["blobs/packages/pending.zip"] = {1: b"x"}
    assert store.delete_packages() == 3
    assert list(s3.objects) == [f"blobs/{blob}"]
    assert s3.aborted == ["blobs/packages/pending.zip"]
    store.put_package(sha(b"again"), [b"zip"])
    s3.delete_errors.append({"Key": "k", "Code": "AccessDenied"})
    with pytest.raises(StorageUnavailable, match="delete_objects"):
        store.delete_packages()
    s3.fail["list_objects_v2"] = EndpointConnectionError(endpoint_url="http://s3.test")
    with pytest.raises(StorageUnavailable, match="delete packages"):
        store.delete_packages()


def test_presigned_urls_name_the_package_and_a_safe_file_name() -> None:
    client = boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url="http://s3.test",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    store = S3BlobStore("bucket", "us-east-1", endpoint_url="http://s3.test", client=client)
    identity = sha(b"package-identity")
    url = store.presigned_url(identity, expires_s=60, filename='bert "base"\n.zip')
    parts = urlsplit(url)
    assert parts.path.endswith(f"/packages/{identity}.zip")
    query = parse_qs(parts.query)
    assert query["response-content-disposition"] == ['attachment; filename="bert _base__.zip"']
    assert query["X-Amz-Expires"] == ["60"]
