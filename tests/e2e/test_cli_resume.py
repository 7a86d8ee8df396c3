"""`tmr push` resumed against a real registry process, on both e2e stacks (SQLite and files;
PostgreSQL and SeaweedFS): a push whose parts a proxy cuts mid-body until the command gives up
(exit 6), and a `tmr` process killed while a part is on its way, are each finished by running the
same command again, which sends only what the registry lacks (`resumed_from`); `tmr pull` then
gives the folder back byte for byte."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from tests.e2e.spoiling_proxy import cutting_proxy
from tests.processes import ServerProcess
from tests.zips import safetensors_bytes
from tmr.cli import cli
from tmr.client import resumable

PART = 8 * 1024 * 1024  # the registry's default part size


def folder_of(root: Path, seed: int) -> Path:
    """A model of about 20 MiB: three parts."""
    root.mkdir()
    (root / "README.md").write_text(f"---\nlicense: mit\n---\n# acme/resumed-{seed}\n\nPushed in parts.\n")
    (root / "config.json").write_text(json.dumps({"model_type": "bert", "seed": seed}))
    (root / "model.safetensors").write_bytes(safetensors_bytes((2048, 2560), seed=seed))
    return root


def tmr(url: str, *args: str, token: str, config: Path) -> Result:
    env = {"TMR_URL": url, "TMR_TOKEN": token, "XDG_CONFIG_HOME": str(config)}
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def pulled_back(server: ServerProcess, answer: dict[str, Any], folder: Path, config: Path) -> None:
    """`tmr pull` of what was pushed gives every file of the folder, byte for byte."""
    out = config.parent / f"{answer['metadata']['id']}.zip"
    pulled = tmr(
        server.url, "pull", answer["metadata"]["id"], "-o", str(out), token=server.static_token, config=config
    )
    assert pulled.exit_code == 0, pulled.output
    with zipfile.ZipFile(io.BytesIO(out.read_bytes())) as package:
        assert sorted(package.namelist()) == sorted(p.name for p in folder.iterdir())
        for name in package.namelist():
            assert package.read(name) == (folder / name).read_bytes(), name


def kept_pushes(config: Path) -> dict[str, Any]:
    state: dict[str, Any] = json.loads((config / "tmr" / resumable.STATE_FILE).read_text())
    return state


def test_a_push_cut_until_it_gives_up_resumes_when_run_again(
    server: ServerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resumable, "BACKOFF_S", 0.05)  # the waits, not the retries, made short
    folder = folder_of(tmp_path / "model", seed=21)
    config = tmp_path / "config"
    args = ("push", str(folder), "--name", "acme/resumed-cut", "--json")
    with cutting_proxy(server.url) as proxy:
        proxy.passing = 1  # the first part arrives; every later one is cut halfway
        first = tmr(proxy.url, *args, token=server.static_token, config=config)
        assert first.exit_code == 6, first.output
        assert "run the same command again to resume" in json.loads(first.stderr)["error"]
        assert proxy.cut == 1 + resumable.RETRIES
        assert len(kept_pushes(config)) == 1

        proxy.passing = None
        again = tmr(proxy.url, *args, token=server.static_token, config=config)
        assert again.exit_code == 0, again.output
    answer = json.loads(again.stdout)
    assert answer["resumed_from"] == PART  # only the part the registry had was not sent again
    assert answer["metadata"]["name"] == "acme/resumed-cut"
    assert kept_pushes(config) == {}
    pulled_back(server, answer, folder, config)


def test_a_killed_push_resumes_when_run_again(server: ServerProcess, tmp_path: Path) -> None:
    folder = folder_of(tmp_path / "model", seed=22)
    config = tmp_path / "config"
    command = [
        str(Path(sys.executable).with_name("tmr")),
        "push",
        str(folder),
        "--name",
        "acme/resumed-kill",
        "--json",
    ]
    with cutting_proxy(server.url) as proxy:
        env = {
            **os.environ,
            "TMR_URL": proxy.url,
            "TMR_TOKEN": server.static_token,
            "XDG_CONFIG_HOME": str(config),
        }
        proxy.passing, proxy.hold = 1, True  # the second part is held on its way
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            assert proxy.held.wait(120), "the second part never came"
        finally:
            process.kill()  # mid-part, as a closed laptop or a `kill -9` would
            process.wait()
        proxy.passing, proxy.hold = None, False
        proxy.release.set()  # the held part reaches the registry halfway, then is cut
        assert len(kept_pushes(config)) == 1
        again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    answer = json.loads(again.stdout)
    assert answer["resumed_from"] == PART
    pulled_back(server, answer, folder, config)
