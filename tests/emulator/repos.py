"""Data model of fixture repositories (Hugging Face and GitHub) and the derived values the APIs expose.

Everything derived (commit shas, blob ids, tree ids, card metadata) is a pure function of the data, so the
same fixture always yields byte-identical responses across runs and machines.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import yaml

from tests.emulator.blobs import Blob, InlineBlob, git_tree_shas, lfs_pointer, stable_int, stable_sha1

RepoType = Literal["model", "dataset"]
Gating = Literal[False, "auto", "manual"]

LFS_SUFFIXES = (
    ".safetensors",
    ".bin",
    ".pt",
    ".pth",
    ".ckpt",
    ".h5",
    ".msgpack",
    ".onnx",
    ".parquet",
    ".arrow",
    ".pkl",
    ".pickle",
    ".zip",
    ".gz",
    ".tflite",
    ".npy",
    ".npz",
    ".model",
    ".ot",
)
LFS_MIN_SIZE = 10 * 1024 * 1024
GRANTED_TOKEN = "hf_emulator_granted_token"
"""Bearer token that is on the access list of every gated and private fixture repository."""

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(\r?\n|\Z)", re.DOTALL)


def parse_front_matter(readme: bytes | None) -> dict[str, Any] | None:
    """Parse a model/dataset card's YAML front matter the way the Hub does (None when absent/invalid)."""
    if not readme:
        return None
    match = _FRONT_MATTER.match(readme.decode("utf-8", errors="replace"))
    if match is None:
        return None
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError:
        return None
    return data if isinstance(data, dict) else None


@dataclass(frozen=True)
class HfFile:
    """One file of a Hub repository, with the ids the Hub reports for it."""

    path: str
    blob: Blob
    lfs: bool

    @property
    def size(self) -> int:
        return self.blob.size

    @property
    def pointer(self) -> bytes:
        return lfs_pointer(self.blob.sha256, self.blob.size)

    @property
    def oid(self) -> str:
        """Git blob id: of the LFS pointer for LFS files, of the content otherwise (as on the Hub)."""
        return InlineBlob(self.pointer).git_sha1 if self.lfs else self.blob.git_sha1

    @property
    def etag(self) -> str:
        return self.blob.sha256 if self.lfs else self.blob.git_sha1


@dataclass
class HfRepo:
    """A Hugging Face model or dataset repository; every revision serves the same snapshot of `files`."""

    repo_id: str
    files: dict[str, Blob]
    repo_type: RepoType = "model"
    downloads: int = 0
    likes: int = 0
    pipeline_tag: str | None = None
    library_name: str | None = None
    extra_tags: tuple[str, ...] = ()
    gated: Gating = False
    private: bool = False
    disabled: bool = False
    created_at: str = "2022-03-02T23:29:04.000Z"
    last_modified: str = "2024-01-15T10:00:00.000Z"
    git_tags: tuple[str, ...] = ()
    head_tags: tuple[str, ...] = ()
    branches: tuple[str, ...] = ("main",)
    pr_numbers: tuple[int, ...] = ()
    aliases: tuple[str, ...] = ()
    description: str | None = None
    citation: str | None = None
    lfs_paths: frozenset[str] = frozenset()
    ungated_paths: frozenset[str] = frozenset({"README.md", ".gitattributes"})

    @property
    def author(self) -> str:
        return self.repo_id.split("/")[0]

    @property
    def url(self) -> str:
        prefix = "datasets/" if self.repo_type == "dataset" else ""
        return f"https://huggingface.co/{prefix}{self.repo_id}"

    @cached_property
    def entries(self) -> dict[str, HfFile]:
        return {
            path: HfFile(
                path,
                blob,
                path in self.lfs_paths or path.endswith(LFS_SUFFIXES) or blob.size >= LFS_MIN_SIZE,
            )
            for path, blob in sorted(self.files.items())
        }

    @cached_property
    def tree_ids(self) -> dict[str, str]:
        return git_tree_shas({path: entry.oid for path, entry in self.entries.items()})

    def commit_for(self, ref: str) -> str:
        return stable_sha1(self.repo_type, self.repo_id, ref)

    @cached_property
    def sha(self) -> str:
        """Commit sha of the default branch (`main`)."""
        return self.commit_for("refs/heads/main")

    @property
    def all_git_tags(self) -> tuple[str, ...]:
        """Every git tag name: `git_tags` point at older commits of their own, `head_tags` at `main`."""
        return self.git_tags + self.head_tags

    @cached_property
    def refs(self) -> dict[str, str]:
        """Every resolvable revision name (branch, tag, refs/..., full sha) -> commit sha."""
        refs: dict[str, str] = {}
        for branch in self.branches:
            refs[branch] = refs[f"refs/heads/{branch}"] = self.commit_for(f"refs/heads/{branch}")
        for tag in self.git_tags:
            refs[tag] = refs[f"refs/tags/{tag}"] = self.commit_for(f"refs/tags/{tag}")
        for tag in self.head_tags:
            refs[tag] = refs[f"refs/tags/{tag}"] = self.sha
        for number in self.pr_numbers:
            refs[f"refs/pr/{number}"] = self.commit_for(f"refs/pr/{number}")
        for commit in list(refs.values()):
            refs[commit] = commit
        return refs

    @cached_property
    def card_data(self) -> dict[str, Any] | None:
        readme = self.files.get("README.md")
        return parse_front_matter(readme.read() if readme is not None else None)

    def json_file(self, path: str) -> dict[str, Any] | None:
        blob = self.files.get(path)
        if blob is None:
            return None
        try:
            data = json.loads(blob.read())
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    @cached_property
    def internal_id(self) -> str:
        return stable_sha1("mongo", self.repo_type, self.repo_id)[:24]

    def accessible(self, token: str | None, path: str | None = None) -> bool:
        """Whether `token` may read the repo metadata (path=None) or download `path`."""
        if self.private:
            return token == GRANTED_TOKEN
        if self.gated and path is not None and path not in self.ungated_paths:
            return token == GRANTED_TOKEN
        return True


@dataclass(frozen=True)
class GhCommit:
    """A commit on the default branch of a GitHub repository."""

    sha: str
    author_login: str | None
    author_name: str
    author_email: str
    date: str
    message: str
    parents: tuple[str, ...]


@dataclass(frozen=True)
class GhReview:
    id: int
    user: str
    state: Literal["APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED"]
    submitted_at: str


@dataclass(frozen=True)
class GhPullFile:
    filename: str
    status: Literal["added", "modified", "removed", "renamed"]
    additions: int
    deletions: int


@dataclass(frozen=True)
class GhPull:
    number: int
    title: str
    user: str
    state: Literal["open", "closed"]
    created_at: str
    updated_at: str
    closed_at: str | None
    merged_at: str | None
    merge_commit_sha: str | None
    head_ref: str
    base_ref: str
    reviews: tuple[GhReview, ...] = ()
    files: tuple[GhPullFile, ...] = ()

    @property
    def approved(self) -> bool:
        return any(r.state == "APPROVED" for r in self.reviews)


@dataclass
class GhRepo:
    """A GitHub repository: files at the head of the default branch plus its social/git history."""

    full_name: str
    files: dict[str, bytes]
    description: str = ""
    default_branch: str = "main"
    license_spdx: str | None = None
    license_path: str | None = None
    stars: int = 0
    forks: int = 0
    watchers: int = 0
    open_issues: int = 0
    topics: tuple[str, ...] = ()
    archived: bool = False
    fork: bool = False
    created_at: str = "2018-10-31T18:35:11Z"
    updated_at: str = "2024-05-02T09:14:40Z"
    pushed_at: str = "2024-04-28T16:02:03Z"
    contributors: tuple[tuple[str, int], ...] = ()
    anonymous_contributors: tuple[tuple[str, str, int], ...] = ()
    commits: tuple[GhCommit, ...] = ()
    pulls: tuple[GhPull, ...] = ()
    tags: tuple[str, ...] = ()
    head_tags: tuple[str, ...] = ()
    extra_branches: tuple[str, ...] = ()
    private: bool = False  # served only to GRANTED_TOKEN, as GitHub hides private repositories (404)

    @property
    def owner(self) -> str:
        return self.full_name.split("/")[0]

    @property
    def name(self) -> str:
        return self.full_name.split("/")[1]

    @property
    def url(self) -> str:
        return f"https://github.com/{self.full_name}"

    @property
    def repo_id(self) -> int:
        return stable_int("gh-repo", self.full_name, bits=28) + 10_000_000

    @property
    def head_sha(self) -> str:
        return self.commits[0].sha if self.commits else stable_sha1("gh-head", self.full_name)

    @cached_property
    def blob_shas(self) -> dict[str, str]:
        return {path: InlineBlob(data).git_sha1 for path, data in sorted(self.files.items())}

    @cached_property
    def tree_ids(self) -> dict[str, str]:
        return git_tree_shas(self.blob_shas)

    @cached_property
    def tag_commits(self) -> dict[str, str]:
        """`tags` point at evenly spread commits of the history (newest tag -> newest commit);
        `head_tags` all point at the head commit (several names for one release)."""
        shas = [c.sha for c in self.commits] or [self.head_sha]
        step = max(1, len(shas) // max(1, len(self.tags)))
        spread = {tag: shas[min(i * step, len(shas) - 1)] for i, tag in enumerate(self.tags)}
        return {**dict.fromkeys(self.head_tags, self.head_sha), **spread}

    def resolve_ref(self, ref: str | None) -> str | None:
        """Map a branch, tag or commit sha (full or >=7-char prefix) to a commit sha; None if unknown."""
        if ref in (None, "", "HEAD", self.default_branch, *self.extra_branches):
            return self.head_sha
        assert ref is not None
        if ref.startswith("refs/heads/") and ref[11:] in (self.default_branch, *self.extra_branches):
            return self.head_sha
        tag = ref.removeprefix("refs/tags/")
        if tag in self.tag_commits:
            return self.tag_commits[tag]
        if re.fullmatch(r"[0-9a-f]{7,40}", ref):
            for commit in self.commits:
                if commit.sha.startswith(ref):
                    return commit.sha
            if self.head_sha.startswith(ref):
                return self.head_sha
        return None


@dataclass
class Fixtures:
    """The set of repositories an emulator serves, with id lookups (aliases are lower-priority names)."""

    hf: list[HfRepo] = field(default_factory=list)
    github: list[GhRepo] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._hf: dict[tuple[RepoType, str], HfRepo] = {}
        self._hf_alias: dict[tuple[RepoType, str], HfRepo] = {}
        for repo in self.hf:
            self._hf[(repo.repo_type, repo.repo_id)] = repo
            for alias in repo.aliases:
                self._hf_alias[(repo.repo_type, alias)] = repo
        self._gh = {repo.full_name.lower(): repo for repo in self.github}

    def hf_repo(self, repo_type: RepoType, repo_id: str) -> HfRepo | None:
        return self._hf.get((repo_type, repo_id))

    def hf_alias(self, repo_type: RepoType, name: str) -> HfRepo | None:
        return self._hf_alias.get((repo_type, name))

    def gh_repo(self, owner: str, name: str) -> GhRepo | None:
        return self._gh.get(f"{owner}/{name}".lower())

    def merged(self, other: Fixtures) -> Fixtures:
        """A new set with `other`'s repositories added (replacing same-id ones)."""
        ids = {(r.repo_type, r.repo_id) for r in other.hf}
        names = {r.full_name.lower() for r in other.github}
        return Fixtures(
            hf=[r for r in self.hf if (r.repo_type, r.repo_id) not in ids] + other.hf,
            github=[r for r in self.github if r.full_name.lower() not in names] + other.github,
        )
