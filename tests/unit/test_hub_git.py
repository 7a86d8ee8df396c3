"""Git ids of served files: checked against values computed by git itself."""

import hashlib
from dataclasses import replace

import pytest

from tmr.artifacts.models import FileEntry, FileKind
from tmr.hub.git import (
    directories,
    is_commit,
    is_lfs,
    known_blob_oid,
    lfs_pointer,
    lfs_sha256,
    manifest_commit,
    tree_oids,
)
from tmr.sources.digests import git_blob_sha1, git_digest, sha256_digest

WEIGHTS_SHA256 = hashlib.sha256(b"weights").hexdigest()


def test_tree_ids_are_gits() -> None:
    # mkdir -p dir/sub; printf 'A\n' > a.txt; printf 'B\n' > dir/b.txt; printf 'C\n' > dir/sub/c.txt
    # printf x > dir-x; printf t > dir.txt; git add -A; git write-tree; git ls-tree -r -t <tree>
    blobs = {
        "a.txt": git_blob_sha1(b"A\n"),
        "dir/b.txt": git_blob_sha1(b"B\n"),
        "dir/sub/c.txt": git_blob_sha1(b"C\n"),
        "dir-x": git_blob_sha1(b"x"),
        "dir.txt": git_blob_sha1(b"t"),
    }
    assert tree_oids(blobs) == {
        "": "b5dd951206d556214a22e069743a0c48fa28f7de",  # "dir" sorts as "dir/": after "dir-x", "dir.txt"
        "dir": "5a8b5223751c08baa24447b0d87947f6321718dd",
        "dir/sub": "331daf69dfa6340a17ae3abc3fa9a2a1d208a8ce",
    }


def test_empty_tree() -> None:
    assert tree_oids({}) == {"": "4b825dc642cb6eb9a060e54bf8d69288fbee4904"}


def test_directories() -> None:
    assert directories(["a", "b/c", "b/d/e"]) == {"b", "b/d"}


def test_lfs_pointer_blob_id_is_gits() -> None:
    # printf 'version …\noid sha256:<sha256 of "weights">\nsize 7\n' | git hash-object --stdin
    weights = FileEntry("model.safetensors", 7, FileKind.WEIGHTS, sha256=WEIGHTS_SHA256)
    assert lfs_pointer(WEIGHTS_SHA256, 7).endswith(b"size 7\n")
    assert known_blob_oid(weights) == "c6a67be4f3ef29ed4a07b4f2446625126a25cfda"


def test_the_upstream_decides_what_is_lfs() -> None:
    lfs = FileEntry("big.txt", 5, FileKind.DOCS, upstream_digest=sha256_digest(WEIGHTS_SHA256))
    git = FileEntry("model.bin", 5, FileKind.WEIGHTS, upstream_digest=git_digest("ab" * 20))
    assert is_lfs(lfs)
    assert lfs_sha256(lfs) == WEIGHTS_SHA256  # known before the bytes are mirrored
    assert not is_lfs(git)
    assert lfs_sha256(git) is None
    assert known_blob_oid(git) == "ab" * 20


@pytest.mark.parametrize(
    ("kind", "size", "expected"),
    [
        (FileKind.WEIGHTS, 10, True),
        (FileKind.DATA, 10, True),
        (FileKind.CONFIG, 10, False),
        (FileKind.TOKENIZER, 10 * 1024 * 1024, True),  # the Hub refuses plain Git files this big
    ],
)
def test_uploads_follow_the_hubs_defaults(kind: FileKind, size: int, expected: bool) -> None:
    assert is_lfs(FileEntry("f", size, kind, sha256=WEIGHTS_SHA256)) is expected


def test_an_uploaded_text_file_needs_its_bytes_for_a_blob_id() -> None:
    assert known_blob_oid(FileEntry("config.json", 2, FileKind.CONFIG, sha256=WEIGHTS_SHA256)) is None


def _files() -> list[FileEntry]:
    return [
        FileEntry("config.json", 2, FileKind.CONFIG, sha256="1" * 64),
        FileEntry("model.safetensors", 9, FileKind.WEIGHTS, upstream_digest=sha256_digest("2" * 64)),
    ]


def test_manifest_commit_is_stable_and_follows_the_content() -> None:
    files = _files()
    commit = manifest_commit(files)
    assert is_commit(commit)
    assert manifest_commit(reversed(files)) == commit
    files[1] = replace(files[1], sha256="2" * 64)  # mirrored later: the same content, the same commit
    assert manifest_commit(files) == commit
    files[0] = replace(files[0], sha256="3" * 64)
    assert manifest_commit(files) != commit
    renamed = _files()
    renamed[0] = replace(renamed[0], path="other.json")
    assert manifest_commit(renamed) != commit


def test_is_commit() -> None:
    assert is_commit("a" * 40)
    assert not is_commit("A" * 40)
    assert not is_commit("main")
    assert not is_commit(None)
