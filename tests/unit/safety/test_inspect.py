import collections
import io
import pickle
import struct
import zipfile
from collections.abc import Callable
from typing import Any

import pytest

from tests.unit.safety.test_pickles import evil_eval, evil_popen, evil_system, torch_zip
from tests.unit.safety.test_safetensors_header import build, raw
from tmr.safety.inspect import WeightsReport, expected_formats, inspect_weights
from tmr.safety.pickles import PickleVerdict
from tmr.safety.sniff import WeightsFormat


def reader(data: bytes) -> Callable[[int, int], bytes]:
    return lambda offset, length: data[offset : offset + length]


def inspect(path: str, data: bytes, **kwargs: Any) -> WeightsReport:
    return inspect_weights(path, len(data), reader(data), **kwargs)


def npy(descr: str, payload: bytes) -> bytes:
    header = repr({"descr": descr, "fortran_order": False, "shape": (1,)}).encode()
    header += b" " * (-(10 + len(header) + 1) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + payload


def test_valid_safetensors() -> None:
    report = inspect("model.safetensors", build({"w": ("F32", [3, 4]), "b": ("F16", [4])}))
    assert report.format is WeightsFormat.SAFETENSORS
    assert report.name_agrees is True
    assert report.scanned
    assert (report.parameters, report.tensor_bytes) == (16, 56)
    assert report.pickle is None
    assert report.pickle_verdict is None
    assert not report.unsafe
    assert report.reasons == ()


def test_invalid_safetensors_header_is_unsafe() -> None:
    data = raw(b'{"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}', 8)
    report = inspect("model.safetensors", data)
    assert report.unsafe
    assert not report.scanned
    assert report.parameters is None
    assert any("invalid safetensors header" in r and "shape x dtype" in r for r in report.reasons)


def test_pickle_disguised_as_safetensors() -> None:
    report = inspect("model.safetensors", pickle.dumps({"a": [1, 2, 3]}))
    assert report.format is WeightsFormat.PICKLE
    assert report.name_agrees is False
    assert report.pickle_verdict is PickleVerdict.SAFE
    assert report.unsafe  # a loader chosen by the name never expected a pickle
    assert any("name says safetensors but the bytes are pickle" in r for r in report.reasons)


@pytest.mark.parametrize("payload", [evil_system(), evil_eval(), evil_popen(), torch_zip(evil_system())])
def test_code_importing_weights_are_unsafe(payload: bytes) -> None:
    report = inspect("pytorch_model.bin", payload)
    assert report.name_agrees is True
    assert report.pickle_verdict is PickleVerdict.DANGEROUS
    assert report.unsafe
    assert any(r.startswith("imports code on load: ") for r in report.reasons)
    assert report.imported_globals


def test_torch_zip_is_scanned_through_a_stream() -> None:
    data = torch_zip(evil_popen())
    opened: list[int] = []

    def stream() -> io.BytesIO:
        opened.append(1)
        return io.BytesIO(data)

    report = inspect("pytorch_model.bin", data, stream=stream)
    assert report.format is WeightsFormat.TORCH_ZIP
    assert opened == [1]
    assert report.imported_globals == ("subprocess.Popen",)
    assert report.unsafe


def test_benign_torch_checkpoint_is_safe() -> None:
    report = inspect("model.pt", torch_zip(pickle.dumps(collections.OrderedDict(w=[1.0]))))
    assert report.format is WeightsFormat.TORCH_ZIP
    assert report.pickle_verdict is PickleVerdict.SAFE
    assert not report.unsafe
    assert report.imported_globals == ("collections.OrderedDict",)


def test_suspicious_pickle_is_unsafe() -> None:
    # Issue 11: imports off the allow list used to pass as "review before loading" (fail open).
    report = inspect("model.pkl", pickle.dumps(collections.Counter("ab")))
    assert report.pickle_verdict is PickleVerdict.SUSPICIOUS
    assert report.unsafe
    assert any("outside the allow list" in r and "collections.Counter" in r for r in report.reasons)


def test_truncated_pickle_is_unsafe() -> None:
    report = inspect("model.bin", pickle.dumps(list(range(200)))[:-20])
    assert report.pickle_verdict is PickleVerdict.ERROR
    assert report.unsafe


def test_too_large_pickle_is_not_scanned() -> None:
    data = evil_system()
    calls: list[tuple[int, int]] = []

    def read(offset: int, length: int) -> bytes:
        calls.append((offset, length))
        return data[offset : offset + length]

    report = inspect_weights("model.bin", len(data), read, max_scan_bytes=len(data) - 1)
    assert report.pickle is None
    assert not report.scanned
    assert report.unsafe
    assert any(r.startswith("not scanned: too large") for r in report.reasons)
    assert calls == [(0, len(data))]  # only the sniffing read: the file is small


def test_empty_file() -> None:
    report = inspect_weights("model.safetensors", 0, reader(b""))
    assert report.format is WeightsFormat.EMPTY
    assert report.name_agrees is False
    assert not report.unsafe
    assert "empty file" in report.reasons


@pytest.mark.parametrize(
    ("path", "data", "fmt", "agrees"),
    [
        ("model.gguf", b"GGUF\x03\x00\x00\x00" + bytes(32), WeightsFormat.GGUF, True),
        ("model.safetensors", b"GGUF\x03\x00\x00\x00" + bytes(32), WeightsFormat.GGUF, False),
        ("tf_model.h5", b"\x89HDF\r\n\x1a\n" + bytes(64), WeightsFormat.HDF5, True),
        ("model.tflite", b"\x1c\x00\x00\x00TFL3" + bytes(32), WeightsFormat.TFLITE, True),
        ("arr.npy", npy("<f4", bytes(4)), WeightsFormat.NUMPY, True),
        ("model.onnx", b"\x08\x07\x12\x07pytorch", WeightsFormat.UNKNOWN, None),
        ("flax_model.msgpack", b"\x81\xa6params\x80", WeightsFormat.UNKNOWN, None),
        ("weights.xyz", b"GGUF\x03\x00\x00\x00", WeightsFormat.GGUF, None),
    ],
)
def test_code_free_formats(path: str, data: bytes, fmt: WeightsFormat, agrees: bool | None) -> None:
    report = inspect(path, data)
    assert (report.format, report.name_agrees) == (fmt, agrees)
    assert not report.unsafe
    assert report.pickle is None


def test_pickle_named_onnx_is_a_mismatch() -> None:
    report = inspect("model.onnx", pickle.dumps([1]))
    assert report.name_agrees is False
    assert report.unsafe


def test_object_npy_is_scanned() -> None:
    report = inspect("arr.npy", npy("|O", evil_system()))
    assert report.format is WeightsFormat.NUMPY
    assert report.pickle_verdict is PickleVerdict.DANGEROUS
    assert report.unsafe
    assert any("object array" in r for r in report.reasons)
    benign = inspect("arr.npy", npy("|O", pickle.dumps([1, 2])))
    assert benign.pickle_verdict is PickleVerdict.SAFE
    assert not benign.unsafe


def test_zip_with_pickle_members_is_scanned() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("nested/deeper/data.pkl", evil_eval())
    report = inspect("model.npz", buf.getvalue())
    assert report.format is WeightsFormat.ZIP
    assert report.name_agrees is True
    assert report.unsafe


def test_expected_formats_by_suffix() -> None:
    assert expected_formats("sub/dir/MODEL.SAFETENSORS") == {WeightsFormat.SAFETENSORS}
    assert expected_formats("pytorch_model.bin") == {WeightsFormat.PICKLE, WeightsFormat.TORCH_ZIP}
    assert expected_formats("README.md") == frozenset()
