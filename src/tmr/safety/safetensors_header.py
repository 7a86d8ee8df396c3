"""The safetensors header, read and checked without loading a tensor.

The format is a u64 little-endian length N, N bytes of UTF-8 JSON, then the tensor data. Only the
first 8 + N bytes are read, N is bounded before anything is allocated, and the header is checked
the way the reference loader checks it (offsets tile the data region exactly; each span matches
shape x dtype), so the parameter count we report is the one a loader would see.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from tmr.errors import TmrError
from tmr.safety.sniff import MAX_SAFETENSORS_HEADER

# Bits per element; sub-byte types (F4, F6) are packed, so a span is ceil-free only when whole.
DTYPE_BITS: dict[str, int] = {
    "BOOL": 8,
    "U8": 8,
    "I8": 8,
    "F8_E4M3": 8,
    "F8_E5M2": 8,
    "F8_E8M0": 8,
    "F4": 4,
    "F6_E2M3": 6,
    "F6_E3M2": 6,
    "I16": 16,
    "U16": 16,
    "F16": 16,
    "BF16": 16,
    "I32": 32,
    "U32": 32,
    "F32": 32,
    "C64": 64,
    "F64": 64,
    "I64": 64,
    "U64": 64,
}

MAX_DIMS = 64
"""More dimensions than any framework supports (torch and numpy 2 stop at 64)."""
MAX_DIM = 2**63 - 1
"""A dimension must fit a signed 64-bit size, as every loader stores it."""

Reader = Callable[[int, int], bytes]
"""`read(offset, length)` returns up to `length` bytes of the file starting at `offset`."""


class InvalidWeights(TmrError):
    """A weights file whose structure is malformed: it cannot be what it claims to be."""

    status_code = 422
    code = "invalid_weights"


@dataclass(frozen=True)
class TensorInfo:
    dtype: str
    shape: tuple[int, ...]
    data_offsets: tuple[int, int]  # relative to the start of the data region

    @property
    def numel(self) -> int:
        return math.prod(self.shape)


@dataclass(frozen=True)
class SafetensorsHeader:
    header_length: int
    tensors: dict[str, TensorInfo]
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def parameter_count(self) -> int:
        return sum(t.numel for t in self.tensors.values())

    @property
    def bytes_by_dtype(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for t in self.tensors.values():
            totals[t.dtype] = totals.get(t.dtype, 0) + t.data_offsets[1] - t.data_offsets[0]
        return totals

    @property
    def tensor_bytes(self) -> int:
        return sum(self.bytes_by_dtype.values())


def read_header(read: Reader | BinaryIO, size: int) -> SafetensorsHeader:
    """Read and validate the header of a `size`-byte safetensors file; raise `InvalidWeights`."""
    reader = read if callable(read) else _stream_reader(read)
    if size < 8:
        raise InvalidWeights("file too short for a safetensors header", size=size)
    prefix = reader(0, 8)
    if len(prefix) != 8:
        raise InvalidWeights("could not read the header length")
    (n,) = struct.unpack("<Q", prefix)
    if n > MAX_SAFETENSORS_HEADER:
        raise InvalidWeights("header length is absurd", header_length=n)
    if n > size - 8:
        raise InvalidWeights("header length runs past the end of the file", header_length=n, size=size)
    raw = reader(8, n)
    if len(raw) != n:
        raise InvalidWeights("file ended inside the header", header_length=n)
    try:
        text = raw.decode("utf-8")
        if not text.startswith("{"):
            raise ValueError("the header must start with '{'")
        doc = json.loads(text, object_pairs_hook=_no_duplicates)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError included
        raise InvalidWeights(f"header is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise InvalidWeights("header is not a JSON object")
    metadata = _metadata(doc.pop("__metadata__", {}))
    tensors = {name: _tensor(name, spec, size - 8 - n) for name, spec in doc.items()}
    _check_layout(tensors, size - 8 - n)
    return SafetensorsHeader(header_length=n, tensors=tensors, metadata=metadata)


def _stream_reader(stream: BinaryIO) -> Reader:
    def read(offset: int, length: int) -> bytes:
        stream.seek(offset)
        return stream.read(length)

    return read


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Two parsers that keep different copies of a repeated key would see different models."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _metadata(value: object) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise InvalidWeights("__metadata__ must map strings to strings")
    return dict(value)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _tensor(name: str, spec: object, data_len: int) -> TensorInfo:
    if not isinstance(spec, dict):
        raise InvalidWeights(f"tensor {name!r} is not an object")
    dtype, shape, offsets = spec.get("dtype"), spec.get("shape"), spec.get("data_offsets")
    if not isinstance(dtype, str) or dtype not in DTYPE_BITS:
        raise InvalidWeights(f"tensor {name!r} has an unknown dtype", dtype=dtype)
    if not isinstance(shape, list) or len(shape) > MAX_DIMS or not all(_is_int(d) for d in shape):
        raise InvalidWeights(f"tensor {name!r} has an invalid shape", shape=_brief(shape))
    _check_elements(name, shape, data_len)
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_int(o) for o in offsets)):
        raise InvalidWeights(f"tensor {name!r} has invalid data_offsets", data_offsets=offsets)
    begin, end = offsets
    if begin > end:
        raise InvalidWeights(f"tensor {name!r} ends before it begins", data_offsets=offsets)
    info = TensorInfo(dtype=dtype, shape=tuple(shape), data_offsets=(begin, end))
    bits = info.numel * DTYPE_BITS[dtype]
    if bits % 8 or bits // 8 != end - begin:
        raise InvalidWeights(
            f"tensor {name!r}: shape x dtype is {bits / 8:g} bytes, its offsets span {end - begin}",
        )
    return info


def _check_elements(name: str, shape: list[int], data_len: int) -> None:
    """Refuse a shape with far more elements than the data region could hold (the exact size
    check follows), multiplying only while the product stays that small: a huge shape is cheap."""
    if any(d > MAX_DIM for d in shape):
        raise InvalidWeights(f"tensor {name!r} has a dimension past 2**63 - 1")
    if 0 in shape:
        return
    limit, count = 8 * (data_len + 1), 1
    for dim in shape:
        count *= dim
        if count > limit:
            raise InvalidWeights(
                f"tensor {name!r}: its shape holds more elements than the file's {data_len} data bytes"
            )


def _brief(value: object) -> object:
    """A shape small enough to quote in an error."""
    return value[:8] if isinstance(value, list) else value


def _check_layout(tensors: dict[str, TensorInfo], data_len: int) -> None:
    """Spans must tile [0, data_len) with no gap, overlap or trailing bytes."""
    cursor = 0
    for name, info in sorted(tensors.items(), key=lambda item: item[1].data_offsets):
        begin, end = info.data_offsets
        if begin != cursor:
            problem = "overlaps the previous tensor" if begin < cursor else "leaves a gap before it"
            raise InvalidWeights(f"tensor {name!r} {problem}", data_offsets=[begin, end])
        cursor = end
    if cursor != data_len:
        where = "past the end of the file" if cursor > data_len else "short of the end of the file"
        raise InvalidWeights(f"tensor data ends {where}", data_end=cursor, data_region=data_len)
