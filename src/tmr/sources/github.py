"""GitHub repositories through the REST API v3 at GITHUB_API_URL; code bundles via zipball."""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tmr.artifacts.filekinds import classify
from tmr.artifacts.models import FileKind
from tmr.errors import IntegrityError, NotFound, UpstreamTooLarge, UpstreamUnavailable
from tmr.sources.digests import checked, git_digest
from tmr.sources.facts import Contributor, PullRequest
from tmr.sources.http import UpstreamClient, capped
from tmr.sources.models import SourceRef, SourceSnapshot, UpstreamFile
from tmr.sources.tags import GitTag, read_tags
from tmr.sources.urls import check_github_repo_id, check_path, quote_path, quote_segment

_RAW = {"Accept": "application/vnd.github.raw+json"}
_JSON = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
MAX_CONTRIBUTORS = 100
PR_WINDOW = 30  # recent merged pull requests examined for reviewedness
TAG_PAGE = 100
MAX_TAG_PAGES = 10  # 1,000 tags: more than nearly any repository has, and a bound on the calls
_NOT_CODE = {FileKind.WEIGHTS, FileKind.DATA}
_REPO_FACTS = (
    "full_name",
    "description",
    "default_branch",
    "stargazers_count",
    "forks_count",
    "watchers_count",
    "subscribers_count",
    "open_issues_count",
    "topics",
    "archived",
    "fork",
    "created_at",
    "updated_at",
    "pushed_at",
    "html_url",
    "size",
)


def _repo(repo_id: str) -> str:
    """The repository's API path; its id is checked again here, whoever built it, since the
    call carries the server's token."""
    return f"/repos/{quote_path(check_github_repo_id(repo_id))}"


class GitHubSource:
    """Inspects GitHub repositories and mirrors their files from one zipball per download."""

    def __init__(
        self,
        client: UpstreamClient,
        *,
        readme_limit: int = 8 * 1024 * 1024,
        archive_limit: int = 2 * 1024 * 1024 * 1024,
    ) -> None:
        self._client = client
        self._readme_limit = readme_limit
        self._archive_limit = archive_limit

    def inspect(self, ref: SourceRef) -> SourceSnapshot:
        repo = self._client.get_json(
            _repo(ref.repo_id), headers=_JSON, missing=f"repository {ref.repo_id} not found"
        )
        branch = ref.revision or str(repo.get("default_branch") or "main")
        commits = self._client.get_json(
            f"{_repo(ref.repo_id)}/commits",
            params={"sha": branch, "per_page": 1},
            headers=_JSON,
            missing=f"revision {branch} of {ref.repo_id} not found",
        )
        commit = str(commits[0]["sha"]) if isinstance(commits, list) and commits else branch
        notes: list[str] = []
        license_ = self._license(repo, notes)
        readme = self._readme(ref, commit, notes)
        contributors = self._contributors(ref.repo_id)
        if len(contributors) >= MAX_CONTRIBUTORS:
            notes.append(f"contributors counted from the top {MAX_CONTRIBUTORS} only")
        files = self._tree(ref, commit, notes)
        tagged = read_tags(self._tags(ref.repo_id, notes), commit, ref.revision)
        return SourceSnapshot(
            ref=ref,
            readme=readme,
            license=license_,
            facts={
                **{k: repo.get(k) for k in _REPO_FACTS if k in repo},
                "repo_id": ref.repo_id,
                "ref": branch,
                "revision": commit,
                "contributors": [c.as_json() for c in contributors],
                **tagged.facts,
            },
            files=files,
            version=tagged.version,
            notes=tuple(notes),
            private=repo.get("private") is True or repo.get("visibility") in ("private", "internal"),
        )

    # The helpers below add what they notice to the caller's `notes`, in the order they run.

    def _license(self, repo: dict[str, Any], notes: list[str]) -> str | None:
        info = repo.get("license")
        if not isinstance(info, dict):
            notes.append("the repository declares no license")
            return None
        spdx = info.get("spdx_id")
        if spdx and spdx != "NOASSERTION":
            return str(spdx)
        notes.append("the repository's license is not a recognised SPDX license")
        return str(info.get("name") or "NOASSERTION")

    def _readme(self, ref: SourceRef, commit: str, notes: list[str]) -> str:
        folder = check_path(ref.subpath.strip("/"), "folder") if ref.subpath else ""
        path = f"{_repo(ref.repo_id)}/readme" + (f"/{quote_path(folder)}" if folder else "")
        try:
            response = self._client.request(
                "GET", path, params={"ref": commit}, headers=_RAW, limit=self._readme_limit
            )
        except UpstreamTooLarge:
            notes.append(
                f"the README is more than the {self._readme_limit} bytes read at registration "
                "(TMR_EAGER_FILE_LIMIT): not read"
            )
            return ""
        if response.status_code == 404:
            notes.append("the repository has no README")
            return ""
        self._client.raise_for_status(response, "README not found")
        return response.text

    def _contributors(self, repo_id: str) -> list[Contributor]:
        response = self._client.request(
            "GET", f"{_repo(repo_id)}/contributors", params={"per_page": MAX_CONTRIBUTORS}, headers=_JSON
        )
        if response.status_code in (204, 404):
            return []
        self._client.raise_for_status(response, "contributors not found")
        data = response.json() if response.content else []
        return [Contributor.from_json(c) for c in data if isinstance(c, dict)]

    def _tags(self, repo_id: str, notes: list[str]) -> list[GitTag]:
        """The repository's tags with their commits, at most MAX_TAG_PAGES pages of them (noted
        when there are more). As for contributors, a 404 means no tags (here with a note, since
        it costs the version); other failures raise."""
        tags: list[GitTag] = []
        for page in range(1, MAX_TAG_PAGES + 1):
            response = self._client.request(
                "GET",
                f"{_repo(repo_id)}/tags",
                params={"per_page": TAG_PAGE, "page": page},
                headers=_JSON,
            )
            if response.status_code == 404:
                notes.append("GitHub did not list the repository's tags: no version is known")
                return tags
            self._client.raise_for_status(response, f"tags of {repo_id} not found")
            try:
                listed = response.json() if response.content else []
            except ValueError as exc:
                raise UpstreamUnavailable(
                    "GitHub sent invalid JSON for the repository's tags", component=self._client.component
                ) from exc
            tags += [
                GitTag(str(tag["name"]), str(tag["commit"]["sha"]))
                for tag in (listed if isinstance(listed, list) else [])
                if isinstance(tag, dict)
                and tag.get("name")
                and isinstance(tag.get("commit"), dict)
                and tag["commit"].get("sha")
            ]
            if "next" not in response.links or not listed:
                return tags
        notes.append(
            f"versions read from the first {MAX_TAG_PAGES * TAG_PAGE} tags only: a newer or matching "
            "version tag may have been missed"
        )
        return tags

    def _tree(self, ref: SourceRef, commit: str, notes: list[str]) -> tuple[UpstreamFile, ...]:
        tree = self._client.get_json(
            f"{_repo(ref.repo_id)}/git/trees/{quote_segment(commit, 'revision')}",
            params={"recursive": "1"},
            headers=_JSON,
            missing=f"file tree of {ref.repo_id} not found",
        )
        if tree.get("truncated"):
            notes.append("GitHub truncated the file tree: the manifest is partial")
        prefix = f"{ref.subpath.strip('/')}/" if ref.subpath else ""
        zip_url = self._client.url(f"{_repo(ref.repo_id)}/zipball/{quote_segment(commit, 'revision')}")
        return tuple(
            UpstreamFile(
                path=item["path"],
                size=int(item.get("size") or 0),
                kind=classify(item["path"]),
                download_url=zip_url,
                upstream_digest=git_digest(str(item["sha"])),
            )
            for item in tree.get("tree") or []
            if item.get("type") == "blob" and (not prefix or str(item.get("path", "")).startswith(prefix))
        )

    def pull_requests(self, repo_id: str, window: int = PR_WINDOW) -> tuple[PullRequest, ...]:
        """The most recent `window` merged pull requests, each with whether it has an approving
        review and the lines it changed in code files (weights and data excluded). Bounded:
        1 + 2 * window calls, made concurrently."""
        response = self._client.request(
            "GET",
            f"{_repo(repo_id)}/pulls",  # closed ones, newest first
            params={
                "state": "closed",
                "per_page": min(100, window * 2),
                "sort": "updated",
                "direction": "desc",
            },
            headers=_JSON,
        )
        self._client.raise_for_status(response, f"pull requests of {repo_id} not found")
        merged = [p for p in response.json() if isinstance(p, dict) and p.get("merged_at")][:window]
        if not merged:
            return ()

        def detail(pull: dict[str, Any]) -> PullRequest:
            number = int(pull["number"])
            reviews = self._client.get_json(f"{_repo(repo_id)}/pulls/{number}/reviews", headers=_JSON)
            files = self._client.get_json(
                f"{_repo(repo_id)}/pulls/{number}/files", params={"per_page": 100}, headers=_JSON
            )
            code_lines = sum(
                int(f.get("additions", 0)) + int(f.get("deletions", 0))
                for f in files
                if isinstance(f, dict) and classify(str(f.get("filename", ""))) not in _NOT_CODE
            )
            approved = any(isinstance(r, dict) and r.get("state") == "APPROVED" for r in reviews)
            return PullRequest(number, approved, code_lines)

        with ThreadPoolExecutor(max_workers=min(8, len(merged))) as pool:
            return tuple(pool.map(detail, merged))

    def open_many(self, files: Iterable[UpstreamFile]) -> Iterator[tuple[UpstreamFile, Iterator[bytes]]]:
        """Each wanted file's checked bytes, from one zipball spooled to a temporary file."""
        wanted = list(files)
        if not wanted:
            return
        with tempfile.TemporaryFile() as spool:
            limit, what = self._archive_limit, "GitHub's code archive (TMR_UPSTREAM_ARCHIVE_LIMIT)"
            with self._client.stream(wanted[0].download_url, limit=limit, what=what) as response:
                for chunk in capped(response.iter_bytes(1024 * 1024), limit, what):
                    spool.write(chunk)
            spool.seek(0)
            try:
                archive = zipfile.ZipFile(spool)
            except zipfile.BadZipFile as exc:
                raise IntegrityError("GitHub sent a zipball that is not a zip") from exc
            with archive:
                # GitHub puts everything under one `<owner>-<repo>-<sha>/` folder.
                members = {name.split("/", 1)[1]: name for name in archive.namelist() if "/" in name}
                for file in wanted:
                    member = members.get(file.path)
                    if member is None:
                        raise NotFound(f"{file.path} is missing from the GitHub zipball")
                    with archive.open(member) as handle:
                        chunks = iter(lambda h=handle: h.read(1024 * 1024), b"")  # type: ignore[misc]
                        yield file, checked(chunks, file.upstream_digest, file.size, file.path)
