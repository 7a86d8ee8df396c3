"""Blob store on S3 (or an S3-compatible server): one object per blob, key `prefix + sha256`;
materialised download packages beside them, key `prefix + "packages/" + identity + ".zip"`."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import tempfile
import time
from collections.abc import Iterable, Iterator
from typing import IO, TYPE_CHECKING, Any, Self

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from tmr.errors import (
    BlobStoreUnavailable,
    IntegrityError,
    InvalidInput,
    NotFound,
    StorageUnavailable,
    disk_full,
    is_disk_full,
)
from tmr.storage.blobs.base import (
    CHUNK_SIZE,
    StoredBlob,
    check_digest,
    check_expected,
    check_range,
    is_digest,
)

if TYPE_CHECKING:
    from botocore.response import StreamingBody
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

# Up to this much of a write stays in memory; a bigger blob spills to a temporary file (on Lambda:
# /tmp) and is uploaded from there.
SPOOL_MAX_MEMORY = 8 * 1024 * 1024
# Above the threshold, uploads go multipart, a few parts in flight at once. Uploads of spilled blobs
# go by file *name*: s3transfer then reads each part lazily from disk, whereas from a file *object*
# it copies every part into memory first (up to 10 parts queued), which would hold a big blob in
# memory after all.
_TRANSFER = TransferConfig(
    multipart_threshold=16 * 1024 * 1024,
    multipart_chunksize=16 * 1024 * 1024,
    max_concurrency=4,
)
_NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound"})
# Packages are written as multipart uploads of parts this big (S3's minimum is 5 MiB but for the
# last part), grown when needed to stay under S3's 10,000 parts; one part is held in memory.
PACKAGE_PART_SIZE = 8 * 1024 * 1024
_MAX_PARTS = 10_000
PACKAGES_DIR = "packages/"
log = logging.getLogger("tmr.storage.s3")


TOUCH_AFTER_S = 3600.0
"""An existing blob written again is re-stamped when its time is older than this (one copy
request), which keeps it well inside any orphan-collection grace period of hours."""


def _older_than(modified: Any, seconds: float) -> bool:
    return modified is None or modified.timestamp() < time.time() - seconds


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


def _is_not_found(exc: ClientError) -> bool:
    code = _error_code(exc)
    return code in _NOT_FOUND_CODES or (_status(exc) == 404 and code != "NoSuchBucket")


def _unavailable(action: str, exc: Exception, **details: Any) -> StorageUnavailable:
    """Any S3 failure that is not a missing blob: the store is unusable (down, misconfigured, denied)."""
    if isinstance(exc, ClientError):
        details.update(code=_error_code(exc), status=_status(exc))
    return BlobStoreUnavailable(f"S3 {action} failed: {exc}", **details)


class S3BlobStore:
    """Content-addressed blobs in an S3 bucket.

    A write is spooled (memory, then a temporary file) while it is hashed; only once the digest is
    known and checked is the object uploaded under its final key, so no partial or unverified object
    is ever visible under a digest. Re-putting stored bytes costs a HEAD, not an upload.
    """

    name: str = "s3"
    local: bool = False

    def __init__(
        self,
        bucket: str,
        region: str,
        endpoint_url: str | None = None,
        prefix: str = "blobs/",
        client: Any = None,
    ) -> None:
        if not bucket:
            raise InvalidInput("an S3 blob store needs a bucket")
        self.bucket = bucket
        self.region = region
        self.endpoint_url = endpoint_url
        self.prefix = prefix
        if client is None:
            config = Config(
                retries={"mode": "standard", "max_attempts": 3},
                connect_timeout=5,
                read_timeout=60,
                # S3-compatible servers (SeaweedFS, MinIO) are addressed by path, not by virtual host.
                s3={"addressing_style": "path"} if endpoint_url else {},
                # Presigned URLs too: SigV4 is what every region and S3-compatible server accepts.
                signature_version="s3v4",
            )
            client = boto3.client("s3", region_name=region, endpoint_url=endpoint_url, config=config)
        self._client: S3Client = client
        self.package_part_size = PACKAGE_PART_SIZE

    def __repr__(self) -> str:
        where = f", endpoint_url={self.endpoint_url!r}" if self.endpoint_url else ""
        return f"S3BlobStore(bucket={self.bucket!r}, prefix={self.prefix!r}{where})"

    def key_of(self, sha256: str) -> str:
        """The object key of the blob named `sha256`."""
        return self.prefix + check_digest(sha256)

    # ---------------------------------------------------------------------------------- writes

    def put_stream(self, chunks: Iterable[bytes], expected_sha256: str | None = None) -> StoredBlob:
        if expected_sha256 is not None:
            check_digest(expected_sha256)
        with _Spool(SPOOL_MAX_MEMORY) as spool:
            for chunk in chunks:
                spool.write(chunk)
            digest = spool.hexdigest()
            check_expected(expected_sha256, digest, spool.size)
            key = self.key_of(digest)
            head = self._head(key)
            if head is None:
                self._upload(spool, key)
            elif _older_than(head.get("LastModified"), TOUCH_AFTER_S):
                self._touch(key)
        return StoredBlob(sha256=digest, size=spool.size)

    def _upload(self, spool: _Spool, key: str) -> None:
        content_type = "application/octet-stream"
        try:
            if spool.path is None:
                self._client.put_object(
                    Bucket=self.bucket, Key=key, Body=spool.getvalue(), ContentType=content_type
                )
            else:
                spool.flush()
                self._client.upload_file(
                    spool.path, self.bucket, key, ExtraArgs={"ContentType": content_type}, Config=_TRANSFER
                )
        except (BotoCoreError, ClientError) as exc:
            raise _unavailable("upload", exc, key=key) from exc

    def _touch(self, key: str) -> None:
        """Refresh an existing blob's LastModified (a copy onto itself), so orphan collection's
        grace period counts from this write: the blob is about to be referenced again."""
        try:
            self._client.copy_object(
                Bucket=self.bucket,
                Key=key,
                CopySource={"Bucket": self.bucket, "Key": key},
                MetadataDirective="REPLACE",
                ContentType="application/octet-stream",
            )
        except (BotoCoreError, ClientError) as exc:
            raise _unavailable("copy_object", exc, key=key) from exc

    def put_bytes(self, data: bytes) -> StoredBlob:
        return self.put_stream([data])

    # ----------------------------------------------------------------------------------- reads

    def _head(self, key: str) -> dict[str, Any] | None:
        """HEAD the object: its metadata, or None when it does not exist."""
        try:
            response = self._client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _is_not_found(exc):
                return None
            raise _unavailable("head_object", exc, key=key) from exc
        except BotoCoreError as exc:
            raise _unavailable("head_object", exc, key=key) from exc
        return dict(response)

    def exists(self, sha256: str) -> bool:
        return self._head(self.key_of(sha256)) is not None

    def size(self, sha256: str) -> int:
        head = self._head(self.key_of(sha256))
        if head is None:
            raise NotFound("blob not found", sha256=sha256)
        return int(head["ContentLength"])

    def open(self, sha256: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Yield bytes [start, end) clipped to the blob; empty when start is at or past its end.

        The GET is sent here, not on first iteration, so NotFound is raised before any byte is
        promised to a client.
        """
        check_range(start, end)
        key = self.key_of(sha256)
        if end is not None and end == start:
            if self._head(key) is None:
                raise NotFound("blob not found", sha256=sha256)
            return iter(())
        request: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if start > 0 or end is not None:
            # HTTP ranges are inclusive; servers clip a last byte past the end to the object's size.
            request["Range"] = f"bytes={start}-{'' if end is None else end - 1}"
        try:
            response = self._client.get_object(**request)
        except ClientError as exc:
            if _is_not_found(exc):
                raise NotFound("blob not found", sha256=sha256) from exc
            if _status(exc) == 416 or _error_code(exc) == "InvalidRange":
                # The object exists but the range starts at or past its end.
                return iter(())
            raise _unavailable("get_object", exc, key=key) from exc
        except BotoCoreError as exc:
            raise _unavailable("get_object", exc, key=key) from exc
        return _stream(response["Body"], key)

    def read(self, sha256: str) -> bytes:
        return b"".join(self.open(sha256))

    # ------------------------------------------------------------------------------ management

    def delete(self, sha256: str) -> None:
        key = self.key_of(sha256)
        try:
            self._client.delete_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _is_not_found(exc):
                return
            raise _unavailable("delete_object", exc, key=key) from exc
        except BotoCoreError as exc:
            raise _unavailable("delete_object", exc, key=key) from exc

    def iter_digests(self, written_before: float | None = None) -> Iterator[str]:
        """Every digest stored under the prefix (keys that are not digests are ignored)."""
        paginator = self._client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
                for item in page.get("Contents", []):
                    name = item.get("Key", "")[len(self.prefix) :]
                    modified = item.get("LastModified")
                    if is_digest(name) and (
                        written_before is None or modified is None or modified.timestamp() < written_before
                    ):
                        yield name
        except (BotoCoreError, ClientError) as exc:
            raise _unavailable("list_objects_v2", exc, prefix=self.prefix) from exc

    def check(self) -> None:
        try:
            self._client.head_bucket(Bucket=self.bucket)
        except (BotoCoreError, ClientError) as exc:
            raise _unavailable("head_bucket", exc, bucket=self.bucket) from exc

    # ------------------------------------------------------------------- packages (Presigner)

    def package_key(self, identity: str) -> str:
        """The object key of the package named `identity` (listed under the prefix, but not a
        digest, so `iter_digests` skips it)."""
        return f"{self.prefix}{PACKAGES_DIR}{check_digest(identity)}.zip"

    def put_package(
        self,
        identity: str,
        chunks: Iterable[bytes],
        size: int | None = None,
        expected_sha256: str | None = None,
    ) -> StoredBlob:
        """A multipart upload fed part by part as `chunks` arrive (a package smaller than one part
        is a single PUT). The object appears only when the upload completes, which happens only
        once the bytes are checked; on any failure the upload is aborted."""
        key = self.package_key(identity)
        if expected_sha256 is not None:
            check_digest(expected_sha256)
        part_size = max(self.package_part_size, -(-(size or 0) // (_MAX_PARTS - 1)))
        upload = _MultipartUpload(self._client, self.bucket, key)
        hasher = hashlib.sha256()
        written = 0
        buffer = bytearray()
        try:
            for chunk in chunks:
                hasher.update(chunk)
                written += len(chunk)
                buffer += chunk
                if len(buffer) >= part_size:
                    upload.add(bytes(buffer))
                    buffer.clear()
            digest = hasher.hexdigest()
            if size is not None and written != size:
                raise IntegrityError(
                    "package bytes are not of their expected size", expected=size, actual=written
                )
            check_expected(expected_sha256, digest, written)
            if upload.started:
                if buffer:
                    upload.add(bytes(buffer))
                upload.complete()
            else:
                self._put_small(key, bytes(buffer))
        except BaseException:
            upload.abort()
            raise
        return StoredBlob(sha256=digest, size=written)

    def _put_small(self, key: str, data: bytes) -> None:
        try:
            self._client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType="application/zip")
        except (BotoCoreError, ClientError) as exc:
            raise _unavailable("put_object", exc, key=key) from exc

    def package_size(self, identity: str) -> int | None:
        head = self._head(self.package_key(identity))
        return None if head is None else int(head["ContentLength"])

    def presigned_url(self, identity: str, expires_s: int = 300, filename: str | None = None) -> str:
        key = self.package_key(identity)
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if filename:
            safe = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename)
            params["ResponseContentDisposition"] = f'attachment; filename="{safe}"'
        try:
            return self._client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_s)
        except BotoCoreError as exc:
            raise _unavailable("generate_presigned_url", exc, key=key) from exc

    def delete_packages(self) -> int:
        prefix = self.prefix + PACKAGES_DIR
        removed = 0
        try:
            for page in self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix
            ):
                keys = [item["Key"] for item in page.get("Contents", []) if "Key" in item]
                if keys:  # a listing page holds at most 1,000 keys: one DeleteObjects each
                    answer = self._client.delete_objects(
                        Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True}
                    )
                    if answer.get("Errors"):
                        raise BlobStoreUnavailable(
                            "S3 delete_objects failed", prefix=prefix, errors=answer["Errors"][:5]
                        )
                    removed += len(keys)
            uploads = self._client.get_paginator("list_multipart_uploads")
            for listing in uploads.paginate(Bucket=self.bucket, Prefix=prefix):
                for pending in listing.get("Uploads", []):
                    _MultipartUpload(self._client, self.bucket, pending["Key"], pending["UploadId"]).abort()
        except (BotoCoreError, ClientError) as exc:
            raise _unavailable("delete packages", exc, prefix=prefix) from exc
        return removed


class _MultipartUpload:
    """One multipart upload, created on its first part."""

    def __init__(self, client: S3Client, bucket: str, key: str, upload_id: str | None = None) -> None:
        self._client = client
        self._bucket = bucket
        self._key = key
        self._upload_id = upload_id
        self._parts: list[CompletedPartTypeDef] = []

    @property
    def started(self) -> bool:
        return self._upload_id is not None

    def add(self, data: bytes) -> None:
        try:
            if self._upload_id is None:
                created = self._client.create_multipart_upload(
                    Bucket=self._bucket, Key=self._key, ContentType="application/zip"
                )
                self._upload_id = created["UploadId"]
            number = len(self._parts) + 1
            part = self._client.upload_part(
                Bucket=self._bucket, Key=self._key, UploadId=self._upload_id, PartNumber=number, Body=data
            )
        except (BotoCoreError, ClientError) as exc:
            raise _unavailable("upload_part", exc, key=self._key) from exc
        self._parts.append({"ETag": part["ETag"], "PartNumber": number})

    def complete(self) -> None:
        assert self._upload_id is not None
        try:
            self._client.complete_multipart_upload(
                Bucket=self._bucket,
                Key=self._key,
                UploadId=self._upload_id,
                MultipartUpload={"Parts": self._parts},
            )
        except (BotoCoreError, ClientError) as exc:
            raise _unavailable("complete_multipart_upload", exc, key=self._key) from exc
        self._upload_id = None

    def abort(self) -> None:
        """Drop the parts sent so far; best effort (an abandoned upload is invisible, and
        `delete_packages` aborts what is left)."""
        if self._upload_id is None:
            return
        upload_id, self._upload_id = self._upload_id, None
        with contextlib.suppress(BotoCoreError, ClientError):
            self._client.abort_multipart_upload(Bucket=self._bucket, Key=self._key, UploadId=upload_id)
            return
        log.warning("could not abort the multipart upload of %s (%s)", self._key, upload_id)


class _Spool:
    """Hash bytes while keeping them: in memory up to `max_memory`, then in a named temporary file.

    Like tempfile.SpooledTemporaryFile, but the rollover neither copies the buffered bytes (they are
    kept as the list of chunks received) nor loses the file name, which multipart uploads need.
    """

    def __init__(self, max_memory: int) -> None:
        self._max_memory = max_memory
        self._chunks: list[bytes] = []
        self._file: IO[bytes] | None = None
        self._hasher = hashlib.sha256()
        self.size = 0

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._chunks = []
        if self._file is not None:
            # A NamedTemporaryFile: closing deletes it, even when flushing what a full disk
            # refused fails again (that failure is already the error being raised).
            with contextlib.suppress(OSError):
                self._file.close()

    @property
    def path(self) -> str | None:
        """The temporary file holding the bytes, or None while they are all in memory."""
        return None if self._file is None else self._file.name

    def write(self, chunk: bytes) -> None:
        if not chunk:
            return
        self._hasher.update(chunk)
        self.size += len(chunk)
        try:
            if self._file is None and self.size > self._max_memory:
                self._file = tempfile.NamedTemporaryFile(prefix="tmr-blob-")  # noqa: SIM115 (closed in __exit__)
                for buffered in self._chunks:
                    self._file.write(buffered)
                self._chunks = []
            if self._file is not None:
                self._file.write(chunk)
            else:
                self._chunks.append(bytes(chunk))
        except OSError as exc:  # the local temporary folder, not S3
            raise _spool_failed(exc) from exc

    def flush(self) -> None:
        if self._file is not None:
            try:
                self._file.flush()
            except OSError as exc:
                raise _spool_failed(exc) from exc

    def getvalue(self) -> bytes:
        return b"".join(self._chunks)

    def hexdigest(self) -> str:
        return self._hasher.hexdigest()


def _spool_failed(exc: OSError) -> StorageUnavailable:
    if is_disk_full(exc):
        return disk_full("a blob's temporary copy", exc)
    return BlobStoreUnavailable(f"could not spool a blob to the temporary folder: {exc}")


def _stream(body: StreamingBody, key: str) -> Iterator[bytes]:
    try:
        for block in body.iter_chunks(CHUNK_SIZE):
            if block:
                yield block
    except (BotoCoreError, ClientError) as exc:
        raise _unavailable("read", exc, key=key) from exc
    finally:
        body.close()
