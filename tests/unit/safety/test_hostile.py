"""Issue 11, item 4: the scanner fails closed and stays bounded. Every hostile file is built here
as bytes; nothing is ever unpickled."""

from __future__ import annotations

import builtins
import collections
import gzip
import io
import json
import os
import pickle
import random
import struct
import sys
import types
import zipfile
import zlib
from typing import Any

import pytest

from tests.unit.safety.test_inspect import inspect, npy
from tests.unit.safety.test_pickles import _Reduce, torch_zip
from tests.unit.safety.test_safetensors_header import raw, reader
from tmr.safety.inspect import WeightsReport
from tmr.safety.pickles import PickleVerdict, classify, says_pickle, scan_pickle
from tmr.safety.safetensors_header import InvalidWeights, read_header


def scan(data: bytes, name: str = "model.bin", **kwargs: Any) -> Any:
    return scan_pickle(io.BytesIO(data), name, **kwargs)


def unknown_import() -> bytes:
    """Protocol 4: `foo.bar.Baz` through STACK_GLOBAL, its strings memoized like CPython does."""
    return b"\x80\x04\x8c\x07foo.bar\x94\x8c\x03Baz\x94\x93\x94)R\x94."


def zipped(files: dict[str, bytes], method: int = zipfile.ZIP_STORED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for path, data in files.items():
            zf.writestr(path, data)
    return buf.getvalue()


# -- hole 1: only allow-listed imports are safe ----------------------------------------------------


def test_os_system_is_dangerous_and_unsafe() -> None:
    report = inspect("pytorch_model.bin", pickle.dumps(_Reduce(os.system, "echo pwned")))
    assert report.pickle_verdict is PickleVerdict.DANGEROUS
    assert report.unsafe
    assert report.imported_globals == (f"{os.system.__module__}.system",)


def test_getattr_is_dangerous() -> None:
    result = scan(pickle.dumps(_Reduce(builtins.getattr, "os", "system")))
    assert result.verdict is PickleVerdict.DANGEROUS
    assert [str(g) for g in result.dangerous] == ["builtins.getattr"]


def test_unknown_module_is_unsafe() -> None:
    result = scan(unknown_import())
    assert result.verdict is PickleVerdict.SUSPICIOUS
    assert [(g.module, g.name, g.safety) for g in result.globals] == [("foo.bar", "Baz", "suspicious")]
    report = inspect("pytorch_model.bin", unknown_import())
    assert report.unsafe
    assert any("outside the allow list: foo.bar.Baz" in r for r in report.reasons)


def test_stack_global_arguments_are_followed_through_the_memo() -> None:
    # The first import is harmless; the second reuses memo slots 0 and 1 ... for posix.system.
    data = (
        b"\x80\x04\x8c\x0bcollections\x94\x8c\x0bOrderedDict\x94\x93\x94)R\x94"
        b"\x8c\x05posix\x94\x8c\x06system\x94h\x04h\x05\x93\x8c\x01x\x85R0."
    )
    result = scan(data)
    assert result.verdict is PickleVerdict.DANGEROUS
    assert [str(g) for g in result.dangerous] == ["posix.system"]


@pytest.mark.parametrize(
    "data",
    [
        b"cos system\nx\n)R.",  # GLOBAL, protocol 0: a space in the module
        b"\x80\x04\x8c\x0bos\nposix.os\x94\x8c\x06system\x94\x93)R.",  # STACK_GLOBAL: a newline
        b"\x80\x04\x8c\x11collections; evil\x94\x8c\x0bOrderedDict\x94\x93)R.",
        b"\x80\x04\x8c\x08coll\xc3\xa9ct\x94\x8c\x01x\x94\x93)R.",  # not ASCII
    ],
)
def test_a_module_that_is_no_dotted_identifier_is_dangerous(data: bytes) -> None:
    result = scan(data)
    assert result.verdict is PickleVerdict.DANGEROUS
    assert result.dangerous


def test_an_unresolvable_stack_global_is_dangerous() -> None:
    # Three strings, one popped: the scanner does not guess which two STACK_GLOBAL takes.
    data = b"\x80\x04\x8c\x0bcollections\x8c\x0bOrderedDict\x8c\x01x0\x93)R."
    result = scan(data)
    assert result.verdict is PickleVerdict.DANGEROUS
    assert [str(g) for g in result.dangerous] == ["<unresolved>.<stack>"]


def test_classify() -> None:
    assert classify("torch._utils", "_rebuild_tensor_v2") == "innocuous"
    assert classify("torch", "FloatStorage") == "innocuous"
    assert classify("numpy.core.multiarray", "_reconstruct") == "innocuous"
    assert classify("torch", "load") == "dangerous"
    assert classify("collections", "Counter") == "suspicious"
    assert classify("torch._utils", "") == "dangerous"


@pytest.fixture
def fake_torch(monkeypatch: pytest.MonkeyPatch) -> types.SimpleNamespace:
    """Stand-ins importable as torch's own names, so pickle writes what torch.save writes."""
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args: Any) -> None: ...

    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2  # type: ignore[attr-defined]
    storage = type("FloatStorage", (), {"__module__": "torch"})
    torch.FloatStorage = storage  # type: ignore[attr-defined]
    torch._utils = utils  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "torch._utils", utils)
    return types.SimpleNamespace(rebuild=_rebuild_tensor_v2, storage=storage)


def torch_data_pkl(fake: types.SimpleNamespace, protocol: int = 2) -> bytes:
    """What torch.save writes for a state dict: an OrderedDict of _rebuild_tensor_v2 calls whose
    storages are persistent ids naming the storage class."""

    class Tensor:
        def __init__(self, key: str) -> None:
            self.key = key

        def __reduce__(self) -> tuple[Any, ...]:
            return fake.rebuild, (("storage", self.key), 0, (2, 3), (3, 1), False, collections.OrderedDict())

    class Saver(pickle.Pickler):
        def persistent_id(self, obj: Any) -> Any:
            if isinstance(obj, tuple) and obj[:1] == ("storage",):
                return ("storage", fake.storage, obj[1], "cpu", 6)
            return None

    buf = io.BytesIO()
    state = collections.OrderedDict([("layer.weight", Tensor("0")), ("layer.bias", Tensor("1"))])
    Saver(buf, protocol=protocol).dump(state)
    return buf.getvalue()


def test_what_torch_save_writes_stays_safe(fake_torch: types.SimpleNamespace) -> None:
    data = torch_data_pkl(fake_torch)
    report = inspect("pytorch_model.bin", torch_zip(data))
    assert report.pickle_verdict is PickleVerdict.SAFE, report.reasons
    assert not report.unsafe
    assert set(report.imported_globals) == {
        "collections.OrderedDict",
        "torch.FloatStorage",
        "torch._utils._rebuild_tensor_v2",
    }


def test_legacy_torch_save_is_scanned_past_its_first_pickles(fake_torch: types.SimpleNamespace) -> None:
    header = b"".join(pickle.dumps(x, protocol=2) for x in (0x1950A86A20F9469CFC6C, 1001, {"le": True}))
    storage = struct.pack("<q", 6) + random.Random(3).randbytes(24)
    benign = header + torch_data_pkl(fake_torch) + pickle.dumps(["0", "1"], protocol=2) + storage
    assert inspect("model.pt", benign).pickle_verdict is PickleVerdict.SAFE
    evil = header + pickle.dumps(_Reduce(os.system, "x"), protocol=2) + storage
    assert inspect("model.pt", evil).pickle_verdict is PickleVerdict.DANGEROUS


# -- hole 1: a pickle by name whose bytes are not recognised, and wrapped pickles ----------------


def test_random_bytes_named_bin_are_unsafe() -> None:
    report = inspect("pytorch_model.bin", random.Random(1).randbytes(4096))
    assert report.unsafe
    assert any("name says pickle but the bytes are not recognised" in r for r in report.reasons)


@pytest.mark.parametrize(
    ("path", "data", "wrapper"),
    [
        ("model.pkl", gzip.compress(pickle.dumps(_Reduce(os.system, "x"))), "gzip"),
        ("model.pkl.gz", gzip.compress(pickle.dumps([1, 2])), "gzip"),
        ("clf.joblib", zlib.compress(pickle.dumps([1, 2])), "zlib"),
        ("pytorch_model.bin", gzip.compress(pickle.dumps([1, 2])), "gzip"),
    ],
)
def test_compressed_pickles_are_unsafe(path: str, data: bytes, wrapper: str) -> None:
    report = inspect(path, data)
    assert report.unsafe
    assert any(wrapper in r for r in report.reasons)


def test_says_pickle() -> None:
    assert says_pickle("pytorch_model-00001-of-00002.bin")
    assert says_pickle("x/model.PKL.gz")
    assert not says_pickle("model.safetensors")
    assert not says_pickle("data.gz")


def test_npz_with_an_object_array_is_scanned() -> None:
    evil = zipped({"w.npy": npy("<f4", bytes(4)), "extra.npy": npy("|O", unknown_import())})
    report = inspect("weights.npz", evil)
    assert report.pickle_verdict is PickleVerdict.SUSPICIOUS
    assert report.unsafe
    worse = inspect("weights.npz", zipped({"a.npy": npy("|O", pickle.dumps(_Reduce(os.system, "x")))}))
    assert worse.pickle_verdict is PickleVerdict.DANGEROUS
    plain = inspect("weights.npz", zipped({"w.npy": npy("<f4", bytes(4))}))
    assert not plain.unsafe


def test_a_zip_inside_a_weights_zip_is_scanned() -> None:
    inner = zipped({"payload.pkl": pickle.dumps(_Reduce(os.system, "x"))}, zipfile.ZIP_DEFLATED)
    report = inspect("model.pt", zipped({"archive/data.pkl": pickle.dumps([1]), "archive/x.zip": inner}))
    assert report.pickle_verdict is PickleVerdict.DANGEROUS
    assert report.unsafe


# -- hole 2: bounded in memory and time ------------------------------------------------------------


def bad(report: WeightsReport, words: str) -> None:
    assert report.unsafe
    assert report.pickle_verdict is PickleVerdict.ERROR
    assert any(words in r for r in report.reasons), report.reasons


def test_a_zip_bomb_inside_a_pt_zip_is_not_expanded() -> None:
    bomb = zipped({"bomb.pkl": bytes(16 * 1024**2)}, zipfile.ZIP_DEFLATED)
    data = zipped({"archive/data.pkl": pickle.dumps([1]), "archive/bomb.zip": bomb})
    assert len(data) < 1024**2
    bad(inspect("model.pt", data), "past the 200x cap")


def test_total_expanded_bytes_are_capped() -> None:
    members = {f"archive/p{i}.pkl": pickle.dumps(list(range(2000))) for i in range(20)}
    result = scan(zipped(members), "model.pt", max_total_bytes=20_000)
    assert result.verdict is PickleVerdict.ERROR
    assert "bound exceeded" in result.error


def test_nesting_depth_is_capped() -> None:
    data = zipped({"a.pkl": pickle.dumps([1])})
    for level in range(5):
        data = zipped({f"level{level}.zip": data})
    result = scan(data, "model.pt")
    assert result.verdict is PickleVerdict.ERROR
    assert "nested deeper than 3" in result.error


def test_a_member_past_the_cap_is_not_read() -> None:
    result = scan(torch_zip(pickle.dumps(list(range(1000)))), "model.pt", max_pickle_bytes=100)
    assert result.verdict is PickleVerdict.ERROR
    assert "too large to scan" in result.error


class Recording(io.BytesIO):
    """Records the largest single read, to prove a pickle is streamed rather than read whole."""

    largest = 0

    def read(self, n: int | None = -1) -> bytes:
        if n is None or n < 0:
            raise AssertionError("read everything")
        self.largest = max(self.largest, n)
        return super().read(n)


def test_pickles_are_streamed_large_arguments_skipped() -> None:
    big = 5 * 1024**2
    data = pickle.dumps(collections.OrderedDict(w=bytes(big)), protocol=4)
    stream = Recording(data)
    result = scan_pickle(stream, "model.pkl")
    assert result.verdict is PickleVerdict.SAFE
    assert 0 < stream.largest <= 1024**2
    result = scan_pickle(io.BytesIO(torch_zip(data)), "model.pt")  # a member is streamed too
    assert result.verdict is PickleVerdict.SAFE


def test_a_text_argument_without_end_is_bounded() -> None:
    result = scan(b"c" + b"a" * (200 * 1024))
    assert result.verdict is PickleVerdict.ERROR
    assert "longer than" in result.error


def test_a_huge_safetensors_shape_is_refused_without_computing_it() -> None:
    header = {"t": {"dtype": "F32", "shape": [2**40, 2**40, 2**40], "data_offsets": [0, 8]}}
    data = raw(json.dumps(header).encode(), 8)
    with pytest.raises(InvalidWeights, match="more elements than"):
        read_header(reader(data), len(data))
    report = inspect("model.safetensors", data)
    assert report.unsafe
    assert any("more elements than" in r for r in report.reasons)


@pytest.mark.parametrize(
    "shape",
    [[2**40] * 100_000, [2**64, 1], [0, 2**70]],
)
def test_absurd_shapes_are_invalid_not_a_crash(shape: list[int]) -> None:
    header = {"t": {"dtype": "F32", "shape": shape, "data_offsets": [0, 0]}}
    data = raw(json.dumps(header).encode(), 0)
    with pytest.raises(InvalidWeights):
        read_header(reader(data), len(data))


def test_opcodes_are_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    from tmr.safety import pickles

    monkeypatch.setattr(pickles, "_MAX_OPS", 1000)
    result = scan(pickle.dumps([float(i) for i in range(2000)], protocol=4))
    assert result.verdict is PickleVerdict.ERROR
    assert "pickle opcodes" in result.error
