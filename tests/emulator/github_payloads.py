"""JSON payload builders for the GitHub emulator, shaped like REST v3 objects (users, files, commits, PRs).

Kept apart from the route table so each stays short; `GitHubPayloads` is mixed into `GitHubRoutes`.
"""

from __future__ import annotations

import base64
import gzip
import io
import tarfile
import zipfile
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tests.emulator.blobs import stable_int
from tests.emulator.common import json_response
from tests.emulator.repos import GhCommit, GhPull, GhRepo

DOCS = "https://docs.github.com/rest"
LICENSES = {
    "Apache-2.0": ("apache-2.0", "Apache License 2.0", "MDc6TGljZW5zZTI="),
    "MIT": ("mit", "MIT License", "MDc6TGljZW5zZTEz"),
    "GPL-3.0": ("gpl-3.0", "GNU General Public License v3.0", "MDc6TGljZW5zZTk="),
    "NOASSERTION": ("other", "Other", "MDc6TGljZW5zZTA="),
}


def not_found(message: str = "Not Found") -> Response:
    return json_response({"message": message, "documentation_url": DOCS, "status": "404"}, 404)


def b64(data: bytes) -> str:
    encoded = base64.b64encode(data).decode()
    return "".join(encoded[i : i + 60] + "\n" for i in range(0, len(encoded), 60))


def wants_raw(request: Request) -> bool:
    return "raw" in request.headers.get("accept", "")


def parse_time(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def zip_bytes(repo: GhRepo, sha: str, root: str) -> bytes:
    """A zipball like GitHub's: every file under `root/`, the commit sha as the archive comment."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.comment = sha.encode()
        archive.writestr(zipfile.ZipInfo(f"{root}/", (2024, 1, 1, 0, 0, 0)), b"")
        for path, data in sorted(repo.files.items()):
            archive.writestr(zipfile.ZipInfo(f"{root}/{path}", (2024, 1, 1, 0, 0, 0)), data)
    return buffer.getvalue()


def tar_gz_bytes(repo: GhRepo, sha: str, root: str) -> bytes:
    """A tarball like GitHub's: pax global header with the commit sha, files under `root/`, gzip."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT, pax_headers={"comment": sha}) as tar:
        for path, data in sorted(repo.files.items()):
            info = tarfile.TarInfo(f"{root}/{path}")
            info.size, info.mtime, info.mode = len(data), 1_704_067_200, 0o644
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


class GitHubPayloads:
    """Builders of API objects; URLs point back at the emulator that served the request."""

    @staticmethod
    def _base(request: Request) -> str:
        return f"{request.url.scheme}://{request.url.netloc}/github"

    def _user(self, request: Request, login: str) -> dict[str, Any]:
        return {
            "login": login,
            "id": stable_int("gh-user", login, bits=26) + 1000,
            "node_id": f"U_{login}",
            "avatar_url": f"https://avatars.githubusercontent.com/u/{login}",
            "url": f"{self._base(request)}/users/{login}",
            "html_url": f"https://github.com/{login}",
            "type": "User",
            "site_admin": False,
        }

    def _license(self, request: Request, spdx: str | None) -> dict[str, Any] | None:
        if spdx is None:
            return None
        key, name, node_id = LICENSES.get(spdx, LICENSES["NOASSERTION"])
        url = None if key == "other" else f"{self._base(request)}/licenses/{key}"
        return {
            "key": key,
            "name": name,
            "spdx_id": spdx if key != "other" else "NOASSERTION",
            "url": url,
            "node_id": node_id,
        }

    def _file_obj(self, request: Request, repo: GhRepo, path: str, ref: str, content: bool) -> dict[str, Any]:
        api = f"{self._base(request)}/repos/{repo.full_name}"
        is_dir = path in repo.tree_ids
        sha = repo.tree_ids[path] if is_dir else repo.blob_shas[path]
        html = f"https://github.com/{repo.full_name}/{'tree' if is_dir else 'blob'}/{ref}/{path}"
        obj: dict[str, Any] = {
            "type": "dir" if is_dir else "file",
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "sha": sha,
            "size": 0 if is_dir else len(repo.files[path]),
            "url": f"{api}/contents/{path}?ref={ref}",
            "git_url": f"{api}/git/{'trees' if is_dir else 'blobs'}/{sha}",
            "html_url": html,
            "download_url": None if is_dir else f"{self._base(request)}/raw/{repo.full_name}/{ref}/{path}",
        }
        obj["_links"] = {"self": obj["url"], "git": obj["git_url"], "html": html}
        if content and not is_dir:
            obj.update(content=b64(repo.files[path]), encoding="base64")
        return obj

    def _commit(self, request: Request, repo: GhRepo, c: GhCommit) -> dict[str, Any]:
        api = f"{self._base(request)}/repos/{repo.full_name}"
        person = {"name": c.author_name, "email": c.author_email, "date": c.date}
        user = self._user(request, c.author_login) if c.author_login else None
        return {
            "sha": c.sha,
            "node_id": f"C_{c.sha[:12]}",
            "url": f"{api}/commits/{c.sha}",
            "html_url": f"https://github.com/{repo.full_name}/commit/{c.sha}",
            "commit": {
                "author": person,
                "committer": person,
                "message": c.message,
                "comment_count": 0,
                "tree": {"sha": repo.tree_ids[""], "url": f"{api}/git/trees/{repo.tree_ids['']}"},
            },
            "author": user,
            "committer": user,
            "parents": [
                {
                    "sha": p,
                    "url": f"{api}/commits/{p}",
                    "html_url": f"https://github.com/{repo.full_name}/commit/{p}",
                }
                for p in c.parents
            ],
        }

    def _pull(self, request: Request, repo: GhRepo, pr: GhPull) -> dict[str, Any]:
        api = f"{self._base(request)}/repos/{repo.full_name}"
        return {
            "url": f"{api}/pulls/{pr.number}",
            "id": stable_int("pr", repo.full_name, pr.number, bits=30),
            "node_id": f"PR_{pr.number}",
            "html_url": f"https://github.com/{repo.full_name}/pull/{pr.number}",
            "number": pr.number,
            "state": pr.state,
            "locked": False,
            "title": pr.title,
            "user": self._user(request, pr.user),
            "body": f"{pr.title}.",
            "created_at": pr.created_at,
            "updated_at": pr.updated_at,
            "closed_at": pr.closed_at,
            "merged_at": pr.merged_at,
            "merge_commit_sha": pr.merge_commit_sha,
            "draft": False,
            "author_association": "CONTRIBUTOR",
            "head": {
                "label": f"{pr.user}:{pr.head_ref}",
                "ref": pr.head_ref,
                "sha": repo.head_sha if pr.merge_commit_sha is None else pr.merge_commit_sha,
            },
            "base": {"label": f"{repo.owner}:{pr.base_ref}", "ref": pr.base_ref, "sha": repo.head_sha},
        }

    @staticmethod
    def _find_pull(repo: GhRepo, request: Request) -> GhPull | None:
        number = request.path_params["number"]
        return next((p for p in repo.pulls if p.number == number), None)
