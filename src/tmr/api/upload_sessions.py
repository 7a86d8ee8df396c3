"""tmr's resumable uploads (beside the contract), modelled on tus 1.0's core, in JSON and headers
(`tmr.artifacts.upload_sessions` has the rules):

    POST   /uploads?type=…&name=…[&version=…]   Upload-Length: N → 201, Location: /uploads/{id}
    PATCH  /uploads/{id}                        Upload-Offset: K, the next bytes → 204, Upload-Offset
    HEAD   /uploads/{id}, GET /uploads/{id}     the offset (headers; GET also as JSON)
    POST   /uploads/{id}/finish                 {"sha256": …} → 201, as POST /artifact/{type}/upload
    DELETE /uploads/{id}                        give it up → 204

A session is its creator's: to anyone else it does not exist (404), and so is an expired,
finished or deleted one (404, never 410: a client has one answer to handle, "start again").
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, StrictStr
from starlette.requests import ClientDisconnect

from tmr.api.deps import RegistryDep, UserDep
from tmr.api.presenters import base_url
from tmr.api.refusals import INVALID, NO_TOKEN, Responses, refusal
from tmr.api.routing import JsonBodyRoute, media_type_of
from tmr.api.schemas import UploadOut, _In
from tmr.api.uploads import read_capped, uploaded
from tmr.artifacts.models import ArtifactType
from tmr.artifacts.upload_sessions import OffsetMismatch, UploadSession
from tmr.errors import InvalidInput, UnsupportedMediaType

router = APIRouter(tags=["uploads"], route_class=JsonBodyRoute, responses={**INVALID, **NO_TOKEN})

PART_TYPES = {"application/offset+octet-stream", "application/octet-stream"}
_YOURS: Responses = {
    401: refusal("Missing the `upload` permission"),
    404: refusal("No such upload session: another user's, expired, finished or deleted"),
}


class UploadSessionOut(BaseModel):
    id: str
    state: Literal["open", "complete"]  # complete: every byte is in, waiting for its finish
    offset: int  # the bytes stored so far: the next part starts here
    length: int  # the whole zip's bytes
    part_bytes: int  # the most bytes a PATCH may carry
    type: ArtifactType
    name: str
    version: str | None
    created_at: datetime
    expires_at: datetime  # gone after this (404), whatever it holds


class FinishIn(_In):
    sha256: StrictStr  # of the whole zip, as the client made it


def _out(session: UploadSession) -> UploadSessionOut:
    return UploadSessionOut(
        id=session.id,
        state="complete" if session.complete else "open",
        offset=session.offset,
        length=session.length,
        part_bytes=session.part_bytes,
        type=session.type,
        name=session.name,
        version=session.version,
        created_at=session.created_at,
        expires_at=session.expires_at,
    )


def _offsets(session: UploadSession) -> dict[str, str]:
    return {
        "Upload-Offset": str(session.offset),
        "Upload-Length": str(session.length),
        "Cache-Control": "no-store",
    }


def _bytes_header(value: str, header: str) -> int:
    if not value.strip().isdigit():
        raise InvalidInput(f"{header} must be a number of bytes")
    return int(value)


@router.post(
    "/uploads",
    status_code=201,
    response_model=UploadSessionOut,
    summary="Open a resumable upload",
    responses={
        401: _YOURS[401],
        409: refusal("The name is a Hugging Face repository's"),
        413: refusal("Upload-Length is over the upload limit"),
    },
)
def create_session(
    request: Request,
    response: Response,
    user: UserDep,
    registry: RegistryDep,
    artifact_type: Annotated[ArtifactType, Query(alias="type", description="model, dataset or code")],
    name: Annotated[str, Query(min_length=1, description="The artifact's name")],
    upload_length: Annotated[str, Header(alias="Upload-Length", description="The zip's size in bytes")],
    version: Annotated[str | None, Query(description="Its version: 1.2.3")] = None,
) -> UploadSessionOut:
    """A session for one zip of `Upload-Length` bytes, checked now as its upload would be
    (permission, name, type, version), so a push that would be refused fails before it sends."""
    length = _bytes_header(upload_length, "Upload-Length")
    session = registry.upload_sessions.create(user, artifact_type, name, version, length)
    response.headers["Location"] = f"{base_url(request)}/uploads/{session.id}"
    response.headers.update(_offsets(session))
    return _out(session)


@router.get(
    "/uploads/{id}", response_model=UploadSessionOut, summary="Read an upload session", responses=_YOURS
)
def read_session(user: UserDep, registry: RegistryDep, id: str, response: Response) -> UploadSessionOut:
    """Its offset (also in `Upload-Offset`), length, state and expiry."""
    session = registry.upload_sessions.get(user, id)
    response.headers.update(_offsets(session))
    return _out(session)


@router.head("/uploads/{id}", status_code=200, summary="An upload session's offset", responses=_YOURS)
def session_offset(user: UserDep, registry: RegistryDep, id: str) -> Response:
    """`Upload-Offset` and `Upload-Length`, without a body: where a resumed push goes on."""
    return Response(status_code=200, headers=_offsets(registry.upload_sessions.get(user, id)))


@router.patch(
    "/uploads/{id}",
    status_code=204,
    summary="Send the next part of an upload",
    responses={
        204: {"description": "Stored; `Upload-Offset` is the new offset"},
        **_YOURS,
        409: refusal("Upload-Offset is not the session's offset (`details.offset` and the header say it)"),
        413: refusal("The part is over `part_bytes`, or runs past the upload's length"),
        415: refusal("The body is not declared as application/offset+octet-stream"),
    },
    # Documented as application/octet-stream, which every client library (and the fuzzer) can send;
    # tus's application/offset+octet-stream is taken as well (the route's description says so).
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def append_part(
    request: Request,
    user: UserDep,
    registry: RegistryDep,
    id: str,
    upload_offset: Annotated[str, Header(alias="Upload-Offset", description="Where this part starts")],
) -> Response:
    """The body is the part's bytes (`Content-Type: application/offset+octet-stream`, as tus
    sends them, or `application/octet-stream`). The part is stored only once its whole body has
    arrived: a cut request stores nothing and leaves the offset where it was, so the client asks
    for it (HEAD) and sends the part again."""
    offset = _bytes_header(upload_offset, "Upload-Offset")
    declared = request.headers.get("content-type") or ""
    if (media_type_of(declared) if declared else "") not in PART_TYPES:
        raise UnsupportedMediaType(
            "send the part's bytes with Content-Type: application/offset+octet-stream",
            content_type=declared,
        )
    try:
        data = await _part(request, registry.upload_sessions.part_bytes)
    except ClientDisconnect:  # the client hung up mid-part: nothing was stored, no one listens
        return Response(status_code=400)
    try:
        session = await run_in_threadpool(registry.upload_sessions.append, user, id, offset, data)
    except OffsetMismatch as exc:
        message, details = exc.public()
        return JSONResponse(
            {"detail": message, "code": exc.code, "details": details},
            status_code=exc.status_code,
            headers={"Upload-Offset": str(exc.offset), "Cache-Control": "no-store"},
        )
    return Response(status_code=204, headers=_offsets(session))


async def _part(request: Request, limit: int) -> bytes:
    """The body, whole, at most `limit` bytes (413 announced or not)."""
    body = await read_capped(request, limit, f"a part carries at most {limit} bytes")
    declared = request.headers.get("content-length")
    if declared is not None and int(declared) != len(body):
        raise InvalidInput("the body is not as long as its Content-Length")
    return body


@router.post(
    "/uploads/{id}/finish",
    status_code=201,
    response_model=UploadOut,
    summary="Register a complete upload",
    responses={
        400: refusal(
            "Malformed sha256, bytes still missing (the session stays), or the zip's sha256 is not "
            "the one sent (the session is discarded, nothing registered), or an invalid zip"
        ),
        **_YOURS,
        409: refusal("This zip is already uploaded as this type, or the name is a Hub repository's"),
        413: refusal("Over the upload limits (files, expansion)"),
    },
)
def finish_session(
    request: Request, user: UserDep, registry: RegistryDep, id: str, body: FinishIn
) -> UploadOut:
    """Registered exactly as `POST /artifact/{type}/upload` registers the same zip, with its
    answer. The session is gone afterwards, whatever the outcome: finishing twice is a 404."""
    return uploaded(request, registry.upload_sessions.finish(user, id, body.sha256))


@router.delete(
    "/uploads/{id}",
    status_code=204,
    response_class=Response,
    summary="Give an upload session up",
    responses=_YOURS,
)
def delete_session(user: UserDep, registry: RegistryDep, id: str) -> Response:
    """Its parts are released (collectable orphans)."""
    registry.upload_sessions.delete(user, id)
    return Response(status_code=204)
