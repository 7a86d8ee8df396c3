"""Pick the blob store named by the settings."""

from __future__ import annotations

from pathlib import Path

from tmr.errors import InvalidInput
from tmr.storage.blobs.base import BlobStore

BLOB_STORE_KINDS = ("filesystem", "s3")


def make_blob_store(
    kind: str,
    *,
    data_dir: Path,
    bucket: str | None,
    region: str,
    endpoint_url: str | None,
    s3_prefix: str = "blobs/",
) -> BlobStore:
    """Build the blob store `kind` ("filesystem" or "s3").

    filesystem: blobs under `data_dir / "blobs"`. s3: keys `s3_prefix + sha256` in the bucket
    `bucket` (required) in `region`, at `endpoint_url` for an S3-compatible server (None for AWS).
    The S3 module is imported only when asked for, so the embedded default never pays for boto3.
    """
    if kind == "filesystem":
        from tmr.storage.blobs.filesystem import FilesystemBlobStore

        return FilesystemBlobStore(Path(data_dir) / "blobs")
    if kind == "s3":
        if not bucket:
            raise InvalidInput("the s3 blob store needs a bucket (S3_BUCKET)")
        from tmr.storage.blobs.s3 import S3BlobStore

        return S3BlobStore(bucket=bucket, region=region, endpoint_url=endpoint_url or None, prefix=s3_prefix)
    raise InvalidInput(f"unknown blob store {kind!r}; expected one of {', '.join(BLOB_STORE_KINDS)}")
