import io
import json
import pickle
import struct
import zipfile

import pytest

from tmr.safety.sniff import SNIFF_BYTES, WeightsFormat, detect_format


def _detect(data: bytes) -> WeightsFormat:
    return detect_format(data[:SNIFF_BYTES], len(data))


def _safetensors(header: bytes, data_len: int = 4) -> bytes:
    return struct.pack("<Q", len(header)) + header + bytes(data_len)


def _zip(*names: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for name in names:
            zf.writestr(name, pickle.dumps({"a": 1}) if name.endswith(".pkl") else b"3\n")
    return buf.getvalue()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (_safetensors(b'{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'), WeightsFormat.SAFETENSORS),
        (_zip("archive/data.pkl", "archive/version"), WeightsFormat.TORCH_ZIP),
        (_zip("my_model/version", "my_model/data.pkl"), WeightsFormat.TORCH_ZIP),
        (_zip("a/b/data.pkl"), WeightsFormat.ZIP),
        (_zip("arr_0.npy"), WeightsFormat.ZIP),
        (_zip(), WeightsFormat.ZIP),
        (pickle.dumps({"a": [1, 2, 3]}), WeightsFormat.PICKLE),
        (pickle.dumps({"a": [1, 2, 3]}, protocol=2), WeightsFormat.PICKLE),
        (pickle.dumps({"a": [1, 2, 3]}, protocol=0), WeightsFormat.PICKLE),
        (pickle.dumps({"a": [1, 2, 3]}, protocol=1), WeightsFormat.PICKLE),
        (b"GGUF\x03\x00\x00\x00" + bytes(32), WeightsFormat.GGUF),
        (b"\x89HDF\r\n\x1a\n" + bytes(64), WeightsFormat.HDF5),
        (bytes(512) + b"\x89HDF\r\n\x1a\n" + bytes(64), WeightsFormat.HDF5),
        (
            b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }",
            WeightsFormat.NUMPY,
        ),
        (b"\x1c\x00\x00\x00TFL3" + bytes(32), WeightsFormat.TFLITE),
        (b"", WeightsFormat.EMPTY),
        (b"hello, this is plain text and not weights\n", WeightsFormat.UNKNOWN),
        (json.dumps({"a": 1}).encode(), WeightsFormat.UNKNOWN),
        (b"\x08\x07\x12\x07pytorch\x1a\x032.1", WeightsFormat.UNKNOWN),  # ONNX: no name-free proof
        (b"\x81\xa6params\x80", WeightsFormat.UNKNOWN),  # flax msgpack: likewise
        (b"\x80\x09garbage", WeightsFormat.UNKNOWN),  # PROTO with no such protocol
        (b".", WeightsFormat.UNKNOWN),  # a bare STOP holds nothing to load
        (b"N.", WeightsFormat.PICKLE),  # pickle.dumps(None, protocol=0)
    ],
)
def test_detect_format(data: bytes, expected: WeightsFormat) -> None:
    assert _detect(data) is expected


def test_safetensors_length_must_fit_the_file() -> None:
    header = b'{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'
    data = _safetensors(header)
    assert detect_format(data, len(data)) is WeightsFormat.SAFETENSORS
    # the same head, but the file is claimed shorter than its header: not safetensors
    assert detect_format(data, len(header)) is WeightsFormat.UNKNOWN
    absurd = struct.pack("<Q", 2**40) + b"{" + bytes(16)
    assert detect_format(absurd, 2**41) is WeightsFormat.UNKNOWN
    not_json = struct.pack("<Q", 8) + b"[1,2,3] " + bytes(4)
    assert _detect(not_json) is WeightsFormat.UNKNOWN


def test_only_the_head_is_used() -> None:
    big = b"\x80\x04" + bytes(SNIFF_BYTES * 2)
    assert detect_format(big, len(big)) is WeightsFormat.PICKLE


def test_protocol0_pickle_longer_than_the_head() -> None:
    data = pickle.dumps([f"item-{i}" for i in range(20_000)], protocol=0)
    assert len(data) > SNIFF_BYTES
    assert _detect(data) is WeightsFormat.PICKLE
    # the same head standing for a file that ends there is a truncated pickle, not a pickle
    assert detect_format(data[:SNIFF_BYTES], SNIFF_BYTES) is WeightsFormat.UNKNOWN


def test_pickle_without_proto_opcode() -> None:
    # The unpickler accepts protocol-4 opcodes without PROTO; this is os.system("true") in disguise.
    data = b"\x8c\x05posix\x8c\x06system\x93\x8c\x04true\x85R."
    assert _detect(data) is WeightsFormat.PICKLE
