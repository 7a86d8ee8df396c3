"""Git and Git LFS identities of an artifact's files, as the Hugging Face Hub reports them.

Clients key their caches on these ids (`blobs/<etag>`, `snapshots/<commit>`) and
`HfApi.verify_repo_checksums` recomputes them from the bytes, so they are the real Git ids, never
look-alikes: a blob id is the sha1 of `blob <size>\\0<bytes>` (of the LFS pointer for LFS files), a
tree id the sha1 of the Git tree object. A model mirrored from the Hub therefore keeps the Hub's
ids and shares a cache with downloads made from the Hub itself.

Pure functions: whatever needs a file's bytes (the blob id of an uploaded text file) is computed
by the caller and passed in.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping

from tmr.artifacts.models import FileEntry, FileKind
from tmr.sources.digests import git_blob_sha1

# Files the Hub would store in LFS: its default `.gitattributes` covers weights and data formats,
# and it refuses plain Git files over 10 MiB.
LFS_MIN_SIZE = 10 * 1024 * 1024
_LFS_KINDS = frozenset({FileKind.WEIGHTS, FileKind.DATA})
_COMMIT = re.compile(r"[0-9a-f]{40}")
_SHA256 = re.compile(r"[0-9a-f]{64}")


def is_commit(value: object) -> bool:
    return isinstance(value, str) and _COMMIT.fullmatch(value) is not None


def _vouched(file: FileEntry, algorithm: str) -> str | None:
    """The upstream's digest of `file` when it is of `algorithm` (`git` or `sha256`)."""
    kind, _, value = (file.upstream_digest or "").partition(":")
    return value.lower() if kind == algorithm and value else None


def is_lfs(file: FileEntry) -> bool:
    """Whether the Hub would store the file in LFS. The upstream's word wins (an LFS sha256 or a
    Git blob id); files without one (uploads) follow the Hub's defaults."""
    if file.upstream_digest:
        return _vouched(file, "sha256") is not None
    return file.kind in _LFS_KINDS or file.size >= LFS_MIN_SIZE


def lfs_sha256(file: FileEntry) -> str | None:
    """The LFS oid (sha256 of the content) of an LFS file, known before its bytes are mirrored
    when the upstream vouched for it; None for plain Git files."""
    if not is_lfs(file):
        return None
    digest = _vouched(file, "sha256") or file.sha256
    return digest if digest and _SHA256.fullmatch(digest) else None


def lfs_pointer(sha256: str, size: int) -> bytes:
    """The pointer file Git stores in place of an LFS object."""
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()


def known_blob_oid(file: FileEntry) -> str | None:
    """The Git blob id when it is known without reading the file: the upstream's, or that of the
    LFS pointer. None means the caller must hash the stored bytes (`git_blob_sha1`)."""
    upstream = _vouched(file, "git")
    if upstream:
        return upstream
    sha256 = lfs_sha256(file)
    return git_blob_sha1(lfs_pointer(sha256, file.size)) if sha256 else None


def manifest_commit(files: Iterable[FileEntry]) -> str:
    """A stable 40-hex commit id for an artifact with no upstream commit (an upload): the sha1 of
    its sorted manifest. It changes exactly when a path, a size or a content changes. The upstream
    digest is preferred over the stored sha256 so that mirroring a file does not change it."""
    hasher = hashlib.sha1(b"tmr-manifest-v1\n", usedforsecurity=False)
    for file in sorted(files, key=lambda f: f.path):
        identity = file.upstream_digest or (f"sha256:{file.sha256}" if file.sha256 else "")
        hasher.update(f"{file.path}\0{file.size}\0{identity}\n".encode())
    return hasher.hexdigest()


def directories(paths: Iterable[str]) -> set[str]:
    """Every directory holding one of `paths` (the root "" excluded)."""
    found: set[str] = set()
    for path in paths:
        parts = path.split("/")[:-1]
        found.update("/".join(parts[: i + 1]) for i in range(len(parts)))
    return found


def tree_oids(blob_oids: Mapping[str, str]) -> dict[str, str]:
    """Git tree ids of every directory ("" is the root) of a path → blob id mapping."""
    children: dict[str, dict[str, tuple[str, str]]] = {"": {}}
    for directory in directories(blob_oids):
        children.setdefault(directory, {})
    for path, oid in blob_oids.items():
        parent, _, name = path.rpartition("/")
        children[parent][name] = ("100644", oid)
    result: dict[str, str] = {}
    # Deepest first, so a directory's id is known before its parent's tree is hashed.
    for directory in sorted(children, key=lambda d: d.count("/") + (d != ""), reverse=True):
        # Git orders tree entries by name, a sub-tree's name as if it ended with "/".
        entries = sorted(
            children[directory].items(), key=lambda kv: kv[0] + ("/" if kv[1][0] == "40000" else "")
        )
        body = b"".join(
            f"{mode} {name}".encode() + b"\0" + bytes.fromhex(oid) for name, (mode, oid) in entries
        )
        result[directory] = hashlib.sha1(b"tree %d\0" % len(body) + body, usedforsecurity=False).hexdigest()
        if directory:
            parent, _, name = directory.rpartition("/")
            children[parent][name] = ("40000", result[directory])
    return result
