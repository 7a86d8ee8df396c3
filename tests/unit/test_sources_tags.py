"""Versions from git tags: the rule (tmr.sources.tags), and how each source reads tags and degrades,
with the upstreams played by an in-memory httpx transport."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tmr.errors import UpstreamUnavailable
from tmr.search.versions import normalize_version, version_or_none
from tmr.sources.github import MAX_TAG_PAGES, GitHubSource
from tmr.sources.http import UpstreamClient
from tmr.sources.huggingface import HuggingFaceSource
from tmr.sources.models import SourceKind, SourceRef
from tmr.sources.tags import GitTag, newest_version, pinned_version, read_tags, version_tags

HEAD = "a" * 40
OLD = "b" * 40


def tags(**by_name: str) -> list[GitTag]:
    return [GitTag(name, commit) for name, commit in by_name.items()]


# -- the rule ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "version"),
    [
        ("v1.2.0", "1.2.0"),
        ("V1.2", "1.2.0"),
        ("1", "1.0.0"),
        ("1.2", "1.2.0"),
        ("v2.0.0-rc.1", "2.0.0-rc.1"),
        ("1.0.0+build.5", "1.0.0+build.5"),
        ("v20240930", "20240930.0.0"),
        ("release-candidate", None),
        ("nightly", None),
        ("v1.2-rc.1", None),  # a pre-release needs all three parts
        ("01.2.3", None),
        ("v1.2.3.4", None),
        ("", None),
        ("1" * 80, None),  # too long to be a version
    ],
)
def test_version_or_none(tag: str, version: str | None) -> None:
    assert version_or_none(tag) == version
    if version is not None:
        assert normalize_version(tag) == version


def test_version_tags_skip_other_tags_and_sort_by_precedence() -> None:
    found = version_tags(tags(**{"v1.10.0": HEAD, "v1.9.0": HEAD, "stable": HEAD, "v1.10.0-rc.1": OLD}))
    assert [t.version for t in found] == ["1.9.0", "1.10.0-rc.1", "1.10.0"]
    assert [t.tag for t in found] == ["v1.9.0", "v1.10.0-rc.1", "v1.10.0"]


def test_the_highest_version_tag_of_the_pinned_commit_wins() -> None:
    listed = tags(**{"v1.0.0": OLD, "v1.1.0": HEAD, "v1.9": HEAD, "v1.10": HEAD, "latest": HEAD})
    pinned = pinned_version(listed, HEAD)
    assert pinned is not None
    assert (pinned.tag, pinned.version, pinned.commit) == ("v1.10", "1.10.0", HEAD)
    older = pinned_version(listed, OLD)
    assert older is not None
    assert older.version == "1.0.0"


def test_a_pre_release_above_a_release_of_the_same_commit_is_higher() -> None:
    pinned = pinned_version(tags(**{"v1.0.0": HEAD, "v1.0.1-rc.1": HEAD}), HEAD)
    assert pinned is not None
    assert pinned.version == "1.0.1-rc.1"


def test_the_tag_the_url_names_wins_over_higher_tags_of_the_same_commit() -> None:
    listed = tags(**{"v1.0.0": HEAD, "v1.1.0": HEAD})
    named = pinned_version(listed, HEAD, "v1.0.0")
    assert named is not None
    assert named.tag == "v1.0.0"
    assert pinned_version(listed, HEAD, "refs/tags/v1.0.0") == named
    highest = pinned_version(listed, HEAD, "main")
    assert highest is not None
    assert highest.tag == "v1.1.0"


def test_a_named_tag_that_moved_away_from_the_pinned_commit_does_not_count() -> None:
    pinned = pinned_version(tags(**{"v1.0.0": OLD, "v1.1.0": HEAD}), HEAD, "v1.0.0")
    assert pinned is not None
    assert pinned.tag == "v1.1.0"


def test_equal_versions_spelled_differently_choose_a_stable_tag() -> None:
    one = pinned_version(tags(**{"v1.2": HEAD, "1.2.0": HEAD}), HEAD)
    other = pinned_version(tags(**{"1.2.0": HEAD, "v1.2": HEAD}), HEAD)
    assert one == other
    assert one is not None
    assert one.version == "1.2.0"


def test_no_version_tag_at_the_commit_means_no_version() -> None:
    assert pinned_version(tags(**{"v1.0.0": OLD, "nightly": HEAD}), HEAD) is None
    assert pinned_version([], HEAD) is None


def test_newest_version_prefers_releases() -> None:
    newest = newest_version(tags(**{"v1.0.0": OLD, "v2.0.0-rc.1": HEAD, "v1.1.0": OLD}))
    assert newest is not None
    assert newest.as_fact() == {"tag": "v1.1.0", "version": "1.1.0", "commit": OLD}
    only_pre = newest_version(tags(**{"v2.0.0-rc.1": HEAD, "v2.0.0-beta": OLD}))
    assert only_pre is not None
    assert only_pre.version == "2.0.0-rc.1"
    assert newest_version(tags(nightly=HEAD)) is None


def test_read_tags_gives_the_version_and_the_facts() -> None:
    reading = read_tags(tags(**{"v1.0.0": OLD, "v1.1.0": HEAD}), HEAD)
    assert reading.version == "1.1.0"
    assert reading.facts["version_tag"] == {"tag": "v1.1.0", "version": "1.1.0", "commit": HEAD}
    assert reading.facts["latest_version_tag"]["tag"] == "v1.1.0"

    behind = read_tags(tags(**{"v1.0.0": OLD, "v0.9.0": OLD}), HEAD)
    assert behind.version is None
    assert "version_tag" not in behind.facts
    assert behind.facts["latest_version_tag"] == {"tag": "v1.0.0", "version": "1.0.0", "commit": OLD}

    none = read_tags(tags(**{"release-candidate": HEAD}), HEAD)
    assert none.version is None
    assert none.facts == {}


# -- the sources, over an in-memory upstream ----------------------------------------------------

Handler = Callable[[httpx.Request], httpx.Response]


def client(handler: Handler, name: str) -> UpstreamClient:
    return UpstreamClient(
        name, "https://up.test", retries=1, backoff_s=0, transport=httpx.MockTransport(handler)
    )


def hub(refs: httpx.Response) -> tuple[HuggingFaceSource, list[str]]:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.path == "/api/models/o/m":
            return httpx.Response(200, json={"id": "o/m", "sha": HEAD, "siblings": []})
        if request.url.path == "/api/models/o/m/refs":
            return refs
        return httpx.Response(404)

    return HuggingFaceSource(client(handler, "Hugging Face"), eager_limit=1024), seen


HF_REF = SourceRef(SourceKind.HF_MODEL, "https://huggingface.co/o/m", "o/m")


def test_hub_version_from_one_refs_call() -> None:
    refs = {
        "branches": [{"name": "main", "ref": "refs/heads/main", "targetCommit": HEAD}],
        "converts": [],
        "tags": [
            {"name": "v1.0.0", "ref": "refs/tags/v1.0.0", "targetCommit": OLD},
            {"name": "v1.1.0", "ref": "refs/tags/v1.1.0", "targetCommit": HEAD},
        ],
    }
    source, seen = hub(httpx.Response(200, json=refs))
    snapshot = source.inspect(HF_REF)
    assert snapshot.version == "1.1.0"
    assert snapshot.facts["version_tag"]["tag"] == "v1.1.0"
    assert seen.count("/api/models/o/m/refs") == 1


@pytest.mark.parametrize("status", [401, 403, 404])
def test_a_hub_that_cannot_list_refs_costs_the_version_not_the_registration(status: int) -> None:
    source, _ = hub(httpx.Response(status, json={"error": "nope"}))
    snapshot = source.inspect(HF_REF)
    assert snapshot.version is None
    assert any("git tags" in note and str(status) in note for note in snapshot.notes)


def test_a_hub_outage_on_refs_fails_like_any_other_call() -> None:
    source, _ = hub(httpx.Response(503))
    with pytest.raises(UpstreamUnavailable):
        source.inspect(HF_REF)


def test_hub_refs_in_an_unexpected_shape_give_no_version() -> None:
    source, _ = hub(httpx.Response(200, json={"tags": [{"name": "v1.0.0"}, "junk", {"targetCommit": HEAD}]}))
    snapshot = source.inspect(HF_REF)
    assert snapshot.version is None
    assert not any("git tags" in note for note in snapshot.notes)


def github(tag_pages: Callable[[int], httpx.Response]) -> tuple[GitHubSource, list[int]]:
    pages: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        answers: dict[str, Any] = {
            "/repos/o/r": {"full_name": "o/r", "default_branch": "main", "license": None},
            "/repos/o/r/commits": [{"sha": HEAD}],
            "/repos/o/r/readme": "# r",
            "/repos/o/r/contributors": [],
            f"/repos/o/r/git/trees/{HEAD}": {"tree": [], "truncated": False},
        }
        if path == "/repos/o/r/tags":
            page = int(request.url.params.get("page", "1"))
            pages.append(page)
            return tag_pages(page)
        if path == "/repos/o/r/readme":
            return httpx.Response(200, text=answers[path])
        return httpx.Response(200, json=answers[path]) if path in answers else httpx.Response(404)

    return GitHubSource(client(handler, "GitHub")), pages


GH_REF = SourceRef(SourceKind.GITHUB, "https://github.com/o/r", "o/r")


def tag_page(names: list[str], commit: str, more: bool) -> httpx.Response:
    link = {"Link": '<https://up.test/repos/o/r/tags?page=9>; rel="next"'} if more else {}
    body = [{"name": n, "commit": {"sha": commit}} for n in names]
    return httpx.Response(200, json=body, headers=link)


def test_github_reads_tag_pages_until_the_last() -> None:
    def pages(page: int) -> httpx.Response:
        if page == 1:
            return tag_page([f"v0.{i}.0" for i in range(100)], OLD, more=True)
        return tag_page(["v1.0.0", "v1.0"], HEAD, more=False)

    source, seen = github(pages)
    snapshot = source.inspect(GH_REF)
    assert seen == [1, 2]
    assert snapshot.version == "1.0.0"
    assert snapshot.facts["latest_version_tag"]["commit"] == HEAD
    assert not any("tags" in note for note in snapshot.notes)


def test_github_tag_pages_are_capped_with_a_note() -> None:
    source, seen = github(lambda page: tag_page([f"v0.0.{page * 100 + i}" for i in range(100)], OLD, True))
    snapshot = source.inspect(GH_REF)
    assert seen == list(range(1, MAX_TAG_PAGES + 1))
    assert snapshot.version is None
    assert snapshot.facts["latest_version_tag"]["version"] == f"0.0.{MAX_TAG_PAGES * 100 + 99}"
    assert any("first 1000 tags" in note for note in snapshot.notes)


def test_github_404_on_tags_means_no_version_and_an_outage_fails() -> None:
    source, _ = github(lambda page: httpx.Response(404, json={"message": "Not Found"}))
    snapshot = source.inspect(GH_REF)
    assert snapshot.version is None
    assert any("tags" in note for note in snapshot.notes)
    failing, _ = github(lambda page: httpx.Response(502))
    with pytest.raises(UpstreamUnavailable):
        failing.inspect(GH_REF)


def test_github_tags_that_are_not_json_are_an_upstream_failure() -> None:
    source, _ = github(lambda page: httpx.Response(200, content=b"<html>", headers={"Link": ""}))
    with pytest.raises(UpstreamUnavailable):
        source.inspect(GH_REF)
