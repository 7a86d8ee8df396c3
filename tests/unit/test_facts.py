"""Typed upstream facts (tmr.sources.facts): read from the JSON the sources keep, tolerant of what
an upstream or an old stored artifact may hold, and produced by the GitHub adapter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from tmr.sources.facts import Contributor, HubFacts, PullRequest, RepositoryFacts, timestamp
from tmr.sources.github import GitHubSource
from tmr.sources.http import UpstreamClient
from tmr.sources.models import SourceKind, SourceRef, SourceSnapshot

HEAD = "a" * 40


# -- timestamps ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2025-10-20T08:30:00Z", datetime(2025, 10, 20, 8, 30, tzinfo=UTC)),  # GitHub
        ("2025-10-20T08:30:00.000Z", datetime(2025, 10, 20, 8, 30, tzinfo=UTC)),  # the Hub
        ("2025-10-20T10:30:00+02:00", datetime(2025, 10, 20, 10, 30, tzinfo=timezone(timedelta(hours=2)))),
        ("2025-10-20T08:30:00", datetime(2025, 10, 20, 8, 30)),  # no zone: stays naive
        ("", None),
        ("yesterday", None),
        ("2025-13-45T99:00:00Z", None),
        (None, None),
        (1_700_000_000, None),
        (["2025-10-20T08:30:00Z"], None),
    ],
)
def test_timestamps(raw: Any, expected: datetime | None) -> None:
    assert timestamp(raw) == expected


def test_a_z_timestamp_is_the_same_instant_as_its_offset_spelling() -> None:
    z = timestamp("2025-10-20T08:30:00Z")
    assert z is not None
    assert z.utcoffset() == timedelta(0)
    assert z == timestamp("2025-10-20T10:30:00+02:00")


# -- the Hub ------------------------------------------------------------------------------------

HUB_UPSTREAM: dict[str, Any] = {
    "downloads": 1200,
    "likes": 31,
    "tags": ["transformers", "bert", "license:apache-2.0"],
    "pipeline_tag": "fill-mask",
    "library_name": "transformers",
    "lastModified": "2024-02-19T11:06:12.000Z",
    "config": {"architectures": ["BertForMaskedLM"], "vocab_size": 30522},
    "adapter_config": {"task_type": "CAUSAL_LM"},
    "sha": HEAD,  # facts the rating does not read are ignored
}


def test_hub_facts_from_a_complete_upstream() -> None:
    hub = HubFacts.from_upstream(HUB_UPSTREAM)
    assert hub == HubFacts(
        downloads=1200,
        likes=31,
        tags=("transformers", "bert", "license:apache-2.0"),
        pipeline_tag="fill-mask",
        library_name="transformers",
        last_modified=datetime(2024, 2, 19, 11, 6, 12, tzinfo=UTC),
        card_error=None,
        config={"architectures": ["BertForMaskedLM"], "vocab_size": 30522},
        adapter_config={"task_type": "CAUSAL_LM"},
    )


def test_hub_facts_from_nothing_are_the_defaults() -> None:
    assert HubFacts.from_upstream({}) == HubFacts()
    assert HubFacts.from_upstream({"upload": {"files": 3, "bytes": 10}}) == HubFacts()  # an upload


@pytest.mark.parametrize(
    ("upstream", "expected"),
    [
        ({"downloads": None, "likes": None}, {"downloads": 0, "likes": 0}),
        ({"downloads": "12", "likes": 3.9}, {"downloads": 12, "likes": 3}),  # coerced as before
        ({"downloads": "many", "likes": {"n": 1}}, {"downloads": 0, "likes": 0}),
        ({"downloads": float("nan"), "likes": float("inf")}, {"downloads": 0, "likes": 0}),
        ({"tags": ["ok", 3, None, {"x": 1}, "also-ok"]}, {"tags": ("ok", "also-ok")}),
        ({"tags": "not-a-list"}, {"tags": ()}),
        ({"tags": None}, {"tags": ()}),
        ({"pipeline_tag": 7, "library_name": ["transformers"]}, {"pipeline_tag": None, "library_name": None}),
        ({"pipeline_tag": ""}, {"pipeline_tag": ""}),  # as the Hub sent it
        ({"lastModified": "not a date"}, {"last_modified": None}),
        ({"lastModified": 1_700_000_000}, {"last_modified": None}),
        (
            {"config": ["not", "an", "object"], "adapter_config": "x"},
            {"config": None, "adapter_config": None},
        ),
        ({"card_error": "card metadata is not a mapping"}, {"card_error": "card metadata is not a mapping"}),
        ({"card_error": True}, {"card_error": "True"}),  # an error is an error, whatever its form
        ({"card_error": None}, {"card_error": None}),
    ],
)
def test_hub_facts_tolerate_malformed_values(upstream: dict[str, Any], expected: dict[str, Any]) -> None:
    hub = HubFacts.from_upstream(upstream)
    assert {name: getattr(hub, name) for name in expected} == expected


def test_hub_configs_are_copies() -> None:
    upstream = {"config": {"model_type": "bert"}}
    hub = HubFacts.from_upstream(upstream)
    assert hub.config == {"model_type": "bert"}
    assert hub.config is not upstream["config"]


def test_a_snapshot_reads_its_own_facts() -> None:
    snapshot = SourceSnapshot(
        ref=SourceRef(SourceKind.HF_MODEL, "https://huggingface.co/o/m", "o/m"), facts=dict(HUB_UPSTREAM)
    )
    assert snapshot.hub_facts() == HubFacts.from_upstream(HUB_UPSTREAM)
    assert snapshot.repository_facts() == RepositoryFacts()  # a Hub repository has no GitHub facts


# -- GitHub -------------------------------------------------------------------------------------


def test_repository_facts_from_a_github_snapshot() -> None:
    facts = RepositoryFacts.from_upstream(
        {
            "stargazers_count": 4200,
            "forks_count": 600,
            "open_issues_count": 12,
            "archived": False,
            "pushed_at": "2025-10-20T08:30:00Z",
            "contributors": [{"login": "alice", "contributions": 120}, {"login": "bob", "contributions": 3}],
        }
    )
    assert facts == RepositoryFacts(
        stars=4200,
        forks=600,
        open_issues=12,
        archived=False,
        pushed_at=datetime(2025, 10, 20, 8, 30, tzinfo=UTC),
        contributors=(Contributor("alice", 120), Contributor("bob", 3)),
    )


def test_repository_facts_tolerate_missing_and_malformed_values() -> None:
    assert RepositoryFacts.from_upstream({}) == RepositoryFacts()
    facts = RepositoryFacts.from_upstream(
        {
            "stargazers_count": "lots",
            "forks_count": None,
            "open_issues_count": [1],
            "archived": 1,
            "pushed_at": "2025-02-30T00:00:00Z",
            "contributors": [
                {"login": "alice", "contributions": "7"},
                {"name": "Anonymous Person", "contributions": 2},  # GitHub's anonymous contributor
                {"contributions": None},
                "carol",
                None,
            ],
        }
    )
    assert (facts.stars, facts.forks, facts.open_issues, facts.archived, facts.pushed_at) == (
        0,
        0,
        0,
        True,
        None,
    )
    assert facts.contributors == (
        Contributor("alice", 7),
        Contributor("Anonymous Person", 2),
        Contributor("anonymous", 0),
    )
    assert RepositoryFacts.from_upstream({"contributors": {"login": "x"}}).contributors == ()


def test_contributors_round_trip_through_their_stored_json() -> None:
    person = Contributor("alice", 120)
    assert Contributor.from_json(person.as_json()) == person


def _github(pulls: list[dict[str, Any]], files: dict[int, Any], reviews: dict[int, Any]) -> GitHubSource:
    answers: dict[str, Any] = {
        "/repos/o/r": {
            "full_name": "o/r",
            "default_branch": "main",
            "license": None,
            "stargazers_count": 42,
            "forks_count": 5,
            "open_issues_count": 2,
            "archived": True,
            "pushed_at": "2025-10-20T08:30:00Z",
        },
        "/repos/o/r/commits": [{"sha": HEAD}],
        "/repos/o/r/contributors": [
            {"login": "alice", "contributions": 10},
            {"name": "anon", "contributions": 1},
            "junk",
        ],
        f"/repos/o/r/git/trees/{HEAD}": {"tree": [], "truncated": False},
        "/repos/o/r/tags": [],
        "/repos/o/r/pulls": pulls,
        **{f"/repos/o/r/pulls/{n}/files": body for n, body in files.items()},
        **{f"/repos/o/r/pulls/{n}/reviews": body for n, body in reviews.items()},
    }

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/repos/o/r/readme":
            return httpx.Response(200, text="# r")
        return httpx.Response(200, json=answers[path]) if path in answers else httpx.Response(404)

    transport = httpx.MockTransport(handler)
    return GitHubSource(
        UpstreamClient("GitHub", "https://up.test", retries=1, backoff_s=0, transport=transport)
    )


def test_github_snapshot_facts_read_back_typed() -> None:
    source = _github([], {}, {})
    snapshot = source.inspect(SourceRef(SourceKind.GITHUB, "https://github.com/o/r", "o/r"))
    # Stored as JSON (the snapshot is persisted with a code artifact) ...
    assert snapshot.facts["contributors"] == [
        {"login": "alice", "contributions": 10},
        {"login": "anon", "contributions": 1},
    ]
    # ... and read back as records.
    assert snapshot.repository_facts() == RepositoryFacts(
        stars=42,
        forks=5,
        open_issues=2,
        archived=True,
        pushed_at=datetime(2025, 10, 20, 8, 30, tzinfo=UTC),
        contributors=(Contributor("alice", 10), Contributor("anon", 1)),
    )


def test_github_pull_requests_are_typed_records() -> None:
    pulls = [
        {"number": 3, "merged_at": "2025-10-01T00:00:00Z"},
        {"number": 2, "merged_at": None},  # closed unmerged: not in the window
        {"number": 1, "merged_at": "2025-09-01T00:00:00Z"},
    ]
    files = {
        3: [
            {"filename": "src/model.py", "additions": 40, "deletions": 2},
            {"filename": "model.safetensors", "additions": 1000, "deletions": 0},  # weights: not code
        ],
        1: [{"filename": "train.py", "additions": 5, "deletions": 5}],
    }
    reviews = {3: [{"state": "COMMENTED"}, {"state": "APPROVED"}], 1: [{"state": "CHANGES_REQUESTED"}]}
    found = _github(pulls, files, reviews).pull_requests("o/r")
    assert found == (PullRequest(3, True, 42), PullRequest(1, False, 10))
    assert _github([{"number": 2, "merged_at": None}], {}, {}).pull_requests("o/r") == ()
