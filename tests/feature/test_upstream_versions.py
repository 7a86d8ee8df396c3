"""Artifact versions from upstream git tags, registered through the API against the emulator.

The contract's Artifact JSON carries no version, so the stored artifact is read from the registry.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.emulator.fixtures import DEFAULT_FIXTURES, Fixtures, gh_repo
from tests.emulator.server import EmulatorServer, running_emulator
from tests.feature.conftest import GH, HF, register
from tests.support import auth_request, make_settings
from tmr.accounts.models import SYSTEM
from tmr.app import create_app
from tmr.artifacts.models import Artifact
from tmr.container import Registry, build_registry
from tmr.sources.github import MAX_TAG_PAGES, TAG_PAGE

BERT = f"{HF}/google-bert/bert-base-uncased"


def stored(client: TestClient, auth: dict[str, str], registry: Registry, type_: str, url: str) -> Artifact:
    """Register `url`, check the contract's read still answers, and return the stored artifact."""
    artifact_id = register(client, auth, type_, url)["metadata"]["id"]
    assert client.get(f"/artifacts/{type_}/{artifact_id}", headers=auth).status_code == 200
    return registry.artifacts.get_any(SYSTEM, artifact_id)


def tag_fact(artifact: Artifact, key: str = "version_tag") -> dict[str, Any] | None:
    fact = artifact.upstream.get(key)
    assert fact is None or isinstance(fact, dict)
    return fact


@pytest.mark.parametrize(
    ("type_", "url", "version", "tag"),
    [
        ("model", BERT, "1.1.0", "v1.1.0"),
        ("model", f"{HF}/acme/base-lm", "1.2.0", "1.2"),
        ("dataset", f"{HF}/datasets/rajpurkar/squad", "1.10.0", "v1.10"),
        ("code", f"{GH}/gpl/copyleft-tool", "1.2.0", "1.2"),
        ("code", f"{GH}/karpathy/nanoGPT", "0.10.0", "v0.10.0"),
        ("code", f"{GH}/psf/requests", "2.32.3", "v2.32.3"),
    ],
)
def test_the_version_tag_of_the_pinned_commit_is_the_version(
    client: TestClient,
    auth: dict[str, str],
    registry: Registry,
    type_: str,
    url: str,
    version: str,
    tag: str,
) -> None:
    artifact = stored(client, auth, registry, type_, url)
    assert artifact.version == version
    assert tag_fact(artifact) == {"tag": tag, "version": version, "commit": artifact.upstream["revision"]}
    assert tag_fact(artifact, "latest_version_tag") == tag_fact(artifact)


@pytest.mark.parametrize(
    ("type_", "url", "latest"),
    [
        ("model", f"{HF}/openai/whisper-tiny", None),  # `release-candidate` only
        ("model", f"{HF}/microsoft/DialoGPT-small", None),  # no tags at all
        ("model", f"{HF}/distilbert/distilbert-base-uncased-distilled-squad", "v1.0.0"),
        ("code", f"{GH}/solo/one-person", None),  # `release-candidate` only
        ("code", f"{GH}/weird/custom-license", "v0.3.0"),  # `nightly` at head, versions before it
    ],
)
def test_no_version_tag_at_the_pinned_commit_means_no_version(
    client: TestClient,
    auth: dict[str, str],
    registry: Registry,
    type_: str,
    url: str,
    latest: str | None,
) -> None:
    artifact = stored(client, auth, registry, type_, url)
    assert artifact.version is None
    assert tag_fact(artifact) is None
    newest = tag_fact(artifact, "latest_version_tag")
    if latest is None:
        assert newest is None
    else:
        assert newest is not None
        assert newest["tag"] == latest
        assert newest["commit"] != artifact.upstream["revision"]  # "a newer release exists"


def test_a_url_naming_a_version_tag_pins_that_release(
    client: TestClient, auth: dict[str, str], registry: Registry, emulator: EmulatorServer
) -> None:
    bert = DEFAULT_FIXTURES.hf_repo("model", "google-bert/bert-base-uncased")
    assert bert is not None
    old = stored(client, auth, registry, "model", f"{BERT}/tree/v1.0.0")
    assert old.version == "1.0.0"
    assert old.upstream["revision"] == bert.refs["v1.0.0"] != bert.sha
    newest = tag_fact(old, "latest_version_tag")
    assert newest is not None
    assert (newest["version"], newest["commit"]) == ("1.1.0", bert.sha)

    training = stored(client, auth, registry, "code", f"{GH}/acme/training-code/tree/v0.1.0")
    assert training.version == "0.1.0"
    newest = tag_fact(training, "latest_version_tag")
    assert newest is not None
    assert newest["version"] == "0.2.0"


def test_updating_to_another_revision_changes_the_version(
    client: TestClient, auth: dict[str, str], registry: Registry
) -> None:
    artifact_id = register(client, auth, "model", f"{BERT}/tree/v1.0.0", name="bert")["metadata"]["id"]
    body = {"metadata": {"name": "bert", "id": artifact_id, "type": "model"}, "data": {"url": BERT}}
    assert client.put(f"/artifacts/model/{artifact_id}", json=body, headers=auth).status_code == 200
    assert registry.artifacts.get_any(SYSTEM, artifact_id).version == "1.1.0"


def test_tags_cost_one_call_per_registration(
    client: TestClient, auth: dict[str, str], emulator: EmulatorServer
) -> None:
    emulator.faults.clear()
    register(client, auth, "model", BERT)
    assert emulator.faults.requests_seen(r"^/api/models/google-bert/bert-base-uncased/refs$") == 1
    register(client, auth, "code", f"{GH}/psf/requests")
    assert emulator.faults.requests_seen(r"^/github/repos/psf/requests/tags$") == 1


def test_a_hub_without_a_refs_endpoint_registers_without_a_version(
    client: TestClient, auth: dict[str, str], registry: Registry, emulator: EmulatorServer
) -> None:
    emulator.faults.add(r"/refs$", status=404, body=b'{"error":"Not Found"}')
    artifact = stored(client, auth, registry, "model", BERT)
    assert artifact.version is None
    assert artifact.files  # everything else was read
    assert any("git tags" in note for note in artifact.notes)


@pytest.mark.parametrize(
    ("type_", "url", "fault"),
    [
        ("model", BERT, r"/api/models/google-bert/bert-base-uncased/refs$"),
        ("code", f"{GH}/psf/requests", r"/github/repos/psf/requests/tags$"),
    ],
)
def test_an_outage_while_reading_tags_fails_the_registration_and_stores_nothing(
    client: TestClient, auth: dict[str, str], emulator: EmulatorServer, type_: str, url: str, fault: str
) -> None:
    emulator.faults.add(fault, status=503)
    response = client.post(f"/artifact/{type_}", json={"url": url}, headers=auth)
    assert response.status_code == 503
    assert client.post("/artifacts", json=[{"name": "*"}], headers=auth).json() == []


# -- a repository with more tags than the registry reads -----------------------------------------

MANY = MAX_TAG_PAGES * TAG_PAGE + 50


@pytest.fixture(scope="module")
def crowded_emulator() -> Iterator[EmulatorServer]:
    # Listed newest first, the head's tag on the first page; the last 50 are never read.
    names = tuple(f"v0.0.{i}" for i in range(MANY, 0, -1))
    repo = gh_repo(
        "crowded/releases", files={"a.py": b"x = 1\n"}, readme="# crowded\n", commits=3, tags=names
    )
    with running_emulator(fixtures=Fixtures(github=[repo])) as server:
        yield server


def test_tag_pages_are_capped_with_a_note(tmp_path: Path, crowded_emulator: EmulatorServer) -> None:
    registry = build_registry(make_settings(tmp_path, crowded_emulator.url))
    try:
        with TestClient(create_app(registry=registry)) as client:
            auth = {"X-Authorization": client.put("/authenticate", json=auth_request()).json()}
            artifact = stored(client, auth, registry, "code", f"{GH}/crowded/releases")
    finally:
        registry.close()
    assert crowded_emulator.faults.requests_seen(r"/crowded/releases/tags$") == MAX_TAG_PAGES
    assert any(f"first {MAX_TAG_PAGES * TAG_PAGE} tags" in note for note in artifact.notes)
    assert artifact.version == f"0.0.{MANY}"
    assert tag_fact(artifact, "latest_version_tag") == tag_fact(artifact)
