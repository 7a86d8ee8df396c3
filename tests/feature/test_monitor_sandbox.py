"""The monitor sandbox running real programs under the wheel's Node 24.

Each escape attempt is made by the program itself, which prints what it could do and exits 0
only when every attempt was refused, so a sandbox that let one through fails the test with the
program's own account in the assertion message.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tmr.monitors import MonitorLimits, MonitorSandbox, MonitorVerdict, node_executable

# Tries `attempt` on each target; prints {target: error code or "ok"}; exits 1 if any succeeded.
_EVERY_ATTEMPT_DENIED = """
const results = {};
for (const target of TARGETS) {
  try { attempt(target); results[target] = "ok"; }
  catch (error) { results[target] = error.code || String(error); }
}
console.log(JSON.stringify(results));
process.exit(Object.values(results).every((code) => code === "ERR_ACCESS_DENIED") ? 0 : 1);
"""


@pytest.fixture
def package(tmp_path: Path) -> Path:
    """A real zip in a folder beside other files the program must not see."""
    folder = tmp_path / "packages"
    folder.mkdir()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("config.json", '{"model_type": "bert"}')
    path = folder / "model.zip"
    path.write_bytes(buffer.getvalue())
    (folder / "other.zip").write_bytes(b"another artifact's package")
    return path


@pytest.fixture
def sandbox() -> MonitorSandbox:
    return MonitorSandbox(MonitorLimits(time_s=30.0))


def run(sandbox: MonitorSandbox, program: str, package: Path) -> MonitorVerdict:
    return sandbox.run(program, model_name="bert", uploader="alice", downloader="bob", zip_path=package)


def test_the_wheel_ships_node_24() -> None:
    assert node_executable().is_file()


def test_exit_zero_allows(sandbox: MonitorSandbox, package: Path) -> None:
    verdict = run(sandbox, "console.log('fine')", package)
    assert verdict.allowed, verdict
    assert (verdict.exit_code, verdict.timed_out, verdict.stdout) == (0, False, "fine\n")


def test_a_nonzero_exit_refuses_and_carries_stdout(sandbox: MonitorSandbox, package: Path) -> None:
    verdict = run(sandbox, "console.log('bob may not have it'); process.exit(1)", package)
    assert not verdict.allowed
    assert (verdict.exit_code, verdict.timed_out) == (1, False)
    assert verdict.stdout == "bob may not have it\n"


def test_an_uncaught_throw_refuses(sandbox: MonitorSandbox, package: Path) -> None:
    verdict = run(sandbox, "throw new Error('monitor broke')", package)
    assert not verdict.allowed
    assert verdict.exit_code == 1
    assert "monitor broke" in verdict.stderr


def test_a_crash_by_signal_refuses(sandbox: MonitorSandbox, package: Path) -> None:
    # process.abort() raises SIGABRT in the program itself (process.kill is the guard's to refuse).
    verdict = run(sandbox, "process.abort()", package)
    assert not verdict.allowed
    assert verdict.exit_code == -signal.SIGABRT
    assert not verdict.timed_out


def test_the_program_gets_the_four_arguments_and_can_read_the_zip(
    sandbox: MonitorSandbox, package: Path
) -> None:
    program = """
    const fs = require("fs");
    const [model, uploader, downloader, zip] = process.argv.slice(2);
    const bytes = fs.readFileSync(zip);
    console.log(JSON.stringify({
      model, uploader, downloader, zip, size: fs.statSync(zip).size, read: bytes.length,
      magic: bytes.subarray(0, 4).toString("hex"), cwd: process.cwd(), script: process.argv[1],
    }));
    """
    verdict = run(sandbox, program, package)
    assert verdict.allowed, verdict
    seen = json.loads(verdict.stdout)
    assert seen["model"] == "bert"
    assert (seen["uploader"], seen["downloader"]) == ("alice", "bob")
    # The zip itself, or (when the program runs as another user) a link to it it may read.
    assert Path(seen["zip"]).name == package.name
    assert Path(seen["zip"]) == package.resolve() or Path(seen["zip"]).is_relative_to(seen["cwd"])
    assert seen["size"] == seen["read"] == package.stat().st_size
    assert seen["magic"] == "504b0304"
    # It ran as monitor.js in its own working folder, which is gone afterwards.
    assert Path(seen["script"]) == Path(seen["cwd"]) / "monitor.js"
    assert not Path(seen["cwd"]).exists()


def test_no_other_file_is_readable(sandbox: MonitorSandbox, package: Path) -> None:
    targets = [
        "/etc/passwd",
        "/proc/self/environ",
        str(package.parent / "other.zip"),  # a neighbour of the zip
        str(package.parent),  # the zip's folder
        ".",  # its own working folder
        str(node_executable()),
    ]
    program = f"const TARGETS = {json.dumps(targets)};\n"
    program += "const fs = require('fs');\n"
    program += (
        "function attempt(t) { fs.statSync(t).isDirectory() ? fs.readdirSync(t) : fs.readFileSync(t); }\n"
    )
    verdict = run(sandbox, program + _EVERY_ATTEMPT_DENIED, package)
    assert verdict.allowed, verdict
    assert set(json.loads(verdict.stdout)) == set(targets)


def test_the_environment_is_empty(
    sandbox: MonitorSandbox, package: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMR_SECRET", "s3cr3t-value-the-monitor-must-not-see")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-s3cr3t")
    monkeypatch.setenv("NODE_OPTIONS", "--allow-fs-read=*")
    program = "console.log(JSON.stringify(process.env)); process.exit(Object.keys(process.env).length)"
    verdict = run(sandbox, program, package)
    assert verdict.allowed, verdict
    assert verdict.stdout == "{}\n"
    assert "s3cr3t" not in verdict.stdout + verdict.stderr


def test_writing_a_file_fails(sandbox: MonitorSandbox, package: Path) -> None:
    targets = ["written.txt", "/tmp/monitor-wrote-here.txt", str(package.parent / "written.txt")]
    program = f"const TARGETS = {json.dumps(targets)};\n"
    program += "function attempt(t) { require('fs').writeFileSync(t, 'x'); }\n"
    verdict = run(sandbox, program + _EVERY_ATTEMPT_DENIED, package)
    assert verdict.allowed, verdict
    assert sorted(path.name for path in package.parent.iterdir()) == ["model.zip", "other.zip"]
    assert not Path("/tmp/monitor-wrote-here.txt").exists()


def test_child_processes_and_workers_fail(sandbox: MonitorSandbox, package: Path) -> None:
    program = """
    const TARGETS = ["execSync", "spawnSync", "Worker"];
    function attempt(t) {
      if (t === "Worker") new (require("worker_threads").Worker)("1", { eval: true });
      else require("child_process")[t]("/bin/true");
    }
    """
    verdict = run(sandbox, program + _EVERY_ATTEMPT_DENIED, package)
    assert verdict.allowed, verdict
    assert json.loads(verdict.stdout) == dict.fromkeys(
        ["execSync", "spawnSync", "Worker"], "ERR_ACCESS_DENIED"
    )


def test_an_infinite_loop_is_killed_at_the_limit(package: Path) -> None:
    # A program that never ends trips any limit, however slow the machine.
    verdict = run(MonitorSandbox(MonitorLimits(time_s=0.5)), "for (;;) {}", package)
    assert verdict.timed_out
    assert not verdict.allowed
    assert verdict.exit_code is None


def test_what_a_killed_program_printed_is_kept(package: Path) -> None:
    # It prints, then loops forever: the limit is generous so that Node surely gets to print first.
    verdict = run(MonitorSandbox(MonitorLimits(time_s=3.0)), "console.log('looping'); for (;;) {}", package)
    assert verdict.timed_out
    assert verdict.stdout == "looping\n"


def test_a_program_that_closes_its_output_and_keeps_running_is_killed_too(package: Path) -> None:
    program = "const fs = require('fs'); fs.closeSync(1); fs.closeSync(2); setInterval(() => {}, 1000);"
    verdict = run(MonitorSandbox(MonitorLimits(time_s=1.0)), program, package)
    assert verdict.timed_out
    assert not verdict.allowed


def test_growing_the_heap_beyond_the_limit_refuses(package: Path) -> None:
    sandbox = MonitorSandbox(MonitorLimits(time_s=60.0, memory_mib=64))
    program = "const kept = []; for (;;) kept.push(new Array(100000).fill(1.5));"
    verdict = run(sandbox, program, package)
    assert not verdict.allowed
    assert not verdict.timed_out
    assert verdict.exit_code != 0
    assert "heap out of memory" in verdict.stderr


# Off-heap memory, which --max-old-space-size does not count: only the OS address-space limit
# stops it. Exit 3 says the program saw the allocation refused.
_BIG_BUFFER = """
try { const buffer = new ArrayBuffer(1536 * 1024 * 1024); console.log("allocated", buffer.byteLength); }
catch (error) { console.log("refused", String(error)); process.exit(3); }
"""


def test_allocating_beyond_the_address_space_limit_refuses(package: Path) -> None:
    verdict = run(MonitorSandbox(MonitorLimits(time_s=30.0, memory_mib=128)), _BIG_BUFFER, package)
    assert not verdict.allowed
    assert verdict.exit_code == 3, verdict
    assert verdict.stdout.startswith("refused")


def test_the_same_allocation_passes_under_a_larger_limit(package: Path) -> None:
    # The control: the refusal above is the limit's doing, not the buffer being impossible.
    sandbox = MonitorSandbox(MonitorLimits(time_s=30.0, memory_mib=128, address_space_base_mib=8192))
    verdict = run(sandbox, _BIG_BUFFER, package)
    assert verdict.allowed, verdict


def test_output_is_bounded(package: Path) -> None:
    sandbox = MonitorSandbox(MonitorLimits(time_s=30.0, max_output_bytes=1000))
    program = "process.stdout.write('x'.repeat(4 * 1024 * 1024)); process.stderr.write('e'.repeat(5000));"
    verdict = run(sandbox, program, package)
    assert verdict.allowed, verdict
    assert verdict.stdout == "x" * 1000
    assert verdict.stderr == "e" * 1000


@pytest.fixture
def listener() -> Iterator[tuple[int, Callable[[], list[bytes]]]]:
    """A loopback TCP server recording the first bytes of one connection, and a function that
    waits for that connection to end and returns what it recorded."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(60)  # never hangs the suite if no connection comes
    received: list[bytes] = []

    def accept() -> None:
        with contextlib.suppress(OSError):
            connection, _ = server.accept()
            with connection:
                received.append(connection.recv(64))

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()

    def wait() -> list[bytes]:
        thread.join()
        return received

    yield server.getsockname()[1], wait
    server.close()


def test_the_network_is_allowed(
    sandbox: MonitorSandbox, package: Path, listener: tuple[int, Callable[[], list[bytes]]]
) -> None:
    # Node 24's permission model has no network scope: a monitor may call the company's service.
    port, received = listener
    program = f"""
    const socket = require("net").connect({port}, "127.0.0.1", () => socket.end("monitor says hi"));
    socket.on("error", (error) => {{ console.log(error.code); process.exit(1); }});
    """
    verdict = run(sandbox, program, package)
    assert verdict.allowed, verdict
    assert received() == [b"monitor says hi"]


def test_a_package_that_is_not_a_file_is_refused_before_running(
    sandbox: MonitorSandbox, package: Path
) -> None:
    with pytest.raises(ValueError, match="not a regular file"):
        run(sandbox, "process.exit(0)", package.parent)


def test_the_monitor_cannot_signal_the_server(package: Path) -> None:
    # The sandbox runs inside a throwaway Python process; the monitor tries to kill that parent
    # and says what happened, so a program that never ran cannot pass for a refused signal.
    parent = f"""
from pathlib import Path
from tmr.monitors import MonitorLimits, MonitorSandbox
sandbox = MonitorSandbox(MonitorLimits(time_s=30.0))
verdict = sandbox.run(
    "try {{ process.kill(process.ppid, 'SIGKILL'); console.log('sent'); }}"
    + " catch (error) {{ console.log(error.code); process.exit(3); }}",
    model_name="m", uploader="u", downloader="d", zip_path=Path({str(package)!r}),
)
print("survived", verdict.exit_code, verdict.stdout.strip())
"""
    done = subprocess.run([sys.executable, "-c", parent], capture_output=True, text=True, check=False)
    assert done.stdout == "survived 3 ERR_ACCESS_DENIED\n", (done.returncode, done.stdout, done.stderr)


@pytest.fixture
def victim() -> Iterator[int]:
    """A process of the server's own user that a monitor must not be able to touch."""
    process = subprocess.Popen(["sleep", "120"])
    yield process.pid
    process.kill()
    process.wait()


# Every way we know to signal or reprioritise another process, tried in one program, first in
# its CommonJS form, then through ES module imports and `process.getBuiltinModule`.
_SIGNALS = """
const os = require("os");
const TARGETS = [
  "kill", "_kill", "_debugProcess", "setPriority", "builtin os.setPriority", "setuid", "setgroups",
];
function attempt(t) {
  if (t === "kill") process.kill(VICTIM, "SIGTERM");
  else if (t === "_kill") process._kill(VICTIM, 15);
  else if (t === "_debugProcess") process._debugProcess(VICTIM);
  else if (t === "setPriority") os.setPriority(VICTIM, 19);
  else if (t === "builtin os.setPriority") process.getBuiltinModule("os").setPriority(VICTIM, 19);
  else if (t === "setuid") process.setuid(0);
  else if (t === "setgroups") process.setgroups([0]);
}
"""

# Attempts to put the originals back: each must fail, and kill must stay refused afterwards.
_RESTORE = """
const restored = {};
const tries = {
  assign: () => { process.kill = () => "mine"; },
  define: () => Object.defineProperty(process, "kill", { value: () => "mine" }),
  remove: () => { if (!delete process.kill) throw new TypeError("kept"); },
  osAssign: () => { require("os").setPriority = () => "mine"; },
};
for (const [name, action] of Object.entries(tries)) {
  try { action(); } catch (error) { restored[name] = error.name; continue; }
  restored[name] = "done";
}
let after;
try { process.kill(VICTIM, 0); after = "ok"; } catch (error) { after = error.code; }
let osAfter;
try { require("os").setPriority(VICTIM, 19); osAfter = "ok"; } catch (error) { osAfter = error.code; }
console.log(JSON.stringify({ restored, after, osAfter }));
process.exit(after === "ERR_ACCESS_DENIED" && osAfter === "ERR_ACCESS_DENIED" ? 0 : 1);
"""


def test_the_guard_refuses_every_signal_even_as_the_servers_own_user(package: Path, victim: int) -> None:
    # run_as=None: the program runs as the server's user, so only the guard stands in the way.
    sandbox = MonitorSandbox(MonitorLimits(time_s=30.0), run_as=None)
    program = f"const VICTIM = {victim};\n" + _SIGNALS + _EVERY_ATTEMPT_DENIED
    verdict = run(sandbox, program, package)
    assert verdict.allowed, verdict
    assert os.getpriority(os.PRIO_PROCESS, victim) != 19
    os.kill(victim, 0)  # still alive


def test_the_guard_cannot_be_undone(package: Path, victim: int) -> None:
    sandbox = MonitorSandbox(MonitorLimits(time_s=30.0), run_as=None)
    verdict = run(sandbox, f"const VICTIM = {victim};\n" + _RESTORE, package)
    assert verdict.allowed, verdict
    restored = json.loads(verdict.stdout)["restored"]
    # Assigning to a read-only property fails silently outside strict mode: it changes nothing.
    assert restored["define"] == restored["remove"] == "TypeError", restored
    os.kill(victim, 0)


def test_an_es_module_meets_the_guard_too(package: Path, victim: int) -> None:
    # A file with `import` runs as an ES module; builtins' named exports are the guarded ones.
    sandbox = MonitorSandbox(MonitorLimits(time_s=30.0), run_as=None)
    program = f"""
    import {{ kill }} from "node:process";
    import {{ setPriority }} from "node:os";
    const results = [];
    for (const action of [() => kill({victim}, "SIGTERM"), () => setPriority({victim}, 19)]) {{
      try {{ action(); results.push("ok"); }} catch (error) {{ results.push(error.code); }}
    }}
    console.log(JSON.stringify(results));
    process.exit(results.every((code) => code === "ERR_ACCESS_DENIED") ? 0 : 1);
    """
    verdict = run(sandbox, program, package)
    assert verdict.allowed, verdict
    os.kill(victim, 0)


def test_what_could_restore_the_originals_is_closed_by_the_permission_model(
    sandbox: MonitorSandbox, package: Path
) -> None:
    # process.binding reaches the natives; a worker, module hooks (a thread of their own), a
    # child process or execve would start a JavaScript world without the guard.
    program = """
    const TARGETS = ["binding", "register", "execve", "fork", "Worker", "dlopen"];
    function attempt(t) {
      if (t === "binding") process.binding("process_methods");
      else if (t === "register") require("module").register("data:text/javascript,export {}");
      else if (t === "execve") process.execve(process.execPath, [process.execPath, "-e", "1"]);
      else if (t === "fork") require("child_process").fork("monitor.js");
      else if (t === "Worker") new (require("worker_threads").Worker)("1", { eval: true });
      else if (t === "dlopen") process.dlopen({ exports: {} }, "/nonexistent.node");
    }
    """
    verdict = run(sandbox, program.replace('"ERR_ACCESS_DENIED"', "x") + _EVERY_ATTEMPT_DENIED, package)
    results = json.loads(verdict.stdout)
    # Addons are refused by their own switch (Node turns them off under --permission).
    assert results.pop("dlopen") == "ERR_DLOPEN_DISABLED", results
    assert results == dict.fromkeys(["binding", "register", "execve", "fork", "Worker"], "ERR_ACCESS_DENIED")


@pytest.fixture
def unix_listener(tmp_path: Path) -> Iterator[tuple[Path, Callable[[], int]]]:
    """A UNIX socket in a folder anyone may reach, and a function counting the connections it got."""
    folder = Path(tempfile.mkdtemp(prefix="tmr-test-socket-"))
    os.chmod(folder, 0o755)
    path = folder / "s.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    os.chmod(path, 0o777)
    server.listen()
    server.setblocking(False)

    def accepted() -> int:
        count = 0
        with contextlib.suppress(BlockingIOError):
            while True:
                connection, _ = server.accept()
                connection.close()
                count += 1
        return count

    yield path, accepted
    server.close()
    shutil.rmtree(folder, ignore_errors=True)


def test_unix_sockets_are_refused(
    sandbox: MonitorSandbox, package: Path, unix_listener: tuple[Path, Callable[[], int]]
) -> None:
    path, accepted = unix_listener
    program = f"""
    const TARGETS = ["net.connect", "options.path", "http.socketPath"];
    function attempt(t) {{
      if (t === "net.connect") require("net").connect({json.dumps(str(path))});
      else if (t === "options.path") require("net").createConnection({{ path: {json.dumps(str(path))} }});
      else require("http").get({{ socketPath: {json.dumps(str(path))}, path: "/" }});
    }}
    """
    verdict = run(sandbox, program + _EVERY_ATTEMPT_DENIED, package)
    assert verdict.allowed, verdict
    assert accepted() == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="only a root server hands the program another user")
def test_a_root_server_runs_the_program_as_nobody_without_groups(package: Path) -> None:
    sandbox = MonitorSandbox(MonitorLimits(time_s=30.0))
    program = "console.log(JSON.stringify([process.getuid(), process.getgid(), process.getgroups()]))"
    verdict = run(sandbox, program, package)
    assert verdict.allowed, verdict
    uid, gid, groups = json.loads(verdict.stdout)
    assert sandbox.run_as == (uid, gid)
    assert uid != 0
    assert gid != 0
    assert 0 not in groups
