"""Upload a zip in Hugging Face layout: a private artifact of the signed-in user.

One route takes two shapes of the same request and ends both in `RegistrationService.upload`,
as `POST /artifact/{type}/upload` does:
- the page's script sends the zip itself as the body (the API's shape: `Content-Type:
  application/zip`, the fields in the query, the form key in `X-Form-Key`), so it can report
  the bytes sent; the body streams through the API's spooler as it arrives, and the answer is
  JSON the script reads;
- without JavaScript, the form is `multipart/form-data`. The framework parses it to check the
  form key (its files roll over to a temporary file past 1 MiB, so memory stays bounded); the
  length is required and checked first, so a form much over the limit is never read; the file
  part then streams through the same spooler, which holds it to the exact limit, and the
  answer is a redirect or the form with its errors.
Either way the spooled file is removed whatever happens, a client that hangs up included.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from tmr.accounts.models import Principal
from tmr.api.uploads import ZIP_TYPES, refuse_announced_over
from tmr.artifacts.models import ArtifactType
from tmr.artifacts.uploads import CHUNK_SIZE, UploadLimits, spool_upload_async
from tmr.errors import Conflict, InvalidInput, PayloadTooLarge, TmrError, UnsupportedMediaType
from tmr.web.pages.register import TYPES, sentence
from tmr.web.routing import PageRoute
from tmr.web.session import CsrfDep, SignedInDep, registry_of
from tmr.web.templating import href, human_bytes, render

router = APIRouter(route_class=PageRoute)

MULTIPART = "multipart/form-data"
NO_FILE = "Choose a zip file to upload."
NO_NAME = "Enter a name for the artifact, for example acme/sentiment."
# What a form adds to its file: boundaries, part headers, the form key, type, name and version.
FORM_ALLOWANCE = 64 * 1024


class LengthRequired(TmrError):
    """A form sent without a Content-Length: the framework would spool it whole before any limit."""

    status_code = 411
    code = "length_required"


@dataclass
class UploadForm:
    type: str = ArtifactType.MODEL.value
    name: str = ""
    version: str = ""
    errors: dict[str, str] = field(default_factory=dict)  # field → message
    existing_id: str | None = None


def too_large(limits: UploadLimits) -> str:
    return f"The zip is larger than the limit of {human_bytes(limits.max_upload_bytes)}. Nothing was stored."


def _media(request: Request) -> str:
    return (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()


def _limits(request: Request) -> UploadLimits:
    return registry_of(request).settings.upload_limits


def _page(request: Request, form: UploadForm, status: int = 200) -> Response:
    limits = _limits(request)
    return render(
        request,
        "upload.html",
        {
            "form": form,
            "types": TYPES,
            "limits": limits,
            # The script says what the server would, before sending bytes it would refuse.
            "messages": {"no_file": NO_FILE, "no_name": NO_NAME, "too_large": too_large(limits)},
            "limit_rows": [
                ("Zip file", f"at most {human_bytes(limits.max_upload_bytes)}"),
                ("Files in the zip", f"at most {limits.max_entries:,}"),
                ("Unpacked", f"at most {human_bytes(limits.max_total_uncompressed)} in all"),
                (
                    "Compression",
                    f"at most {limits.max_ratio}:1 for any file, and the whole zip, over "
                    f"{human_bytes(limits.ratio_floor_bytes)}",
                ),
            ],
        },
        status_code=status,
    )


@router.get("/ui/upload")
def upload_form(request: Request, _principal: SignedInDep) -> Response:
    return _page(request, UploadForm())


def check_length(request: Request) -> None:
    """Before the form key is read (which parses a form whole): an upload announced over the
    limit is refused before a byte is read, and a form must announce its length."""
    limit = _limits(request).max_upload_bytes
    declared = request.headers.get("content-length")
    if _media(request) == MULTIPART:
        if declared is None:
            raise LengthRequired("send the form with a Content-Length header")
        limit += FORM_ALLOWANCE
    try:
        refuse_announced_over(declared, limit)
    except PayloadTooLarge as exc:
        raise PayloadTooLarge(too_large(_limits(request)), **exc.details) from None


@router.post("/ui/upload", dependencies=[Depends(check_length), CsrfDep])
async def upload_submit(request: Request, principal: SignedInDep) -> Response:
    media = _media(request)
    if media == MULTIPART:
        return await _from_form(request, principal)
    if media in ZIP_TYPES:
        return await _from_script(request, principal)
    form = UploadForm()
    form.errors["file"] = "Send the zip with this page's form."
    return _page(request, form, UnsupportedMediaType.status_code)


async def _from_form(request: Request, principal: Principal) -> Response:
    data = await request.form()  # already parsed by the form-key check: the same object
    try:
        form = _fields(data)
        chosen = data.get("file")
        if not isinstance(chosen, UploadFile) or not (chosen.filename or chosen.size):
            form.errors.setdefault("file", NO_FILE)
        if form.errors:
            return _page(request, form, 400)
        assert isinstance(chosen, UploadFile)
        try:
            artifact_id, unsafe = await _upload(request, principal, form, _read(chosen))
        except TmrError as exc:
            if not _explain(form, exc):
                raise
            return _page(request, form, exc.status_code)
    finally:
        await data.close()
    return RedirectResponse(_artifact_url(request, artifact_id, unsafe), status_code=303)


async def _from_script(request: Request, principal: Principal) -> Response:
    form = _fields(request.query_params)
    if not form.errors:
        try:
            artifact_id, unsafe = await _upload(request, principal, form, request.stream())
        except TmrError as exc:
            if not _explain(form, exc):
                raise
            return _refusal(request, form, exc.status_code)
        return JSONResponse(
            {"id": artifact_id, "location": _artifact_url(request, artifact_id, unsafe)}, status_code=201
        )
    return _refusal(request, form, 400)


def _refusal(request: Request, form: UploadForm, status: int) -> JSONResponse:
    """The form's errors for the script, which ties each to its field as the page does."""
    existing = href(request, f"/ui/artifacts/{form.existing_id}") if form.existing_id else None
    return JSONResponse({"errors": form.errors, "existing": existing}, status_code=status)


def _fields(source: Mapping[str, Any]) -> UploadForm:
    def text(name: str) -> str:
        value = source.get(name)
        return value if isinstance(value, str) else ""

    form = UploadForm(
        type=text("type") or ArtifactType.MODEL.value, name=text("name"), version=text("version")
    )
    if form.type not in {t for t, _ in TYPES}:
        form.errors["type"] = "Choose whether this is a model, a dataset or code."
    if not form.name.strip():
        form.errors["name"] = NO_NAME
    return form


async def _read(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(CHUNK_SIZE):
        yield chunk


async def _upload(
    request: Request, principal: Principal, form: UploadForm, chunks: AsyncIterator[bytes]
) -> tuple[str, bool]:
    """Spool the bytes (the API's spooler and limits), then the one upload service call."""
    registry = registry_of(request)
    spooled = await spool_upload_async(chunks, registry.settings.upload_limits, registry.settings.spool_dir)
    with spooled:
        registered = await run_in_threadpool(
            registry.registration.upload,
            principal,
            ArtifactType(form.type),
            spooled,
            form.name,
            form.version.strip() or None,
        )
    artifact = registered.artifact
    return artifact.id, any(f.unsafe for f in artifact.files)


def _artifact_url(request: Request, artifact_id: str, unsafe: bool) -> str:
    return href(request, f"/ui/artifacts/{artifact_id}", notice="uploaded-unsafe" if unsafe else "uploaded")


def _explain(form: UploadForm, exc: TmrError) -> bool:
    """Tie a refusal to the field it is about; False for errors the error page shows instead."""
    if not isinstance(exc, InvalidInput | PayloadTooLarge | Conflict | UnsupportedMediaType):
        return False
    message = exc.message
    if isinstance(exc, Conflict):
        existing = exc.details.get("id")
        form.existing_id = existing if isinstance(existing, str) else None
        form.errors["file"] = sentence(message) + " Nothing new was stored."
    elif message.startswith(("name ", "the name")):
        form.errors["name"] = sentence(message)
    elif message.startswith(("not a version", "a version")):
        form.errors["version"] = sentence(message)
    else:
        form.errors["file"] = sentence(message + _about(exc.details)) + " Nothing was stored."
    return True


def _about(details: Mapping[str, Any]) -> str:
    """The details a refusal carries, in words: which entry, and which limit."""
    said = []
    if isinstance(details.get("path"), str):
        said.append(f"entry {details['path']}")
    limit = details.get("limit")
    if isinstance(limit, int):
        said.append(
            f"the limit is {limit:,} entries"
            if "entries" in details
            else f"the limit is {human_bytes(limit)}"
        )
    return f" ({'; '.join(said)})" if said else ""
