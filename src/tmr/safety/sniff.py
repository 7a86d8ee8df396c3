"""Weights formats recognised from a file's first bytes, never from its name.

A name is a claim made by whoever uploaded the file; the bytes decide what a loader will do with
it. `detect_format` looks at no more than `SNIFF_BYTES` of the head and the file's total size.
ONNX (protobuf) and Flax msgpack have no magic number: their first bytes are shared with too many
other binaries to be recognised without the name, so they are reported as `UNKNOWN` (see
docs/file-safety.md).
"""

from __future__ import annotations

import io
import pickletools
import struct
from enum import StrEnum

SNIFF_BYTES = 64 * 1024
"""How much of the head `detect_format` needs; more is ignored."""

MAX_SAFETENSORS_HEADER = 100 * 1024 * 1024
"""The largest JSON header we accept, as the reference implementation does (100 MB)."""

_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_HDF5_OFFSETS = (0, 512, 1024, 2048, 4096, 8192, 16384, 32768)  # superblock after a user block
_ZIP_LOCAL = b"PK\x03\x04"
_ZIP_EMPTY = b"PK\x05\x06"
_ZIP_NAME_AT = 30  # local file header: fixed part, then the entry name
# Opcodes a protocol 0/1 pickle plausibly starts with: MARK, GLOBAL, EMPTY_DICT/LIST/TUPLE, NONE,
# INT, STRING, UNICODE, BININT*, LONG, FLOAT.
_PROTO01_FIRST = frozenset(b"(c}])NISVJKMLF")
_PROTO01_MIN_OPS = 3


class WeightsFormat(StrEnum):
    SAFETENSORS = "safetensors"
    TORCH_ZIP = "torch-zip"  # torch.save's zip container; holds data.pkl, a pickle
    ZIP = "zip"  # any other zip (npz, keras v3, ...)
    PICKLE = "pickle"  # a raw pickle stream, legacy torch.save included
    GGUF = "gguf"
    HDF5 = "hdf5"
    NUMPY = "npy"
    TFLITE = "tflite"
    EMPTY = "empty"
    UNKNOWN = "unknown"


PICKLE_FAMILY = frozenset({WeightsFormat.PICKLE, WeightsFormat.TORCH_ZIP})
"""Formats whose loading runs the pickle machine, i.e. may import and call code."""


def detect_format(head: bytes, size: int) -> WeightsFormat:
    """Classify a file from its first bytes (`head`, up to `SNIFF_BYTES`) and total `size`."""
    head = head[:SNIFF_BYTES]
    if size <= 0 or not head:
        return WeightsFormat.EMPTY
    if _is_safetensors(head, size):
        return WeightsFormat.SAFETENSORS
    if head.startswith(_ZIP_LOCAL):
        return WeightsFormat.TORCH_ZIP if _has_torch_entry(head) else WeightsFormat.ZIP
    if head.startswith(_ZIP_EMPTY):
        return WeightsFormat.ZIP
    if head.startswith(b"GGUF"):
        return WeightsFormat.GGUF
    if any(head[o : o + len(_HDF5_MAGIC)] == _HDF5_MAGIC for o in _HDF5_OFFSETS):
        return WeightsFormat.HDF5
    if head.startswith(b"\x93NUMPY"):
        return WeightsFormat.NUMPY
    if head[4:8] == b"TFL3":  # flatbuffer file identifier follows the 4-byte root offset
        return WeightsFormat.TFLITE
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return WeightsFormat.PICKLE
    if _looks_like_old_pickle(head, size):
        return WeightsFormat.PICKLE
    return WeightsFormat.UNKNOWN


def _is_safetensors(head: bytes, size: int) -> bool:
    """u64 little-endian header length N, plausible for this file, then the JSON's `{`."""
    if len(head) < 9:
        return False
    (n,) = struct.unpack("<Q", head[:8])
    return 2 <= n <= MAX_SAFETENSORS_HEADER and 8 + n <= size and head[8:9] == b"{"


def _has_torch_entry(head: bytes) -> bool:
    """torch.save names its pickle `<archive>/data.pkl`; look for it in the visible local headers."""
    pos = head.find(_ZIP_LOCAL)
    while pos != -1 and pos + _ZIP_NAME_AT <= len(head):
        (name_len,) = struct.unpack("<H", head[pos + 26 : pos + 28])
        name = head[pos + _ZIP_NAME_AT : pos + _ZIP_NAME_AT + name_len]
        parts = name.split(b"/")
        if len(parts) == 2 and parts[0] and parts[1] == b"data.pkl":
            return True
        pos = head.find(_ZIP_LOCAL, pos + 4)
    return False


def _looks_like_old_pickle(head: bytes, size: int) -> bool:
    """Pickles need no PROTO opcode (protocols 0 and 1 have none, and the unpickler accepts any
    opcode first). Accept an opcode stream that disassembles cleanly to STOP, or, for a plausible
    protocol 0/1 start, up to the end of a head cut short by `SNIFF_BYTES`. Disassembly
    (pickletools.genops) never executes anything."""
    stream = io.BytesIO(head)
    ops = 0
    try:
        for opcode, _arg, _pos in pickletools.genops(stream):
            if opcode.name == "STOP":
                return ops >= 1
            ops += 1
    except Exception:  # malformed, or only cut short: ran out of head exactly at its end
        truncated = stream.tell() == len(head) and len(head) >= SNIFF_BYTES and size > len(head)
        return truncated and head[0] in _PROTO01_FIRST and ops >= _PROTO01_MIN_OPS
    return False
