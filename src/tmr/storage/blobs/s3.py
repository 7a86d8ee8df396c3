"""Blob store on S3 (or an S3-compatible server): one object per blob, key `prefix + sha256`."""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterable, Iterator
from typing import IO, TYPE_CHECKING, Any, Self

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from tmr.errors import InvalidInput, NotFound, StorageUnavailable
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
    return StorageUnavailable(f"S3 {action} failed: {exc}", **details)


class S3BlobStore:
    """Content-addressed blobs in an S3 bucket.

    A write is spooled (memory, then a temporary file) while it is hashed; only once the digest is
    known and checked is the object uploaded under its final key, so no partial or unverified object
    is ever visible under a digest. Re-putting stored bytes costs a HEAD, not an upload.
    """

    name: str = "s3"

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
            )
            client = boto3.client("s3", region_name=region, endpoint_url=endpoint_url, config=config)
        self._client: S3Client = client

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
            if self._head(key) is None:
                self._upload(spool, key)
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

    def iter_digests(self) -> Iterator[str]:
        """Every digest stored under the prefix (keys that are not digests are ignored)."""
        paginator = self._client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
                for item in page.get("Contents", []):
                    name = item.get("Key", "")[len(self.prefix) :]
                    if is_digest(name):
                        yield name
        except (BotoCoreError, ClientError) as exc:
            raise _unavailable("list_objects_v2", exc, prefix=self.prefix) from exc

    def presigned_url(self, sha256: str, expires_s: int = 300) -> str | None:
        """A GET URL valid for `expires_s` seconds; signing is local, existence is not checked."""
        key = self.key_of(sha256)
        try:
            return self._client.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires_s
            )
        except BotoCoreError as exc:
            raise _unavailable("generate_presigned_url", exc, key=key) from exc

    def check(self) -> None:
        try:
            self._client.head_bucket(Bucket=self.bucket)
        except (BotoCoreError, ClientError) as exc:
            raise _unavailable("head_bucket", exc, bucket=self.bucket) from exc


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
            self._file.close()  # a NamedTemporaryFile: closing deletes it

    @property
    def path(self) -> str | None:
        """The temporary file holding the bytes, or None while they are all in memory."""
        return None if self._file is None else self._file.name

    def write(self, chunk: bytes) -> None:
        if not chunk:
            return
        self._hasher.update(chunk)
        self.size += len(chunk)
        if self._file is None and self.size > self._max_memory:
            self._file = tempfile.NamedTemporaryFile(prefix="tmr-blob-")  # noqa: SIM115 (closed in __exit__)
            for buffered in self._chunks:
                self._file.write(buffered)
            self._chunks = []
        if self._file is not None:
            self._file.write(chunk)
        else:
            self._chunks.append(bytes(chunk))

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def getvalue(self) -> bytes:
        return b"".join(self._chunks)

    def hexdigest(self) -> str:
        return self._hasher.hexdigest()


def _stream(body: StreamingBody, key: str) -> Iterator[bytes]:
    try:
        for block in body.iter_chunks(CHUNK_SIZE):
            if block:
                yield block
    except (BotoCoreError, ClientError) as exc:
        raise _unavailable("read", exc, key=key) from exc
    finally:
        body.close()
