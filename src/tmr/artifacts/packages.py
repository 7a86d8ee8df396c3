"""Packages: an artifact's files as one zip, streamed with its exact length known in advance."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from zipstream import ZIP_STORED, ZipStream

from tmr.artifacts.models import Artifact, FileKind
from tmr.errors import IntegrityError
from tmr.storage.blobs.base import BlobStore


def package_stream(
    artifact: Artifact, blobs: BlobStore, kinds: Iterable[FileKind] | None = None
) -> ZipStream:
    """A sized, uncompressed zip of the artifact's mirrored files (weights do not compress, and a
    stored zip has a length known before the first byte, so Content-Length is exact)."""
    wanted = set(kinds) if kinds is not None else None
    stream = ZipStream(compress_type=ZIP_STORED, sized=True)
    for file in artifact.files:
        if wanted is not None and file.kind not in wanted:
            continue
        if file.sha256 is None:
            raise IntegrityError(f"{file.path} has not been mirrored")
        stream.add(_blob_chunks(blobs, file.sha256), file.path, size=file.size)
    return stream


def _blob_chunks(blobs: BlobStore, sha256: str) -> Iterator[bytes]:
    yield from blobs.open(sha256)
