"""Model packages for the download benchmark: Hugging Face-layout zips built from random bytes.

The registry validates what it stores (zip structure, safetensors headers), so the weights are a
real safetensors file: random float bytes behind a header a loader would accept. Random bytes do
not compress, which is what real weights look like to a zip and to the network.
"""

from __future__ import annotations

import io
import json
import math
import random
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

MiB = 1024 * 1024


def safetensors_header(data_bytes: int, tensors: int = 8) -> tuple[bytes, int]:
    """The head of a safetensors file of F32 tensors holding about `data_bytes` (8-byte length +
    JSON header) and the exact number of tensor bytes that must follow it."""
    elements = max(tensors, data_bytes // 4)
    per_tensor = [elements // tensors] * tensors
    per_tensor[-1] += elements - sum(per_tensor)
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for i, count in enumerate(per_tensor):
        width = 64 if count % 64 == 0 else 1
        header[f"model.layers.{i}.weight"] = {
            "dtype": "F32",
            "shape": [count // width, width],
            "data_offsets": [offset, offset + 4 * count],
        }
        offset += 4 * count
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw, offset


def safetensors_bytes(rng: random.Random, data_bytes: int, tensors: int = 8) -> bytes:
    """A valid safetensors file of F32 tensors holding about `data_bytes` of random bytes.

    The layout follows the format: an 8-byte little-endian header length, the JSON header
    (dtype, shape, data_offsets relative to the data region, which the tensors tile exactly),
    padded with spaces to a multiple of 8, then the tensor bytes.
    """
    head, length = safetensors_header(data_bytes, tensors)
    return head + rng.randbytes(length)


@dataclass(frozen=True, slots=True)
class ModelPackage:
    """A zip in memory (`zip_bytes`), or, for a big one, on disk (`path`, `zip_bytes` empty)."""

    name: str
    version: str
    zip_bytes: bytes
    files: dict[str, int]  # path -> uncompressed size
    path: Path | None = None

    @property
    def size(self) -> int:
        return self.path.stat().st_size if self.path is not None else len(self.zip_bytes)

    def open(self) -> BinaryIO:
        """The zip's bytes as a file (an upload body that httpx streams, or zipfile's input)."""
        return self.path.open("rb") if self.path is not None else io.BytesIO(self.zip_bytes)


def _readme(name: str, rng: random.Random) -> str:
    words = ["fine-tuned", "classification", "tokenizer", "evaluation", "accuracy", "safetensors", "latency"]
    body = " ".join(rng.choice(words) for _ in range(rng.randint(40, 200)))
    return f"---\nlicense: apache-2.0\nlibrary_name: transformers\n---\n# {name}\n\n{body}\n"


def _tokenizer(rng: random.Random, vocab: int) -> str:
    tokens = {f"tok{i}_{rng.randrange(10**6)}": i for i in range(vocab)}
    return json.dumps({"version": "1.0", "model": {"type": "WordPiece", "vocab": tokens}})


def _text_files(name: str, rng: random.Random) -> dict[str, bytes]:
    hidden = 2 ** rng.randint(5, 10)
    config = {
        "architectures": ["BertForSequenceClassification"],
        "model_type": "bert",
        "hidden_size": hidden,
        "num_hidden_layers": rng.randint(1, 12),
        "vocab_size": 1000 + rng.randrange(30000),
        "torch_dtype": "float32",
    }
    return {
        "README.md": _readme(name, rng).encode(),
        "config.json": json.dumps(config, indent=2).encode(),
        "tokenizer.json": _tokenizer(rng, rng.randint(20, 200)).encode(),
        "tokenizer_config.json": json.dumps({"model_max_length": 512, "do_lower_case": True}).encode(),
    }


def _entry(path: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(path, date_time=(2024, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED if path.endswith(".safetensors") else zipfile.ZIP_DEFLATED
    return info


def build_model(name: str, weights_bytes: int, seed: int) -> ModelPackage:
    """A zip in Hugging Face layout: README.md, config.json, tokenizer files, model.safetensors.

    Text files are deflated as a user's zip tool would; the weights are stored (deflating random
    bytes only costs time), as `zip` itself does for incompressible entries.
    """
    rng = random.Random(seed)
    contents = _text_files(name, rng)
    contents["model.safetensors"] = safetensors_bytes(rng, weights_bytes)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, data in contents.items():
            archive.writestr(_entry(path), data)
    return ModelPackage(name, "1.0.0", buffer.getvalue(), {p: len(d) for p, d in contents.items()})


def build_model_file(
    name: str, weights_bytes: int, seed: int, path: Path, chunk: int = 16 * MiB
) -> ModelPackage:
    """The same layout as `build_model`, written to `path` with the weights streamed in `chunk`s:
    a 1 GB package costs one chunk of memory instead of several copies of itself."""
    rng = random.Random(seed)
    contents = _text_files(name, rng)
    head, length = safetensors_header(weights_bytes)
    with zipfile.ZipFile(path, "w", allowZip64=True) as archive:
        for entry, data in contents.items():
            archive.writestr(_entry(entry), data)
        info = _entry("model.safetensors")
        info.file_size = len(head) + length  # known up front, so zipfile picks zip64 itself if needed
        with archive.open(info, "w") as weights:
            weights.write(head)
            left = length
            while left:
                block = rng.randbytes(min(chunk, left))
                weights.write(block)
                left -= len(block)
    files = {entry: len(data) for entry, data in contents.items()} | {"model.safetensors": len(head) + length}
    return ModelPackage(name, "1.0.0", b"", files, path)


def small_weight_sizes(count: int, low: int, high: int, seed: int) -> list[int]:
    """`count` weight sizes spread log-uniformly over [low, high]: many small models, a few larger."""
    rng = random.Random(seed)
    return [int(math.exp(rng.uniform(math.log(low), math.log(high)))) for _ in range(count)]
