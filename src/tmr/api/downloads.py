"""Downloads: an artifact's files (and, on request, its linked datasets' files) as one zip,
mirrored from the upstream on first use, with exact lengths, strong ETags, the package's sha256,
conditional requests and byte ranges (resumable downloads). With the S3 store and
TMR_DOWNLOAD_REDIRECT=presigned, the bytes come from S3 through a short-lived presigned URL."""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Callable, Iterator
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Header, Query, Response

from tmr.accounts.models import User
from tmr.api.deps import RegistryDep, UserDep
from tmr.api.streaming import stream
from tmr.artifacts.bundles import LinkedDatasets, linked_datasets
from tmr.artifacts.models import Artifact
from tmr.artifacts.packages import (
    Package,
    PackageDigests,
    build_package,
    package_files,
    parse_parts,
    parse_range,
)
from tmr.container import Registry
from tmr.errors import IntegrityError, UnsafeContent
from tmr.storage.blobs.base import Presigner

router = APIRouter(tags=["downloads"])
log = logging.getLogger("tmr.downloads")


@router.get("/download/{id}", response_model=None)
def download(
    user: UserDep,
    registry: RegistryDep,
    id: str,
    parts: Annotated[str | None, Query()] = None,
    redirect: Annotated[bool | None, Query()] = None,
    allow_unsafe: Annotated[bool, Query()] = False,
    range_: Annotated[str | None, Header(alias="Range")] = None,
    if_range: Annotated[str | None, Header(alias="If-Range")] = None,
    if_none_match: Annotated[str | None, Header(alias="If-None-Match")] = None,
) -> Response:
    wanted = parse_parts(parts)
    artifact = _mirrored(registry, registry.artifacts.get_any(id, viewer=user))
    bundled = LinkedDatasets()
    if wanted.datasets:
        bundled = _datasets(registry, artifact, user)
    package = build_package(artifact, wanted.kinds, bundled.included)
    unsafe = [name for name, f in package_files(artifact, wanted.kinds, bundled.included) if f.unsafe]
    if unsafe and not allow_unsafe:
        # Loading these runs code from the file: the registry hands them out only to a client
        # that says it knows (e.g. to inspect them in a sandbox), never by default.
        raise UnsafeContent(
            "the package holds weights that import code on load; ask again with allow_unsafe=true "
            "to download them anyway, or leave them out with ?parts=",
            unsafe_files=unsafe,
        )
    filename = _filename(artifact)
    headers = {
        "ETag": package.etag,
        "Accept-Ranges": "bytes",
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "private, max-age=0, must-revalidate",
    }
    if unsafe:
        headers["X-Unsafe-Files"] = ", ".join(quote(path, safe="/@:+") for path in unsafe)
    if wanted.datasets:
        headers["X-Included-Datasets"] = ", ".join(dataset.id for _folder, dataset in bundled.included)
        if bundled.skipped:
            headers["X-Skipped-Datasets"] = ", ".join(quote(key, safe="/@:+") for key in bundled.skipped)
    digests = PackageDigests(registry.store, registry.settings.eager_digest_bytes)
    if if_none_match and package.etag in {tag.strip() for tag in if_none_match.split(",")} | {"*"}:
        _announce(headers, digests.known(package))
        return Response(status_code=304, headers=headers)
    # A Range for another version of the package (If-Range mismatch) gets the whole new one.
    stale = range_ is not None and if_range is not None and if_range.strip() not in {"", package.etag}
    span = None if stale else parse_range(range_, package.length)
    start, end = span or (0, package.length)
    if start == 0:
        registry.artifacts.record(artifact, user, "DOWNLOAD")

    target = _redirect_target(registry, redirect)
    # S3 ignores If-Range, so a stale one redirected would splice the new package's bytes onto the
    # old one's: that answer (the whole new package) is ours to give.
    if target is not None and not stale:
        _announce(headers, digests.materialise(package, registry.blobs, target))
        expires = registry.settings.download_redirect_expires_s
        headers["Location"] = target.presigned_url(package.identity, expires, filename)
        headers["Cache-Control"] = "private, no-store"  # the URL expires; the ETag still validates
        headers.pop("Accept-Ranges")
        return Response(status_code=307, headers=headers)

    known = digests.eager(package, registry.blobs)
    _announce(headers, known)
    headers["Content-Length"] = str(end - start)
    status = 200
    if span is not None:
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{package.length}"
    body = package.read(registry.blobs, start, end)
    if known is None and span is None:
        # Too big to hash before answering: measured while the first whole download streams and
        # kept (by identity, which fixes the bytes) for every later response.
        body = _hashing(body, lambda digest: _keep(digests, package, digest))
    return stream(registry.blobs, body, status, "application/zip", headers)


def _mirrored(registry: Registry, artifact: Artifact) -> Artifact:
    """Every file stored and checked before any byte is sent: a failure is a status, never a short
    package."""
    return registry.artifacts.ensure_checksums(registry.artifacts.ensure_mirrored(artifact))


def _datasets(registry: Registry, artifact: Artifact, user: User) -> LinkedDatasets:
    bundled = linked_datasets(
        artifact, registry.store, lambda dataset_id: registry.artifacts.get_any(dataset_id, viewer=user)
    )
    bundled.included = [(folder, _mirrored(registry, dataset)) for folder, dataset in bundled.included]
    return bundled


def _filename(artifact: Artifact) -> str:
    # ASCII only: header values are Latin-1, and S3 echoes the name into its own header.
    stem = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in artifact.name)
    return f"{stem.strip('.') or artifact.id}.zip"


def _announce(headers: dict[str, str], sha256: str | None) -> None:
    if sha256:
        headers["X-Package-SHA256"] = sha256
        headers["Repr-Digest"] = f"sha-256=:{base64.b64encode(bytes.fromhex(sha256)).decode()}:"


def _redirect_target(registry: Registry, redirect: bool | None) -> Presigner | None:
    """The store to redirect to, unless redirects are off or the client opted out (`?redirect=false`).
    Settings refuse `presigned` without S3, so a store lacking the capability here was wired by
    hand: proxy, and say so."""
    if redirect is False or registry.settings.download_redirect != "presigned":
        return None
    if not isinstance(registry.blobs, Presigner):
        log.warning(
            "TMR_DOWNLOAD_REDIRECT=presigned but the %s store cannot presign: proxying", registry.blobs.name
        )
        return None
    return registry.blobs


def _keep(digests: PackageDigests, package: Package, sha256: str) -> None:
    # Every byte is already sent: a mismatch can only be reported, and no digest is announced.
    try:
        digests.record(package, sha256)
    except IntegrityError as exc:
        log.error("package %s: %s (%s)", package.identity, exc.message, exc.details)


def _hashing(chunks: Iterator[bytes], done: Callable[[str], object]) -> Iterator[bytes]:
    hasher = hashlib.sha256()
    for chunk in chunks:
        hasher.update(chunk)
        yield chunk
    done(hasher.hexdigest())  # only reached when every byte was sent
