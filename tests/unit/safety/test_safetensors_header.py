import io
import json
import math
import struct
from typing import Any

import pytest

from tmr.errors import TmrError
from tmr.safety.safetensors_header import DTYPE_BITS, InvalidWeights, read_header


def build(tensors: dict[str, tuple[str, list[int]]], metadata: dict[str, str] | None = None) -> bytes:
    """A valid safetensors file: header JSON, then zero bytes for every tensor, packed in order."""
    header: dict[str, Any] = {}
    offset = 0
    for name, (dtype, shape) in tensors.items():
        n = math.prod(shape) * DTYPE_BITS[dtype] // 8
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + n]}
        offset += n
    if metadata is not None:
        header["__metadata__"] = metadata
    return raw(json.dumps(header).encode(), offset)


def raw(header: bytes, data_len: int) -> bytes:
    return struct.pack("<Q", len(header)) + header + bytes(data_len)


def reader(data: bytes) -> Any:
    return lambda offset, length: data[offset : offset + length]


def test_valid_header() -> None:
    data = build(
        {
            "embed.weight": ("F32", [10, 4]),
            "ln.bias": ("BF16", [4]),
            "step": ("I64", []),
            "mask": ("BOOL", [3]),
        },
        metadata={"format": "pt"},
    )
    header = read_header(reader(data), len(data))
    assert header.parameter_count == 40 + 4 + 1 + 3
    assert header.bytes_by_dtype == {"F32": 160, "BF16": 8, "I64": 8, "BOOL": 3}
    assert header.tensor_bytes == 179
    assert header.metadata == {"format": "pt"}
    assert header.tensors["embed.weight"].shape == (10, 4)
    assert header.tensors["ln.bias"].data_offsets == (160, 168)
    assert set(header.tensors) == {"embed.weight", "ln.bias", "step", "mask"}


def test_reads_from_a_stream_and_never_touches_tensor_data() -> None:
    data = build({"w": ("F16", [1000, 1000])})
    asked: list[tuple[int, int]] = []

    def read(offset: int, length: int) -> bytes:
        asked.append((offset, length))
        return data[offset : offset + length]

    header = read_header(read, len(data))
    assert header.parameter_count == 1_000_000
    assert max(o + n for o, n in asked) == 8 + header.header_length
    assert read_header(io.BytesIO(data), len(data)).tensor_bytes == 2_000_000


def test_sub_byte_dtype_and_empty_tensor() -> None:
    data = build({"packed": ("F4", [2, 3]), "nothing": ("F32", [0, 5])})
    header = read_header(reader(data), len(data))
    assert header.tensor_bytes == 3
    assert header.parameter_count == 6


def test_header_padding_is_accepted() -> None:
    body = b'{"t":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}    '
    assert read_header(reader(raw(body, 2)), len(body) + 10).parameter_count == 2


def _tensor(dtype: str = "F32", shape: Any = (2,), offsets: Any = (0, 8)) -> dict[str, Any]:
    return {"dtype": dtype, "shape": list(shape), "data_offsets": list(offsets)}


@pytest.mark.parametrize(
    ("header", "data_len", "message"),
    [
        (b'{"t": ', 8, "not valid JSON"),
        (b"[1, 2, 3]", 0, "not valid JSON"),
        (b'"just a string"', 0, "not valid JSON"),
        (b"\xff\xfe{}", 0, "not valid JSON"),
        (b'{"a": {}, "a": {}}', 0, "not valid JSON"),
        (b'{"a": ' + b"[" * 100_000, 0, "not valid JSON"),  # nesting bomb
        (json.dumps({"t": _tensor(dtype="F12")}).encode(), 8, "unknown dtype"),
        (json.dumps({"t": _tensor(dtype=7)}).encode(), 8, "unknown dtype"),  # type: ignore[arg-type]
        (json.dumps({"t": _tensor(shape=(2, -1))}).encode(), 8, "invalid shape"),
        (json.dumps({"t": _tensor(shape=(True,))}).encode(), 8, "invalid shape"),
        (json.dumps({"t": _tensor(offsets=(0,))}).encode(), 8, "invalid data_offsets"),
        (json.dumps({"t": _tensor(offsets=(8, 0))}).encode(), 8, "ends before it begins"),
        (json.dumps({"t": [1]}).encode(), 8, "not an object"),
        (json.dumps({"t": _tensor(shape=(3,))}).encode(), 8, "shape x dtype is 12 bytes"),
        (json.dumps({"t": _tensor(dtype="F4", shape=(3,), offsets=(0, 1))}).encode(), 1, "shape x dtype"),
        (json.dumps({"t": _tensor()}).encode(), 4, "past the end"),
        (json.dumps({"t": _tensor()}).encode(), 12, "short of the end"),
        (json.dumps({"a": _tensor(), "b": _tensor(offsets=(4, 12))}).encode(), 12, "overlaps"),
        (json.dumps({"a": _tensor(), "b": _tensor(offsets=(12, 20))}).encode(), 20, "gap"),
        (json.dumps({"a": _tensor(offsets=(4, 12))}).encode(), 12, "gap"),
        (json.dumps({"__metadata__": {"k": 1}}).encode(), 0, "__metadata__"),
    ],
)
def test_malformed_headers(header: bytes, data_len: int, message: str) -> None:
    data = raw(header, data_len)
    with pytest.raises(InvalidWeights, match=message) as info:
        read_header(reader(data), len(data))
    assert isinstance(info.value, TmrError)
    assert info.value.status_code == 422


def test_header_length_beyond_the_file() -> None:
    data = struct.pack("<Q", 1000) + b'{"a": 1}'
    with pytest.raises(InvalidWeights, match="past the end of the file"):
        read_header(reader(data), len(data))


def test_absurd_header_length_is_refused_before_reading() -> None:
    asked: list[int] = []

    def read(offset: int, length: int) -> bytes:
        asked.append(length)
        return struct.pack("<Q", 2**60)

    with pytest.raises(InvalidWeights, match="absurd"):
        read_header(read, 2**62)
    assert asked == [8]


def test_short_reads_and_tiny_files() -> None:
    with pytest.raises(InvalidWeights, match="too short"):
        read_header(reader(b"\x00" * 4), 4)
    data = build({"t": ("U8", [4])})
    with pytest.raises(InvalidWeights, match="ended inside the header"):
        read_header(reader(data[:20]), len(data))  # the file shrank under us
