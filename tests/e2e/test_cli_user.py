"""The `tmr` user commands against a real registry process over HTTP: login (the token file's
permissions), push a folder and pull it back byte for byte, a pull cut mid-way and resumed with
Range, a corrupted package refused, search/show/rate/users read as JSON, and every failure's
exit code (docs/using.md lists them).

The commands run in this process through click's runner (the server is a real one), so each
costs milliseconds; one test runs the installed `tmr` executable itself."""

from __future__ import annotations

import hashlib
import io
import json
import os
import socket
import stat
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import Result
from typer.testing import CliRunner

from tests.e2e.spoiling_proxy import Spoiler, spoiling_proxy
from tests.emulator.server import running_emulator
from tests.processes import ServerProcess, registry_server
from tests.support import ADMIN, PASSWORD
from tests.zips import safetensors_bytes
from tmr.cli import cli

CARD = """---
license: mit
---
# acme/cli-model

A model pushed from the terminal.
"""
USER = "cli-reader"
USER_PASSWORD = "violet harbour tangent 917!"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One embedded registry for the module: the commands only speak HTTP, so the stores behind
    the server are the other e2e tests' business."""
    work = tmp_path_factory.mktemp("e2e-cli")
    (work / "spool").mkdir()
    with running_emulator() as emulator:
        env = {"TMR_DATA_DIR": str(work / "data"), "TMR_SPOOL_DIR": str(work / "spool"), **emulator.env()}
        with registry_server(env, work / "server.log") as process:
            yield process


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("model")
    (root / "README.md").write_text(CARD)
    (root / "config.json").write_text(json.dumps({"architectures": ["BertModel"], "model_type": "bert"}))
    (root / "model.safetensors").write_bytes(safetensors_bytes((512, 1024), seed=7))  # 2 MiB
    (root / "tokenizer").mkdir()
    (root / "tokenizer" / "vocab.txt").write_text("[PAD]\n[UNK]\nhello\n")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")  # never pushed
    return root


@pytest.fixture(scope="module")
def pushed(server: ServerProcess, folder: Path) -> dict[str, Any]:
    with httpx.Client(base_url=server.url, headers=server.headers, timeout=60) as client:
        assert client.delete("/reset").status_code == 200
    result = tmr(server, "push", str(folder), "--name", "acme/cli-model", "--version", "v1.0", "--json")
    assert result.exit_code == 0, result.output
    uploaded: dict[str, Any] = json.loads(result.stdout)
    return uploaded


def tmr(
    server: ServerProcess | None,
    *args: str,
    token: str | None = "admin",
    config: Path | None = None,
    **kw: Any,
) -> Result:
    """`tmr ARGS` against `server` (TMR_URL), with the static admin token as TMR_TOKEN unless
    `token` says otherwise (None: no TMR_TOKEN, so the stored one counts)."""
    env: dict[str, str | None] = {"TMR_URL": server.url if server else None, "TMR_TOKEN": None}
    if token == "admin" and server is not None:
        env["TMR_TOKEN"] = server.static_token
    elif token not in (None, "admin"):
        env["TMR_TOKEN"] = token
    env["XDG_CONFIG_HOME"] = str(config) if config else "/proc/nonexistent-config"
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False, **kw)


def test_login_keeps_the_token_for_the_owner_alone(server: ServerProcess, tmp_path: Path) -> None:
    config = tmp_path / "config"
    result = tmr(
        None, "login", "--url", server.url, "--username", ADMIN, "--password-stdin", "--json",
        token=None, config=config, input=PASSWORD + "\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    stored = config / "tmr" / "credentials.json"
    assert answer == {"url": server.url, "user": ADMIN, "credentials": str(stored)}
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert stat.S_IMODE(stored.parent.stat().st_mode) == 0o700
    assert PASSWORD not in stored.read_text()
    # The stored token and registry serve the next command: no --url, no TMR_URL, no TMR_TOKEN.
    env_free = CliRunner().invoke(
        cli,
        ["users", "show", ADMIN, "--json"],
        env={"TMR_URL": None, "TMR_TOKEN": None, "XDG_CONFIG_HOME": str(config)},
    )
    assert env_free.exit_code == 0, env_free.output
    assert json.loads(env_free.stdout)["user"] == {"name": ADMIN, "is_admin": True}

    token = tmr(server, "token", token=None, config=config)
    assert token.stdout.startswith("bearer ")
    assert token.stdout.strip() in stored.read_text()

    wrong = tmr(
        server, "login", "--username", ADMIN, "--password-stdin", token=None, config=config, input="nope\n"
    )
    assert wrong.exit_code == 3
    assert "tmr: " in wrong.stderr
    scripted = tmr(
        server, "login", "--username", ADMIN, token=None, config=config
    )  # no terminal, no stdin flag
    assert scripted.exit_code == 2
    assert "--password-stdin" in scripted.stderr

    logout = tmr(None, "logout", "--url", server.url, "--json", token=None, config=config)
    assert json.loads(logout.stdout) == {"url": server.url, "forgotten": True}
    signed_out = tmr(server, "users", "show", ADMIN, token=None, config=config)
    assert signed_out.exit_code == 3
    assert tmr(server, "token", token=None, config=config).exit_code == 3
    assert "tmr login" in signed_out.stderr


def test_push_then_pull_gives_the_folder_back_byte_for_byte(
    server: ServerProcess, folder: Path, pushed: dict[str, Any], tmp_path: Path
) -> None:
    assert pushed["metadata"]["name"] == "acme/cli-model"
    assert pushed["version"] == "1.0.0"
    assert pushed["files"] == 4  # .git/ left out
    assert pushed["visibility"] == "private"
    out = tmp_path / "pulled.zip"
    result = tmr(server, "pull", "acme/cli-model", "-o", str(out), "--json")
    assert result.exit_code == 0, result.output
    pulled = json.loads(result.stdout)
    data = out.read_bytes()
    assert pulled["verified"] is True
    assert pulled["resumed_from"] == 0
    assert pulled["sha256"] == hashlib.sha256(data).hexdigest()
    assert pulled["size_bytes"] == len(data)
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        names = sorted(package.namelist())
        assert names == ["README.md", "config.json", "model.safetensors", "tokenizer/vocab.txt"]
        for name in names:
            assert package.read(name) == (folder / name).read_bytes(), name
    assert not list(tmp_path.glob("*.part*"))

    # By id, only some parts, into a folder (named after the artifact and its version).
    parts = tmr(server, "pull", pushed["metadata"]["id"], "--parts", "config", "-o", str(tmp_path), "--json")
    assert parts.exit_code == 0, parts.output
    partial = Path(json.loads(parts.stdout)["path"])
    assert partial == tmp_path / "acme_cli-model-1.0.0.zip"
    with zipfile.ZipFile(partial) as package:
        assert sorted(package.namelist()) == ["config.json"]

    again = tmr(server, "push", str(folder), "--name", "acme/cli-model-again")
    assert again.exit_code == 5  # the same files make the same zip: 409, naming the first upload
    assert pushed["metadata"]["id"] in again.stderr


def test_a_cut_pull_resumes_with_a_range(
    server: ServerProcess, pushed: dict[str, Any], tmp_path: Path
) -> None:
    out = tmp_path / "model.zip"
    spoiler = Spoiler(cut_after=1_500_000)
    with spoiling_proxy(server.url, spoiler) as proxy:
        cut = tmr(server, "pull", "acme/cli-model", "-o", str(out), "--url", proxy)
        assert cut.exit_code == 6, cut.output
        assert "run the same command again to resume" in cut.stderr
        part = tmp_path / "model.zip.part"
        kept = part.stat().st_size
        assert 0 < kept <= 1_500_000
        assert not out.exists()  # a file by the final name is always whole and checked

        resumed = tmr(server, "pull", "acme/cli-model", "-o", str(out), "--url", proxy, "--json")
    assert resumed.exit_code == 0, resumed.output
    answer = json.loads(resumed.stdout)
    assert answer["resumed_from"] == kept
    assert answer["verified"] is True
    assert spoiler.download_ranges == [None, f"bytes={kept}-"]
    whole = tmr(server, "pull", "acme/cli-model", "-o", str(tmp_path / "whole.zip"), "--json")
    assert out.read_bytes() == (tmp_path / "whole.zip").read_bytes()
    assert json.loads(whole.stdout)["sha256"] == answer["sha256"]
    assert not part.exists()
    assert not (tmp_path / "model.zip.part.json").exists()


def test_a_corrupted_package_is_refused_and_discarded(
    server: ServerProcess, pushed: dict[str, Any], tmp_path: Path
) -> None:
    out = tmp_path / "bad.zip"
    with spoiling_proxy(server.url, Spoiler(flip_byte=1000)) as proxy:
        result = tmr(server, "pull", "acme/cli-model", "-o", str(out), "--url", proxy, "--json")
    assert result.exit_code == 7
    error = json.loads(result.stderr)
    assert "not the" in error["error"]
    assert error["exit_code"] == 7
    assert list(tmp_path.iterdir()) == []


def test_search_show_and_rate_answer_json(server: ServerProcess, pushed: dict[str, Any]) -> None:
    model_id = pushed["metadata"]["id"]
    listed = tmr(server, "search", "--json")
    assert {"id": model_id, "name": "acme/cli-model", "type": "model"} in json.loads(listed.stdout)
    plain = tmr(server, "search", "acme/cli-model", "--type", "model")
    assert plain.stdout.splitlines() == [f"{model_id}\tmodel\tacme/cli-model"]
    by_regex = tmr(server, "search", "--regex", "pushed from the terminal", "--json")
    assert [i["id"] for i in json.loads(by_regex.stdout)] == [model_id]
    in_range = tmr(server, "search", "acme/cli-model", "--version", "^1.0.0", "--json")
    assert [i["id"] for i in json.loads(in_range.stdout)] == [model_id]
    out_of_range = tmr(server, "search", "acme/cli-model", "--version", "^2.0.0", "--json")
    assert out_of_range.exit_code == 0
    assert json.loads(out_of_range.stdout) == []
    no_match = tmr(server, "search", "--regex", "nothing-matches-this-zq", "--json")
    assert (no_match.exit_code, json.loads(no_match.stdout)) == (0, [])

    shown = tmr(server, "show", "acme/cli-model", "--json")
    assert shown.exit_code == 0, shown.output
    details = json.loads(shown.stdout)
    assert details["metadata"]["id"] == model_id
    assert details["license"] == "mit"
    assert details["version"] == "1.0.0"
    assert {f["path"] for f in details["files"]} >= {"config.json", "model.safetensors"}
    assert 0 <= details["rating"]["net_score"] <= 1
    assert [n["artifact_id"] for n in details["lineage"]["nodes"]] == [model_id]
    plain_show = tmr(server, "show", model_id)
    assert "license\tmit" in plain_show.stdout.splitlines()

    rated = tmr(server, "rate", "acme/cli-model", "--json")
    rating = json.loads(rated.stdout)
    assert rating["net_score"] == details["rating"]["net_score"]
    assert len(rating) == 26  # the contract's fields
    first = tmr(server, "rate", model_id).stdout.splitlines()[0]
    assert first.startswith("net_score\t")


def test_admins_manage_users_and_others_are_refused(
    server: ServerProcess, folder: Path, pushed: dict[str, Any], tmp_path: Path
) -> None:
    added = tmr(
        server, "users", "add", USER, "-p", "search", "--password-stdin", "--json", input=USER_PASSWORD + "\n"
    )
    assert added.exit_code == 0, added.output
    assert json.loads(added.stdout)["effective_permissions"] == ["search"]
    assert tmr(server, "users", "add", USER, "--password-stdin", input=USER_PASSWORD + "\n").exit_code == 5
    weak = tmr(server, "users", "add", "cli-weak", "--password-stdin", input="password\n")
    assert weak.exit_code == 2  # the policy's 400, in the server's words
    assert "password" in weak.stderr
    names = [a["user"]["name"] for a in json.loads(tmr(server, "users", "list", "--json").stdout)]
    assert {ADMIN, USER} <= set(names)
    changed = tmr(server, "users", "permissions", USER, "-p", "search", "-p", "download", "--json")
    assert json.loads(changed.stdout)["permissions"] == ["search", "download"]

    token = httpx.put(
        f"{server.url}/authenticate",
        json={"user": {"name": USER}, "secret": {"password": USER_PASSWORD}},
        timeout=30,
    ).json()
    assert tmr(server, "users", "list", token=token).exit_code == 3  # not an admin: 401
    hidden = tmr(server, "show", "acme/cli-model", token=token)
    assert hidden.exit_code == 4  # private to its uploader
    refused = tmr(server, "push", str(folder), "--name", "acme/not-allowed", token=token)
    assert refused.exit_code == 3  # no upload permission: 401, in the server's words
    assert "upload" in refused.stderr
    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / "memory.bin").symlink_to("/proc/self/mem")  # a file whose first read fails (EIO)
    unreadable = tmr(server, "push", str(odd), "--name", "acme/odd")
    assert unreadable.exit_code == 1
    assert f"cannot read {odd / 'memory.bin'}" in unreadable.stderr

    removed = tmr(server, "users", "remove", USER, "--json")
    assert json.loads(removed.stdout) == {"removed": USER}
    assert tmr(server, "users", "show", USER).exit_code == 4


def test_failures_have_their_own_exit_codes(
    server: ServerProcess, folder: Path, pushed: dict[str, Any], tmp_path: Path
) -> None:
    missing = tmr(server, "show", "no-such-artifact", "--json")
    assert missing.exit_code == 4
    assert json.loads(missing.stderr)["exit_code"] == 4
    assert tmr(server, "pull", "no-such-artifact").exit_code == 4
    bad_version = tmr(server, "push", str(folder), "--name", "acme/other", "--version", "banana")
    assert bad_version.exit_code == 2
    assert "version" in bad_version.stderr
    assert tmr(server, "search", "--type", "widget").exit_code == 2
    assert tmr(server, "users", "add", "x", "-p", "fly", "--password-stdin", input="y\n").exit_code == 2
    assert tmr(server, "show", "acme/cli-model", token="bearer not-a-token").exit_code == 3
    assert tmr(None, "search").exit_code == 2  # no registry named anywhere
    with socket.socket() as closed:  # bound, never listening: connections are refused
        closed.bind(("127.0.0.1", 0))
        down = tmr(None, "search", "--url", f"http://127.0.0.1:{closed.getsockname()[1]}")
    assert down.exit_code == 6
    assert "cannot reach the registry" in down.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    assert tmr(server, "push", str(empty), "--name", "acme/empty").exit_code == 2


def test_every_command_has_help_and_the_executable_runs() -> None:
    runner = CliRunner()
    commands = [
        ["login"], ["logout"],
        ["token"], ["search"], ["show"], ["push"], ["pull"], ["rate"], ["users"],
        ["users", "list"], ["users", "show"], ["users", "add"], ["users", "remove"],
        ["users", "permissions"], ["users", "password"], ["serve"],
    ]  # fmt: skip
    for command in commands:
        result = runner.invoke(cli, [*command, "--help"])
        assert result.exit_code == 0, (command, result.output)
        assert "--help" in result.stdout
    executable = Path(sys.executable).with_name("tmr")
    env = {k: v for k, v in os.environ.items() if k not in ("TMR_URL", "TMR_TOKEN")}
    env["XDG_CONFIG_HOME"] = "/proc/nonexistent-config"
    ran = subprocess.run(
        [executable, "search", "--json"], env=env, capture_output=True, text=True, timeout=60
    )
    assert ran.returncode == 2
    assert json.loads(ran.stderr)["error"].startswith("no registry")
