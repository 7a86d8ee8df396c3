"""Malicious pickles are only ever built with pickle.dumps; nothing here unpickles anything."""

import builtins
import collections
import io
import os
import pickle
import subprocess
import zipfile
from typing import Any

import pytest

from tmr.safety.pickles import PickleVerdict, scan_pickle


class _Reduce:
    def __init__(self, func: Any, *args: Any) -> None:
        self.func, self.args = func, args

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return self.func, self.args


def evil_system(protocol: int = 4) -> bytes:
    return pickle.dumps(_Reduce(os.system, "echo pwned"), protocol=protocol)


def evil_eval() -> bytes:
    return pickle.dumps(_Reduce(builtins.eval, "print('pwned')"))


def evil_popen() -> bytes:
    return pickle.dumps({"model": _Reduce(subprocess.Popen, ["echo", "pwned"])})


def torch_zip(data_pkl: bytes, root: str = "archive") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(f"{root}/data.pkl", data_pkl)
        zf.writestr(f"{root}/byteorder", b"little")
        zf.writestr(f"{root}/data/0", bytes(16))
        zf.writestr(f"{root}/version", b"3\n")
    return buf.getvalue()


def scan(data: bytes, name: str = "model.bin") -> Any:
    return scan_pickle(io.BytesIO(data), name)


def test_benign_pickle_is_safe() -> None:
    result = scan(pickle.dumps({"a": [1, 2, 3]}))
    assert result.verdict is PickleVerdict.SAFE
    assert result.globals == ()
    assert result.pickles == 1
    assert result.error is None


def test_allow_listed_globals_are_safe() -> None:
    result = scan(pickle.dumps(collections.OrderedDict(a=1)))
    assert result.verdict is PickleVerdict.SAFE
    assert [str(g) for g in result.globals] == ["collections.OrderedDict"]


def test_unknown_global_is_suspicious() -> None:
    result = scan(pickle.dumps(collections.Counter("aab")))
    assert result.verdict is PickleVerdict.SUSPICIOUS
    assert [(g.module, g.name, g.safety) for g in result.globals] == [
        ("collections", "Counter", "suspicious")
    ]


@pytest.mark.parametrize("protocol", [0, 1, 2, 4, 5])
def test_os_system_is_dangerous(protocol: int) -> None:
    result = scan(evil_system(protocol))
    assert result.verdict is PickleVerdict.DANGEROUS
    assert [str(g) for g in result.dangerous] == [f"{os.system.__module__}.system"]


def test_eval_is_dangerous() -> None:
    result = scan(evil_eval())
    assert result.verdict is PickleVerdict.DANGEROUS
    assert "builtins.eval" in [str(g) for g in result.dangerous]


def test_popen_is_dangerous() -> None:
    result = scan(evil_popen())
    assert result.verdict is PickleVerdict.DANGEROUS
    assert [str(g) for g in result.dangerous] == ["subprocess.Popen"]


def test_import_is_dangerous_even_where_picklescan_is_silent() -> None:
    result = scan(pickle.dumps(_Reduce(builtins.__import__, "os")))
    assert result.verdict is PickleVerdict.DANGEROUS
    assert [str(g) for g in result.dangerous] == ["builtins.__import__"]


def test_malicious_torch_zip_is_dangerous() -> None:
    result = scan(torch_zip(evil_system()))
    assert result.verdict is PickleVerdict.DANGEROUS
    assert result.pickles == 1
    assert str(result.dangerous[0]).endswith(".system")


def test_benign_torch_zip_is_safe() -> None:
    result = scan(torch_zip(pickle.dumps(collections.OrderedDict(weight=[0.0, 1.0]))))
    assert result.verdict is PickleVerdict.SAFE
    assert result.pickles == 1


def test_pickle_members_found_by_magic() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("README", b"hello")
        zf.writestr("blob", evil_popen())
    result = scan(buf.getvalue(), "bundle.zip")
    assert result.verdict is PickleVerdict.DANGEROUS
    assert result.pickles == 1


def test_oversized_member_is_not_scanned() -> None:
    result = scan_pickle(io.BytesIO(torch_zip(pickle.dumps(list(range(1000))))), "m.pt", max_pickle_bytes=10)
    assert result.verdict is PickleVerdict.ERROR
    assert result.error is not None
    assert "too large" in result.error


def test_truncated_pickle_is_an_error() -> None:
    result = scan(pickle.dumps({"a": list(range(100))})[:-10])
    assert result.verdict is PickleVerdict.ERROR
    assert result.error is not None
    assert "malformed pickle" in result.error


def test_truncated_malicious_pickle_stays_dangerous() -> None:
    assert scan(evil_popen()[:-3]).verdict is PickleVerdict.DANGEROUS


def test_corrupt_zip_is_an_error() -> None:
    result = scan(b"PK\x03\x04" + bytes(64))
    assert result.verdict is PickleVerdict.ERROR
    assert result.pickles == 0


def test_empty_input_is_an_error() -> None:
    assert scan(b"").verdict is PickleVerdict.ERROR
