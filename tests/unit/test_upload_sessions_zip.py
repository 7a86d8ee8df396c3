"""`zip_length`: the length a resumable push declares before reading a byte must be the length of
the zip `zipped` then streams, for every shape of folder, zip64 included."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tmr.client.zipstream import FolderFile, folder_files, zip_length, zipped


def streamed(files: list[FolderFile]) -> int:
    return sum(len(chunk) for chunk in zipped(files))


def folder(root: Path, files: dict[str, bytes]) -> list[FolderFile]:
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return folder_files(root)


def test_small_files_an_empty_one_and_unicode_names(tmp_path: Path) -> None:
    files = folder(
        tmp_path,
        {
            "README.md": b"# hello\n",
            "empty.txt": b"",
            "config.json": b"{}",
            "données/naïve €.bin": bytes(range(256)) * 40,
            "模型/权重.safetensors": b"\x00" * 5000,
        },
    )
    data = b"".join(zipped(files))
    assert zip_length(files) == len(data)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:  # and it is the zip it claims to be
        assert archive.read("模型/权重.safetensors") == b"\x00" * 5000
        assert archive.read("empty.txt") == b""


def test_many_files(tmp_path: Path) -> None:
    files = folder(tmp_path, {f"shard/{i:04d}.txt": b"x" * (i % 7) for i in range(600)})
    assert zip_length(files) == streamed(files)


def test_more_entries_than_a_plain_zip_counts(tmp_path: Path) -> None:
    """Over 65,535 entries the zip64 end records appear (the entries share one empty file)."""
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    files = [FolderFile(f"e/{i}", empty, 0) for i in range(zipfile.ZIP_FILECOUNT_LIMIT + 2)]
    assert zip_length(files) == streamed(files)


def test_a_file_past_the_zip64_limit(tmp_path: Path) -> None:
    """A sparse file one byte past zipfile's zip64 limit (2 GiB - 1: every zip64 record, sizes and
    offsets, is written from there on; 4 GiB would add nothing but time) and files after it."""
    sparse = tmp_path / "weights.bin"
    with sparse.open("wb") as out:
        out.truncate(zipfile.ZIP64_LIMIT + 1)
    small = tmp_path / "after.txt"
    small.write_bytes(b"after")
    files = [
        FolderFile("a/weights.bin", sparse, zipfile.ZIP64_LIMIT + 1),
        FolderFile("b/after.txt", small, 5),
        FolderFile("c/again.txt", small, 5),
    ]
    assert zip_length(files) == streamed(files)


names = st.text(st.characters(codec="utf-8", exclude_characters="/\\\x00"), min_size=1, max_size=12)


@settings(max_examples=30, deadline=None)
@given(st.dictionaries(names, st.integers(0, 3000), min_size=1, max_size=8))
def test_any_names_and_sizes(tmp_path_factory: pytest.TempPathFactory, shape: dict[str, int]) -> None:
    root = tmp_path_factory.mktemp("shape")
    files: list[FolderFile] = []
    for i, (name, size) in enumerate(sorted(shape.items())):
        path = root / str(i)
        path.write_bytes(b"z" * size)
        files.append(FolderFile(name, path, size))
    assert zip_length(files) == streamed(files)
