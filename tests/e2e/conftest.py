"""End-to-end: `./run serve` as a real process, over the embedded default (SQLite + files) and
over the scaled-out stores (a fresh PostgreSQL database and a SeaweedFS bucket prefix)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import services
from tests.emulator.server import EmulatorServer, running_emulator
from tests.processes import ServerProcess, registry_server


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    with running_emulator() as server:
        yield server


@pytest.fixture(scope="module")
def postgres_database() -> Iterator[str]:
    """A database of its own on the throwaway cluster, dropped afterwards."""
    with services.fresh_postgres_database("tmr_e2e") as url:
        yield url


@pytest.fixture(scope="module", params=["embedded", "postgres+s3"])
def server(
    request: pytest.FixtureRequest, emulator: EmulatorServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    work: Path = tmp_path_factory.mktemp(f"e2e-{request.param.replace('+', '-')}")
    (work / "spool").mkdir()
    env = {"TMR_DATA_DIR": str(work / "data"), "TMR_SPOOL_DIR": str(work / "spool"), **emulator.env()}
    if request.param == "postgres+s3":
        s3 = services.require("s3")
        env |= {
            "TMR_DATABASE_URL": request.getfixturevalue("postgres_database"),
            "S3_BUCKET": s3["bucket"],
            "S3_ENDPOINT_URL": s3["endpoint_url"],
            "AWS_REGION": s3["region"],
            "TMR_S3_PREFIX": f"e2e-{secrets.token_hex(4)}/",
        }
    with registry_server(env, work / "server.log") as process:
        process.backend = request.param  # type: ignore[attr-defined]
        process.spool = work / "spool"  # type: ignore[attr-defined]
        yield process
