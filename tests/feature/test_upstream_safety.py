"""Issue 11: what a registered URL makes the registry ask its upstreams, with the server's own
tokens. A URL never takes a call outside its repository; a private or gated upstream repository
becomes a private artifact of whoever registered it; no upstream answer is read past its cap."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.emulator.fixtures import DEFAULT_FIXTURES, GRANTED_TOKEN, Fixtures, gh_repo, hf_model
from tests.emulator.server import EmulatorServer, running_emulator
from tests.feature.web_support import add_user, api_login, listed
from tests.support import auth_request, make_settings
from tmr.accounts.models import SYSTEM
from tmr.app import create_app
from tmr.artifacts.models import Visibility
from tmr.container import Registry, build_registry

HF = "https://huggingface.co"
GH = "https://github.com"
EAGER_LIMIT = 64 * 1024
LONG = EAGER_LIMIT * 4
EXTRA = Fixtures(
    hf=[
        hf_model(
            "acme/long-card",
            body="# Long card\n\n" + "x" * LONG,
            meta={"license": "mit"},
            config={"architectures": ["BertModel"], "model_type": "bert"},
        )
    ],
    github=[
        gh_repo(
            "acme/private-tools",
            files={"tool.py": b"print('internal')\n"},
            readme="# Private tools\n",
            license_spdx="MIT",
            private=True,
        ),
        gh_repo(
            "acme/layered",
            files={"pkg/README.md": b"# The package\n", "pkg/a.py": b"A = 1\n", "other/b.py": b"B = 2\n"},
            readme="# Layered\n",
            license_spdx="MIT",
        ),
        gh_repo(
            "acme/long-readme",
            files={"big.py": b"# " + b"z" * LONG + b"\n"},
            readme="# Long readme\n\n" + "y" * LONG,
            license_spdx="MIT",
        ),
    ],
)


@pytest.fixture(scope="module")
def upstream() -> Iterator[EmulatorServer]:
    with running_emulator(fixtures=DEFAULT_FIXTURES.merged(EXTRA)) as server:
        yield server


@pytest.fixture
def make_app(
    tmp_path: Path, upstream: EmulatorServer
) -> Iterator[Callable[..., tuple[Registry, TestClient]]]:
    """A registry on this module's emulator whose tokens read its private repositories."""
    opened: list[tuple[Registry, TestClient]] = []

    def build(**overrides: Any) -> tuple[Registry, TestClient]:
        settings = make_settings(
            tmp_path / f"data{len(opened)}",
            upstream.url,
            **{
                "hf_token": GRANTED_TOKEN,
                "github_token": GRANTED_TOKEN,
                "eager_file_limit": EAGER_LIMIT,
                **overrides,
            },
        )
        registry = build_registry(settings)
        client = TestClient(create_app(registry=registry))
        client.__enter__()
        opened.append((registry, client))
        return registry, client

    yield build
    for registry, client in opened:
        client.__exit__(None, None, None)
        registry.close()
    upstream.faults.clear()


@pytest.fixture
def app(make_app: Callable[..., tuple[Registry, TestClient]]) -> tuple[Registry, TestClient]:
    return make_app()


def admin(client: TestClient) -> dict[str, str]:
    response = client.put("/authenticate", json=auth_request())
    assert response.status_code == 200, response.text
    return {"X-Authorization": response.json()}


def post(client: TestClient, auth: dict[str, str], type_: str, url: str) -> Any:
    return client.post(f"/artifact/{type_}", json={"url": url}, headers=auth)


def created(client: TestClient, auth: dict[str, str], type_: str, url: str) -> dict[str, Any]:
    response = post(client, auth, type_, url)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


# Each once became an upstream call outside the repository (httpx drops `..` segments before
# sending; the upstream decodes `%2F`), answered with the server's token and stored as a README.
BAD_URLS = [
    ("code", f"{GH}/openai/whisper/tree/main/../../../../user"),
    ("code", f"{GH}/openai/whisper/tree/main/%2e%2e/%2e%2e/%2e%2e/%2e%2e/rate_limit"),
    ("code", f"{GH}/openai/whisper/tree/main/docs%2F..%2F..%2F..%2F..%2F..%2Fuser"),
    ("code", f"{GH}/openai/whisper/tree/main/%252e%252e/%252e%252e"),
    ("code", f"{GH}/openai/whisper/tree/main/a%5C..%5C..%5Cuser"),
    ("code", f"{GH}/openai/whisper/tree/..%2F..%2Fuser"),
    ("code", f"{GH}/openai/..%2F..%2Frate_limit"),
    ("code", f"{GH}/openai%2Fwhisper%2Fpulls/x"),
    ("model", f"{HF}/google-bert%2F..%2F..%2Fwhoami-v2/x"),
    ("model", f"{HF}/private%2Fsecret-model%2Fresolve%2Fmain/config.json"),
    ("model", f"{HF}/google-bert/bert-base-uncased/tree/main%2F..%2F..%2F..%2F..%2Fwhoami-v2"),
    ("model", f"{HF}/google-bert/bert-base-uncased/tree/main/..%2F..%2F..%2Fprivate"),
    ("model", f"{HF}/google--bert/bert-base-uncased"),
    ("dataset", f"{HF}/datasets/..%2F..%2Fapi%2Fwhoami-v2"),
    ("dataset", f"{HF}/datasets/stanfordnlp/imdb/tree/%2e%2e"),
]


@pytest.mark.parametrize(("type_", "url"), BAD_URLS)
def test_a_url_leaving_its_repository_is_refused_before_any_upstream_call(
    app: tuple[Registry, TestClient], upstream: EmulatorServer, type_: str, url: str
) -> None:
    _, client = app
    auth = admin(client)
    good = {
        "model": f"{HF}/nomic/tiny-mit-model",
        "code": f"{GH}/acme/layered",
        "dataset": f"{HF}/datasets/stanfordnlp/imdb",
    }[type_]
    existing = created(client, auth, type_, good)["metadata"]
    upstream.faults.clear()
    answer = post(client, auth, type_, url)
    assert answer.status_code == 400, answer.text
    replace = {"metadata": existing, "data": {"url": url}}
    answer = client.put(f"/artifacts/{type_}/{existing['id']}", json=replace, headers=auth)
    assert answer.status_code == 400, answer.text
    assert upstream.faults.requests_log() == []
    assert client.get(f"/artifacts/{type_}/{existing['id']}", headers=auth).json()["data"]["url"] == good


def test_registration_asks_only_for_paths_inside_the_repository(
    app: tuple[Registry, TestClient], upstream: EmulatorServer
) -> None:
    _, client = app
    auth = admin(client)
    upstream.faults.clear()
    code = created(client, auth, "code", f"{GH}/acme/layered/tree/main/pkg")["metadata"]["id"]
    code_paths = [path for _, path in upstream.faults.requests_log()]
    assert code_paths
    assert all(re.fullmatch(r"/github/repos/acme/layered(/[^.%]*)?", p) for p in code_paths), code_paths
    assert "/github/repos/acme/layered/readme/pkg" in code_paths
    upstream.faults.clear()
    assert client.get(f"/download/{code}", headers=auth).status_code == 200
    dataset_url = f"{HF}/datasets/stanfordnlp/imdb"
    created(client, auth, "dataset", dataset_url)
    paths = [path for _, path in upstream.faults.requests_log()]
    inside = r"/github/repos/acme/layered/zipball/[0-9a-f]+|/api/datasets/stanfordnlp/imdb(/refs)?"
    inside += r"|/datasets/stanfordnlp/imdb/resolve/[0-9a-f]+/[^%]+"
    assert paths
    assert all(re.fullmatch(inside, p) for p in paths), paths


@pytest.mark.parametrize(
    ("type_", "url"),
    [
        ("model", f"{HF}/private/secret-model"),  # private on the Hub
        ("model", f"{HF}/meta-llama/Llama-3.2-1B"),  # gated on the Hub
        ("code", f"{GH}/acme/private-tools"),  # private on GitHub
    ],
)
def test_a_private_upstream_repository_becomes_its_registrants_private_artifact(
    app: tuple[Registry, TestClient], type_: str, url: str
) -> None:
    registry, client = app
    for name in ("alice", "bob"):
        add_user(registry, name)
    alice, bob = api_login(client, "alice"), api_login(client, "bob")
    artifact_id = created(client, alice, type_, url)["metadata"]["id"]
    assert registry.artifacts.get_any(SYSTEM, artifact_id).visibility is Visibility.PRIVATE
    assert client.get(f"/artifacts/{type_}/{artifact_id}", headers=alice).status_code == 200
    assert client.get(f"/artifacts/{type_}/{artifact_id}", headers=admin(client)).status_code == 200
    assert client.get(f"/artifacts/{type_}/{artifact_id}", headers=bob).status_code == 404
    assert client.get(f"/download/{artifact_id}", headers=bob).status_code == 404
    assert artifact_id not in [a["id"] for a in listed(client, bob)]
    assert artifact_id in [a["id"] for a in listed(client, alice)]


def test_a_public_upstream_repository_stays_public(app: tuple[Registry, TestClient]) -> None:
    registry, client = app
    add_user(registry, "bob")
    artifact_id = created(client, admin(client), "model", f"{HF}/nomic/tiny-mit-model")["metadata"]["id"]
    assert registry.artifacts.get_any(SYSTEM, artifact_id).visibility is Visibility.PUBLIC
    assert client.get(f"/artifacts/model/{artifact_id}", headers=api_login(client, "bob")).status_code == 200


def test_a_hub_readme_over_the_eager_limit_is_noted_and_never_fetched(
    app: tuple[Registry, TestClient], upstream: EmulatorServer
) -> None:
    registry, client = app
    upstream.faults.clear()
    artifact_id = created(client, admin(client), "model", f"{HF}/acme/long-card")["metadata"]["id"]
    artifact = registry.artifacts.get_any(SYSTEM, artifact_id)
    assert artifact.readme == ""
    assert any("README.md" in n and "TMR_EAGER_FILE_LIMIT" in n for n in artifact.notes)
    assert upstream.faults.requests_seen(r"/acme/long-card/resolve/.*README") == 0
    assert upstream.faults.requests_seen(r"/acme/long-card/resolve/.*config\.json") == 1


def test_a_github_readme_over_the_eager_limit_is_noted_not_stored(app: tuple[Registry, TestClient]) -> None:
    registry, client = app
    artifact_id = created(client, admin(client), "code", f"{GH}/acme/long-readme")["metadata"]["id"]
    artifact = registry.artifacts.get_any(SYSTEM, artifact_id)
    assert artifact.readme == ""
    assert any("README" in n and "TMR_EAGER_FILE_LIMIT" in n for n in artifact.notes)


def test_a_github_archive_over_its_limit_is_refused(
    make_app: Callable[..., tuple[Registry, TestClient]],
) -> None:
    _, client = make_app(upstream_archive_limit=EAGER_LIMIT)
    auth = admin(client)
    artifact_id = created(client, auth, "code", f"{GH}/acme/long-readme")["metadata"]["id"]
    answer = client.get(f"/download/{artifact_id}", headers=auth)
    assert answer.status_code == 502
    assert "TMR_UPSTREAM_ARCHIVE_LIMIT" in answer.text
