"""Static scan of pickle-family files: which globals would unpickling import, and are they code?

Nothing is ever unpickled. picklescan disassembles each pickle (raw, or every pickle member of a
zip such as torch.save's `archive/data.pkl`) and sorts the imported globals against its allow and
deny lists; we add a few deny entries it lacks, and check with pickletools that each pickle's
opcode stream is complete, because picklescan reports a truncated pickle without globals as clean.
"""

from __future__ import annotations

import io
import pickletools
from dataclasses import dataclass
from enum import StrEnum
from typing import BinaryIO

from picklescan.relaxed_zipfile import RelaxedZipFile
from picklescan.scanner import SafetyLevel, scan_pickle_bytes

DEFAULT_MAX_PICKLE_BYTES = 2 * 1024**3
"""A pickle member larger than this is not disassembled (the scan holds its opcodes in memory)."""

_PICKLE_SUFFIXES = (".pkl", ".pickle")
_PICKLE_MAGIC = tuple(bytes([0x80, p]) for p in range(2, 6))
# Importers and code runners picklescan's deny list (as of 1.0) does not name.
_EXTRA_DANGEROUS: dict[str, frozenset[str] | None] = {
    "builtins": frozenset({"__import__", "globals", "locals", "vars", "setattr", "delattr", "input"}),
    "__builtin__": frozenset({"__import__", "globals", "locals", "vars", "setattr", "delattr", "input"}),
    "importlib": None,  # None: every name in the module
    "marshal": None,
    "code": None,
    "multiprocessing": None,
}


class PickleVerdict(StrEnum):
    SAFE = "safe"  # only allow-listed globals (tensor rebuilding, OrderedDict, dtypes) or none
    SUSPICIOUS = "suspicious"  # imports globals on neither list: review before loading
    DANGEROUS = "dangerous"  # imports something that runs code, touches the system or the network
    ERROR = "error"  # could not be disassembled completely (truncated or corrupt): not vouched for


@dataclass(frozen=True)
class ImportedGlobal:
    module: str
    name: str
    safety: str  # "innocuous" | "suspicious" | "dangerous"

    def __str__(self) -> str:
        return f"{self.module}.{self.name}"


@dataclass(frozen=True)
class PickleScan:
    name: str
    verdict: PickleVerdict
    globals: tuple[ImportedGlobal, ...]  # sorted, each once
    pickles: int  # pickle streams disassembled (zip members included)
    error: str | None = None

    @property
    def dangerous(self) -> tuple[ImportedGlobal, ...]:
        return tuple(g for g in self.globals if g.safety == SafetyLevel.Dangerous.value)


def scan_pickle(data: BinaryIO, name: str, *, max_pickle_bytes: int = DEFAULT_MAX_PICKLE_BYTES) -> PickleScan:
    """Scan a seekable stream holding a raw pickle or a zip of pickles (torch.save)."""
    found: set[ImportedGlobal] = set()
    errors: list[str] = []
    count = 0
    try:
        data.seek(0)
        is_zip = data.read(4) == b"PK\x03\x04"
        data.seek(0)
        if is_zip:
            for member, payload in _zip_pickles(data, max_pickle_bytes, errors):
                count += 1
                _scan_one(payload, f"{name}:{member}", found, errors)
        else:
            count = 1
            _scan_one(data, name, found, errors)
    except Exception as exc:  # corrupt containers and scanner failures alike: not vouched for
        errors.append(f"{type(exc).__name__}: {exc}")
    return PickleScan(
        name=name,
        verdict=_verdict(found, errors),
        globals=tuple(sorted(found, key=lambda g: (g.module, g.name))),
        pickles=count,
        error="; ".join(errors) or None,
    )


def _zip_pickles(data: BinaryIO, limit: int, errors: list[str]) -> list[tuple[str, BinaryIO]]:
    """Members that are pickles by name or by their PROTO opcode, each read into memory."""
    out: list[tuple[str, BinaryIO]] = []
    with RelaxedZipFile(data, "r") as archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            with archive.open(info, "r") as member:
                magic = member.read(2)
            if not (info.filename.endswith(_PICKLE_SUFFIXES) or magic in _PICKLE_MAGIC):
                continue
            if info.file_size > limit:
                errors.append(f"{info.filename}: {info.file_size} bytes, too large to scan")
                continue
            with archive.open(info, "r") as member:
                out.append((info.filename, io.BytesIO(member.read())))
    return out


def _scan_one(stream: BinaryIO, file_id: str, found: set[ImportedGlobal], errors: list[str]) -> None:
    start = stream.tell()
    problem = _structure_error(stream)
    stream.seek(start)
    result = scan_pickle_bytes(stream, file_id)
    for g in result.globals:
        safety = SafetyLevel.Dangerous.value if _extra_dangerous(g.module, g.name) else g.safety.value
        found.add(ImportedGlobal(module=str(g.module), name=str(g.name), safety=safety))
    if problem is not None:
        errors.append(f"{file_id}: {problem}")


def _structure_error(stream: BinaryIO) -> str | None:
    """Disassemble the first pickle (what pickle.load reads) up to STOP; never executes it."""
    try:
        for _ in pickletools.genops(stream):
            pass
    except Exception as exc:
        return f"malformed pickle: {exc}"
    return None


def _extra_dangerous(module: str, name: str) -> bool:
    for mod, names in _EXTRA_DANGEROUS.items():
        if module == mod or module.startswith(mod + "."):
            return names is None or name in names
    return False


def _verdict(found: set[ImportedGlobal], errors: list[str]) -> PickleVerdict:
    levels = {g.safety for g in found}
    if SafetyLevel.Dangerous.value in levels:
        return PickleVerdict.DANGEROUS
    if errors:
        return PickleVerdict.ERROR
    if SafetyLevel.Suspicious.value in levels:
        return PickleVerdict.SUSPICIOUS
    return PickleVerdict.SAFE


__all__ = ["DEFAULT_MAX_PICKLE_BYTES", "ImportedGlobal", "PickleScan", "PickleVerdict", "scan_pickle"]
