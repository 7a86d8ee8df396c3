"""Deterministic generators for fixture file contents: safetensors, pickles, configs, cards and licenses.

Real-looking but tiny: formats are valid (a safetensors header parses, a pickle is a real pickle, YAML
front matter is real YAML) so scanners and parsers under test exercise their true code paths.
"""

from __future__ import annotations

import json
import math
import os
import pickle
import random
import struct
from typing import Any

import yaml

from tests.emulator.blobs import Blob, InlineBlob, SeededBlob, stable_int

DTYPE_SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I8": 1, "U8": 1}

GITATTRIBUTES = b"".join(
    f"{pattern} filter=lfs diff=lfs merge=lfs -text\n".encode()
    for pattern in (
        "*.7z",
        "*.arrow",
        "*.bin",
        "*.bz2",
        "*.ckpt",
        "*.ftz",
        "*.gz",
        "*.h5",
        "*.joblib",
        "*.lfs.*",
        "*.mlmodel",
        "*.model",
        "*.msgpack",
        "*.npy",
        "*.npz",
        "*.onnx",
        "*.ot",
        "*.parquet",
        "*.pb",
        "*.pickle",
        "*.pkl",
        "*.pt",
        "*.pth",
        "*.rar",
        "*.safetensors",
        "saved_model/**/*",
        "*.tar.*",
        "*.tflite",
        "*.tgz",
        "*.wasm",
        "*.xz",
        "*.zip",
        "*.zst",
        "*tfevents*",
    )
)


def _st_header(tensors: dict[str, tuple[str, list[int]]]) -> tuple[bytes, int]:
    """Build a safetensors header (length prefix + space-padded JSON); return it and the data size."""
    meta: dict[str, Any] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, (dtype, shape) in tensors.items():
        nbytes = DTYPE_SIZES[dtype] * math.prod(shape)
        meta[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    header = json.dumps(meta, separators=(",", ":")).encode()
    header += b" " * (-len(header) % 8)
    return struct.pack("<Q", len(header)) + header, offset


def safetensors_bytes(tensors: dict[str, tuple[str, list[int]]], seed: int) -> bytes:
    """A valid small safetensors file whose tensor bytes come from `seed`."""
    header, data_size = _st_header(tensors)
    return header + random.Random(seed).randbytes(data_size)


def large_safetensors(total_bytes: int, seed: int) -> SeededBlob:
    """A valid safetensors file of about `total_bytes`, generated lazily (one flat F32 tensor)."""
    count = total_bytes // 4
    header, data_size = _st_header({"model.weight": ("F32", [count])})
    return SeededBlob(header, len(header) + data_size, seed)


def small_weights(repo_id: str, hidden: int = 64, layers: int = 2, vocab: int = 256) -> Blob:
    """Generic small model.safetensors for a repo (a few KB to a few hundred KB)."""
    tensors: dict[str, tuple[str, list[int]]] = {"embeddings.weight": ("F32", [vocab, hidden])}
    for i in range(layers):
        tensors[f"layers.{i}.attn.weight"] = ("F32", [hidden, hidden])
        tensors[f"layers.{i}.mlp.weight"] = ("F16", [hidden, 2 * hidden])
    tensors["lm_head.bias"] = ("F32", [vocab])
    return InlineBlob(safetensors_bytes(tensors, stable_int("weights", repo_id)))


def safetensors_parameters(blob: Blob) -> dict[str, int] | None:
    """Parameter count per dtype from a safetensors header (what the Hub reports as `safetensors`)."""
    head = b"".join(blob.iter_range(0, min(blob.size, 8)))
    if len(head) < 8:
        return None
    (length,) = struct.unpack("<Q", head)
    if length > 10_000_000 or 8 + length > blob.size:
        return None
    try:
        meta = json.loads(b"".join(blob.iter_range(8, 8 + length)))
    except ValueError:
        return None
    counts: dict[str, int] = {}
    for name, info in meta.items():
        if name != "__metadata__":
            counts[info["dtype"]] = counts.get(info["dtype"], 0) + math.prod(info["shape"])
    return counts


class _Exploit:
    """Pickles as a call to os.system; only ever serialised to bytes, never loaded."""

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (os.system, ("echo pwned",))


def malicious_pickle() -> bytes:
    """A real pickle stream importing `posix.system` (what a pickle scanner must flag)."""
    return pickle.dumps({"state_dict": {"weight": [0.1, 0.2, 0.3]}, "hook": _Exploit()}, protocol=2)


def benign_pickle() -> bytes:
    """A pickle holding only plain containers and floats (no GLOBAL/REDUCE opcodes)."""
    rng = random.Random(7)
    weights = {f"layer{i}.weight": [round(rng.uniform(-1, 1), 6) for _ in range(64)] for i in range(4)}
    return pickle.dumps({"state_dict": weights, "epoch": 3, "config": {"hidden": 64}}, protocol=4)


def json_bytes(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, indent=2) + "\n").encode()


def card(meta: dict[str, Any] | None, body: str) -> bytes:
    """A README.md with YAML front matter (omitted when meta is None)."""
    front = "" if meta is None else "---\n" + yaml.safe_dump(meta, sort_keys=False) + "---\n\n"
    return (front + body.strip() + "\n").encode()


def vocab_txt(size: int = 1200) -> bytes:
    """A BERT-style WordPiece vocabulary."""
    specials = ["[PAD]", *(f"[unused{i}]" for i in range(99)), "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = [chr(c) for c in range(33, 127)]
    words = [f"{a}{b}" for a in "abcdefghijklmnopqrstuvwxyz" for b in "aeiouy"]
    pieces = [f"##{w}" for w in words]
    tokens = (specials + chars + words + pieces)[:size]
    return ("\n".join(tokens) + "\n").encode()


def tokenizer_json(vocab: bytes) -> bytes:
    tokens = vocab.decode().split()
    data = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {"id": tokens.index(t), "content": t, "special": True}
            for t in ("[PAD]", "[UNK]", "[CLS]", "[SEP]")
        ],
        "normalizer": {"type": "BertNormalizer", "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab": {t: i for i, t in enumerate(tokens)}},
    }
    return json.dumps(data, separators=(",", ":")).encode()


def csv_rows(header: list[str], rows: int, seed: int) -> bytes:
    rng = random.Random(seed)
    lines = [",".join(header)]
    for i in range(rows):
        lines.append(",".join(f"v{i}_{rng.randint(0, 999)}" if j else str(i) for j in range(len(header))))
    return ("\n".join(lines) + "\n").encode()


def jsonl_rows(keys: list[str], rows: int, seed: int) -> bytes:
    rng = random.Random(seed)
    out = [json.dumps({k: f"{k} {i} {rng.randint(0, 9999)}" for k in keys}) for i in range(rows)]
    return ("\n".join(out) + "\n").encode()


def parquet_like(seed: int, size: int = 4096) -> bytes:
    """Bytes framed like a parquet file (PAR1 magic both ends); not decodable, only stored/served."""
    return b"PAR1" + random.Random(seed).randbytes(size - 8) + b"PAR1"


LICENSE_TEXTS = {
    "Apache-2.0": """
                                 Apache License
                           Version 2.0, January 2004
                        http://www.apache.org/licenses/

   TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION

   1. Definitions.

      "License" shall mean the terms and conditions for use, reproduction,
      and distribution as defined by Sections 1 through 9 of this document.
""",
    "MIT": """
MIT License

Copyright (c) {year} {holder}

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT.
""",
    "GPL-3.0": """
                    GNU GENERAL PUBLIC LICENSE
                       Version 3, 29 June 2007

 Copyright (C) 2007 Free Software Foundation, Inc. <https://fsf.org/>
 Everyone is permitted to copy and distribute verbatim copies
 of this license document, but changing it is not allowed.
""",
    "NOASSERTION": """
ACME Research Evaluation License

You may use this software for evaluation purposes only. Redistribution,
commercial use and use in production systems require written permission.
""",
}


def license_text(spdx: str, holder: str, year: int = 2019) -> bytes:
    return LICENSE_TEXTS[spdx].format(year=year, holder=holder).lstrip("\n").encode()


def python_project(
    package: str, *, tests: bool = True, pyproject: bool = True, modules: tuple[str, ...] = ("core", "utils")
) -> dict[str, bytes]:
    """Source files of a small Python project (package, optional tests/ and pyproject.toml)."""
    files: dict[str, bytes] = {
        f"{package}/__init__.py": f'"""{package} package."""\n__version__ = "1.0.0"\n'.encode()
    }
    for mod in modules:
        files[f"{package}/{mod}.py"] = (
            f'"""{mod} helpers for {package}."""\n\n\ndef {mod}_function(x: int) -> int:\n'
            f'    """Return x scaled (placeholder logic for fixtures)."""\n    return x * {len(mod)}\n'
        ).encode()
    if tests:
        files["tests/__init__.py"] = b""
        for mod in modules:
            files[f"tests/test_{mod}.py"] = (
                f"from {package}.{mod} import {mod}_function\n\n\ndef test_{mod}() -> None:\n"
                f"    assert {mod}_function(2) == {2 * len(mod)}\n"
            ).encode()
    if pyproject:
        files["pyproject.toml"] = (
            f'[project]\nname = "{package}"\nversion = "1.0.0"\nrequires-python = ">=3.9"\n'
            'dependencies = ["numpy>=1.24"]\n\n[project.optional-dependencies]\ntest = ["pytest"]\n'
        ).encode()
    return files
