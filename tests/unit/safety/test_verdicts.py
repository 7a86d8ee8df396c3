"""Verdicts on stored files: weights found by their bytes, unsafe ones flagged, the rest untouched."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from tests.zips import benign_pickle, evil_pickle, safetensors_bytes
from tmr.artifacts.models import FileEntry, FileKind
from tmr.safety.verdicts import judge_files


class Blobs:
    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}
        self.reads = 0

    def add(self, path: str, data: bytes, kind: FileKind) -> FileEntry:
        digest = hashlib.sha256(data).hexdigest()
        self.data[digest] = data
        return FileEntry(path, len(data), kind, sha256=digest)

    def open(self, sha256: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        self.reads += 1
        yield self.data[sha256][start:end]


def test_weights_are_judged_by_bytes_not_names() -> None:
    blobs = Blobs()
    files = [
        blobs.add("model.safetensors", safetensors_bytes((4, 8)), FileKind.WEIGHTS),
        blobs.add("pytorch_model.bin", evil_pickle(), FileKind.WEIGHTS),
        blobs.add("vocab.txt", evil_pickle(), FileKind.TOKENIZER),  # a pickle behind a text name
        blobs.add("optimizer.pt", benign_pickle(), FileKind.WEIGHTS),
        blobs.add("README.md", b"# hello", FileKind.DOCS),
        blobs.add("fake.safetensors", b"not really", FileKind.WEIGHTS),
        FileEntry("later.bin", 10, FileKind.WEIGHTS),  # not stored yet: nothing to judge
    ]
    judged = judge_files(files, blobs.open)
    by_path = {f.path: f for f in files} | {f.path: f for f in judged}
    assert by_path["later.bin"] in files  # judging returns new values; the inputs stay as they were
    assert {f.path for f in judged} == {
        "model.safetensors",
        "pytorch_model.bin",
        "vocab.txt",
        "optimizer.pt",
        "fake.safetensors",
    }
    assert not any(f.unsafe for f in files)
    assert [f.path for f in by_path.values() if f.unsafe] == ["pytorch_model.bin", "vocab.txt"]
    assert by_path["vocab.txt"].kind is FileKind.WEIGHTS
    assert by_path["README.md"].safety is None
    assert by_path["README.md"].kind is FileKind.DOCS
    safe = by_path["model.safetensors"].safety
    assert safe is not None
    assert safe["parameters"] == 32
    assert safe["unsafe"] is False
    assert safe["dtypes"] == {"F32": 128}
    evil = by_path["pytorch_model.bin"].safety
    assert evil is not None
    assert evil["pickle"] == "dangerous"
    assert any("system" in name for name in evil["imports"])
    benign = by_path["optimizer.pt"].safety
    assert benign is not None
    assert benign["unsafe"] is False
    assert benign["pickle"] == "safe"
    fake = by_path["fake.safetensors"].safety
    assert fake is not None
    assert fake["format"] == "unknown"
    assert fake["name_agrees"] is False


def test_judged_files_are_not_read_again() -> None:
    blobs = Blobs()
    files = [blobs.add("model.safetensors", safetensors_bytes(), FileKind.WEIGHTS)]
    judged = judge_files(files, blobs.open)
    assert len(judged) == 1
    reads = blobs.reads
    assert judge_files(judged, blobs.open) == []
    assert blobs.reads == reads


def test_a_pickle_too_large_to_scan_is_unsafe() -> None:
    blobs = Blobs()
    files = [blobs.add("pytorch_model.bin", benign_pickle() + bytes(4096), FileKind.WEIGHTS)]
    (judged,) = judge_files(files, blobs.open, max_scan_bytes=1024)
    assert judged.unsafe
    assert any("too large" in reason for reason in (judged.safety or {})["reasons"])
