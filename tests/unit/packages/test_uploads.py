"""Zip uploads: spooling, validation against hostile archives, and streaming explosion."""

from __future__ import annotations

import dataclasses
import hashlib
import random
import struct
import warnings
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tmr.artifacts.models import FileKind
from tmr.artifacts.uploads import (
    ExplodedFile,
    UploadLimits,
    ZipMember,
    explode,
    spool_upload,
    validate_zip,
)
from tmr.errors import InvalidInput, PayloadTooLarge

MiB = 1024 * 1024
BOMB_BYTES = 200 * MiB
LOCAL, CENTRAL = b"PK\x03\x04", b"PK\x01\x02"


class FakeBlobs:
    """A content-addressed store in a dict; records how many bytes each write consumed."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self.consumed = 0

    def put_stream(self, chunks: Iterable[bytes]) -> tuple[str, int]:
        digest = hashlib.sha256()
        parts = []
        for chunk in chunks:
            self.consumed += len(chunk)
            digest.update(chunk)
            parts.append(chunk)
        self.blobs[digest.hexdigest()] = b"".join(parts)
        return digest.hexdigest(), sum(map(len, parts))


def make_zip(path: Path, entries: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression=method) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


def patch_headers(path: Path, local_offset: int, central_offset: int, fmt: str, value: int) -> None:
    """Overwrite one field in every local and central header (the tests' zips have one entry)."""
    data = bytearray(path.read_bytes())
    for signature, offset in ((LOCAL, local_offset), (CENTRAL, central_offset)):
        at = data.find(signature)
        assert at >= 0
        struct.pack_into(fmt, data, at + offset, value)
    path.write_bytes(bytes(data))


def zeros_zip(path: Path, name: str, size: int) -> Path:
    """A highly compressible entry written in chunks, so the test never holds it in memory."""
    block = bytes(MiB)
    with (
        zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive,
        archive.open(name, "w") as out,
    ):
        for _ in range(size // MiB):
            out.write(block)
    return path


@pytest.fixture(scope="module")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return zeros_zip(tmp_path_factory.mktemp("bomb") / "bomb.zip", "model.safetensors", BOMB_BYTES)


HF_LAYOUT = {
    "README.md": b"# A model\n",
    "config.json": b'{"model_type": "bert"}',
    "model.safetensors": random.Random(1).randbytes(300_000),
    "tokenizer.json": b"{}",
    "copies/config.json": b'{"model_type": "bert"}',
}


def chunked(data: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


# --- spooling -----------------------------------------------------------------------------------


def test_spool_then_validate_then_explode(tmp_path: Path) -> None:
    payload = make_zip(tmp_path / "src.zip", HF_LAYOUT).read_bytes()
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir()
    with spool_upload(chunked(payload), UploadLimits(), spool_dir) as upload:
        assert upload.size == len(payload)
        assert upload.sha256 == hashlib.sha256(payload).hexdigest()
        assert upload.path.read_bytes() == payload
        members = validate_zip(upload.path, UploadLimits())
        store = FakeBlobs()
        files = explode(upload.path, members, store.put_stream, UploadLimits())
    assert not list(spool_dir.iterdir())
    by_path = {f.path: f for f in files}
    assert set(by_path) == set(HF_LAYOUT)
    for name, data in HF_LAYOUT.items():
        assert by_path[name] == ExplodedFile(
            name, len(data), hashlib.sha256(data).hexdigest(), zlib.crc32(data), by_path[name].kind
        )
        assert store.blobs[by_path[name].sha256] == data
    assert by_path["README.md"].kind is FileKind.DOCS
    assert by_path["config.json"].kind is FileKind.CONFIG
    assert by_path["model.safetensors"].kind is FileKind.WEIGHTS
    assert by_path["tokenizer.json"].kind is FileKind.TOKENIZER
    # Same bytes, same blob.
    assert by_path["copies/config.json"].sha256 == by_path["config.json"].sha256
    assert len(store.blobs) == len(HF_LAYOUT) - 1


@pytest.mark.parametrize("chunks", [[], [b""], [b"", b""]])
def test_empty_upload(tmp_path: Path, chunks: list[bytes]) -> None:
    with pytest.raises(InvalidInput, match="empty"):
        spool_upload(chunks, UploadLimits(), tmp_path)
    assert not list(tmp_path.iterdir())


def test_oversized_upload_stops_reading_early(tmp_path: Path) -> None:
    consumed = 0
    block = bytes(MiB)

    def five_gib() -> Iterator[bytes]:
        nonlocal consumed
        for _ in range(5 * 1024):
            consumed += 1
            yield block

    with pytest.raises(PayloadTooLarge):
        spool_upload(five_gib(), UploadLimits(max_upload_bytes=3 * MiB), tmp_path)
    assert consumed == 4
    assert not list(tmp_path.iterdir())


def test_upload_at_exactly_the_limit_is_accepted(tmp_path: Path) -> None:
    with spool_upload([b"x" * 10], UploadLimits(max_upload_bytes=10), tmp_path) as upload:
        assert upload.size == 10


# --- validation ---------------------------------------------------------------------------------


def test_common_top_folder_is_stripped(tmp_path: Path) -> None:
    path = make_zip(
        tmp_path / "a.zip",
        {
            "my-model/": b"",
            "my-model/config.json": b"{}",
            "my-model/sub/README.md": b"hi",
            "__MACOSX/my-model/._config.json": b"junk",
        },
    )
    members = validate_zip(path, UploadLimits())
    assert [m.path for m in members] == ["config.json", "sub/README.md"]
    assert [m.name for m in members] == ["my-model/config.json", "my-model/sub/README.md"]


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        ({"config.json": b"{}", "sub/a.txt": b"a"}, ["config.json", "sub/a.txt"]),
        ({"a/x.txt": b"1", "b/y.txt": b"2"}, ["a/x.txt", "b/y.txt"]),
        ({"./a/./x.txt": b"1", "b//y.txt": b"2"}, ["a/x.txt", "b/y.txt"]),
    ],
)
def test_paths_kept_when_no_single_top_folder(
    tmp_path: Path, entries: dict[str, bytes], expected: list[str]
) -> None:
    assert [m.path for m in validate_zip(make_zip(tmp_path / "a.zip", entries), UploadLimits())] == expected


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("../evil", r"'\.\.'"),
        ("model/../../evil", r"'\.\.'"),
        ("/etc/passwd", "absolute"),
        ("C:/Windows/evil", "absolute"),
        ("C:\\Windows\\evil", "backslash"),
        ("\\\\server\\share\\evil", "backslash"),
        ("dir\\file", "backslash"),
        ("a\nb", "control"),
        (".", "empty"),
        ("x" * 1100, "too long"),
    ],
)
def test_hostile_names(tmp_path: Path, name: str, message: str) -> None:
    path = make_zip(tmp_path / "a.zip", {"config.json": b"{}", name: b"x"})
    with pytest.raises(InvalidInput, match=message):
        validate_zip(path, UploadLimits())


def test_nul_in_name(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "a.zip", {"aQQb.txt": b"x"})
    path.write_bytes(path.read_bytes().replace(b"aQQb", b"a\x00Qb"))
    with pytest.raises(InvalidInput, match="NUL"):
        validate_zip(path, UploadLimits())


def test_symlink_entry(tmp_path: Path) -> None:
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", b"{}")
        link = zipfile.ZipInfo("weights.bin")
        link.external_attr = 0o120777 << 16
        archive.writestr(link, "/etc/shadow")
    with pytest.raises(InvalidInput, match="symbolic link"):
        validate_zip(path, UploadLimits())


@pytest.mark.parametrize("names", [("a.txt", "a.txt"), ("a.txt", "./a.txt"), ("d/a.txt", "d//a.txt")])
def test_duplicate_entries(tmp_path: Path, names: tuple[str, str]) -> None:
    path = tmp_path / "a.zip"
    with warnings.catch_warnings(), zipfile.ZipFile(path, "w") as archive:
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns about a duplicate name
        for name in names:
            archive.writestr(name, b"x")
    with pytest.raises(InvalidInput, match="duplicate"):
        validate_zip(path, UploadLimits())


def test_case_differences_are_not_duplicates(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "a.zip", {"README.md": b"a", "readme.md": b"b"})
    assert len(validate_zip(path, UploadLimits())) == 2


def test_file_and_folder_clash(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "a.zip", {"a": b"1", "a/b": b"2"})
    with pytest.raises(InvalidInput, match="both a file and a folder"):
        validate_zip(path, UploadLimits())


def test_encrypted_entry(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "a.zip", {"config.json": b"{}"})
    patch_headers(path, 6, 8, "<H", 0x1)
    with pytest.raises(InvalidInput, match="encrypted"):
        validate_zip(path, UploadLimits())


def test_too_many_entries(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "a.zip", {f"f{i}.txt": b"x" for i in range(5)})
    with pytest.raises(PayloadTooLarge, match="too many entries"):
        validate_zip(path, UploadLimits(max_entries=4))
    assert len(validate_zip(path, UploadLimits(max_entries=5))) == 5


def test_declared_sizes_over_limits(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "a.zip", {"a.bin": bytes(1000), "b.bin": bytes(1000)}, zipfile.ZIP_STORED)
    with pytest.raises(PayloadTooLarge, match="entry is too large"):
        validate_zip(path, UploadLimits(max_entry_bytes=999))
    with pytest.raises(PayloadTooLarge, match="expands beyond"):
        validate_zip(path, UploadLimits(max_total_uncompressed=1999))


def test_zip_bomb_rejected_before_decompressing(bomb: Path) -> None:
    assert bomb.stat().st_size < 2 * MiB
    with pytest.raises(InvalidInput, match="ratio"):
        validate_zip(bomb, UploadLimits())


def test_small_compressible_files_are_not_bombs(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "a.zip", {".gitattributes": b" " * 100_000})
    assert validate_zip(path, UploadLimits())[0].size == 100_000


def test_lying_zip_bomb_stops_mid_stream(bomb: Path, tmp_path: Path) -> None:
    liar = tmp_path / "liar.zip"
    liar.write_bytes(bomb.read_bytes())
    patch_headers(liar, 22, 24, "<I", 1000)  # declared uncompressed size: 1000 bytes
    members = validate_zip(liar, UploadLimits())
    assert members[0].size == 1000
    store = FakeBlobs()
    with pytest.raises(InvalidInput):
        explode(liar, members, store.put_stream, UploadLimits())
    assert store.consumed <= 1000


def test_member_outgrowing_its_declared_size_is_counted(tmp_path: Path) -> None:
    path = zeros_zip(tmp_path / "a.zip", "w.bin", 3 * MiB)
    (member,) = validate_zip(path, UploadLimits(max_ratio=10_000))
    store = FakeBlobs()
    with pytest.raises(InvalidInput, match="past its declared size"):
        explode(
            path, [dataclasses.replace(member, size=1000)], store.put_stream, UploadLimits(max_ratio=10_000)
        )
    assert store.consumed == 0


def test_ratio_and_total_enforced_while_reading(tmp_path: Path) -> None:
    path = zeros_zip(tmp_path / "a.zip", "w.bin", 3 * MiB)
    (member,) = validate_zip(path, UploadLimits(max_ratio=10_000))
    with pytest.raises(InvalidInput, match="ratio"):
        explode(path, [member], FakeBlobs().put_stream, UploadLimits())
    store = FakeBlobs()
    with pytest.raises(PayloadTooLarge):
        explode(
            path, [member], store.put_stream, UploadLimits(max_ratio=10_000, max_total_uncompressed=2 * MiB)
        )
    assert store.consumed <= 2 * MiB


def test_entry_shorter_than_declared(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "a.zip", {"notes.txt": b"hello world " * 10})
    patch_headers(path, 22, 24, "<I", 200)
    members = validate_zip(path, UploadLimits())
    with pytest.raises(InvalidInput, match="shorter"):
        explode(path, members, FakeBlobs().put_stream, UploadLimits())


def test_truncated_zip(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "a.zip", HF_LAYOUT)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InvalidInput, match="not a readable zip"):
        validate_zip(path, UploadLimits())


def test_corrupt_entry_data(tmp_path: Path) -> None:
    path = make_zip(
        tmp_path / "a.zip", {"model.safetensors": random.Random(2).randbytes(50_000)}, zipfile.ZIP_STORED
    )
    data = bytearray(path.read_bytes())
    data[1000] ^= 0xFF
    path.write_bytes(bytes(data))
    members = validate_zip(path, UploadLimits())
    with pytest.raises(InvalidInput, match="corrupt"):
        explode(path, members, FakeBlobs().put_stream, UploadLimits())


@pytest.mark.parametrize("content", [random.Random(0).randbytes(4096), b"", b"PK\x03\x04 not really"])
def test_not_a_zip(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "a.zip"
    path.write_bytes(content)
    with pytest.raises(InvalidInput, match="not a readable zip"):
        validate_zip(path, UploadLimits())


@pytest.mark.parametrize("entries", [{}, {"folder/": b""}, {"__MACOSX/._x": b"junk"}])
def test_zip_without_files(tmp_path: Path, entries: dict[str, bytes]) -> None:
    with pytest.raises(InvalidInput, match="no files"):
        validate_zip(make_zip(tmp_path / "a.zip", entries), UploadLimits())


def test_member_missing_from_archive(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "a.zip", {"a.txt": b"x"})
    with pytest.raises(InvalidInput, match="unreadable"):
        explode(path, [ZipMember("b.txt", "b.txt", 1, 1, 0)], FakeBlobs().put_stream, UploadLimits())


def test_default_entry_limit_follows_upload_limit() -> None:
    assert UploadLimits().entry_bytes == 20 * 1024**3
    assert UploadLimits(max_upload_bytes=MiB).entry_bytes == 4 * MiB
    assert UploadLimits(max_entry_bytes=7).entry_bytes == 7


def test_many_small_entries_with_an_overall_bomb_ratio(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "a.zip", {f"part{i}.bin": bytes(900 * 1024) for i in range(4)})
    with pytest.raises(InvalidInput, match="zip compression ratio"):
        validate_zip(path, UploadLimits())


def test_unsupported_compression_method(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "a.zip", {"config.json": b"{}"})
    patch_headers(path, 8, 10, "<H", 99)
    with pytest.raises(InvalidInput, match="compression method"):
        validate_zip(path, UploadLimits())


def test_explode_of_a_file_that_is_not_a_zip(tmp_path: Path) -> None:
    path = tmp_path / "a.zip"
    path.write_bytes(b"nope")
    with pytest.raises(InvalidInput, match="not a readable zip"):
        explode(path, [ZipMember("a", "a", 1, 1, 0)], FakeBlobs().put_stream, UploadLimits())


def test_store_reporting_another_size(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "a.zip", {"a.txt": b"abc"})
    with pytest.raises(InvalidInput, match="does not match"):
        explode(path, validate_zip(path, UploadLimits()), lambda chunks: ("0" * 64, 2), UploadLimits())


def test_async_spool_removes_the_file_when_the_client_hangs_up(tmp_path: Path) -> None:
    import asyncio

    from tmr.artifacts.uploads import spool_upload_async

    class Disconnected(Exception):
        pass

    async def body() -> Any:
        yield b"PK\x03\x04" + bytes(1000)
        raise Disconnected

    async def too_big() -> Any:
        for _ in range(3):
            yield bytes(600)

    async def fine() -> Any:
        yield b"abc"
        yield b""
        yield b"def"

    with pytest.raises(Disconnected):
        asyncio.run(spool_upload_async(body(), UploadLimits(), tmp_path))
    with pytest.raises(PayloadTooLarge):
        asyncio.run(spool_upload_async(too_big(), UploadLimits(max_upload_bytes=1000), tmp_path))
    assert list(tmp_path.iterdir()) == []
    with asyncio.run(spool_upload_async(fine(), UploadLimits(), tmp_path)) as spooled:
        assert spooled.path.read_bytes() == b"abcdef"
        assert spooled.size == 6
    assert list(tmp_path.iterdir()) == []
