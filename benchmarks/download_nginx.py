"""The reference server of the download benchmark: nginx from Debian, serving a file from disk.

nginx runs in the foreground from a generated config in its own directory (pid file, error log,
temp paths), so it needs nothing of the system's nginx setup and leaves nothing behind. Started
by root it runs as `nobody`: the reference should not enjoy privileges the registry lacks.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from common import port_in_use, unused_port
from tests.processes import stop_process

NGINX_PACKAGES = ("nginx-light", "nginx")


class ToolMissing(RuntimeError):
    """A tool the benchmark needs could not be found or installed."""


def apt_install(binary: str, packages: tuple[str, ...]) -> str:
    """The path of `binary`, installing the first of `packages` that apt can install if missing."""
    found = shutil.which(binary) or shutil.which(binary, path="/usr/sbin:/usr/bin:/sbin:/bin")
    if found:
        return found
    if shutil.which("apt-get") is None:
        raise ToolMissing(f"{binary} is not installed and apt-get is not available: install {packages[0]}")
    prefix = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    tried: list[str] = []
    for refreshed in (False, True):
        if refreshed:
            subprocess.run([*prefix, "apt-get", "update", "-qq"], env=env, check=False)
        for package in packages:
            print(f"bench: installing {package} with apt-get", flush=True)
            done = subprocess.run(
                [*prefix, "apt-get", "install", "-y", "-q", "--no-install-recommends", package],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            found = shutil.which(binary) or shutil.which(binary, path="/usr/sbin:/usr/bin:/sbin:/bin")
            if done.returncode == 0 and found:
                return found
            tried.append(f"{package}: exit {done.returncode}: {done.stderr.strip()[-300:]}")
    raise ToolMissing(f"could not install {binary} (tried {', '.join(packages)}):\n" + "\n".join(tried))


def nginx_config(directory: Path, root: Path, port: int, temp_modules: list[str], workers: int = 2) -> str:
    """A self-contained config: one static server on 127.0.0.1:`port`, everything under `directory`."""
    temps = "".join(f"    {module}_temp_path {directory / module};\n" for module in temp_modules)
    return (
        f"worker_processes {workers};\n"
        f"pid {directory / 'nginx.pid'};\n"
        f"error_log {directory / 'error.log'} warn;\n"
        "daemon off;\n"
        "events { worker_connections 1024; }\n"
        "http {\n"
        "    access_log off;\n"
        "    sendfile on;\n"
        "    tcp_nopush on;\n"
        "    keepalive_requests 100000;\n"
        "    types { application/zip zip; }\n"
        "    default_type application/octet-stream;\n"
        f"{temps}"
        "    server {\n"
        f"        listen 127.0.0.1:{port};\n"
        f"        root {root};\n"
        "        location / { }\n"
        "    }\n"
        "}\n"
    )


def temp_modules(version_output: str) -> list[str]:
    """The http modules compiled in with a temp path (`--http-proxy-temp-path=…` → "proxy"):
    nginx creates each at startup, and the compiled defaults are not writable unprivileged."""
    names = re.findall(r"--http-([a-z-]+?)-temp-path=", version_output)
    return ["client_body" if name == "client-body" else name for name in names]


@dataclass
class NginxServer:
    url: str
    process: subprocess.Popen[bytes]
    directory: Path


@contextlib.contextmanager
def running_nginx(binary: str, file: Path, workers: int = 2, port_attempts: int = 5) -> Iterator[NginxServer]:
    """nginx serving `file` (at /<file name>) on a free port, stopped and cleaned up on exit. nginx
    binds its own port: a start that finds the port taken meanwhile is retried on a new one."""
    directory = Path(tempfile.mkdtemp(prefix="tmr-bench-nginx-"))
    try:
        www = directory / "www"
        www.mkdir()
        served = www / file.name
        shutil.copyfile(file, served)
        version = subprocess.run([binary, "-V"], capture_output=True, text=True, check=True).stderr
        for attempt in range(1, port_attempts + 1):
            port = unused_port()
            (directory / "nginx.conf").write_text(
                nginx_config(directory, www, port, temp_modules(version), workers)
            )
            process = _start(binary, directory, www, served)
            url = f"http://127.0.0.1:{port}"
            try:
                if _ready(process, directory, f"{url}/{file.name}", served.stat().st_size):
                    yield NginxServer(url, process, directory)
                    return
            finally:
                stop_process(process)
            if attempt == port_attempts:
                raise RuntimeError(f"nginx found its port taken {port_attempts} times")
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _start(binary: str, directory: Path, www: Path, served: Path) -> subprocess.Popen[bytes]:
    user: int | None = None
    group: int | None = None
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        user, group = nobody.pw_uid, nobody.pw_gid
        for path in [directory, *directory.rglob("*")]:
            os.chown(path, user, group)
        directory.chmod(0o755)
        www.chmod(0o755)
        served.chmod(0o644)
    config = directory / "nginx.conf"
    command = [binary, "-p", str(directory), "-c", str(config), "-e", str(directory / "error.log")]
    with (directory / "stderr.log").open("wb") as stderr:
        return subprocess.Popen(
            command,
            user=user,
            group=group,
            extra_groups=[] if user is not None else None,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            cwd=directory,
        )


def _ready(process: subprocess.Popen[bytes], directory: Path, url: str, size: int) -> bool:
    """True once this nginx serves the file; False when it exited because its port was taken."""
    deadline = time.monotonic() + 15
    while not _serves(url, size):
        if process.poll() is not None:
            logs = [directory / "stderr.log", directory / "error.log"]
            text = "".join(log.read_text() for log in logs if log.exists())
            if port_in_use(text):
                return False
            raise RuntimeError(f"nginx exited with {process.returncode}:\n{text}")
        if time.monotonic() > deadline:
            raise RuntimeError("nginx did not start within 15 s")
        time.sleep(0.1)
    return True  # nothing else serves this file with nginx's name


def _serves(url: str, size: int) -> bool:
    """Whether `url` answers 200 with the file's size and nginx's name."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=1) as response:
            length = response.headers.get("content-length")
            return bool(
                response.status == 200
                and length == str(size)
                and "nginx" in response.headers.get("server", "")
            )
    except OSError:
        return False
