"""GitHub REST v3 routes (mounted under /github) over the fixture repositories.

Field names, pagination (`Link` with next/last/prev/first), raw media types and error bodies follow the
real API, so a client written against api.github.com works unchanged when GITHUB_API_URL points here.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from tests.emulator.common import json_response, paginate
from tests.emulator.faults import FaultController
from tests.emulator.github_payloads import (
    DOCS,
    GitHubPayloads,
    not_found,
    parse_time,
    tar_gz_bytes,
    wants_raw,
    zip_bytes,
)
from tests.emulator.repos import GRANTED_TOKEN, Fixtures, GhRepo

Handler = Callable[[Request, GhRepo], Awaitable[Response]]


def _granted(request: Request) -> bool:
    """Whether the request carries the token on every private repository's access list."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() in ("bearer", "token") and value.strip() == GRANTED_TOKEN


class GitHubRoutes(GitHubPayloads):
    """Request handlers for the GitHub subset, bound to one fixture set and the shared fault controller."""

    def __init__(self, fixtures: Fixtures, controller: FaultController) -> None:
        self.fixtures = fixtures
        self.controller = controller

    def routes(self) -> list[Mount]:
        r = "/repos/{owner}/{repo}"
        table: list[tuple[str, Handler]] = [
            (r, self.repo),
            (r + "/readme", self.readme),
            (r + "/readme/{dir:path}", self.readme),
            (r + "/license", self.license),
            (r + "/contributors", self.contributors),
            (r + "/commits", self.commits),
            (r + "/commits/{ref:path}", self.commit),
            (r + "/pulls", self.pulls),
            (r + "/pulls/{number:int}", self.pull),
            (r + "/pulls/{number:int}/reviews", self.reviews),
            (r + "/pulls/{number:int}/files", self.pull_files),
            (r + "/git/trees/{ref:path}", self.tree),
            (r + "/contents", self.contents),
            (r + "/contents/{path:path}", self.contents),
            (r + "/tags", self.tags),
            (r + "/branches", self.branches),
            (r + "/zipball", self.zipball),
            (r + "/zipball/{ref:path}", self.zipball),
            (r + "/tarball", self.tarball),
            (r + "/tarball/{ref:path}", self.tarball),
        ]
        routes = [Route(path, self._wrap(handler), methods=["GET"]) for path, handler in table]
        routes += [
            Route("/rate_limit", self.rate_limit, methods=["GET"]),
            Route("/raw/{owner}/{repo}/{ref}/{path:path}", self.raw, methods=["GET"]),
            Route("/{rest:path}", self.unknown, methods=["GET", "HEAD", "POST", "PATCH", "PUT", "DELETE"]),
        ]
        return [Mount("/github", routes=routes)]

    def _wrap(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """Count the call against the rate limit, look the repo up and add x-ratelimit-* headers."""

        async def endpoint(request: Request) -> Response:
            limit, remaining, exceeded = self.controller.github_budget()
            headers = {
                "x-ratelimit-limit": str(limit),
                "x-ratelimit-remaining": str(remaining),
                "x-ratelimit-reset": str(int(time.time()) + 3600),
                "x-ratelimit-used": str(limit - remaining),
                "x-ratelimit-resource": "core",
                "x-github-api-version-selected": "2022-11-28",
            }
            if exceeded:
                response = json_response(
                    {"message": "API rate limit exceeded", "documentation_url": DOCS}, 403
                )
            else:
                p = request.path_params
                repo = self.fixtures.gh_repo(p["owner"], p["repo"])
                if repo is not None and repo.private and not _granted(request):
                    repo = None
                response = not_found() if repo is None else await handler(request, repo)
            response.headers.update(headers)
            return response

        return endpoint

    # ----- endpoints -----------------------------------------------------------------------------------
    async def repo(self, request: Request, repo: GhRepo) -> Response:
        base = self._base(request)
        owner = {**self._user(request, repo.owner), "type": "Organization" if "-" in repo.owner else "User"}
        return json_response(
            {
                "id": repo.repo_id,
                "node_id": f"R_{repo.repo_id}",
                "name": repo.name,
                "full_name": repo.full_name,
                "private": repo.private,
                "owner": owner,
                "html_url": repo.url,
                "description": repo.description or None,
                "fork": repo.fork,
                "url": f"{base}/repos/{repo.full_name}",
                "created_at": repo.created_at,
                "updated_at": repo.updated_at,
                "pushed_at": repo.pushed_at,
                "homepage": None,
                "size": sum(len(v) for v in repo.files.values()) // 1024 + 1,
                "stargazers_count": repo.stars,
                "watchers_count": repo.stars,
                "language": "Python",
                "has_issues": True,
                "forks_count": repo.forks,
                "archived": repo.archived,
                "disabled": False,
                "open_issues_count": repo.open_issues,
                "license": self._license(request, repo.license_spdx),
                "topics": list(repo.topics),
                "visibility": "private" if repo.private else "public",
                "forks": repo.forks,
                "open_issues": repo.open_issues,
                "watchers": repo.stars,
                "default_branch": repo.default_branch,
                "subscribers_count": repo.watchers,
                "network_count": repo.forks,
            }
        )

    async def readme(self, request: Request, repo: GhRepo) -> Response:
        ref = request.query_params.get("ref") or repo.default_branch
        if repo.resolve_ref(ref) is None:
            return not_found(f"No commit found for the ref {ref}")
        directory = request.path_params.get("dir", "").strip("/")
        prefix = f"{directory}/" if directory else ""
        names = sorted(
            (
                p
                for p in repo.files
                if p.startswith(prefix)
                and "/" not in p[len(prefix) :]
                and p[len(prefix) :].lower().startswith("readme")
            ),
            key=lambda p: not p.endswith(".md"),
        )
        if not names:
            return not_found()
        if wants_raw(request):
            return Response(repo.files[names[0]], media_type="application/vnd.github.raw")
        return json_response(self._file_obj(request, repo, names[0], ref, content=True))

    async def license(self, request: Request, repo: GhRepo) -> Response:
        if repo.license_path is None:
            return not_found()
        ref = request.query_params.get("ref") or repo.default_branch
        if wants_raw(request):
            return Response(repo.files[repo.license_path], media_type="application/vnd.github.raw")
        obj = self._file_obj(request, repo, repo.license_path, ref, content=True)
        obj["license"] = self._license(request, repo.license_spdx)
        return json_response(obj)

    async def contributors(self, request: Request, repo: GhRepo) -> Response:
        people: list[dict[str, Any]] = [
            {**self._user(request, login), "contributions": n} for login, n in repo.contributors
        ]
        if request.query_params.get("anon", "").lower() in ("1", "true"):
            people += [
                {"email": email, "name": name, "type": "Anonymous", "contributions": n}
                for name, email, n in repo.anonymous_contributors
            ]
        if not people:
            return Response(status_code=204)
        people.sort(key=lambda p: -p["contributions"])
        page, headers = paginate(request, people)
        return json_response(page, headers=headers)

    async def commits(self, request: Request, repo: GhRepo) -> Response:
        ref = request.query_params.get("sha")
        sha = repo.resolve_ref(ref)
        if sha is None:
            return not_found(f"No commit found for SHA: {ref}")
        history = list(repo.commits)
        start = next((i for i, c in enumerate(history) if c.sha == sha), 0)
        selected = history[start:]
        since = parse_time(request.query_params.get("since", ""))
        until = parse_time(request.query_params.get("until", ""))
        author = request.query_params.get("author")
        selected = [
            c
            for c in selected
            if (since is None or parse_time(c.date) >= since)  # type: ignore[operator]
            and (until is None or parse_time(c.date) <= until)  # type: ignore[operator]
            and (author is None or c.author_login == author)
        ]
        page, headers = paginate(request, selected)
        return json_response([self._commit(request, repo, c) for c in page], headers=headers)

    async def commit(self, request: Request, repo: GhRepo) -> Response:
        sha = repo.resolve_ref(request.path_params["ref"])
        found = next((c for c in repo.commits if c.sha == sha), None)
        if found is None:
            return json_response(
                {
                    "message": f"No commit found for SHA: {request.path_params['ref']}",
                    "documentation_url": DOCS,
                    "status": "422",
                },
                422,
            )
        data = self._commit(request, repo, found)
        data.update(stats={"total": 0, "additions": 0, "deletions": 0}, files=[])
        return json_response(data)

    async def pulls(self, request: Request, repo: GhRepo) -> Response:
        state = request.query_params.get("state", "open")
        items = [p for p in repo.pulls if state == "all" or p.state == state]
        key = "updated_at" if request.query_params.get("sort") == "updated" else "created_at"
        items.sort(
            key=lambda p: getattr(p, key), reverse=request.query_params.get("direction", "desc") != "asc"
        )
        page, headers = paginate(request, items)
        return json_response([self._pull(request, repo, p) for p in page], headers=headers)

    async def pull(self, request: Request, repo: GhRepo) -> Response:
        pr = self._find_pull(repo, request)
        if pr is None:
            return not_found()
        data = self._pull(request, repo, pr)
        data.update(
            merged=pr.merged_at is not None,
            commits=1,
            comments=0,
            review_comments=0,
            additions=sum(f.additions for f in pr.files),
            deletions=sum(f.deletions for f in pr.files),
            changed_files=len(pr.files),
        )
        return json_response(data)

    async def reviews(self, request: Request, repo: GhRepo) -> Response:
        pr = self._find_pull(repo, request)
        if pr is None:
            return not_found()
        items = [
            {
                "id": r.id,
                "node_id": f"PRR_{r.id}",
                "user": self._user(request, r.user),
                "body": "",
                "state": r.state,
                "submitted_at": r.submitted_at,
                "commit_id": repo.head_sha,
                "author_association": "MEMBER",
                "html_url": f"https://github.com/{repo.full_name}/pull/{pr.number}#pullrequestreview-{r.id}",
            }
            for r in pr.reviews
        ]
        page, headers = paginate(request, items)
        return json_response(page, headers=headers)

    async def pull_files(self, request: Request, repo: GhRepo) -> Response:
        pr = self._find_pull(repo, request)
        if pr is None:
            return not_found()
        items = [
            {
                "sha": repo.blob_shas.get(f.filename, repo.head_sha),
                "filename": f.filename,
                "status": f.status,
                "additions": f.additions,
                "deletions": f.deletions,
                "changes": f.additions + f.deletions,
                "blob_url": f"https://github.com/{repo.full_name}/blob/{repo.head_sha}/{f.filename}",
                "patch": "@@ -1,1 +1,1 @@\n-old\n+new",
            }
            for f in pr.files
        ]
        page, headers = paginate(request, items)
        return json_response(page, headers=headers)

    async def tree(self, request: Request, repo: GhRepo) -> Response:
        ref = request.path_params["ref"]
        by_sha = {sha: path for path, sha in repo.tree_ids.items()}
        if ref in by_sha:
            root = by_sha[ref]
        elif repo.resolve_ref(ref) is not None:
            root = ""
        else:
            return not_found()
        recursive = "recursive" in request.query_params
        prefix = f"{root}/" if root else ""
        api = f"{self._base(request)}/repos/{repo.full_name}/git"
        entries: list[dict[str, Any]] = []
        for path in sorted(set(repo.files) | set(repo.tree_ids)):
            rel = path[len(prefix) :]
            if not path or not path.startswith(prefix) or path == root or (not recursive and "/" in rel):
                continue
            if path in repo.tree_ids:
                sha = repo.tree_ids[path]
                entries.append(
                    {"path": rel, "mode": "040000", "type": "tree", "sha": sha, "url": f"{api}/trees/{sha}"}
                )
            else:
                sha = repo.blob_shas[path]
                entries.append(
                    {
                        "path": rel,
                        "mode": "100644",
                        "type": "blob",
                        "sha": sha,
                        "size": len(repo.files[path]),
                        "url": f"{api}/blobs/{sha}",
                    }
                )
        sha = repo.tree_ids[root]
        return json_response({"sha": sha, "url": f"{api}/trees/{sha}", "tree": entries, "truncated": False})

    async def contents(self, request: Request, repo: GhRepo) -> Response:
        ref = request.query_params.get("ref") or repo.default_branch
        if repo.resolve_ref(ref) is None:
            return not_found(f"No commit found for the ref {ref}")
        path = request.path_params.get("path", "").strip("/")
        if path in repo.files:
            if wants_raw(request):
                return Response(repo.files[path], media_type="application/vnd.github.raw")
            return json_response(self._file_obj(request, repo, path, ref, content=True))
        if path not in repo.tree_ids:
            return not_found()
        prefix = f"{path}/" if path else ""
        children = sorted(
            p
            for p in set(repo.files) | set(repo.tree_ids)
            if p and p.startswith(prefix) and "/" not in p[len(prefix) :]
        )
        return json_response([self._file_obj(request, repo, p, ref, content=False) for p in children])

    async def tags(self, request: Request, repo: GhRepo) -> Response:
        api = f"{self._base(request)}/repos/{repo.full_name}"
        items = [
            {
                "name": tag,
                "zipball_url": f"{api}/zipball/refs/tags/{tag}",
                "tarball_url": f"{api}/tarball/refs/tags/{tag}",
                "node_id": f"REF_{tag}",
                "commit": {"sha": sha, "url": f"{api}/commits/{sha}"},
            }
            for tag, sha in repo.tag_commits.items()
        ]
        page, headers = paginate(request, items)
        return json_response(page, headers=headers)

    async def branches(self, request: Request, repo: GhRepo) -> Response:
        api = f"{self._base(request)}/repos/{repo.full_name}"
        items = [
            {
                "name": b,
                "commit": {"sha": repo.head_sha, "url": f"{api}/commits/{repo.head_sha}"},
                "protected": b == repo.default_branch,
            }
            for b in (repo.default_branch, *repo.extra_branches)
        ]
        page, headers = paginate(request, items)
        return json_response(page, headers=headers)

    def _archive_root(self, request: Request, repo: GhRepo) -> tuple[str, str] | None:
        sha = repo.resolve_ref(request.path_params.get("ref") or None)
        return None if sha is None else (sha, f"{repo.owner}-{repo.name}-{sha[:7]}")

    async def zipball(self, request: Request, repo: GhRepo) -> Response:
        found = self._archive_root(request, repo)
        if found is None:
            return not_found()
        sha, root = found
        return Response(
            zip_bytes(repo, sha, root),
            media_type="application/zip",
            headers={"Content-Disposition": f"attachment; filename={root}.zip"},
        )

    async def tarball(self, request: Request, repo: GhRepo) -> Response:
        found = self._archive_root(request, repo)
        if found is None:
            return not_found()
        sha, root = found
        body = tar_gz_bytes(repo, sha, root)
        return Response(
            body,
            media_type="application/x-gzip",
            headers={"Content-Disposition": f"attachment; filename={root}.tar.gz"},
        )

    async def raw(self, request: Request) -> Response:
        """raw.githubusercontent.com equivalent (target of `download_url`); not rate limited."""
        p = request.path_params
        repo = self.fixtures.gh_repo(p["owner"], p["repo"])
        if repo is None or repo.resolve_ref(p["ref"]) is None or p["path"] not in repo.files:
            return Response(b"404: Not Found", 404, media_type="text/plain; charset=utf-8")
        return Response(repo.files[p["path"]], media_type="text/plain; charset=utf-8")

    async def unknown(self, request: Request) -> Response:
        """Any other /github path: GitHub's JSON 404 rather than the Hub catch-all's."""
        return not_found()

    async def rate_limit(self, request: Request) -> Response:
        limit, remaining, _ = self.controller.github_budget(count=False)
        core = {
            "limit": limit,
            "remaining": remaining,
            "reset": int(time.time()) + 3600,
            "used": limit - remaining,
            "resource": "core",
        }
        return json_response({"resources": {"core": core}, "rate": core})
