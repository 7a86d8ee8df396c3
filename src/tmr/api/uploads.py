"""tmr's upload route (beside the contract): a zipped package in Hugging Face layout, streamed in.

The body is the zip itself (`curl --data-binary @model.zip -H 'Content-Type: application/zip'`),
so it can be spooled to disk as it arrives and never sits whole in memory; a multipart form
would be parsed and spooled by the framework before any limit could apply.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from tmr.api.deps import RegistryDep, TypeDep, UserDep
from tmr.api.presenters import artifact_out
from tmr.api.refusals import INVALID, NO_TOKEN, refusal
from tmr.api.schemas import UploadOut
from tmr.artifacts.registration import Registered
from tmr.artifacts.uploads import SpooledUpload, spool_upload_async
from tmr.container import Registry
from tmr.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType

router = APIRouter(tags=["uploads"])
# Paths whose bodies are uploads, exempt from the JSON body cap: they enforce the upload limits
# themselves (this route, and the browser's upload form in `tmr.web.pages.upload`).
# A transaction's commands are exempt too: an upload command's body is its zip (and a JSON
# command's body is capped by `tmr.api.transactions` itself). So are an upload session's parts
# (PATCH /uploads/{id}, capped at TMR_UPLOAD_PART_BYTES by `tmr.api.upload_sessions`).
UPLOAD_PATH = re.compile(r"/artifact/[^/]+/upload|/ui/upload|/transactions/[^/]+/commands|/uploads/[^/]+")
ZIP_TYPES = {"application/zip", "application/x-zip-compressed", "application/octet-stream"}


def refuse_announced_over(
    content_length: str | None, limit: int, too_large: str = "upload exceeds the size limit"
) -> None:
    """A body whose Content-Length is over `limit` is refused (413, `too_large`) before a byte is
    read."""
    if content_length is None:
        return
    if not content_length.strip().isdigit():
        raise InvalidInput("Content-Length must be a number of bytes")
    if int(content_length) > limit:
        raise PayloadTooLarge(too_large, limit=limit)


async def read_capped(request: Request, limit: int, too_large: str) -> bytes:
    """A body read whole (a JSON document, a commit, a part, a program): refused with 413 and
    `too_large` once it is over `limit` bytes, announced or not, before more is held."""
    refuse_announced_over(request.headers.get("content-length"), limit, too_large)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(too_large, limit=limit)
    return bytes(body)


async def spooled_zip(request: Request, registry: Registry) -> SpooledUpload:
    """The request's body, a zip, spooled to disk within the upload limits (415 unless it is
    declared as a zip; 413 over the limits, announced or not)."""
    content_type = request.headers.get("content-type")
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media not in ZIP_TYPES:
        raise UnsupportedMediaType(
            "send the zip itself as the request body with Content-Type: application/zip",
            content_type=content_type or "",
        )
    limits = registry.settings.upload_limits
    refuse_announced_over(request.headers.get("content-length"), limits.max_upload_bytes)
    return await spool_upload_async(request.stream(), limits, registry.settings.spool_dir)


@router.post(
    "/artifact/{artifact_type}/upload",
    status_code=201,
    response_model=UploadOut,
    responses={
        **INVALID,
        401: refusal("Missing the upload permission"),
        **NO_TOKEN,
        409: refusal("This zip is already uploaded as this type, or the name is a Hub repository's"),
        413: refusal("Over the upload limits (size, files, expansion)"),
        415: refusal("The body is not declared as a zip"),
    },
    # The body is the zip itself, described here since no parameter reads it; its Content-Type and
    # Content-Length are read from the request, not declared as parameters: they frame the body
    # and belong to HTTP, and a parameter invites a client to send them empty or made up.
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def upload(
    request: Request,
    user: UserDep,
    registry: RegistryDep,
    type_: TypeDep,
    name: Annotated[str, Query(min_length=1)],
    version: Annotated[str | None, Query()] = None,
) -> UploadOut:
    """Upload a private artifact: validated, exploded into shared blobs, indexed, rated."""
    with await spooled_zip(request, registry) as spooled:
        registered = await run_in_threadpool(
            registry.registration.upload, user, type_, spooled, name, version
        )
    return uploaded(request, registered)


def uploaded(request: Request, registered: Registered) -> UploadOut:
    """The answer to an upload, whichever way its zip came: this route, or an upload session
    finished (`tmr.api.upload_sessions`), which registers through the same
    `RegistrationService.upload`."""
    artifact = registered.artifact
    out = artifact_out(request, artifact)
    return UploadOut(
        metadata=out.metadata,
        data=out.data,
        version=artifact.version,
        visibility=artifact.visibility.value,
        size_bytes=artifact.size_bytes,
        files=len(artifact.files),
        unsafe_files=[f.path for f in artifact.files if f.unsafe],
        net_score=registered.net_score,
    )
