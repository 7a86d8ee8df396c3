"""Writes through the Hugging Face door, so `huggingface_hub` pointed at the registry
(`HF_ENDPOINT`, a registry token as `HF_TOKEN`) can `create_repo`, `upload_file`,
`upload_folder`, `delete_file` and `create_tag`. The rules live in `tmr.hub.push`; this module
speaks the Hub's wire format (docs/hf-compatible-api.md, docs/architecture.md "Pushing").

Routes (`ApiPrefix` strips `/api`, as for the read routes):
- `POST /api/repos/create`
- `POST /api/{models|datasets}/{ns}/{name}/preupload/{revision}`: "regular" or "lfs" per file
- `POST /[datasets/]{ns}/{name}.git/info/lfs/objects/batch`: the LFS batch API (basic transfer)
- `PUT /hub-lfs/{oid}?user=&size=&grant=`: an LFS object's bytes (the URL authorises itself:
  the client sends no token there), `POST /hub-lfs/{oid}/verify`
- `POST /api/{models|datasets}/{ns}/{name}/commit/{revision}`: the NDJSON commit
- `POST /api/{models|datasets}/{ns}/{name}/tag/{revision}`: a tag, which is the version
- `GET /api/{models|datasets}/{ns}/{name}/xet-write-token/{revision}`: refused, with the way out
- `POST /api/validate-yaml`: a README's front matter checked before a commit
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from tmr.api.deps import RegistryDep
from tmr.api.hfcompat import HubRoute
from tmr.api.hfcompat_access import HubUserDep, hub_error_response
from tmr.api.uploads import read_capped, refuse_announced_over
from tmr.artifacts.models import ArtifactType
from tmr.artifacts.uploads import UploadLimits, spool_upload_async
from tmr.errors import InvalidInput, TmrError
from tmr.hub.push import AddLfs, AddRegular, Delete, Operation, RepoExists

router = APIRouter(tags=["huggingface"], route_class=HubRoute, include_in_schema=False)

# Bodies these routes cap themselves (commits carry small files; LFS objects are files).
HUB_WRITE_PATH = re.compile(r"/(models|datasets)/[^/]+/[^/]+/commit/.+|/hub-lfs/[0-9a-f]{64}")
_TYPES = {"model": ArtifactType.MODEL, "dataset": ArtifactType.DATASET}
_JSON_CAP = 16 * 1024 * 1024  # preupload, batch and tag bodies: a listing of up to 256 files
# A commit's body holds its small files (base64) and is read whole: bounded well below the upload
# limit. The client's upload_folder commits at most ~100 MB of them at once; large files go by LFS.
_COMMIT_CAP = 256 * 1024 * 1024


class XetNotSpoken(TmrError):
    """The client chose Xet storage, which the registry does not speak."""

    status_code = 501
    code = "xet_not_supported"


def _prefix(type_: ArtifactType) -> str:
    return "datasets/" if type_ is ArtifactType.DATASET else ""


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await read_capped(request, _JSON_CAP, "request body exceeds the limit") or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"the body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object")
    return body


def _pairs(items: Any, key: str, what: str) -> list[tuple[str, int]]:
    """`[{key: str, "size": int}, ...]` as pairs; InvalidInput for anything else."""
    if not isinstance(items, list):
        raise InvalidInput(f"{what} must be a list")
    pairs = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get(key), str):
            raise InvalidInput(f"each of {what} needs a string {key!r}")
        size = item.get("size")
        if not isinstance(size, int) or isinstance(size, bool):
            raise InvalidInput(f"each of {what} needs an integer 'size'")
        pairs.append((item[key], size))
    return pairs


def _operation(key: Any, value: Any) -> Operation:
    if not isinstance(value, dict) or not isinstance(value.get("path"), str):
        raise InvalidInput(f"commit line {key!r} needs a value with a string 'path'")
    path = value["path"]
    if key == "file":
        content = value.get("content")
        if not isinstance(content, str):
            raise InvalidInput(f"{path}: 'content' must be a string")
        if value.get("encoding", "utf-8") == "base64":
            try:
                return AddRegular(path, base64.b64decode(content, validate=True))
            except (binascii.Error, ValueError):
                raise InvalidInput(f"{path}: 'content' is not base64") from None
        return AddRegular(path, content.encode("utf-8"))
    if key == "lfsFile":
        oid, size = value.get("oid"), value.get("size")
        if value.get("algo", "sha256") != "sha256" or not isinstance(oid, str):
            raise InvalidInput(f"{path}: an LFS file needs a sha256 'oid'")
        if size is not None and (not isinstance(size, int) or isinstance(size, bool)):
            raise InvalidInput(f"{path}: 'size' must be an integer")
        return AddLfs(path, oid, size)
    if key in ("deletedFile", "deletedFolder"):
        return Delete(path, folder=key == "deletedFolder")
    raise InvalidInput(f"commit line {key!r} is not supported (file, lfsFile, deletedFile, deletedFolder)")


def parse_commit(body: bytes) -> tuple[dict[str, Any], list[Operation]]:
    """The NDJSON commit of `huggingface_hub`: a header line, then one line per operation."""
    header: dict[str, Any] | None = None
    operations: list[Operation] = []
    for number, line in enumerate(body.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            raise InvalidInput(f"commit line {number} is not JSON") from None
        if not isinstance(item, dict):
            raise InvalidInput(f"commit line {number} must be an object")
        key, value = item.get("key"), item.get("value")
        if key == "header":
            if header is not None or not isinstance(value, dict):
                raise InvalidInput("a commit has one header object")
            header = value
        else:
            operations.append(_operation(key, value))
    if header is None:
        raise InvalidInput("the commit has no header line")
    return header, operations


def _repo(type_: ArtifactType, action: str) -> Callable[..., Coroutine[Any, Any, Response]]:
    """POST `/api/{models|datasets}/{ns}/{name}/{action}/{revision}` for preupload, commit, tag."""

    async def write(
        request: Request,
        user: HubUserDep,
        registry: RegistryDep,
        org: str,
        name: str,
        revision: str,
        create_pr: Annotated[str | None, Query()] = None,
    ) -> Response:
        repo_id = f"{org}/{name}"
        push = registry.hub_push
        if create_pr not in (None, "", "0", "false"):
            raise InvalidInput("pull requests are not supported: push to the branch main")
        if action == "preupload":
            pairs = _pairs((await _json(request)).get("files"), "path", "files")
            modes = await run_in_threadpool(push.preupload, user, type_, repo_id, revision, pairs)
            return JSONResponse(
                {
                    "files": [
                        {
                            "path": p,
                            "uploadMode": "lfs" if lfs else "regular",
                            "shouldIgnore": False,
                            "oid": None,
                        }
                        for p, lfs in modes
                    ],
                    "commitOid": None,
                }
            )
        if action == "tag":
            tag = (await _json(request)).get("tag")
            tag = tag if isinstance(tag, str) else ""
            pushed = await run_in_threadpool(push.tag, user, type_, repo_id, revision, tag)
            return JSONResponse({"tag": pushed.registered.artifact.version, "commitOid": pushed.commit})
        cap = min(_COMMIT_CAP, registry.settings.upload_max_bytes)
        body_bytes = await read_capped(request, cap, "request body exceeds the limit")
        header, operations = parse_commit(body_bytes)
        parent = header.get("parentCommit")
        pushed = await run_in_threadpool(
            push.commit,
            user,
            type_,
            repo_id,
            revision,
            operations,
            parent if isinstance(parent, str) else None,
        )
        url = f"{_base(request)}/{_prefix(type_)}{repo_id}/commit/{pushed.commit}"
        return JSONResponse(
            {"success": True, "commitUrl": url, "commitOid": pushed.commit, "pullRequestUrl": None}
        )

    return write


@router.post("/repos/create", name="hf_create_repo")
async def create_repo(request: Request, user: HubUserDep, registry: RegistryDep) -> Response:
    body = await _json(request)
    type_ = _TYPES.get(body.get("type") or "model")
    if type_ is None:
        raise InvalidInput("the registry holds model and dataset repositories")
    name, organization = body.get("name"), body.get("organization")
    if not isinstance(name, str) or not (organization is None or isinstance(organization, str)):
        raise InvalidInput("'name' must be a string, and 'organization' a string or null")
    url = f"{_base(request)}/{_prefix(type_)}{organization or user.name}/{name}"
    try:
        repo_id = await run_in_threadpool(registry.hub_push.create_repo, user, type_, name, organization)
    except RepoExists as exc:
        # `create_repo(exist_ok=True)` reads the URL from the 409's body.
        refused = hub_error_response(exc)
        headers = {k: v for k, v in refused.headers.items() if k.lower().startswith("x-error-")}
        body = {"error": exc.message, "url": url}
        return JSONResponse(body, status_code=refused.status_code, headers=headers)
    return JSONResponse({"url": url, "name": repo_id})


@router.post("/validate-yaml", name="hf_validate_yaml")
async def validate_yaml(request: Request, user: HubUserDep, registry: RegistryDep) -> Response:
    content = (await _json(request)).get("content")
    if not isinstance(content, str):
        raise InvalidInput("'content' must be the README's text")
    warnings = registry.hub_push.card_warnings(content)
    return JSONResponse({"errors": [], "warnings": [{"message": w} for w in warnings]})


def _lfs_batch(type_: ArtifactType) -> Callable[..., Coroutine[Any, Any, Response]]:
    async def batch(
        request: Request, user: HubUserDep, registry: RegistryDep, org: str, name: str
    ) -> Response:
        body = await _json(request)
        if body.get("operation") != "upload":
            raise InvalidInput("the registry's LFS batch API takes uploads (downloads use resolve/)")
        transfers = body.get("transfers") or ["basic"]
        if not isinstance(transfers, list) or "basic" not in transfers:
            raise InvalidInput("the registry speaks the basic LFS transfer only")
        pairs = _pairs(body.get("objects"), "oid", "objects")
        objects = await run_in_threadpool(registry.hub_push.lfs_batch, user, type_, f"{org}/{name}", pairs)
        answer = []
        for obj in objects:
            item: dict[str, Any] = {"oid": obj.sha256, "size": obj.size}
            if obj.grant is not None:
                upload = request.url_for("hf_lfs_upload", oid=obj.sha256).include_query_params(
                    user=user.name, size=obj.size, grant=obj.grant
                )
                verify = request.url_for("hf_lfs_verify", oid=obj.sha256)
                item["actions"] = {"upload": {"href": str(upload)}, "verify": {"href": str(verify)}}
            answer.append(item)
        return JSONResponse(
            {"transfer": "basic", "objects": answer, "hash_algo": "sha256"},
            media_type="application/vnd.git-lfs+json",
        )

    return batch


@router.put("/hub-lfs/{oid}", name="hf_lfs_upload")
async def lfs_upload(
    request: Request,
    registry: RegistryDep,
    oid: str,
    user: Annotated[str, Query()],
    size: Annotated[int, Query()],
    grant: Annotated[str, Query()],
) -> Response:
    """The bytes of an LFS object, spooled (bounded by the declared size) and stored if they hash
    to the declared sha256; the URL's grant stands for the token the client does not send."""
    push = registry.hub_push
    push.check_grant(user, oid, size, grant)
    refuse_announced_over(request.headers.get("content-length"), size)
    limits = UploadLimits(max_upload_bytes=size)
    with await spool_upload_async(request.stream(), limits, registry.settings.spool_dir) as spooled:
        await run_in_threadpool(push.lfs_store, user, oid, size, grant, spooled)
    return Response(status_code=200)


@router.post("/hub-lfs/{oid}/verify", name="hf_lfs_verify")
async def lfs_verify(request: Request, user: HubUserDep, registry: RegistryDep, oid: str) -> Response:
    body = await _json(request)
    size = body.get("size")
    if body.get("oid") != oid or not isinstance(size, int):
        raise InvalidInput("verify takes the object's oid and size")
    await run_in_threadpool(registry.hub_push.lfs_verify, user, oid, size)
    return JSONResponse({"success": True})


def _xet_token(type_: ArtifactType) -> Callable[..., Response]:
    def xet_token(user: HubUserDep, registry: RegistryDep, org: str, name: str, revision: str) -> Response:
        registry.hub_push.writable(user, type_, f"{org}/{name}", revision)  # 403 before the way out
        raise XetNotSpoken(
            "this registry takes large files over Git LFS, not Xet: set HF_HUB_DISABLE_XET=1 "
            "before importing huggingface_hub"
        )

    return xet_token


for _prefix_path, _type in (("/models", ArtifactType.MODEL), ("/datasets", ArtifactType.DATASET)):
    for _action in ("preupload", "commit", "tag"):
        router.add_api_route(
            f"{_prefix_path}/{{org}}/{{name}}/{_action}/{{revision:path}}",
            _repo(_type, _action),
            methods=["POST"],
            response_model=None,
            name=f"hf_{_type.value}_{_action}",
        )
    router.add_api_route(
        f"{_prefix_path}/{{org}}/{{name}}/xet-write-token/{{revision:path}}",
        _xet_token(_type),
        methods=["GET"],
        response_model=None,
        name=f"hf_{_type.value}_xet_write_token",
    )
for _prefix_path, _type in (("/datasets", ArtifactType.DATASET), ("", ArtifactType.MODEL)):
    router.add_api_route(
        f"{_prefix_path}/{{org}}/{{name}}.git/info/lfs/objects/batch",
        _lfs_batch(_type),
        methods=["POST"],
        response_model=None,
        name=f"hf_{_type.value}_lfs_batch",
    )
