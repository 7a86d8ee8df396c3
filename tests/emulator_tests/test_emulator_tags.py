"""Git tags in the emulator: the Hub's refs (through huggingface_hub) and GitHub's paged tag list
point at the commits the rest of each API serves, so versions read from them can be trusted."""

from __future__ import annotations

import httpx
from huggingface_hub import HfApi

from tests.emulator.fixtures import Fixtures, gh_repo, hf_model
from tests.emulator.server import EmulatorServer, running_emulator

BERT = "google-bert/bert-base-uncased"


def _api(server: EmulatorServer) -> HfApi:
    return HfApi(endpoint=server.hf_endpoint, token=False)


def test_hub_refs_list_tags_at_head_and_at_older_commits(faults_cleared: EmulatorServer) -> None:
    api = _api(faults_cleared)
    head = api.model_info(BERT).sha
    tags = {t.name: t.target_commit for t in api.list_repo_refs(BERT).tags}
    assert tags["v1.1.0"] == head
    assert tags["v1.0.0"] != head
    assert api.model_info(BERT, revision="v1.0.0").sha == tags["v1.0.0"]
    assert api.model_info(BERT, revision="refs/tags/v1.1.0").sha == head


def test_hub_refs_of_datasets_and_repos_without_tags(faults_cleared: EmulatorServer) -> None:
    api = _api(faults_cleared)
    squad = api.list_repo_refs("rajpurkar/squad", repo_type="dataset")
    head = api.dataset_info("rajpurkar/squad").sha
    assert {t.name: t.target_commit for t in squad.tags} == {"v1.9": head, "v1.10": head}
    assert [b.name for b in squad.branches] == ["main"]
    assert api.list_repo_refs("microsoft/DialoGPT-small").tags == []
    whisper = api.list_repo_refs("openai/whisper-tiny")
    assert [t.name for t in whisper.tags] == ["release-candidate"]


def test_hub_refs_through_a_legacy_alias(faults_cleared: EmulatorServer) -> None:
    refs = _api(faults_cleared).list_repo_refs("distilbert-base-uncased-distilled-squad")
    assert sorted(t.name for t in refs.tags) == ["v0.9.0", "v1.0.0"]


def test_github_tags_point_at_the_commits_served(gh: httpx.Client) -> None:
    head = gh.get("/repos/karpathy/nanoGPT/commits", params={"per_page": 1}).json()[0]["sha"]
    tags = {t["name"]: t["commit"]["sha"] for t in gh.get("/repos/karpathy/nanoGPT/tags").json()}
    assert tags == {"v0.9.0": head, "v0.10.0": head, "stable": head}
    listed = gh.get("/repos/weird/custom-license/tags").json()
    assert [t["name"] for t in listed] == ["nightly", "v0.3.0", "v0.2.0"]
    commits = [c["sha"] for c in gh.get("/repos/weird/custom-license/commits").json()]
    assert listed[0]["commit"]["sha"] == commits[0]
    assert all(t["commit"]["sha"] in commits[1:] for t in listed[1:])
    resolved = gh.get("/repos/weird/custom-license/commits", params={"sha": "v0.3.0", "per_page": 1})
    assert resolved.json()[0]["sha"] == listed[1]["commit"]["sha"]


def test_github_tags_are_paged_like_github() -> None:
    tags = tuple(f"v1.0.{i}" for i in range(250))
    many = gh_repo("many/tags", files={"a.py": b"x = 1\n"}, readme="# many\n", commits=5, tags=tags)
    extra = Fixtures(hf=[hf_model("me/tagless")], github=[many])
    with (
        running_emulator(fixtures=extra) as server,
        httpx.Client(base_url=server.github_api_url, timeout=10) as gh,
    ):
        first = gh.get("/repos/many/tags/tags", params={"per_page": 100})
        assert len(first.json()) == 100
        assert "page=3" in first.links["last"]["url"]
        last = gh.get("/repos/many/tags/tags", params={"per_page": 100, "page": 3})
        assert len(last.json()) == 50
        assert "next" not in last.links
