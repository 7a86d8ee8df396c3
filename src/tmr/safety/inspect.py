"""One entry point that judges a weights file by its bytes: format, header facts, pickle scan.

The name only states a claim; `inspect_weights` reports whether the bytes agree with it, and a
pickle dressed up as a code-free format (`model.safetensors` that unpickles) is unsafe whatever its
scan says, since a loader chosen by the name was never meant to run a pickle. Pickle-family files
are read whole (through `stream`, or `read(0, size)` up to `max_scan_bytes`); a larger one is not
scanned and is reported unsafe, since nothing vouches for it.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import BinaryIO

from tmr.safety.pickles import PickleScan, PickleVerdict, is_object_npy_header, says_pickle, scan_pickle
from tmr.safety.safetensors_header import InvalidWeights, SafetensorsHeader, read_header
from tmr.safety.sniff import PICKLE_FAMILY, SNIFF_BYTES, WeightsFormat, detect_format

DEFAULT_MAX_SCAN_BYTES = 2 * 1024**3
"""Largest pickle-family file read whole for a scan (a streamed torch zip is bounded per member)."""

F = WeightsFormat
_TORCH = frozenset({F.PICKLE, F.TORCH_ZIP})
# What a suffix promises. UNKNOWN in a set: that format has no magic, so unrecognised bytes are
# no evidence either way.
_BY_SUFFIX: dict[str, frozenset[WeightsFormat]] = {
    ".safetensors": frozenset({F.SAFETENSORS}),
    ".bin": _TORCH,
    ".pt": _TORCH,
    ".pth": _TORCH,
    ".ckpt": _TORCH,
    ".pkl": frozenset({F.PICKLE}),
    ".pickle": frozenset({F.PICKLE}),
    ".joblib": frozenset({F.PICKLE}),  # compressed joblib is unrecognised, hence unsafe
    ".gguf": frozenset({F.GGUF}),
    ".h5": frozenset({F.HDF5}),
    ".hdf5": frozenset({F.HDF5}),
    ".keras": frozenset({F.ZIP, F.HDF5}),
    ".npy": frozenset({F.NUMPY}),
    ".npz": frozenset({F.ZIP}),
    ".tflite": frozenset({F.TFLITE}),
    ".onnx": frozenset({F.UNKNOWN}),
    ".msgpack": frozenset({F.UNKNOWN}),
}


@dataclass(frozen=True)
class WeightsReport:
    path: str
    size: int
    format: WeightsFormat  # by bytes
    expected: frozenset[WeightsFormat]  # by name; empty when the name promises nothing
    name_agrees: bool | None  # None: the name promises nothing, or the bytes cannot confirm it
    scanned: bool  # the header was read or the pickles were scanned
    safetensors: SafetensorsHeader | None
    pickle: PickleScan | None
    unsafe: bool
    reasons: tuple[str, ...]

    @property
    def parameters(self) -> int | None:
        return self.safetensors.parameter_count if self.safetensors else None

    @property
    def tensor_bytes(self) -> int | None:
        return self.safetensors.tensor_bytes if self.safetensors else None

    @property
    def pickle_verdict(self) -> PickleVerdict | None:
        return self.pickle.verdict if self.pickle else None

    @property
    def imported_globals(self) -> tuple[str, ...]:
        return tuple(str(g) for g in self.pickle.globals) if self.pickle else ()


def expected_formats(path: str) -> frozenset[WeightsFormat]:
    return _BY_SUFFIX.get(PurePosixPath(path).suffix.lower(), frozenset())


def inspect_weights(
    path: str,
    size: int,
    read: Callable[[int, int], bytes],
    *,
    stream: Callable[[], BinaryIO] | None = None,
    max_scan_bytes: int = DEFAULT_MAX_SCAN_BYTES,
) -> WeightsReport:
    """Judge the `size`-byte file at `path`; `read(offset, length)` returns its bytes, and
    `stream()`, when given, opens it as a seekable stream for whole-file scans."""
    fmt = detect_format(read(0, min(size, SNIFF_BYTES)) if size > 0 else b"", size)
    expected = expected_formats(path)
    agrees = _agreement(fmt, expected)
    reasons: list[str] = []
    unsafe = False
    if fmt is F.EMPTY:
        reasons.append("empty file")
    elif fmt is F.UNKNOWN and says_pickle(path):
        unsafe = True
        wrapper = _compression(read(0, min(size, 8)))
        reasons.append(
            f"the name says pickle but the bytes are {wrapper or 'not recognised'}: a loader would "
            "unpickle what nothing has scanned"
        )
    elif fmt is F.UNKNOWN:
        reasons.append("format not recognised from its bytes; nothing checked")
    if agrees is False:
        claimed = "/".join(sorted(f.value for f in expected))
        reasons.append(f"name says {claimed} but the bytes are {fmt.value}")
        if fmt in PICKLE_FAMILY and not expected & PICKLE_FAMILY:
            unsafe = True
            reasons.append("a pickle disguised as a code-free format")

    header: SafetensorsHeader | None = None
    scan: PickleScan | None = None
    if fmt is F.SAFETENSORS:
        try:
            header = read_header(read, size)
        except InvalidWeights as exc:
            unsafe = True
            reasons.append(f"invalid safetensors header: {exc.message}")
    elif fmt in PICKLE_FAMILY or fmt is F.ZIP:
        if fmt is F.PICKLE or stream is None:
            opener = stream or (lambda: io.BytesIO(read(0, size)))
            scan = None if size > max_scan_bytes else _scan(opener, path, max_scan_bytes)
        else:  # a streamed zip: only its pickle members are read, each within the cap
            scan = _scan(stream, path, max_scan_bytes)
        if scan is None:
            reasons.append(f"not scanned: too large ({size} bytes > {max_scan_bytes})")
            unsafe = unsafe or fmt in PICKLE_FAMILY
    elif fmt is F.NUMPY and (offset := _npy_object_payload(read(0, min(size, SNIFF_BYTES)))):
        reasons.append("object array: numpy.load(allow_pickle=True) unpickles its payload")
        if stream is not None:
            with stream() as data:
                scan = scan_pickle(data, path, start=offset, max_pickle_bytes=max_scan_bytes)
        elif size - offset <= max_scan_bytes:
            scan = scan_pickle(io.BytesIO(read(offset, size - offset)), path)
        else:
            unsafe = True
            reasons.append(f"not scanned: too large ({size} bytes > {max_scan_bytes})")
    if scan is not None:
        flagged, why = _judge(scan)
        unsafe = unsafe or flagged
        reasons.extend(why)
    return WeightsReport(
        path=path,
        size=size,
        format=fmt,
        expected=expected,
        name_agrees=agrees,
        scanned=header is not None or scan is not None,
        safetensors=header,
        pickle=scan,
        unsafe=unsafe,
        reasons=tuple(reasons),
    )


def _agreement(fmt: WeightsFormat, expected: frozenset[WeightsFormat]) -> bool | None:
    if not expected or (fmt is F.UNKNOWN and F.UNKNOWN in expected):
        return None
    return fmt in expected


def _scan(opener: Callable[[], BinaryIO], path: str, cap: int) -> PickleScan:
    with opener() as data:
        return scan_pickle(data, path, max_pickle_bytes=cap)


def _judge(scan: PickleScan) -> tuple[bool, list[str]]:
    """Whether the scan makes the file unsafe, and why, in words: only allow-listed imports pass."""
    if scan.verdict is PickleVerdict.DANGEROUS:
        return True, ["imports code on load: " + ", ".join(str(g) for g in scan.dangerous)]
    if scan.verdict is PickleVerdict.ERROR:
        return True, [f"pickle could not be scanned completely: {scan.error}"]
    if scan.verdict is PickleVerdict.SUSPICIOUS:
        odd = ", ".join(str(g) for g in scan.globals if g.safety == "suspicious")
        return True, [f"imports globals outside the allow list: {odd}"]
    if scan.pickles:
        return False, ["pickle imports only allow-listed globals (static scan, not a proof)"]
    return False, []


_COMPRESSION_MAGIC = (
    (b"\x1f\x8b", "gzip-compressed"),
    (b"BZh", "bzip2-compressed"),
    (b"\xfd7zXZ\x00", "xz-compressed"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed"),
    (b"7z\xbc\xaf\x27\x1c", "a 7z archive"),
    (b"\x5d\x00\x00", "lzma-compressed"),
    (b"\x78\x01", "zlib-compressed"),
    (b"\x78\x5e", "zlib-compressed"),
    (b"\x78\x9c", "zlib-compressed"),
    (b"\x78\xda", "zlib-compressed"),
    (b"ZF", "joblib zlib-compressed"),  # joblib's own zlib container
)


def _compression(head: bytes) -> str | None:
    """How the bytes are wrapped, when they look compressed (joblib, pandas and friends unwrap)."""
    return next((what for magic, what in _COMPRESSION_MAGIC if head.startswith(magic)), None)


def _npy_object_payload(head: bytes) -> int | None:
    """Offset of the pickled payload of an object-dtype .npy, else None (or unparsable)."""
    if len(head) < 12:
        return None
    if head[6] == 1:
        (length,), start = struct.unpack("<H", head[8:10]), 10
    else:
        (length,), start = struct.unpack("<I", head[8:12]), 12
    end = int(start + length)
    if end > len(head):  # a header past the sniffed head: scanned, never trusted
        return end
    return end if is_object_npy_header(head[start : start + length]) else None
