import hashlib
import io
import zipfile
import zlib
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tmr.artifacts.ziplayout import ZipEntry, layout, read_range

FILES = {
    "config.json": b'{"model_type": "bert"}',
    "weights/model.safetensors": bytes(range(256)) * 300,
    "README.md": "# café ☕\n".encode(),
    "empty.txt": b"",
    "docs/ünïcode naïve.md": b"text",
}


def blobs_of(files: dict[str, bytes]) -> dict[str, bytes]:
    return {hashlib.sha256(data).hexdigest(): data for data in files.values()}


def entries_of(files: dict[str, bytes]) -> list[ZipEntry]:
    return [
        ZipEntry(name, len(data), zlib.crc32(data), hashlib.sha256(data).hexdigest())
        for name, data in files.items()
    ]


def package(files: dict[str, bytes], force_zip64: bool = False) -> tuple[bytes, int, list]:  # type: ignore[type-arg]
    store = blobs_of(files)

    def open_blob(sha: str, lo: int, hi: int) -> Iterator[bytes]:
        yield store[sha][lo:hi]

    segments, total = layout(entries_of(files), force_zip64)
    return b"".join(read_range(segments, 0, total, open_blob)), total, segments


@pytest.mark.parametrize("force_zip64", [False, True])
def test_the_layout_is_a_zip_python_reads_back_exactly(force_zip64: bool) -> None:
    data, total, _ = package(FILES, force_zip64)
    assert len(data) == total
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        assert archive.namelist() == list(FILES)
        for name, content in FILES.items():
            assert archive.read(name) == content
            assert archive.getinfo(name).compress_type == zipfile.ZIP_STORED


def test_an_empty_package_is_a_valid_empty_zip() -> None:
    data, total, _ = package({})
    assert total == 22
    assert zipfile.ZipFile(io.BytesIO(data)).namelist() == []


def test_same_content_same_bytes() -> None:
    assert package(FILES)[0] == package(dict(FILES))[0]


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_any_range_equals_the_slice_of_the_whole(data: st.DataObject) -> None:
    whole, total, segments = package(FILES)
    store = blobs_of(FILES)
    start = data.draw(st.integers(0, total))
    end = data.draw(st.integers(start, total))

    def open_blob(sha: str, lo: int, hi: int) -> Iterator[bytes]:
        assert 0 <= lo <= hi <= len(store[sha])
        yield store[sha][lo:hi]

    assert b"".join(read_range(segments, start, end, open_blob)) == whole[start:end]
