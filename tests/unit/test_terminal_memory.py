"""The `tmr` user commands run through click's runner against a registry in memory: search, show,
rate, users, token, login and logout, their plain and `--json` output, the exit code of each
kind of refusal (400, 401/403, 404, 409, 503, no connection) and the JSON error on stderr; and
the refusals of push and pull that come before any file is read or written.

Why here: tests/e2e/test_cli_user.py runs these commands against a real server, which the unit
layer cannot start; here the commands' RegistryClient is routed into the app in process
(`through`, an httpx.MockTransport), so src/tmr/terminal and src/tmr/client are covered by the
unit layer alone. Nothing writes a file: the config folder is under /proc, and commands that
would write one (a login that succeeds, a pull that is answered) are left to the e2e tests."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from tests.support import ADMIN, PASSWORD, auth_request
from tests.unit.memory_app import ADMIN_HEADERS, ADMIN_PRINCIPAL, TOKEN, memory_client, seed
from tests.unit.test_api_memory import make_user
from tests.unit.test_client_lookup import through
from tmr.artifacts.models import Artifact, ArtifactType
from tmr.cli import cli
from tmr.client.config import Target
from tmr.client.http import RegistryClient
from tmr.container import Registry

URL = "http://testserver"
NO_CONFIG = "/proc/nonexistent-config"  # no credentials file, and none can be written
READER_PASSWORD = "violet harbour tangent 917!"


def route(monkeypatch: pytest.MonkeyPatch, transport: httpx.BaseTransport) -> None:
    """Every RegistryClient the commands make talks to `transport` (no socket)."""
    original = RegistryClient.__init__

    def routed(self: RegistryClient, target: Target, given: httpx.BaseTransport | None = None) -> None:
        original(self, target, given or transport)

    monkeypatch.setattr(RegistryClient, "__init__", routed)


def faulty(
    inner: httpx.BaseTransport, suffix: str, answer: Callable[[], httpx.Response]
) -> httpx.MockTransport:
    """`inner`, except that requests for paths ending in `suffix` get `answer()`."""

    def handle(request: httpx.Request) -> httpx.Response:
        return answer() if request.url.path.endswith(suffix) else inner.handle_request(request)

    return httpx.MockTransport(handle)


@dataclass(frozen=True)
class Terminal:
    client: TestClient
    registry: Registry
    transport: httpx.MockTransport

    def __call__(
        self, *args: str, token: str | None = TOKEN, url: str | None = URL, stdin: str | None = None
    ) -> Result:
        env = {"TMR_URL": url, "TMR_TOKEN": token, "XDG_CONFIG_HOME": NO_CONFIG}
        return CliRunner().invoke(cli, list(args), env=env, input=stdin, catch_exceptions=False)

    def versioned(self, artifact: Artifact, version: str) -> Artifact:
        return self.registry.artifacts.commit_replacement(
            ADMIN_PRINCIPAL, artifact, replace(artifact, version=version)
        )

    def account(self, name: str) -> dict[str, Any] | None:
        found = self.client.get(f"/users/{name}", headers=ADMIN_HEADERS)
        return found.json() if found.status_code == 200 else None


@pytest.fixture
def tmr(monkeypatch: pytest.MonkeyPatch) -> Iterator[Terminal]:
    with memory_client(page_size=2) as (client, registry):  # two per page: search follows the offset
        transport = through(client)
        route(monkeypatch, transport)
        yield Terminal(client, registry, transport)


def _lines(result: Result) -> list[str]:
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()


# -- search, show, rate ---------------------------------------------------------------------------


def test_search_by_name_regex_type_and_version(tmr: Terminal) -> None:
    old = tmr.versioned(
        seed(tmr.registry, "acme/m", {"config.json": b"{}"}, url="https://example.org/1"), "1.2.0"
    )
    new = tmr.versioned(
        seed(
            tmr.registry,
            "acme/m",
            {"config.json": b"{ }"},
            readme="# m\nsentiment here",
            url="https://example.org/2",
        ),
        "2.0.0",
    )
    data = seed(tmr.registry, "acme/d", {"train.csv": b"a\n"}, type_=ArtifactType.DATASET)
    assert sorted(_lines(tmr("search"))) == sorted(
        [f"{old.id}\tmodel\tacme/m", f"{new.id}\tmodel\tacme/m", f"{data.id}\tdataset\tacme/d"]
    )  # three artifacts over two pages
    assert _lines(tmr("search", "acme/m", "--version", "^1.0.0")) == [f"{old.id}\tmodel\tacme/m"]
    assert _lines(tmr("search", "--type", "dataset")) == [f"{data.id}\tdataset\tacme/d"]
    assert json.loads(tmr("search", "acme/d", "-t", "model", "--json").stdout) == []
    by_regex = json.loads(tmr("search", "--regex", "sentiment", "--json").stdout)
    assert by_regex == [{"name": "acme/m", "id": new.id, "type": "model"}]
    assert _lines(tmr("search", "-r", "^acme/.*$", "-v", "~2.0.0")) == [f"{new.id}\tmodel\tacme/m"]
    nothing = tmr("search", "--regex", "nothing-matches-zq", "--json")  # the server's 404: not an error
    assert (nothing.exit_code, json.loads(nothing.stdout)) == (0, [])
    assert tmr("search", "no-such-name").stdout == ""


def test_show_prints_a_model_with_its_rating_and_lineage(tmr: Terminal) -> None:
    base = seed(tmr.registry, "acme/base", {"config.json": b"{}"})
    child = seed(
        tmr.registry,
        "acme/child",
        {"config.json": b"{ }"},
        card={"base_model": "acme/base", "license": "mit"},
    )
    lines = _lines(tmr("show", "acme/child"))
    assert lines[:3] == [f"id\t{child.id}", "name\tacme/child", "type\tmodel"]
    assert "license\tmit" in lines
    assert "lineage\tacme/base -> acme/child (base_model)" in lines
    assert lines[-1].startswith("file\tconfig.json\t3\tconfig\t")
    rating = tmr.client.get(f"/artifact/model/{child.id}/rate", headers=ADMIN_HEADERS).json()
    assert f"net_score\t{rating['net_score']}" in lines

    shown = json.loads(tmr("show", child.id, "--json").stdout)
    assert shown["metadata"] == {"name": "acme/child", "id": child.id, "type": "model"}
    assert shown["rating"] == rating
    assert {n["artifact_id"] for n in shown["lineage"]["nodes"]} == {base.id, child.id}

    data = seed(tmr.registry, "acme/d", {"train.csv": b"a\n"}, type_=ArtifactType.DATASET)
    dataset = json.loads(tmr("show", "acme/d", "--json").stdout)
    assert dataset["metadata"]["id"] == data.id
    assert "rating" not in dataset  # only models are rated

    missing = tmr("show", "no-such-thing", "--json")
    assert missing.exit_code == 4
    assert json.loads(missing.stderr) == {
        "error": "no artifact named or numbered 'no-such-thing'",
        "exit_code": 4,
    }
    assert tmr("show", "acme/child", "--type", "dataset").exit_code == 4
    assert "unknown type 'widget'" in tmr("show", "acme/child", "--type", "widget").stderr


def test_show_keeps_the_rest_when_the_rating_fails_but_not_when_the_registry_is_down(
    tmr: Terminal, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(tmr.registry, "acme/m", {"config.json": b"{}"})
    failed = faulty(tmr.transport, "/rate", lambda: httpx.Response(500, json={"detail": "rating failed"}))
    route(monkeypatch, faulty(failed, "/lineage", lambda: httpx.Response(404, json={"detail": "no lineage"})))
    lines = _lines(tmr("show", "acme/m"))
    assert "net_score\trating failed" in lines
    assert "lineage\tno lineage" in lines
    shown = json.loads(tmr("show", "acme/m", "--json").stdout)
    assert shown["rating"] == {"error": "rating failed", "status": 500}

    busy = faulty(tmr.transport, "/rate", lambda: httpx.Response(503, json={"detail": "overloaded"}))
    route(monkeypatch, busy)
    down = tmr("show", "acme/m")
    assert (down.exit_code, down.stderr) == (6, "tmr: overloaded\n")


def test_rate_prints_net_score_first_and_each_metric(tmr: Terminal) -> None:
    model = seed(tmr.registry, "acme/m", {"config.json": b"{}"})
    seed(tmr.registry, "acme/d", {"train.csv": b"a\n"}, type_=ArtifactType.DATASET)
    rating = tmr.client.get(f"/artifact/model/{model.id}/rate", headers=ADMIN_HEADERS).json()
    lines = _lines(tmr("rate", "acme/m"))
    assert lines[0] == f"net_score\t{rating['net_score']}"
    assert len(lines) == len(rating)
    sizes = " ".join(f"{k}={v}" for k, v in rating["size_score"].items())
    assert f"size_score\t{sizes}" in lines
    assert json.loads(tmr("rate", model.id, "--json").stdout) == rating
    not_a_model = tmr("rate", "acme/d")
    assert (not_a_model.exit_code, not_a_model.stderr) == (
        4,
        "tmr: no model artifact named or numbered 'acme/d'\n",
    )


# -- users, tokens, login -------------------------------------------------------------------------


def test_an_administrator_manages_users(tmr: Terminal) -> None:
    added = tmr(
        "users", "add", "reader", "-p", "search", "--password-stdin", "--json", stdin=READER_PASSWORD + "\n"
    )
    assert added.exit_code == 0, added.output
    assert json.loads(added.stdout)["effective_permissions"] == ["search"]
    assert tmr.account("reader") == json.loads(added.stdout)
    assert _lines(tmr("users", "list")) == [f"{ADMIN}\tadmin\tupload,search,download", "reader\tuser\tsearch"]
    assert _lines(tmr("users", "show", "reader")) == ["reader\tuser\tsearch"]

    duplicate = tmr("users", "add", "reader", "--password-stdin", stdin=READER_PASSWORD + "\n")
    assert (duplicate.exit_code, duplicate.stderr) == (5, "tmr: a user named 'reader' already exists\n")
    weak = tmr("users", "add", "weak", "--password-stdin", stdin="password\n")
    assert weak.exit_code == 2
    assert "at least 12 characters" in weak.stderr
    unknown = tmr("users", "add", "flyer", "-p", "fly", "--password-stdin", stdin=READER_PASSWORD + "\n")
    assert unknown.exit_code == 2
    assert "unknown permission 'fly'" in unknown.stderr
    assert (tmr.account("weak"), tmr.account("flyer")) == (None, None)

    assert _lines(tmr("users", "permissions", "reader", "-p", "search", "-p", "download")) == [
        "reader\tuser\tsearch,download"
    ]
    assert tmr.account("reader")["permissions"] == ["search", "download"]  # type: ignore[index]
    assert _lines(tmr("users", "permissions", "reader")) == ["reader\tuser\t-"]  # none at all

    new_password = "another harbour tangent 42!"
    changed = tmr("users", "password", "reader", "--password-stdin", "--json", stdin=new_password + "\r\n")
    assert json.loads(changed.stdout) == {"user": "reader", "password_changed": True}
    assert tmr.client.put("/authenticate", json=auth_request(new_password, "reader")).status_code == 200
    assert tmr.client.put("/authenticate", json=auth_request(READER_PASSWORD, "reader")).status_code == 401

    assert json.loads(tmr("users", "remove", "reader", "--json").stdout) == {"removed": "reader"}
    assert tmr.account("reader") is None
    gone = tmr("users", "show", "reader")
    assert (gone.exit_code, gone.stderr) == (4, "tmr: no user named 'reader'\n")
    assert tmr("users", "remove", "reader").exit_code == 4


def test_a_user_who_is_not_an_administrator_is_refused(tmr: Terminal) -> None:
    reader = make_user(tmr.client, "reader", "search")["X-Authorization"]
    assert _lines(tmr("users", "show", "reader", token=reader)) == ["reader\tuser\tsearch"]  # oneself
    for args in (
        ("users", "list"),
        ("users", "remove", ADMIN),
        ("users", "permissions", "reader", "-p", "upload"),
    ):
        refused = tmr(*args, token=reader)
        assert refused.exit_code == 3, args
        assert refused.stderr.startswith("tmr: ")
    assert tmr.account(ADMIN) is not None
    assert tmr.account("reader")["permissions"] == ["search"]  # type: ignore[index]
    hidden = seed(tmr.registry, "acme/m", {"config.json": b"{}"})
    assert tmr("show", hidden.id, token=reader).exit_code == 0  # public: readable with search


def test_token_login_and_logout_without_a_credentials_file(tmr: Terminal) -> None:
    assert _lines(tmr("token")) == [f"bearer {TOKEN}"]
    assert json.loads(tmr("token", "--json").stdout) == {"url": URL, "token": f"bearer {TOKEN}"}
    assert _lines(tmr("token", token="bearer abc.def")) == ["bearer abc.def"]  # verbatim
    unsigned = tmr("token", token=None)
    assert (unsigned.exit_code, unsigned.stderr) == (3, f"tmr: no token for {URL}: run `tmr login`\n")

    wrong = tmr("login", "-u", ADMIN, "--password-stdin", token=None, stdin="not the password\n")
    assert (wrong.exit_code, wrong.stderr) == (3, "tmr: the user or password is invalid\n")
    wrong_json = tmr("login", "-u", ADMIN, "--password-stdin", "--json", token=None, stdin="nope\n")
    assert json.loads(wrong_json.stderr)["status"] == 401
    no_terminal = tmr("login", "-u", ADMIN, token=None)
    assert (no_terminal.exit_code, "pass --password-stdin" in no_terminal.stderr) == (2, True)
    empty = tmr("login", "-u", ADMIN, "--password-stdin", token=None, stdin="\n")
    assert (empty.exit_code, empty.stderr) == (2, "tmr: the password is empty\n")
    nowhere = tmr("login", "-u", ADMIN, "--password-stdin", url=None, stdin="x\n")
    assert (nowhere.exit_code, nowhere.stderr) == (2, "tmr: no registry: pass --url or set TMR_URL\n")
    bad_url = tmr("login", "-u", ADMIN, "--url", "testserver", "--password-stdin", url=None, stdin="x\n")
    assert (bad_url.exit_code, "must start with http://" in bad_url.stderr) == (2, True)

    assert _lines(tmr("logout")) == [f"no token kept for {URL}"]
    assert json.loads(tmr("logout", "--url", URL + "/", "--json").stdout) == {"url": URL, "forgotten": False}
    assert tmr("logout", url=None).exit_code == 2


# -- failures -------------------------------------------------------------------------------------


def test_each_kind_of_refusal_has_its_exit_code_and_a_json_error(
    tmr: Terminal, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(tmr.registry, "acme/m", {"config.json": b"{}"})
    bad_version = tmr("search", "acme/m", "--version", "banana", "--json")  # 400
    assert bad_version.exit_code == 2
    error = json.loads(bad_version.stderr)
    assert (error["status"], error["exit_code"], "not a version" in error["error"]) == (400, 2, True)
    dead = tmr("show", "acme/m", token="bearer not-a-token")  # the contract's 403 for a bad token
    assert dead.exit_code == 3
    assert dead.stderr.endswith("(run `tmr login` or set TMR_TOKEN)\n")
    reader = make_user(tmr.client, "reader", "search")["X-Authorization"]
    not_admin = json.loads(tmr("users", "list", "--json", token=reader).stderr)  # 401
    assert (not_admin["status"], not_admin["exit_code"]) == (401, 3)
    assert tmr("users", "show", "nobody").exit_code == 4  # 404
    assert tmr("users", "add", ADMIN, "--password-stdin", stdin=READER_PASSWORD + "\n").exit_code == 5  # 409
    assert tmr("search", url=None).exit_code == 2  # no registry named anywhere

    busy = httpx.Response(
        503, json={"detail": "slow down", "code": "throttled"}, headers={"Retry-After": "4"}
    )
    route(monkeypatch, faulty(tmr.transport, "/artifacts", lambda: busy))
    throttled = tmr("search", "--json")
    assert throttled.exit_code == 6
    assert json.loads(throttled.stderr) == {
        "error": "slow down (retry after 4 s)",
        "exit_code": 6,
        "status": 503,
        "code": "throttled",
    }

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    route(monkeypatch, httpx.MockTransport(refuse))
    down = tmr("search")
    assert (down.exit_code, down.stderr) == (
        6,
        f"tmr: cannot reach the registry at {URL}: connection refused\n",
    )


def test_push_and_pull_refusals_that_come_before_any_file(tmr: Terminal) -> None:
    model = seed(tmr.registry, "acme/m", {"config.json": b"{}"})
    assert tmr("pull", "no-such-thing").exit_code == 4
    # Into a folder (named after the artifact), with options the registry refuses before any byte.
    refused = tmr("pull", "acme/m", "-o", "/proc", "--parts", "bogus", "--allow-unsafe", "--json")
    assert refused.exit_code == 2
    error = json.loads(refused.stderr)
    assert (error["status"], error["code"]) == (400, "invalid_input")
    assert "weights" in error["details"]["valid"]
    assert tmr("pull", model.id, "-o", "/proc/none.zip", "--parts", "bogus", "-t", "dataset").exit_code == 4

    not_a_folder = tmr("push", "/proc/nonexistent-folder", "--name", "acme/x")
    assert (not_a_folder.exit_code, not_a_folder.stderr) == (
        2,
        "tmr: /proc/nonexistent-folder is not a folder\n",
    )
    assert tmr("push", "/proc/nonexistent-folder", "--name", "acme/x", "--type", "widget").exit_code == 2
    names = [
        a["name"] for a in tmr.client.post("/artifacts", json=[{"name": "*"}], headers=ADMIN_HEADERS).json()
    ]
    assert names == ["acme/m"]


def test_a_local_file_that_cannot_be_written_is_a_one_line_error(tmr: Terminal) -> None:
    """The credentials after a good login, a pulled package: the reason and the path, exit 1."""
    login = tmr("login", "-u", ADMIN, "--password-stdin", token=None, stdin=PASSWORD + "\n")
    assert login.exit_code == 1
    assert login.stderr.startswith(f"tmr: {NO_CONFIG}"), login.stderr
    assert login.stderr.count("\n") == 1
    seed(tmr.registry, "acme/m", {"config.json": b"{}"})
    pulled = tmr("pull", "acme/m", "-o", "/proc/no-such-folder/m.zip", "--json")
    assert pulled.exit_code == 1
    error = json.loads(pulled.stderr)
    assert error["exit_code"] == 1
    assert error["error"].startswith("/proc/no-such-folder/m.zip"), error
