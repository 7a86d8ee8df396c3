"""Static scan of pickle-family files: which globals would unpickling import, and are they known?

Nothing is ever unpickled. The opcode stream is walked (pickletools' opcode table, our own bounded
reader) and every import is collected: `GLOBAL`/`INST` arguments, and the two strings a
`STACK_GLOBAL` takes from the stack, followed through the memo. The scan fails closed: a pickle is
`safe` only when every import is on `ALLOWED_GLOBALS`; an import we cannot resolve, or whose
module is no dotted identifier, is dangerous; anything else is `suspicious`, and unsafe too.

Every read is bounded: pickles are streamed (large byte arguments are skipped, never held), zip
members are capped in size and compression ratio, nested zips in depth, and the bytes expanded in
one scan in total. Exceeding a bound is an `error` verdict with a reason, never an exception.
"""

from __future__ import annotations

import ast
import pickletools
import re
import struct
import tempfile
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import PurePosixPath
from typing import IO, BinaryIO, Protocol, cast

from picklescan.relaxed_zipfile import RelaxedZipFile

DEFAULT_MAX_PICKLE_BYTES = 2 * 1024**3
"""Largest pickle stream (or zip member) walked; a larger member is an error, not read."""
DEFAULT_MAX_TOTAL_BYTES = 4 * 1024**3
"""Most bytes one scan may decompress and read, over every member of every nested zip."""
DEFAULT_MAX_RATIO = 200
"""Largest expansion of a read zip member over 1 MiB (deflate tops out near 1000:1 on zeros)."""
DEFAULT_MAX_DEPTH = 3
"""Zips inside zips are followed this deep (a torch zip inside an upload's zip is depth 1)."""
_RATIO_FLOOR = 1024**2
_MAX_LINE = 64 * 1024  # text arguments (GLOBAL, INT, ...) longer than this are malformed
_MAX_KEPT_STRING = 1024  # longer strings are never module names: not kept
_MAX_MEMO = 1 << 20  # memo entries tracked beyond the dense 0..n-1 run (see _Memo)
_MAX_NPY_HEADER = 1024**2
_MAX_OPS = 1 << 22  # opcodes walked per scan: a torch data.pkl needs some 25 per tensor
_CHUNK = 1024**2

# Known-safe imports: what torch.save and numpy write for tensors and arrays, nothing that calls
# user code. Each constructs a value from plain arguments; none imports, opens or evaluates.
ALLOWED_GLOBALS: dict[str, frozenset[str]] = {
    # The state_dict container, and the (empty) backward-hooks argument of every tensor.
    "collections": frozenset({"OrderedDict"}),
    # torch.save's tensor and nn.Parameter rebuilders: a view of a storage with a size and stride.
    "torch._utils": frozenset({"_rebuild_tensor_v2", "_rebuild_parameter"}),
    # Storage classes named in the persistent id of each storage (never called by the pickle).
    "torch": frozenset(
        {
            f"{kind}Storage"
            for kind in [
                "Float",
                "Double",
                "Half",
                "BFloat16",
                "Long",
                "Int",
                "Short",
                "Char",
                "Byte",
                "Bool",
                "ComplexFloat",
                "ComplexDouble",
                "QInt8",
                "QUInt8",
                "QInt32",
                "QUInt4x2",
                "QUInt2x4",
            ]
        }
    ),
    # numpy arrays: an empty ndarray made by _reconstruct, then filled from bytes by BUILD.
    "numpy.core.multiarray": frozenset({"_reconstruct"}),
    "numpy._core.multiarray": frozenset({"_reconstruct"}),  # numpy 2 names the same function so
    "numpy": frozenset({"ndarray", "dtype"}),
    # Protocol 0-2 pickles write bytes as _codecs.encode(text, "latin1"): a pure conversion.
    "_codecs": frozenset({"encode"}),
}

# Labels for humans (everything off the allow list is unsafe anyway): imports that run code,
# reach the system or the network, or fetch further attributes.
_DANGEROUS_MODULES = frozenset(
    [
        "os",
        "posix",
        "nt",
        "posixpath",
        "ntpath",
        "subprocess",
        "sys",
        "runpy",
        "webbrowser",
        "socket",
        "pty",
        "shutil",
        "importlib",
        "marshal",
        "code",
        "codeop",
        "multiprocessing",
        "ctypes",
        "pickle",
        "_pickle",
        "dill",
        "cloudpickle",
        "types",
        "platform",
        "asyncio",
        "http",
        "urllib",
        "requests",
        "httpx",
        "ftplib",
        "smtplib",
        "telnetlib",
        "ssl",
        "signal",
        "threading",
        "_thread",
        "commands",
        "pdb",
        "bdb",
        "timeit",
        "profile",
        "cProfile",
        "trace",
        "ensurepip",
        "pip",
        "venv",
        "zipimport",
        "pydoc",
    ]
)
_DANGEROUS_NAMES: dict[str, frozenset[str]] = {
    name: frozenset(
        [
            "eval",
            "exec",
            "execfile",
            "compile",
            "open",
            "getattr",
            "setattr",
            "delattr",
            "__import__",
            "globals",
            "locals",
            "vars",
            "input",
            "breakpoint",
            "apply",
            "help",
            "memoryview",
        ]
    )
    for name in ("builtins", "__builtin__")
} | {
    "operator": frozenset({"attrgetter", "methodcaller", "itemgetter", "call"}),
    "functools": frozenset({"partial", "reduce"}),
    "torch": frozenset({"load", "hub"}),
}
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\Z")

PICKLE_SUFFIXES = frozenset({".pkl", ".pickle", ".bin", ".pt", ".pth", ".ckpt", ".joblib", ".dill", ".sav"})
"""Names whose loaders (torch.load, pickle, joblib) unpickle what they read."""
COMPRESSION_SUFFIXES = frozenset({".gz", ".bz2", ".xz", ".lzma", ".zst", ".z", ".zlib", ".lz4"})
_MEMBER_PICKLE_SUFFIXES = (".pkl", ".pickle")
_PICKLE_MAGIC = tuple(bytes([0x80, p]) for p in range(2, 6))


class PickleVerdict(StrEnum):
    SAFE = "safe"  # only allow-listed globals, or none
    SUSPICIOUS = "suspicious"  # imports globals off the allow list: unsafe, nothing vouches for them
    DANGEROUS = "dangerous"  # imports code runners, system access, or an unresolvable name
    ERROR = "error"  # incomplete, corrupt, or past a bound: not vouched for


class ScanBoundExceeded(Exception):
    """A read would pass a bound of the scan (member size, total bytes, ratio, depth)."""


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
    pickles: int  # pickle streams walked (zip members included)
    error: str | None = None

    @property
    def dangerous(self) -> tuple[ImportedGlobal, ...]:
        return tuple(g for g in self.globals if g.safety == "dangerous")


def says_pickle(path: str) -> bool:
    """Whether a loader chosen by this name unpickles it (`model.pt`, `clf.joblib`, `x.pkl.gz`)."""
    suffixes = [s.lower() for s in PurePosixPath(path).suffixes]
    if suffixes and suffixes[-1] in COMPRESSION_SUFFIXES:
        suffixes.pop()
    return bool(suffixes) and suffixes[-1] in PICKLE_SUFFIXES


def classify(module: str, name: str) -> str:
    """`innocuous` (allow-listed), `dangerous`, or `suspicious` (unknown: unsafe as well)."""
    if not (_IDENTIFIER.match(module) and _IDENTIFIER.match(name)):
        return "dangerous"  # no importable module: a scanner confusion or a smuggled name
    if name in ALLOWED_GLOBALS.get(module, ()):
        return "innocuous"
    root = module.split(".")[0]
    if root in _DANGEROUS_MODULES or name in _DANGEROUS_NAMES.get(module, ()):
        return "dangerous"
    return "suspicious"


@dataclass
class _Budget:
    """Bounds shared by one scan, nested zips included."""

    member: int
    total: int
    ratio: int
    depth: int
    used: int = 0
    ops: int = 0

    def step(self) -> None:
        self.ops += 1
        if self.ops > _MAX_OPS:
            raise ScanBoundExceeded(f"more than {_MAX_OPS} pickle opcodes")


@dataclass
class _Findings:
    globals: set[ImportedGlobal] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)
    pickles: int = 0

    def add(self, module: str, name: str) -> None:
        self.globals.add(ImportedGlobal(module, name, classify(module, name)))


def scan_pickle(
    data: BinaryIO,
    name: str,
    *,
    start: int = 0,
    max_pickle_bytes: int = DEFAULT_MAX_PICKLE_BYTES,
    max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES,
    max_ratio: int = DEFAULT_MAX_RATIO,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> PickleScan:
    """Scan a seekable stream holding, from `start`, a raw pickle or a zip of pickles."""
    budget = _Budget(max_pickle_bytes, max_total_bytes, max_ratio, max_depth)
    found = _Findings()
    try:
        data.seek(start)
        is_zip = data.read(4) == b"PK\x03\x04"
        data.seek(start)
        if is_zip:
            _scan_zip(data, name, found, budget, 0)
        else:
            _scan_stream(data, name, found, budget)
    except ScanBoundExceeded as exc:
        found.errors.append(f"{name}: bound exceeded: {exc}")
    except Exception as exc:  # corrupt containers and scanner failures alike: not vouched for
        found.errors.append(f"{name}: {type(exc).__name__}: {exc}")
    return PickleScan(
        name=name,
        verdict=_verdict(found),
        globals=tuple(sorted(found.globals, key=lambda g: (g.module, g.name))),
        pickles=found.pickles,
        error="; ".join(found.errors) or None,
    )


def _scan_zip(data: BinaryIO, name: str, found: _Findings, budget: _Budget, depth: int) -> None:
    """Members that are pickles (by name or PROTO), object .npy arrays, or zips are read, bounded."""
    with RelaxedZipFile(data, "r") as archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            label = f"{name}:{info.filename}"
            with archive.open(info, "r") as member:
                magic = member.read(6)
            is_zip = magic.startswith(b"PK\x03\x04")
            is_npy = magic.startswith(b"\x93NUMPY")
            by_name = info.filename.endswith(_MEMBER_PICKLE_SUFFIXES) or says_pickle(info.filename)
            if not (is_zip or is_npy or by_name or magic[:2] in _PICKLE_MAGIC):
                continue
            if info.file_size > budget.member:
                found.errors.append(f"{label}: {info.file_size} bytes, too large to scan")
                continue
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > _RATIO_FLOOR and ratio > budget.ratio:
                found.errors.append(f"{label}: expands {ratio:.0f}x, past the {budget.ratio}x cap")
                continue
            with archive.open(info, "r") as member:
                if is_zip:
                    if depth + 1 > budget.depth:
                        found.errors.append(f"{label}: zips nested deeper than {budget.depth}")
                        continue
                    with tempfile.TemporaryFile(prefix="tmr-scan-") as spool:
                        _copy(_Bounded(member, budget), spool)
                        spool.seek(0)
                        _scan_zip(spool, label, found, budget, depth + 1)
                elif is_npy:
                    _scan_npy_member(_Bounded(member, budget), label, found, budget)
                else:
                    _scan_stream(member, label, found, budget)


def _scan_npy_member(member: _Bounded, label: str, found: _Findings, budget: _Budget) -> None:
    head = member.read(12)
    length_at, width = (8, 2) if head[6:7] == b"\x01" else (8, 4)
    if len(head) < length_at + width:
        return  # numpy cannot load it either
    (length,) = struct.unpack("<H" if width == 2 else "<I", head[length_at : length_at + width])
    if length > _MAX_NPY_HEADER:
        found.errors.append(f"{label}: .npy header of {length} bytes, past the cap")
        return
    header = head[length_at + width :] + member.read(length - (len(head) - length_at - width))
    header = header[:length]
    if is_object_npy_header(header):
        _scan_stream(member, label, found, budget)


def is_object_npy_header(header: bytes) -> bool:
    """Whether an .npy header dict declares a dtype holding objects (its payload is a pickle)."""
    try:
        doc = ast.literal_eval(header.decode("latin-1"))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False
    return isinstance(doc, dict) and _has_object(doc.get("descr"))


def _has_object(descr: object) -> bool:
    if isinstance(descr, str):
        return descr.lstrip("<>|=").startswith("O")
    if isinstance(descr, list):  # structured: [(name, dtype[, shape]), ...]
        return any(isinstance(f, tuple) and len(f) > 1 and _has_object(f[1]) for f in descr)
    return False


def _copy(source: _Bounded, target: BinaryIO) -> None:
    while chunk := source.read(_CHUNK):
        target.write(chunk)


class _Readable(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...

    def readline(self, limit: int = -1, /) -> bytes: ...


class _Bounded:
    """A reader that charges every byte to the scan's budget and caps one stream's length."""

    def __init__(self, raw: _Readable, budget: _Budget) -> None:
        self.raw, self.budget, self.used = raw, budget, 0

    def _charge(self, data: bytes) -> bytes:
        self.used += len(data)
        self.budget.used += len(data)
        if self.used > self.budget.member:
            raise ScanBoundExceeded(f"a pickle stream longer than {self.budget.member} bytes")
        if self.budget.used > self.budget.total:
            raise ScanBoundExceeded(f"more than {self.budget.total} bytes expanded in total")
        return data

    def read(self, n: int) -> bytes:
        return self._charge(self.raw.read(max(n, 0)))

    def readline(self) -> bytes:
        line = self._charge(self.raw.readline(_MAX_LINE + 1))
        if len(line) > _MAX_LINE:
            raise ValueError(f"a text argument longer than {_MAX_LINE} bytes")
        return line

    def skip(self, n: int) -> None:
        while n > 0:
            got = self.read(min(n, _CHUNK))
            if not got:
                raise ValueError("pickle ended inside an argument")
            n -= len(got)


def _scan_stream(raw: _Readable | _Bounded, label: str, found: _Findings, budget: _Budget) -> None:
    """Walk consecutive pickles (legacy torch.save writes five): the first must end at STOP; later
    ones are walked while they start with PROTO, the rest of the stream being raw data."""
    stream = _Prepended(b"", raw if isinstance(raw, _Bounded) else _Bounded(raw, budget))
    first = True
    while True:
        lead = stream.read(2)
        if not lead:
            if first:
                found.errors.append(f"{label}: empty pickle")
            return
        if not first and lead not in _PICKLE_MAGIC:
            return  # storage bytes after the pickles, not read by the unpickler as a pickle
        stream.lead = lead + stream.lead
        found.pickles += first
        problem = _walk(stream, found, budget)
        if problem is not None:
            if first:
                found.errors.append(f"{label}: malformed pickle: {problem}")
            return
        first = False


class _Prepended:
    """The stream with bytes already read put back in front."""

    def __init__(self, lead: bytes, stream: _Bounded) -> None:
        self.lead, self.stream = lead, stream

    def read(self, n: int) -> bytes:
        if not self.lead:
            return self.stream.read(n)
        head, self.lead = self.lead[:n], self.lead[n:]
        return head + (self.stream.read(n - len(head)) if n > len(head) else b"")

    def readline(self) -> bytes:
        if b"\n" in self.lead:
            cut = self.lead.index(b"\n") + 1
            line, self.lead = self.lead[:cut], self.lead[cut:]
            return line
        head, self.lead = self.lead, b""
        return head + self.stream.readline()

    def skip(self, n: int) -> None:
        taken = len(self.read(min(n, len(self.lead))))
        self.stream.skip(n - taken)


_STRING_PUSH = frozenset(
    {"STRING", "BINSTRING", "SHORT_BINSTRING", "UNICODE", "BINUNICODE", "SHORT_BINUNICODE", "BINUNICODE8"}
)
_OPCODES = {op.code: op for op in pickletools.opcodes}
_GETS = frozenset({"GET", "BINGET", "LONG_BINGET"})
_PUTS = frozenset({"PUT", "BINPUT", "LONG_BINPUT"})
_NEUTRAL = frozenset({"FRAME"})  # no stack effect
# Length-prefixed arguments: (prefix bytes, struct format); contents read or skipped by us.
_PREFIXED = {
    "string1": (1, "<B"),
    "string4": (4, "<i"),
    "bytes1": (1, "<B"),
    "bytes4": (4, "<I"),
    "bytes8": (8, "<Q"),
    "bytearray8": (8, "<Q"),
    "unicodestring1": (1, "<B"),
    "unicodestring4": (4, "<I"),
    "unicodestring8": (8, "<Q"),
    "long1": (1, "<B"),
    "long4": (4, "<i"),
}


class _Memo:
    """Which memo slots hold which strings, as the unpickler would number them. Slots 0..n-1
    written in order (what every pickler does) cost one counter; others are tracked up to a cap."""

    def __init__(self) -> None:
        self.dense = 0
        self.sparse: set[int] = set()
        self.strings: dict[int, str] = {}

    def put(self, index: int, value: str | None) -> None:
        if index == self.dense:
            self.dense += 1
            while self.dense in self.sparse:
                self.sparse.discard(self.dense)
                self.dense += 1
        elif index > self.dense:
            self.sparse.add(index)
        if value is None:
            self.strings.pop(index, None)
        else:
            self.strings[index] = value
        if len(self.sparse) + len(self.strings) > _MAX_MEMO:
            raise ScanBoundExceeded(f"more than {_MAX_MEMO} memo entries to follow")

    def memoize(self, value: str | None) -> None:
        self.put(self.dense + len(self.sparse), value)


def _walk(stream: _Prepended, found: _Findings, budget: _Budget) -> str | None:
    """Follow one pickle to STOP, collecting its imports; the problem, if it is malformed. Strings
    are followed onto the stack and through the memo only as far as certain; a `STACK_GLOBAL`
    whose two arguments are not both known strings is recorded as an unresolved import."""
    memo = _Memo()
    recent: list[str | None] = []  # the top of the stack, as far as it is certainly strings
    while True:
        budget.step()
        code = stream.read(1)
        if not code:
            return "ended before STOP"
        try:
            op = _OPCODES[code.decode("latin-1")]
        except KeyError:
            return f"unknown opcode {code!r}"
        try:
            arg = _argument(op, stream)
        except (ValueError, UnicodeDecodeError, struct.error) as exc:
            return f"{op.name}: {exc}"
        name = op.name
        if name == "STOP":
            return None
        if name in _STRING_PUSH:
            recent.append(arg if isinstance(arg, str) else None)
        elif name in _GETS:
            recent.append(memo.strings.get(arg) if isinstance(arg, int) else None)
        elif name == "MEMOIZE":
            memo.memoize(recent[-1] if recent else None)
        elif name in _PUTS:
            if isinstance(arg, int):
                memo.put(arg, recent[-1] if recent else None)
        elif name in ("GLOBAL", "INST"):
            module, attr = arg if isinstance(arg, tuple) else ("<unreadable>", "<unreadable>")
            found.add(module, attr)
            recent = [None]
        elif name == "STACK_GLOBAL":
            if len(recent) >= 2 and isinstance(recent[-2], str) and isinstance(recent[-1], str):
                found.add(recent[-2], recent[-1])
            else:
                found.add("<unresolved>", "<stack>")
            recent = [None]
        elif name in ("EXT1", "EXT2", "EXT4"):
            found.add("<extension>", str(arg))
            recent = [None]
        elif name not in _NEUTRAL:
            recent = [None]
        del recent[:-2]


def _argument(op: pickletools.OpcodeInfo, stream: _Prepended) -> object:
    """The opcode's argument, read without ever holding a large one: byte strings are skipped,
    long text strings replaced by None (they cannot be module names)."""
    desc = op.arg
    if desc is None:
        return None
    if desc.name == "stringnl_noescape_pair":  # GLOBAL / INST: two lines, kept apart
        return (_line(stream), _line(stream))
    if desc.name in _PREFIXED:
        width, fmt = _PREFIXED[desc.name]
        (n,) = struct.unpack(fmt, stream.read(width).ljust(width, b"\0")[:width])
        if n < 0:
            raise ValueError("negative length")
        if desc.name.startswith(("bytes", "long")) or n > _MAX_KEPT_STRING:
            stream.skip(n)
            return None
        payload = stream.read(n)
        if len(payload) != n:
            raise ValueError("pickle ended inside an argument")
        return payload.decode("latin-1" if desc.name.startswith("string") else "utf-8")
    return desc.reader(cast(IO[bytes], stream))  # it only calls read() and readline()


def _line(stream: _Prepended) -> str:
    line = stream.readline()
    if not line.endswith(b"\n"):
        raise ValueError("no newline after a GLOBAL argument")
    return line[:-1].decode("latin-1")


def _verdict(found: _Findings) -> PickleVerdict:
    levels = {g.safety for g in found.globals}
    if "dangerous" in levels:
        return PickleVerdict.DANGEROUS
    if found.errors:
        return PickleVerdict.ERROR
    if "suspicious" in levels:
        return PickleVerdict.SUSPICIOUS
    return PickleVerdict.SAFE


__all__ = [
    "ALLOWED_GLOBALS",
    "DEFAULT_MAX_PICKLE_BYTES",
    "ImportedGlobal",
    "PickleScan",
    "PickleVerdict",
    "ScanBoundExceeded",
    "classify",
    "is_object_npy_header",
    "says_pickle",
    "scan_pickle",
]
