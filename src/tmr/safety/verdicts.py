"""Verdicts on an artifact's stored files: which are weights (by their bytes) and which are unsafe.

Every stored file's head is sniffed, so a pickle named `tokenizer.bin` or `vocab.txt` is judged
as the weights it is; files whose bytes are no weights format and whose name does not claim one
are left alone. The verdict is plain JSON, stored with the file, and read by ratings and
downloads without touching the bytes again.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from typing import Any, BinaryIO

from tmr.artifacts.models import FileEntry, FileKind
from tmr.safety.inspect import DEFAULT_MAX_SCAN_BYTES, WeightsReport, expected_formats, inspect_weights
from tmr.safety.sniff import SNIFF_BYTES, WeightsFormat, detect_format

F = WeightsFormat
WEIGHTS_FORMATS = frozenset({F.SAFETENSORS, F.TORCH_ZIP, F.PICKLE, F.GGUF, F.HDF5, F.NUMPY, F.TFLITE})
"""Formats that are model weights whatever the file is called."""

Opener = Callable[[str, int, int | None], Iterator[bytes]]  # (sha256, start, end) -> chunks


def _reader(open_blob: Opener, sha256: str) -> Callable[[int, int], bytes]:
    return lambda offset, length: b"".join(open_blob(sha256, offset, offset + length))


def _spooled(open_blob: Opener, sha256: str) -> Callable[[], BinaryIO]:
    """A seekable copy of the blob on local disk, for scanners that need to seek (zip members)."""

    def opener() -> BinaryIO:
        spool = tempfile.TemporaryFile(prefix="tmr-scan-")  # noqa: SIM115 - the scanner closes it
        for chunk in open_blob(sha256, 0, None):
            spool.write(chunk)
        spool.seek(0)
        return spool

    return opener


def verdict(report: WeightsReport) -> dict[str, Any]:
    """The report as stored JSON: what the bytes are, what was read, and why it is (un)safe."""
    found: dict[str, Any] = {
        "format": report.format.value,
        "unsafe": report.unsafe,
        "scanned": report.scanned,
        "reasons": list(report.reasons),
    }
    if report.name_agrees is not None:
        found["name_agrees"] = report.name_agrees
    if report.safetensors is not None:
        found["parameters"] = report.parameters
        found["tensor_bytes"] = report.tensor_bytes
        found["dtypes"] = report.safetensors.bytes_by_dtype
    if report.pickle_verdict is not None:
        found["pickle"] = report.pickle_verdict.value
        found["imports"] = list(report.imported_globals)
    return found


def judge_files(
    files: Iterable[FileEntry], open_blob: Opener, max_scan_bytes: int = DEFAULT_MAX_SCAN_BYTES
) -> list[FileEntry]:
    """Judge every stored, not yet judged file that is weights by its bytes or by its name. Returns
    the judged files as new values (to be stored): each with its `safety` and, when its bytes are
    weights, that kind."""
    judged: list[FileEntry] = []
    for file in files:
        if file.sha256 is None or file.safety is not None:
            continue
        read = _reader(open_blob, file.sha256)
        head = read(0, min(file.size, SNIFF_BYTES)) if file.size > 0 else b""
        fmt = detect_format(head, file.size)
        claims = file.kind is FileKind.WEIGHTS or bool(expected_formats(file.path))
        if fmt not in WEIGHTS_FORMATS and not claims:
            continue
        report = inspect_weights(
            file.path,
            file.size,
            read,
            stream=_spooled(open_blob, file.sha256),
            max_scan_bytes=max_scan_bytes,
        )
        kind = FileKind.WEIGHTS if report.format in WEIGHTS_FORMATS else file.kind
        judged.append(replace(file, kind=kind, safety=verdict(report)))
    return judged
