"""Packages in Hugging Face layout for tests: real safetensors headers, real (and hostile) pickles."""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import random
import struct
import zipfile
from typing import Any

CARD = """---
license: apache-2.0
base_model: google-bert/bert-base-uncased
datasets:
  - rajpurkar/squad
---
# acme/sentiment

A sentiment classifier fine-tuned in-house. Evaluated on SST-2: accuracy 0.93.

```python
from transformers import AutoModel
model = AutoModel.from_pretrained("acme/sentiment")
```
"""


def safetensors_bytes(shape: tuple[int, ...] = (64, 32), seed: int = 1, name: str = "weight") -> bytes:
    """A valid safetensors file: one float32 tensor of `shape`, random values."""
    count = 1
    for dim in shape:
        count *= dim
    data = random.Random(seed).randbytes(4 * count)
    header = json.dumps(
        {name: {"dtype": "F32", "shape": list(shape), "data_offsets": [0, len(data)]}, "__metadata__": {}}
    ).encode()
    header += b" " * (-len(header) % 8)
    return struct.pack("<Q", len(header)) + header + data


class _Evil:
    """Unpickling this calls os.system: what a malicious checkpoint does."""

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (os.system, ("echo pwned",))


def evil_pickle() -> bytes:
    return pickle.dumps({"state_dict": {"w": [0.0, 1.0]}, "hook": _Evil()}, protocol=2)


def benign_pickle() -> bytes:
    return pickle.dumps({"w": [0.0, 1.0, 2.0]}, protocol=2)


def model_files(seed: int = 1, card: str = CARD, weights: bytes | None = None) -> dict[str, bytes]:
    return {
        "README.md": card.encode(),
        "config.json": json.dumps(
            {"_name_or_path": "google-bert/bert-base-uncased", "model_type": "bert", "hidden_size": 32}
        ).encode(),
        "tokenizer.json": json.dumps({"version": "1.0", "seed": seed}).encode(),
        "tokenizer_config.json": b'{"do_lower_case": true}',
        "model.safetensors": weights if weights is not None else safetensors_bytes(seed=seed),
    }


def zip_bytes(files: dict[str, bytes], folder: str = "", method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=method) as archive:
        for path, data in files.items():
            archive.writestr(folder + path, data)
    return buffer.getvalue()


def digests(files: dict[str, bytes]) -> dict[str, str]:
    return {path: hashlib.sha256(data).hexdigest() for path, data in files.items()}


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        return {name: archive.read(name) for name in archive.namelist()}
