"""The command line: schema migration and orphan collection on a real data directory."""

import os
import socket
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tmr.cli import cli
from tmr.container import build_registry
from tmr.settings import Settings


def test_migrate_then_gc_removes_only_orphans(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMR_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("TMR_DATABASE_URL", raising=False)
    monkeypatch.delenv("S3_BUCKET", raising=False)
    runner = CliRunner()
    result = runner.invoke(cli, ["migrate"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "tmr.sqlite3").exists()

    registry = build_registry(Settings())
    orphan = registry.blobs.put_bytes(b"nobody references me").sha256
    fresh = registry.blobs.put_bytes(b"an upload in flight").sha256
    registry.close()
    day_ago = time.time() - 86400
    os.utime(tmp_path / "blobs" / orphan[:2] / orphan[2:4] / orphan, (day_ago, day_ago))
    result = runner.invoke(cli, ["gc"])
    assert result.exit_code == 0, result.output
    assert "removed 1 orphan blob" in result.output  # the fresh one is within the grace period
    registry = build_registry(Settings())
    assert not registry.blobs.exists(orphan)
    assert registry.blobs.exists(fresh)
    registry.close()


def test_serve_refuses_the_default_password_beyond_loopback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMR_DATA_DIR", str(tmp_path))
    for name in ("TMR_ADMIN_PASSWORD", "TMR_ALLOW_DEFAULT_ADMIN_PASSWORD", "TMR_DATABASE_URL", "S3_BUCKET"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0", "--port", "1"])
    assert result.exit_code == 2
    assert "public default admin password" in result.output
    assert not (tmp_path / "tmr.sqlite3").exists()  # refused before anything was started


def test_serve_on_an_inherited_socket_checks_the_socket_s_own_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMR_DATA_DIR", str(tmp_path))
    for name in ("TMR_ADMIN_PASSWORD", "TMR_ALLOW_DEFAULT_ADMIN_PASSWORD", "TMR_DATABASE_URL", "S3_BUCKET"):
        monkeypatch.delenv(name, raising=False)
    with socket.socket() as everywhere:
        everywhere.bind(("0.0.0.0", 0))
        everywhere.listen(1)
        # --host says loopback, but the socket handed over listens everywhere: that is what counts.
        result = CliRunner().invoke(cli, ["serve", "--host", "127.0.0.1", "--fd", str(everywhere.fileno())])
    assert result.exit_code == 2
    assert "public default admin password" in result.output
    with socket.socket() as idle:
        idle.bind(("127.0.0.1", 0))
        result = CliRunner().invoke(cli, ["serve", "--fd", str(idle.fileno())])
    assert result.exit_code == 2
    assert "is not listening" in result.output
    assert not (tmp_path / "tmr.sqlite3").exists()
