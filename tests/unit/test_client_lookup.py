"""The user commands' client on a registry in memory: which artifact `NAME|ID` means, the
details route it reads, refusals as exit codes, and where the token comes from. The commands
themselves, their files and a real server are tests/e2e/test_cli_user.py's."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.unit.memory_app import ADMIN_PRINCIPAL, NOWHERE, TOKEN, memory_client, seed
from tmr.artifacts.models import ArtifactType
from tmr.client.config import Credentials, as_header, config_dir, normalise_url, resolve_target
from tmr.client.errors import ClientError, ExitCode, exit_code_for
from tmr.client.http import RegistryClient, refusal
from tmr.client.lookup import resolve
from tmr.container import Registry
from tmr.terminal.artifacts import _show_lines

NO_FILE = Credentials(NOWHERE / "credentials.json")


def through(app_client: TestClient) -> httpx.MockTransport:
    """The client's requests answered by the app in process (no socket)."""

    def answer(request: httpx.Request) -> httpx.Response:
        got = app_client.request(
            request.method, str(request.url), headers=dict(request.headers), content=request.read()
        )
        headers = {k: v for k, v in got.headers.items() if k.lower() != "content-encoding"}
        return httpx.Response(got.status_code, headers=headers, content=got.content)

    return httpx.MockTransport(answer)


@contextmanager
def client_of() -> Iterator[tuple[RegistryClient, Registry]]:
    with memory_client() as (app_client, registry):
        target = resolve_target("http://testserver", NO_FILE, env={"TMR_TOKEN": TOKEN})
        with RegistryClient(target, transport=through(app_client)) as client:
            yield client, registry


def test_a_name_an_id_and_the_highest_version_are_found() -> None:
    with client_of() as (client, registry):
        first = seed(
            registry,
            "acme/twin",
            {"config.json": b"{}"},
            url="https://example.org/a",
            card={"license": "mit"},
        )
        second = seed(registry, "acme/twin", {"config.json": b"{ }"}, url="https://example.org/b")
        for artifact, version in ((first, "1.10.0"), (second, "1.9.0")):
            registry.artifacts.commit_replacement(
                ADMIN_PRINCIPAL, artifact, replace(artifact, version=version)
            )
        found = resolve(client, "acme/twin")
        assert (found["metadata"]["id"], found["version"], found["license"]) == (first.id, "1.10.0", "mit")
        assert found["files"] == [
            {
                "path": "config.json",
                "size": 2,
                "kind": "config",
                "sha256": found["files"][0]["sha256"],
                "unsafe": False,
            }
        ]
        assert resolve(client, "acme/twin", version="~1.9.0")["metadata"]["id"] == second.id
        assert resolve(client, second.id)["metadata"]["name"] == "acme/twin"
        with pytest.raises(ClientError) as wrong_type:
            resolve(client, "acme/twin", type_="dataset")
        assert wrong_type.value.exit_code is ExitCode.NOT_FOUND


def test_names_that_cannot_be_told_apart_ask_for_more() -> None:
    with client_of() as (client, registry):
        one = seed(registry, "shared", {"a.json": b"1"}, url="https://example.org/1")
        two = seed(registry, "shared", {"a.json": b"2"}, url="https://example.org/2")
        with pytest.raises(ClientError, match="without versions") as unversioned:
            resolve(client, "shared")
        assert unversioned.value.exit_code is ExitCode.USAGE
        assert one.id in unversioned.value.message
        assert two.id in unversioned.value.message
        seed(registry, "mixed", {"a.json": b"3"}, url="https://example.org/3")
        seed(registry, "mixed", {"a.json": b"4"}, type_=ArtifactType.DATASET, url="https://example.org/4")
        with pytest.raises(ClientError, match="add --type"):
            resolve(client, "mixed")
        assert resolve(client, "mixed", type_="dataset")["metadata"]["type"] == "dataset"
        with pytest.raises(ClientError, match="non-empty"):
            resolve(client, "  ")
        with pytest.raises(ClientError) as missing:
            resolve(client, "no-such-thing")
        assert missing.value.exit_code is ExitCode.NOT_FOUND


def test_the_details_route_refuses_a_malformed_id() -> None:
    with client_of() as (client, _registry), pytest.raises(ClientError) as bad:
        client.get_json("/artifact/not_an_id!/details")
    assert (bad.value.status, bad.value.exit_code, bad.value.code) == (400, ExitCode.USAGE, "invalid_input")


def test_refusals_carry_the_server_s_words_and_an_exit_code() -> None:
    dead = httpx.Response(403, json={"detail": "token expired", "code": "authentication_failed"})
    assert refusal(dead).message == "token expired (run `tmr login` or set TMR_TOKEN)"
    assert refusal(dead).exit_code is ExitCode.AUTH
    busy = httpx.Response(
        429, json={"detail": "slow down", "code": "throttled"}, headers={"Retry-After": "4"}
    )
    assert (refusal(busy).message, refusal(busy).exit_code) == (
        "slow down (retry after 4 s)",
        ExitCode.UNAVAILABLE,
    )
    failed = httpx.Response(500, json={"detail": "rating failed", "failed_metrics": {"bus_factor": "boom"}})
    assert refusal(failed).details == {"failed_metrics": {"bus_factor": "boom"}}
    assert refusal(failed).as_json() == {
        "error": "rating failed",
        "exit_code": 1,
        "status": 500,
        "details": {"failed_metrics": {"bus_factor": "boom"}},
    }
    assert refusal(httpx.Response(502, text="Bad Gateway")).message == "Bad Gateway"
    assert refusal(httpx.Response(409)).message == "HTTP 409"
    assert [exit_code_for(s) for s in (400, 401, 404, 409, 424, 451, 503, 418)] == [2, 3, 4, 5, 5, 5, 6, 1]


def test_the_registry_and_token_come_from_flags_the_environment_or_the_file() -> None:
    assert config_dir({"XDG_CONFIG_HOME": "/etc/xdg-here"}).as_posix() == "/etc/xdg-here/tmr"
    assert config_dir({"XDG_CONFIG_HOME": "relative"}).name == "tmr"  # relative is ignored (XDG)
    assert config_dir({"XDG_CONFIG_HOME": "relative"}).parent.name == ".config"
    assert as_header("bearer abc") == "bearer abc"
    assert as_header(" abc ") == "bearer abc"
    assert normalise_url("https://tmr.example/ ") == "https://tmr.example"
    with pytest.raises(ClientError, match="http://"):
        normalise_url("tmr.example")
    with pytest.raises(ClientError, match="no registry") as none:
        resolve_target(None, NO_FILE, env={})
    assert none.value.exit_code is ExitCode.USAGE
    target = resolve_target("http://r.example/", NO_FILE, env={})
    assert (target.url, target.authorization) == ("http://r.example", None)


def test_show_prints_one_fact_a_line() -> None:
    shown = {
        "metadata": {"id": "7", "name": "m", "type": "model"},
        "data": {"url": "upload:sha256:ab"},
        "version": None,
        "license": "mit",
        "visibility": "private",
        "size_bytes": 3,
        "created_at": "2026-01-01T00:00:00Z",
        "created_by": "ada",
        "rating": {"error": "the rating system could not compute every metric", "status": 500},
        "lineage": {
            "nodes": [{"artifact_id": "6", "name": "base"}, {"artifact_id": "7", "name": "m"}],
            "edges": [
                {"from_node_artifact_id": "6", "to_node_artifact_id": "7", "relationship": "base_model"}
            ],
        },
        "files": [{"path": "w.pt", "size": 3, "kind": "weights", "sha256": None, "unsafe": True}],
    }
    lines = _show_lines(shown)
    assert "version\t-" in lines
    assert "net_score\tthe rating system could not compute every metric" in lines
    assert "lineage\tbase -> m (base_model)" in lines
    assert lines[-1] == "file\tw.pt\t3\tweights\t-\tUNSAFE"
