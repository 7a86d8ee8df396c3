"""A read-only Hugging Face Hub API over the registry, so `huggingface_hub` (`snapshot_download`,
`hf_hub_download`, `HfApi.model_info/list_repo_tree/...`) and `transformers` (`HF_ENDPOINT`) can
use the registry as their endpoint. See docs/hf-compatible-api.md.

Routes (every one needs the registry's token):
- `GET /api/{models|datasets}/{repo_id}[/revision/{revision}]`: the repository description
- `GET /api/{models|datasets}/{repo_id}/tree/{revision}[/{path}]`: the file tree
- `POST /api/{models|datasets}/{repo_id}/paths-info/{revision}`, `GET .../refs`
- `GET|HEAD /{repo_id}/resolve/{revision}/{path}`, `/datasets/{repo_id}/resolve/...`: file bytes

`ApiPrefix` strips `/api` before routing, so the API routes are registered as `/models/...` and
`/datasets/...`; no contract route starts with those. Repository ids have one or two segments.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Header, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from tmr.api.deps import RegistryDep
from tmr.api.hfcompat_access import HubUserDep, hub_error_response
from tmr.api.streaming import respond
from tmr.artifacts.models import ArtifactType
from tmr.downloads.plan import Conditions
from tmr.errors import NotFound, TmrError
from tmr.hub.repo import MAIN
from tmr.hub.service import EntryNotFound

_ACTIONS = frozenset({"revision", "tree", "paths-info", "refs"})
_REF_KINDS = frozenset({"heads", "tags", "pr", "convert"})


class HubRoute(APIRoute):
    """Domain errors in the Hub's shape (`{"error"}`, X-Error-Code), which huggingface_hub turns
    into its typed errors; the rest of the registry keeps the contract's error body."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def hub_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except TmrError as exc:
                return hub_error_response(exc)

        return hub_handler


# Out of the OpenAPI document: it describes the registry's own API; this one is the Hub's.
router = APIRouter(tags=["huggingface"], route_class=HubRoute, include_in_schema=False)


@dataclass(frozen=True, slots=True)
class ApiPath:
    repo_id: str
    action: str  # "" (description), "revision", "tree", "paths-info" or "refs"
    revision: str
    path: str


def split_revision(segments: list[str]) -> tuple[str, str]:
    """`refs/heads/x` may arrive with its slashes decoded: keep it whole as the revision."""
    if len(segments) >= 3 and segments[0] == "refs" and segments[1] in _REF_KINDS:
        return "/".join(segments[:3]), "/".join(segments[3:])
    return segments[0], "/".join(segments[1:])


def parse_api_path(rest: str) -> ApiPath | None:
    """`org/name/tree/main/sub` → ApiPath("org/name", "tree", "main", "sub"). A two-segment
    repository id is read first; None for paths this API does not serve."""
    segments = rest.strip("/").split("/")
    if any(not s for s in segments):
        return None
    one = len(segments) >= 2 and segments[1] in _ACTIONS
    two = len(segments) >= 3 and segments[2] in _ACTIONS
    if two and not (one and segments[1] != "refs" and segments[2] == "refs"):  # `bert/tree/refs/…`
        used = 2
    elif one:
        used = 1
    elif len(segments) <= 2:
        return ApiPath("/".join(segments), "", MAIN, "")
    else:
        return None
    repo_id, action, args = "/".join(segments[:used]), segments[used], segments[used + 1 :]
    if action == "refs":
        return ApiPath(repo_id, action, MAIN, "") if not args else None
    if not args:
        return None
    if action in ("revision", "paths-info"):
        return ApiPath(repo_id, action, "/".join(args), "")
    revision, path = split_revision(args)
    return ApiPath(repo_id, action, revision, path)


def truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def _unknown_page() -> NotFound:
    return NotFound("Sorry, we can't find the page you are looking for.")


def _describe(type_: ArtifactType) -> Callable[..., Response]:
    def describe(request: Request, user: HubUserDep, registry: RegistryDep, rest: str) -> Response:
        parsed = parse_api_path(rest)
        if parsed is None or parsed.action == "paths-info":
            raise _unknown_page()
        query = request.query_params
        if parsed.action == "refs":
            repo = registry.hub.repo(user, parsed.repo_id, type_)
            return JSONResponse(repo.refs(include_prs=truthy(query.get("include_prs"))))
        repo = registry.hub.revision(user, parsed.repo_id, type_, parsed.revision)
        if parsed.action in ("", "revision"):
            expand = query.getlist("expand") + query.getlist("expand[]")
            return JSONResponse(repo.info(blobs=truthy(query.get("blobs")), expand=expand))
        tree = repo.tree(
            parsed.path, recursive=truthy(query.get("recursive")), expand=truthy(query.get("expand"))
        )
        if tree is None:
            raise EntryNotFound(f"{parsed.path} does not exist on {repo.commit}", commit=repo.commit)
        return JSONResponse(tree)

    return describe


def _paths_info(type_: ArtifactType) -> Callable[..., Coroutine[Any, Any, Response]]:
    async def paths_info(request: Request, user: HubUserDep, registry: RegistryDep, rest: str) -> Response:
        parsed = parse_api_path(rest)
        if parsed is None or parsed.action != "paths-info":
            raise _unknown_page()
        form = parse_qs((await request.body()).decode("utf-8", errors="replace"))
        expand = truthy((form.get("expand") or ["false"])[0])

        def answer() -> list[dict[str, Any]]:
            repo = registry.hub.revision(user, parsed.repo_id, type_, parsed.revision)
            return repo.paths_info(form.get("paths", []), expand=expand)

        return JSONResponse(await run_in_threadpool(answer))

    return paths_info


def _file(type_: ArtifactType) -> Callable[..., Response]:
    def resolve_file(
        request: Request,
        user: HubUserDep,
        registry: RegistryDep,
        revision: str,
        path: str,
        range_: Annotated[str | None, Header(alias="Range")] = None,
        if_range: Annotated[str | None, Header(alias="If-Range")] = None,
        if_none_match: Annotated[str | None, Header(alias="If-None-Match")] = None,
    ) -> Response:
        params = request.path_params
        repo_id = params.get("repo_id") or f"{params['org']}/{params['name']}"
        revision, path = split_revision([revision, *path.split("/")])
        conditions = Conditions(range_, if_range, if_none_match)
        head = request.method == "HEAD"
        client = request.client.host if request.client else None
        return respond(
            registry.hub.file(user, repo_id, type_, revision, path, conditions, head=head, client=client)
        )

    return resolve_file


# Files first: `/datasets/x/resolve/...` is a dataset's file, not the model `datasets/x`, and
# `/{org}/{name}/resolve/...` must not be read as an API path.
for _prefix, _type in (("/datasets", ArtifactType.DATASET), ("", ArtifactType.MODEL)):
    for _repo in ("{repo_id}", "{org}/{name}"):
        router.add_api_route(
            f"{_prefix}/{_repo}/resolve/{{revision}}/{{path:path}}",
            _file(_type),
            methods=["GET", "HEAD"],
            response_model=None,
            name=f"hf_{_type.value}_file",
        )
for _prefix, _type in (("/models", ArtifactType.MODEL), ("/datasets", ArtifactType.DATASET)):
    router.add_api_route(
        f"{_prefix}/{{rest:path}}",
        _describe(_type),
        methods=["GET"],
        response_model=None,
        name=f"hf_{_type.value}",
    )
    router.add_api_route(
        f"{_prefix}/{{rest:path}}",
        _paths_info(_type),
        methods=["POST"],
        response_model=None,
        name=f"hf_{_type.value}_paths_info",
    )
