"""Hugging Face Hub routes: repo info, tree, refs, paths-info and file resolve, with Hub-style errors.

Routing works on the raw (still percent-encoded) request path because the Hub encodes revisions such as
`refs%2Fpr%2F1` as one segment, which a decoded-path router could not tell apart from nested paths.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import parse_qs, quote, unquote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from tests.emulator.common import blob_response, json_response, truthy
from tests.emulator.content import safetensors_parameters
from tests.emulator.repos import Fixtures, HfFile, HfRepo, RepoType

PAGE_SIZE = 1000
EXPAND_PAGE_SIZE = 50


def hub_error(status: int, code: str | None, message: str, headers: dict[str, str] | None = None) -> Response:
    """An error answer as the Hub sends it: JSON {"error"} plus X-Error-Code / X-Error-Message headers."""
    extra = {"X-Error-Message": message, **(headers or {})}
    if code is not None:
        extra["X-Error-Code"] = code
    return json_response({"error": message}, status, extra)


def _token(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _take_revision(segs: list[str]) -> tuple[str, list[str]]:
    """Split a revision off the front of decoded segments (`refs/pr/1` may arrive unencoded)."""
    if len(segs) >= 3 and segs[0] == "refs" and segs[1] in ("pr", "convert", "heads", "tags"):
        return "/".join(segs[:3]), segs[3:]
    return segs[0], segs[1:]


def _dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(i for i in items if i))


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


class HubRoutes:
    """Request handlers for the Hub subset, bound to one fixture set."""

    def __init__(self, fixtures: Fixtures) -> None:
        self.fixtures = fixtures

    def routes(self) -> list[Route]:
        return [Route("/{rest:path}", self.dispatch, methods=["GET", "HEAD", "POST"])]

    def _locate(self, repo_type: RepoType, segs: list[str]) -> tuple[HfRepo | None, int, bool]:
        """Find the repo named by the first segments: (repo, segments used, matched through an alias)."""
        if len(segs) >= 2 and (repo := self.fixtures.hf_repo(repo_type, f"{segs[0]}/{segs[1]}")):
            return repo, 2, False
        if len(segs) >= 2 and (repo := self.fixtures.hf_alias(repo_type, f"{segs[0]}/{segs[1]}")):
            return repo, 2, True
        if segs and (repo := self.fixtures.hf_alias(repo_type, segs[0])):
            return repo, 1, True
        return None, min(2, len(segs)), False

    async def dispatch(self, request: Request) -> Response:
        raw = request.scope.get("raw_path") or request.url.path.encode()
        raw_segs = raw.decode("latin-1").split("/")[1:]
        if raw_segs and raw_segs[-1] == "":
            raw_segs.pop()
        segs = [unquote(s) for s in raw_segs]
        api = len(segs) >= 3 and segs[0] == "api" and segs[1] in ("models", "datasets")
        skip = 2 if api else (1 if segs[:1] == ["datasets"] else 0)
        repo_type: RepoType = "dataset" if (segs[1:2] if api else segs[:1]) == ["datasets"] else "model"
        repo, used, alias = self._locate(repo_type, segs[skip:])
        rest = segs[skip + used :]
        if not api and (not rest or rest[0] not in ("resolve", "raw")):
            return hub_error(404, None, "Sorry, we can't find the page you are looking for.")
        if repo is None:
            return hub_error(404, "RepoNotFound", "Repository not found")
        if alias:
            canonical = "/".join(quote(p, safe="") for p in repo.repo_id.split("/"))
            path = "/" + "/".join([*raw_segs[:skip], canonical, *raw_segs[skip + used :]])
            query = f"?{request.url.query}" if request.url.query else ""
            return RedirectResponse(path + query, status_code=307)
        token = _token(request)
        if not repo.accessible(token):
            if token is None:
                return hub_error(401, "RepoNotFound", "Invalid username or password.")
            return hub_error(404, "RepoNotFound", "Repository not found")
        if repo.disabled:
            return hub_error(403, None, "Access to this resource is disabled.")
        if not api:
            return self._file(request, repo, rest, token)
        return await self._api(request, repo, rest)

    async def _api(self, request: Request, repo: HfRepo, rest: list[str]) -> Response:
        action = rest[0] if rest else ""
        if action == "refs" and len(rest) == 1:
            return self._refs(request, repo)
        if action in ("", "revision", "tree", "paths-info") and (action == "" or len(rest) >= 2):
            revision, tail = _take_revision(rest[1:]) if action else ("main", [])
            sha = repo.refs.get(revision)
            if sha is None:
                return hub_error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
            if action in ("", "revision") and not tail:
                return json_response(self._info(request, repo, sha))
            if action == "tree":
                return self._tree(request, repo, sha, "/".join(tail))
            if action == "paths-info" and request.method == "POST":
                return await self._paths_info(request, repo, sha)
        return hub_error(404, None, "Sorry, we can't find the page you are looking for.")

    def _refs(self, request: Request, repo: HfRepo) -> Response:
        def ref(name: str, full: str) -> dict[str, str]:
            return {"name": name, "ref": full, "targetCommit": repo.refs[full]}

        data: dict[str, Any] = {
            "branches": [ref(b, f"refs/heads/{b}") for b in repo.branches],
            "converts": [],
            "tags": [ref(t, f"refs/tags/{t}") for t in repo.all_git_tags],
        }
        if truthy(request.query_params.get("include_prs")):
            data["pullRequests"] = [ref(f"refs/pr/{n}", f"refs/pr/{n}") for n in repo.pr_numbers]
        return json_response(data)

    def _tags(self, repo: HfRepo, card: dict[str, Any]) -> list[str]:
        tags = [repo.library_name or "", *repo.extra_tags, *_as_list(card.get("tags"))]
        if any(p.endswith(".safetensors") for p in repo.files):
            tags.append("safetensors")
        if repo.repo_type == "model":
            tags += [f"dataset:{d}" for d in _as_list(card.get("datasets"))]
            tags += [f"base_model:{b}" for b in _as_list(card.get("base_model"))]
            tags += _as_list(card.get("language"))
            tags.append(repo.pipeline_tag or "")
        else:
            for key in ("task_categories", "size_categories", "language"):
                tags += [f"{key}:{v}" for v in _as_list(card.get(key))]
            tags += ["modality:text", "library:datasets"]
        tags += [f"license:{lic}" for lic in _as_list(card.get("license"))]
        return _dedupe([*tags, "region:us"])

    def _info(self, request: Request, repo: HfRepo, sha: str) -> dict[str, Any]:
        card = repo.card_data or {}
        blobs = truthy(request.query_params.get("blobs"))
        siblings = []
        for entry in repo.entries.values():
            sibling: dict[str, Any] = {"rfilename": entry.path}
            if blobs:
                sibling.update(size=entry.size, blobId=entry.oid)
                if entry.lfs:
                    sibling["lfs"] = {
                        "sha256": entry.blob.sha256,
                        "size": entry.size,
                        "pointerSize": len(entry.pointer),
                    }
            siblings.append(sibling)
        data: dict[str, Any] = {
            "_id": repo.internal_id,
            "id": repo.repo_id,
            "author": repo.author,
            "sha": sha,
            "lastModified": repo.last_modified,
            "createdAt": repo.created_at,
            "private": repo.private,
            "gated": repo.gated,
            "disabled": repo.disabled,
            "downloads": repo.downloads,
            "likes": repo.likes,
            "tags": self._tags(repo, card),
        }
        if repo.card_data is not None:
            data["cardData"] = repo.card_data
        if repo.repo_type == "model":
            data["modelId"] = repo.repo_id
            pipeline = repo.pipeline_tag or card.get("pipeline_tag")
            library = repo.library_name or card.get("library_name")
            data.update({k: v for k, v in (("pipeline_tag", pipeline), ("library_name", library)) if v})
            config = self._config(repo)
            if config:
                data["config"] = config
            if "model-index" in card:
                data["model-index"] = card["model-index"]
            params = self._parameters(repo)
            if params:
                data["safetensors"] = {"parameters": params, "total": sum(params.values())}
            data["spaces"] = []
        else:
            data.update(description=repo.description or "", citation=repo.citation or "")
            if "paperswithcode_id" in card:
                data["paperswithcode_id"] = card["paperswithcode_id"]
        data["siblings"] = siblings
        data["usedStorage"] = sum(e.size for e in repo.entries.values())
        expand = request.query_params.getlist("expand") + request.query_params.getlist("expand[]")
        if expand:
            data = {k: v for k, v in data.items() if k in ("_id", "id") or k in expand}
        return data

    @staticmethod
    def _config(repo: HfRepo) -> dict[str, Any]:
        config = repo.json_file("config.json") or {}
        out: dict[str, Any] = {k: config[k] for k in ("architectures", "model_type") if k in config}
        adapter = repo.json_file("adapter_config.json")
        if adapter:
            out["peft"] = {k: adapter[k] for k in ("base_model_name_or_path", "task_type") if k in adapter}
        return out

    @staticmethod
    def _parameters(repo: HfRepo) -> dict[str, int]:
        total: dict[str, int] = {}
        for path, entry in repo.entries.items():
            if path.endswith(".safetensors"):
                for dtype, count in (safetensors_parameters(entry.blob) or {}).items():
                    total[dtype] = total.get(dtype, 0) + count
        return total

    @staticmethod
    def _file_entry(repo: HfRepo, entry: HfFile, sha: str, expand: bool) -> dict[str, Any]:
        item: dict[str, Any] = {"type": "file", "oid": entry.oid, "size": entry.size, "path": entry.path}
        if entry.lfs:
            item["lfs"] = {"oid": entry.blob.sha256, "size": entry.size, "pointerSize": len(entry.pointer)}
        if expand:
            item["lastCommit"] = _last_commit(repo, sha)
        return item

    @staticmethod
    def _dir_entry(repo: HfRepo, path: str, sha: str, expand: bool) -> dict[str, Any]:
        item: dict[str, Any] = {"type": "directory", "oid": repo.tree_ids[path], "size": 0, "path": path}
        if expand:
            item["lastCommit"] = _last_commit(repo, sha)
        return item

    def _tree(self, request: Request, repo: HfRepo, sha: str, base: str) -> Response:
        base = base.strip("/")
        if base and base not in repo.tree_ids:
            return hub_error(
                404, "EntryNotFound", f'{base} does not exist on "{sha}"', {"X-Repo-Commit": sha}
            )
        recursive = truthy(request.query_params.get("recursive"))
        expand = truthy(request.query_params.get("expand"))
        prefix = f"{base}/" if base else ""
        dirs = sorted(
            d
            for d in repo.tree_ids
            if d.startswith(prefix) and d != base and (recursive or "/" not in d[len(prefix) :])
        )
        files = [
            e
            for p, e in repo.entries.items()
            if p.startswith(prefix) and (recursive or "/" not in p[len(prefix) :])
        ]
        items = [self._dir_entry(repo, d, sha, expand) for d in dirs]
        items += [self._file_entry(repo, e, sha, expand) for e in files]
        if recursive:
            items.sort(key=lambda i: i["path"])
        limit = EXPAND_PAGE_SIZE if expand else PAGE_SIZE
        try:
            limit = max(1, min(limit, int(request.query_params.get("limit", limit))))
            offset = int(base64.urlsafe_b64decode(request.query_params.get("cursor", "") + "==") or b"0")
        except (ValueError, binascii.Error):
            return hub_error(400, None, "Invalid cursor")
        headers = {}
        if offset + limit < len(items):
            cursor = base64.urlsafe_b64encode(str(offset + limit).encode()).decode().rstrip("=")
            query = dict(request.query_params)
            query.update(cursor=cursor, limit=str(limit))
            headers["Link"] = f'<{request.url.replace_query_params(**query)}>; rel="next"'
        return json_response(items[offset : offset + limit], headers=headers)

    async def _paths_info(self, request: Request, repo: HfRepo, sha: str) -> Response:
        """POST paths-info: info for the requested paths (unknown ones are skipped, as on the Hub)."""
        form = parse_qs((await request.body()).decode())
        expand = truthy((form.get("expand") or ["false"])[0])
        out = []
        for raw_path in form.get("paths", []):
            path = raw_path.strip("/")
            if path in repo.entries:
                out.append(self._file_entry(repo, repo.entries[path], sha, expand))
            elif path and path in repo.tree_ids:
                out.append(self._dir_entry(repo, path, sha, expand))
        return json_response(out)

    def _file(self, request: Request, repo: HfRepo, rest: list[str], token: str | None) -> Response:
        if len(rest) < 3:
            return hub_error(404, None, "Sorry, we can't find the page you are looking for.")
        revision, tail = _take_revision(rest[1:])
        sha = repo.refs.get(revision)
        if sha is None:
            return hub_error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
        path = "/".join(tail)
        entry = repo.entries.get(path)
        commit = {"X-Repo-Commit": sha}
        if entry is None:
            return hub_error(404, "EntryNotFound", "Entry not found", commit)
        if not repo.accessible(token, path):
            kind = "dataset" if repo.repo_type == "dataset" else "model"
            if token is None:
                message = (
                    f"Access to {kind} {repo.repo_id} is restricted. You must have access to it and be "
                    "authenticated to access it. Please log in."
                )
                return hub_error(401, "GatedRepo", message, commit)
            message = f"Access to {kind} {repo.repo_id} is restricted and you are not in the authorized list."
            return hub_error(403, "GatedRepo", message, commit)
        name = path.rsplit("/", 1)[-1]
        headers = {
            **commit,
            "ETag": f'"{entry.etag}"',
            "Content-Disposition": f"inline; filename*=UTF-8''{quote(name)}; filename=\"{name}\";",
            "Vary": "Origin, Accept-Encoding",
        }
        if rest[0] == "raw":
            if entry.lfs:
                return Response(entry.pointer, headers=headers, media_type="text/plain; charset=utf-8")
            return blob_response(request, entry.blob, headers, "text/plain; charset=utf-8")
        if entry.lfs:
            headers.update({"X-Linked-Etag": f'"{entry.blob.sha256}"', "X-Linked-Size": str(entry.size)})
        media = "application/octet-stream" if entry.lfs else "text/plain; charset=utf-8"
        return blob_response(request, entry.blob, headers, media)


def _last_commit(repo: HfRepo, sha: str) -> dict[str, Any]:
    """The `lastCommit` of an expanded tree entry: every fixture file comes from one commit."""
    return {"id": sha, "title": "Upload folder using huggingface_hub", "date": repo.last_modified}
