"""One registry artifact seen as a Hugging Face Hub repository: its commit, revisions, repository
description, file tree and the headers of its files.

The view is a pure function of the stored artifact. Artifacts mirrored from the Hub keep the
Hub's commit and ids, so clients can share caches with the Hub; other artifacts (uploads) get a
commit derived from their manifest (`hub.git.manifest_commit`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tmr.artifacts.models import Artifact, ArtifactType, FileEntry, Visibility
from tmr.downloads.plan import content_disposition
from tmr.hub.git import (
    directories,
    is_commit,
    known_blob_oid,
    lfs_pointer,
    lfs_sha256,
    manifest_commit,
    tree_oids,
)
from tmr.sources.models import SourceKind

OidOf = Callable[[FileEntry], str]
"""The Git blob id of a file whose upstream did not vouch for one, from its stored bytes."""

_FROM_HUB = {SourceKind.HF_MODEL.value, SourceKind.HF_DATASET.value}
MAIN = "main"


def from_hub(artifact: Artifact) -> bool:
    return artifact.source in _FROM_HUB


def canonical_id(artifact: Artifact) -> str:
    """The Hub's repository id for artifacts mirrored from it; the artifact's name otherwise."""
    repo_id = artifact.upstream.get("repo_id")
    if from_hub(artifact) and isinstance(repo_id, str) and repo_id:
        return repo_id
    return artifact.name


def repo_commit(artifact: Artifact) -> str:
    """The commit pinned at registration for Hub artifacts, else one derived from the manifest."""
    if from_hub(artifact):
        for key in ("revision", "sha"):
            if is_commit(artifact.upstream.get(key)):
                return str(artifact.upstream[key])
    return manifest_commit(artifact.files)


def revision_names(artifact: Artifact, commit: str) -> set[str]:
    """Every revision that names the artifact's one commit: the branch, the commit, the version."""
    names = {MAIN, f"refs/heads/{MAIN}", commit}
    if artifact.version:
        names |= {artifact.version, f"refs/tags/{artifact.version}"}
    return names


def hub_date(value: datetime | None) -> str | None:
    """The Hub's date format, `2024-02-19T11:06:12.000Z`."""
    if value is None:
        return None
    utc = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _dedupe(items: Iterable[Any]) -> list[str]:
    return list(dict.fromkeys(str(i) for i in items if isinstance(i, str) and i))


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@dataclass(frozen=True, slots=True)
class HubRepo:
    artifact: Artifact
    repo_id: str
    commit: str
    oid_of: OidOf

    @classmethod
    def of(cls, artifact: Artifact, oid_of: OidOf) -> HubRepo:
        return cls(artifact, canonical_id(artifact), repo_commit(artifact), oid_of)

    def accepts(self, revision: str) -> bool:
        return revision in revision_names(self.artifact, self.commit)

    def blob_oid(self, file: FileEntry) -> str:
        return known_blob_oid(file) or self.oid_of(file)

    def file(self, path: str) -> FileEntry | None:
        return next((f for f in self.artifact.files if f.path == path), None)

    @property
    def last_modified(self) -> str | None:
        upstream = self.artifact.upstream.get("lastModified") if from_hub(self.artifact) else None
        return str(upstream) if upstream else hub_date(self.artifact.updated_at)

    # -- files -------------------------------------------------------------------------------
    def _lfs(self, file: FileEntry, sha_key: str) -> dict[str, Any] | None:
        sha256 = lfs_sha256(file)
        if sha256 is None:
            return None
        return {sha_key: sha256, "size": file.size, "pointerSize": len(lfs_pointer(sha256, file.size))}

    def _last_commit(self) -> dict[str, Any]:
        title = (
            f"{self.artifact.name} {self.artifact.version}" if self.artifact.version else self.artifact.name
        )
        return {"id": self.commit, "title": title, "date": self.last_modified}

    def _file_entry(self, file: FileEntry, expand: bool) -> dict[str, Any]:
        item: dict[str, Any] = {
            "type": "file",
            "oid": self.blob_oid(file),
            "size": file.size,
            "path": file.path,
        }
        lfs = self._lfs(file, "oid")
        if lfs is not None:
            item["lfs"] = lfs
        if expand:
            item["lastCommit"] = self._last_commit()
        return item

    def _dir_entry(self, path: str, oid: str, expand: bool) -> dict[str, Any]:
        item: dict[str, Any] = {"type": "directory", "oid": oid, "size": 0, "path": path}
        if expand:
            item["lastCommit"] = self._last_commit()
        return item

    def _tree_oids(self) -> dict[str, str]:
        return tree_oids({f.path: self.blob_oid(f) for f in self.artifact.files})

    def tree(self, base: str, *, recursive: bool, expand: bool) -> list[dict[str, Any]] | None:
        """The entries under directory `base` ("" for the root), the Hub's way: directories first,
        or everything sorted by path when recursive. None when `base` is not a directory."""
        base = base.strip("/")
        dirs = directories(f.path for f in self.artifact.files)
        if base and base not in dirs:
            return None
        prefix = f"{base}/" if base else ""

        def listed(path: str) -> bool:
            return path.startswith(prefix) and (recursive or "/" not in path[len(prefix) :])

        shown_dirs = sorted(d for d in dirs if listed(d))
        oids = self._tree_oids() if shown_dirs else {}
        items = [self._dir_entry(d, oids[d], expand) for d in shown_dirs]
        files = sorted((f for f in self.artifact.files if listed(f.path)), key=lambda f: f.path)
        items += [self._file_entry(f, expand) for f in files]
        if recursive:
            items.sort(key=lambda item: str(item["path"]))
        return items

    def paths_info(self, paths: Iterable[str], *, expand: bool) -> list[dict[str, Any]]:
        """Entries for the paths that exist (unknown ones are skipped, as on the Hub)."""
        dirs = directories(f.path for f in self.artifact.files)
        oids: dict[str, str] | None = None
        items = []
        for raw in dict.fromkeys(paths):
            path = raw.strip("/")
            file = self.file(path)
            if file is not None:
                items.append(self._file_entry(file, expand))
            elif path in dirs:
                oids = oids if oids is not None else self._tree_oids()
                items.append(self._dir_entry(path, oids[path], expand))
        return items

    def file_headers(self, file: FileEntry) -> dict[str, str]:
        """What `huggingface_hub.get_hf_file_metadata` reads: the commit, the ETag the cache is
        keyed on (the LFS sha256 in `X-Linked-Etag` for LFS files, the Git blob id otherwise)
        and the size. No Xet headers: clients must take the plain HTTP path."""
        headers = {"X-Repo-Commit": self.commit, "Accept-Ranges": "bytes"}
        sha256 = lfs_sha256(file)
        if sha256 is not None:
            headers["ETag"] = headers["X-Linked-Etag"] = f'"{sha256}"'
            headers["X-Linked-Size"] = str(file.size)
        else:
            headers["ETag"] = f'"{self.blob_oid(file)}"'
        headers["Content-Disposition"] = content_disposition(file.path, "inline")
        headers["Cache-Control"] = "private, max-age=0, must-revalidate"
        headers["X-Content-Type-Options"] = "nosniff"
        return headers

    # -- repository ----------------------------------------------------------------------------
    def _tags(self) -> list[str]:
        artifact = self.artifact
        upstream = artifact.upstream.get("tags") if from_hub(artifact) else None
        if isinstance(upstream, list):
            return _dedupe(upstream)
        card = artifact.card
        tags: list[Any] = [card.get("library_name"), *_as_list(card.get("tags"))]
        if artifact.license:
            tags.append(f"license:{artifact.license}")
        return _dedupe(tags)

    def info(self, *, blobs: bool, expand: Collection[str] = ()) -> dict[str, Any]:
        """The repository description of `GET /api/{models|datasets}/{repo_id}` (`ModelInfo`,
        `DatasetInfo`). `blobs` adds sizes, blob ids and LFS facts to the siblings; `expand`
        keeps only the named properties, as the Hub does."""
        artifact = self.artifact
        facts = artifact.upstream if from_hub(artifact) else {}
        siblings = []
        for file in sorted(artifact.files, key=lambda f: f.path):
            sibling: dict[str, Any] = {"rfilename": file.path}
            if blobs:
                sibling.update(size=file.size, blobId=self.blob_oid(file))
                lfs = self._lfs(file, "sha256")
                if lfs is not None:
                    sibling["lfs"] = lfs
            siblings.append(sibling)
        owner = self.repo_id.split("/")[0] if "/" in self.repo_id else None
        data: dict[str, Any] = {
            "_id": artifact.id,
            "id": self.repo_id,
            "author": facts.get("author") or owner or artifact.created_by,
            "sha": self.commit,
            "lastModified": self.last_modified,
            "createdAt": facts.get("createdAt") or hub_date(artifact.created_at),
            "private": artifact.visibility is Visibility.PRIVATE,
            "gated": False,  # the registry's token already decided access
            "disabled": False,
            "tags": self._tags(),
        }
        for key in ("downloads", "likes"):
            if isinstance(facts.get(key), int):
                data[key] = facts[key]
        if artifact.card:
            data["cardData"] = artifact.card
        if artifact.type is ArtifactType.MODEL:
            data["modelId"] = self.repo_id
            for key in ("pipeline_tag", "library_name"):
                value = facts.get(key) or artifact.card.get(key)
                if isinstance(value, str) and value:
                    data[key] = value
            config = artifact.upstream.get("config")
            if isinstance(config, dict):
                summary = {k: config[k] for k in ("architectures", "model_type") if k in config}
                if summary:
                    data["config"] = summary
        else:
            data["description"] = str(facts.get("description") or "")
            data["citation"] = str(facts.get("citation") or "")
        data["siblings"] = siblings
        data["usedStorage"] = artifact.size_bytes
        if expand:
            data = {k: v for k, v in data.items() if k in ("_id", "id") or k in expand}
        return data

    def refs(self, *, include_prs: bool) -> dict[str, Any]:
        """`GET /api/{models|datasets}/{repo_id}/refs`: one branch, and the version as a tag."""
        tags = []
        if self.artifact.version:
            tags.append(
                {
                    "name": self.artifact.version,
                    "ref": f"refs/tags/{self.artifact.version}",
                    "targetCommit": self.commit,
                }
            )
        data: dict[str, Any] = {
            "branches": [{"name": MAIN, "ref": f"refs/heads/{MAIN}", "targetCommit": self.commit}],
            "converts": [],
            "tags": tags,
        }
        if include_prs:
            data["pullRequests"] = []
        return data
