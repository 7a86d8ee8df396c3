"""Hugging Face Hub models and datasets, through the Hub's REST API at HF_ENDPOINT."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from tmr.artifacts.filekinds import classify
from tmr.artifacts.models import FileKind
from tmr.errors import InvalidInput, UpstreamForbidden, UpstreamUnavailable
from tmr.sources.digests import checked, git_digest, sha256_digest
from tmr.sources.http import UpstreamClient, capped
from tmr.sources.layout import read_layout_evidence
from tmr.sources.models import SourceKind, SourceRef, SourceSnapshot, UpstreamFile
from tmr.sources.tags import GitTag, read_tags
from tmr.sources.urls import check_hf_repo_id, quote_path, quote_segment

# Files fetched at registration whatever their kind (up to the eager limit): they are the evidence.
_EVIDENCE_FILES = ("README.md", "config.json", "adapter_config.json", "model_index.json")
_EAGER_KINDS = {FileKind.CONFIG, FileKind.TOKENIZER, FileKind.DOCS, FileKind.CODE, FileKind.OTHER}
_FACT_KEYS = (
    "author",
    "sha",
    "downloads",
    "likes",
    "tags",
    "pipeline_tag",
    "library_name",
    "gated",
    "private",
    "disabled",
    "lastModified",
    "createdAt",
    "usedStorage",
    "description",
    "citation",
)


def is_restricted(info: dict[str, Any]) -> bool:
    """Whether the Hub keeps the repository from the public: `private`, or `gated` (`"auto"` or
    `"manual"`; `false` when open). What the server's token reads of it is not for everyone."""
    gated = info.get("gated")
    return info.get("private") is True or (gated not in (None, False) and str(gated).lower() != "false")


class HuggingFaceSource:
    """Inspects Hub repositories and streams their files for mirroring."""

    def __init__(self, client: UpstreamClient, *, eager_limit: int, workers: int = 8) -> None:
        self._client = client
        self._eager_limit = eager_limit
        self._workers = workers

    @staticmethod
    def _repo_path(ref: SourceRef) -> str:
        """The repository's API path; its id is checked again here, whoever built `ref`, since
        the call carries the server's token."""
        section = "datasets" if ref.kind is SourceKind.HF_DATASET else "models"
        return f"/api/{section}/{quote_path(check_hf_repo_id(ref.repo_id))}"

    def _api_path(self, ref: SourceRef) -> str:
        path = self._repo_path(ref)
        if ref.revision:
            path += f"/revision/{quote_segment(ref.revision, 'revision')}"
        return path

    def resolve_url(self, ref: SourceRef, revision: str, path: str) -> str:
        prefix = "/datasets" if ref.kind is SourceKind.HF_DATASET else ""
        repo = quote_path(check_hf_repo_id(ref.repo_id))
        return self._client.url(
            f"{prefix}/{repo}/resolve/{quote_segment(revision, 'revision')}/{quote_path(path)}"
        )

    def inspect(self, ref: SourceRef) -> SourceSnapshot:
        what = "dataset" if ref.kind is SourceKind.HF_DATASET else "model"
        info = self._client.get_json(
            self._api_path(ref), params={"blobs": "true"}, missing=f"{what} {ref.repo_id} not found"
        )
        if not isinstance(info, dict):
            raise UpstreamUnavailable(
                "Hugging Face sent an unexpected repository description", component=self._client.component
            )
        revision = str(info.get("sha") or ref.revision or "main")
        notes: list[str] = []
        files, refused = self._fetch_small(self._files(ref, info, revision, notes), notes)
        if refused:
            notes.append(
                f"the repository is gated or private: {len(refused)} file(s) could not be read with the "
                "configured token (" + ", ".join(sorted(refused)[:5]) + ")"
            )
        layout = read_layout_evidence(files, info, is_model=ref.kind is SourceKind.HF_MODEL)
        notes += layout.notes
        tagged = read_tags(self._tags(ref, notes), revision, ref.revision)
        return SourceSnapshot(
            ref=ref,
            readme=layout.readme,
            card=layout.card,
            license=layout.license,
            facts={
                **{k: info[k] for k in _FACT_KEYS if k in info},
                "repo_id": ref.repo_id,
                "revision": revision,
                **layout.facts,
                **tagged.facts,
            },
            files=files,
            version=tagged.version,
            notes=tuple(notes),
            private=is_restricted(info),
        )

    def _tags(self, ref: SourceRef, notes: list[str]) -> list[GitTag]:
        """The repository's git tags, from one refs call. A Hub that will not list them (404 on
        older hubs, 401/403) costs the artifact its version, with a note added to `notes`, not its
        registration; an outage fails the registration like every other call here."""
        response = self._client.request("GET", f"{self._repo_path(ref)}/refs")
        if response.status_code in (401, 403, 404):
            notes.append(
                f"the Hub did not list the repository's git tags (HTTP {response.status_code}): "
                "no version is known"
            )
            return []
        self._client.raise_for_status(response, f"refs of {ref.repo_id} not found")
        try:
            refs = response.json()
        except ValueError as exc:
            raise UpstreamUnavailable(
                "Hugging Face sent invalid JSON for the repository's refs", component=self._client.component
            ) from exc
        listed = refs.get("tags") if isinstance(refs, dict) else None
        return [
            GitTag(str(tag["name"]), str(tag["targetCommit"]))
            for tag in (listed if isinstance(listed, list) else [])
            if isinstance(tag, dict) and tag.get("name") and tag.get("targetCommit")
        ]

    def _files(
        self, ref: SourceRef, info: dict[str, Any], revision: str, notes: list[str]
    ) -> list[UpstreamFile]:
        files: list[UpstreamFile] = []
        unsafe: list[str] = []
        prefix = f"{ref.subpath.strip('/')}/" if ref.subpath else ""
        siblings = info.get("siblings") or []
        if not isinstance(siblings, list) or not all(isinstance(s, dict) for s in siblings):
            raise UpstreamUnavailable(
                "Hugging Face sent an unexpected file listing", component=self._client.component
            )
        for sibling in siblings:
            path = sibling.get("rfilename")
            if not isinstance(path, str) or (prefix and not path.startswith(prefix)):
                continue
            try:
                download_url = self.resolve_url(ref, revision, path)
            except InvalidInput:  # `..`, a backslash: fetching it would leave the repository
                unsafe.append(path)
                continue
            try:
                digest, size = _digest_and_size(sibling)
            except (AttributeError, TypeError, ValueError) as exc:
                raise UpstreamUnavailable(
                    f"Hugging Face sent an unexpected description of {path}", component=self._client.component
                ) from exc
            files.append(
                UpstreamFile(
                    path=path,
                    size=size,
                    kind=classify(path),
                    download_url=download_url,
                    upstream_digest=digest,
                )
            )
        if unsafe:
            notes.append(
                f"{len(unsafe)} file(s) listed with a path that leaves the repository were left out ("
                + ", ".join(repr(p) for p in sorted(unsafe)[:5])
                + ")"
            )
        return files

    def _fetch_small(
        self, files: list[UpstreamFile], notes: list[str]
    ) -> tuple[tuple[UpstreamFile, ...], list[str]]:
        """The files with the small ones' content, fetched concurrently, and the paths the upstream
        refused to serve (gated repositories list their files but serve most of them only to
        accepted users). Evidence files (README, config) are read at any kind but not at any
        size: one over the eager limit is left unread, with a note."""
        small = [f.size <= self._eager_limit for f in files]
        wanted = [
            i
            for i, f in enumerate(files)
            if small[i] and (f.path in _EVIDENCE_FILES or f.kind in _EAGER_KINDS)
        ]
        notes += [
            f"{f.path} is {f.size} bytes, more than the {self._eager_limit} read at registration "
            "(TMR_EAGER_FILE_LIMIT): not read"
            for i, f in enumerate(files)
            if f.path in _EVIDENCE_FILES and not small[i]
        ]
        if not wanted:
            return tuple(files), []
        with ThreadPoolExecutor(max_workers=min(self._workers, len(wanted))) as pool:
            contents = list(pool.map(self._download, [files[i] for i in wanted]))
        fetched = list(files)
        for i, content in zip(wanted, contents, strict=True):
            fetched[i] = replace(files[i], content=content)
        return tuple(fetched), [fetched[i].path for i in wanted if fetched[i].content is None]

    def _download(self, file: UpstreamFile) -> bytes | None:
        """An eager file's bytes, never more than the eager limit whatever the listing said."""
        try:
            what = f"{file.path} (TMR_EAGER_FILE_LIMIT)"
            return b"".join(
                capped(self.open(file, limit=self._eager_limit, what=what), self._eager_limit, what)
            )
        except UpstreamForbidden:
            return None

    def open(
        self, file: UpstreamFile, *, limit: int | None = None, what: str | None = None
    ) -> Iterator[bytes]:
        """The file's bytes, checked against the upstream's size and digest as they stream (so
        never more than the listed size is read; `limit` refuses a larger declared length)."""
        with self._client.stream(file.download_url, limit=limit, what=what) as response:
            yield from checked(response.iter_bytes(1024 * 1024), file.upstream_digest, file.size, file.path)


def _digest_and_size(sibling: dict[str, Any]) -> tuple[str | None, int]:
    """A listed file's upstream digest (LFS sha256, else git blob id) and size."""
    lfs = sibling.get("lfs") or {}
    if lfs.get("sha256"):
        return sha256_digest(str(lfs["sha256"])), int(lfs.get("size") or sibling.get("size") or 0)
    digest = git_digest(str(sibling["blobId"])) if sibling.get("blobId") else None
    return digest, int(sibling.get("size") or 0)
