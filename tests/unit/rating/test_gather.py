"""Evidence gathering over fake sources: the model's stored facts, its linked repository and named
datasets become typed evidence, and what cannot be read is recorded as absent."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from tmr.artifacts.models import Artifact, ArtifactType, FileEntry, FileKind
from tmr.errors import NotFound, UpstreamUnavailable
from tmr.rating.gather import EvidenceGatherer
from tmr.sources.facts import Contributor, PullRequest
from tmr.sources.models import SourceKind, SourceRef, SourceSnapshot, UpstreamFile

REPO = "https://github.com/acme/code"
DATASET = "https://huggingface.co/datasets/acme/data"
README = f"---\nlicense: mit\ndatasets:\n- acme/data\n- gone/missing\n---\n# Model\nCode: {REPO}\n"


class FakeSources:
    """The two calls the gatherer makes, answered from memory."""

    def __init__(self, pulls: Sequence[PullRequest] | Exception = ()) -> None:
        self.pulls = pulls
        self.snapshots: dict[str, SourceSnapshot] = {
            REPO: SourceSnapshot(
                ref=SourceRef(SourceKind.GITHUB, REPO, "acme/code"),
                readme="# code",
                license="MIT",
                facts={
                    "stargazers_count": 12,
                    "forks_count": 3,
                    "open_issues_count": 1,
                    "archived": False,
                    "pushed_at": "2025-10-20T08:30:00Z",
                    "contributors": [{"login": "alice", "contributions": 9}],
                },
                files=(UpstreamFile("train.py", 100, FileKind.CODE, ""),),
            ),
            DATASET: SourceSnapshot(
                ref=SourceRef(SourceKind.HF_DATASET, DATASET, "acme/data"),
                card={"license": "cc-by-4.0"},
                license="cc-by-4.0",
                facts={"downloads": 5000, "likes": 7},
            ),
        }

    def inspect_cached(self, url: str, type_: ArtifactType) -> SourceSnapshot:
        if url not in self.snapshots:
            raise NotFound(f"{url} not found")
        return self.snapshots[url]

    def pull_requests(self, repo_id: str) -> Sequence[PullRequest]:
        if isinstance(self.pulls, Exception):
            raise self.pulls
        return self.pulls


def model(**upstream: object) -> Artifact:
    return Artifact(
        id="1",
        type=ArtifactType.MODEL,
        name="model",
        url="https://huggingface.co/acme/model",
        source="huggingface_model",
        readme=README,
        card={"license": "mit", "datasets": ["acme/data", "gone/missing"]},
        license="mit",
        upstream=dict(upstream),
        files=[
            FileEntry("model.bin", 10, FileKind.WEIGHTS, safety={"unsafe": True, "reasons": ["os.system"]}),
            FileEntry("config.json", 2, FileKind.CONFIG),
        ],
    )


def gatherer(sources: FakeSources) -> EvidenceGatherer:
    return EvidenceGatherer(sources, lambda key: key == "gone/missing", lambda artifact: [0.75])


def test_the_model_and_what_it_links_become_typed_evidence() -> None:
    pulls = [PullRequest(2, True, 40), PullRequest(1, False, 5)]
    before = datetime.now(UTC)
    evidence = gatherer(FakeSources(pulls)).gather(
        model(
            downloads=120,
            likes=4,
            tags=["bert", 5],
            pipeline_tag="fill-mask",
            library_name="transformers",
            lastModified="2024-02-19T11:06:12.000Z",
            config={"model_type": "bert"},
        )
    )
    assert (evidence.downloads, evidence.likes, evidence.tags) == (120, 4, ("bert",))
    assert (evidence.pipeline_tag, evidence.library_name) == ("fill-mask", "transformers")
    assert evidence.last_modified == datetime(2024, 2, 19, 11, 6, 12, tzinfo=UTC)
    assert (evidence.config, evidence.adapter_config, evidence.card_error) == (
        {"model_type": "bert"},
        None,
        None,
    )
    assert evidence.parent_net_scores == (0.75,)
    # When it was read, in UTC: code_quality measures staleness from it.
    assert before <= evidence.observed_at <= datetime.now(UTC)
    assert evidence.observed_at.utcoffset() == timedelta(0)
    assert [(f.path, f.unsafe, f.reasons) for f in evidence.files] == [
        ("model.bin", True, ("os.system",)),
        ("config.json", False, ()),
    ]

    repository = evidence.repository
    assert repository is not None
    assert (repository.full_name, repository.license, repository.stars, repository.forks) == (
        "acme/code",
        "MIT",
        12,
        3,
    )
    assert repository.pushed_at == datetime(2025, 10, 20, 8, 30, tzinfo=UTC)
    assert repository.contributors == (Contributor("alice", 9),)
    assert repository.pulls == tuple(pulls)
    assert [f.path for f in repository.files] == ["train.py"]

    read, missing = evidence.datasets
    assert (read.url, read.license, read.downloads, read.likes, read.registered) == (
        DATASET,
        "cc-by-4.0",
        5000,
        7,
        False,
    )
    assert (missing.name, missing.url, missing.registered) == ("gone/missing", None, True)


def test_malformed_stored_facts_do_not_fail_the_rating() -> None:
    evidence = gatherer(FakeSources()).gather(
        model(
            downloads="many", tags="bert", pipeline_tag=3, lastModified="soon", config=["x"], card_error=True
        )
    )
    assert (evidence.downloads, evidence.tags, evidence.pipeline_tag) == (0, (), None)
    assert (evidence.last_modified, evidence.config, evidence.card_error) == (None, None, "True")


def test_disabled_pull_requests_mean_none_reviewed() -> None:
    evidence = gatherer(FakeSources(NotFound("pull requests disabled"))).gather(model())
    assert evidence.repository is not None
    assert evidence.repository.pulls == ()


def test_an_outage_reading_pull_requests_fails_the_gathering() -> None:
    with pytest.raises(UpstreamUnavailable):
        gatherer(FakeSources(UpstreamUnavailable("GitHub is down"))).gather(model())


def test_a_linked_repository_that_does_not_exist_is_absent() -> None:
    sources = FakeSources()
    del sources.snapshots[REPO]
    assert gatherer(sources).gather(model()).repository is None
