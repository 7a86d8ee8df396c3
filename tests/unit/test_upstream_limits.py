"""Issue 11: every upstream body is read as it streams and refused at its cap, never read whole
first; a private or gated upstream is reported as such; API paths are built from checked,
quoted parts whoever built the reference."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from tmr.artifacts.building import describe
from tmr.artifacts.models import ArtifactType, FileKind, Visibility
from tmr.errors import InvalidInput, UpstreamTooLarge
from tmr.sources.github import GitHubSource
from tmr.sources.http import UpstreamClient
from tmr.sources.huggingface import HuggingFaceSource, is_restricted
from tmr.sources.models import SourceKind, SourceRef, SourceSnapshot, UpstreamFile

CHUNK = 64 * 1024
# At most the limit and one read buffer (1 MiB) are pulled before the refusal.
PULLED_AT_MOST = 10 + (1024 * 1024) // CHUNK + 1


class Endless(httpx.SyncByteStream):
    """A body that never ends: pulling more than `allowed` chunks fails the test, so a reader
    that buffers the whole answer before checking its size is caught without hanging."""

    def __init__(self, allowed: int) -> None:
        self.allowed = allowed
        self.pulled = 0

    def __iter__(self) -> Iterator[bytes]:
        while True:
            self.pulled += 1
            assert self.pulled <= self.allowed, "the body was read past its cap"
            yield b"x" * CHUNK


def client(handler: Callable[[httpx.Request], httpx.Response], **options: int) -> UpstreamClient:
    return UpstreamClient(
        "Up", "https://up.test", retries=0, transport=httpx.MockTransport(handler), **options
    )


def test_an_api_answer_without_a_length_is_refused_at_the_body_limit() -> None:
    body = Endless(allowed=PULLED_AT_MOST)
    up = client(lambda _r: httpx.Response(200, stream=body), body_limit=10 * CHUNK)
    with pytest.raises(UpstreamTooLarge, match="TMR_UPSTREAM_BODY_LIMIT"):
        up.get_json("/api/models/a/b")
    assert body.pulled <= PULLED_AT_MOST


def test_an_api_answer_declaring_a_larger_length_is_refused_unread() -> None:
    body = Endless(allowed=0)
    answer = lambda _r: httpx.Response(200, headers={"Content-Length": str(1 << 40)}, stream=body)  # noqa: E731
    with pytest.raises(UpstreamTooLarge):
        client(answer, body_limit=CHUNK).request("GET", "/repos/o/r")
    assert body.pulled == 0


def test_an_answer_within_the_limit_reads_as_before() -> None:
    up = client(
        lambda _r: httpx.Response(200, json={"a": 1}, headers={"Link": '<https://x/?page=2>; rel="next"'})
    )
    response = up.request("GET", "/repos/o/r", limit=100)
    assert response.json() == {"a": 1}
    assert "next" in response.links


def test_a_github_archive_is_spooled_only_up_to_its_limit() -> None:
    body = Endless(allowed=PULLED_AT_MOST)
    source = GitHubSource(client(lambda _r: httpx.Response(200, stream=body)), archive_limit=10 * CHUNK)
    wanted = UpstreamFile("a.py", 1, FileKind.CODE, "https://up.test/repos/o/r/zipball/abc")
    with pytest.raises(UpstreamTooLarge, match="TMR_UPSTREAM_ARCHIVE_LIMIT"):
        list(source.open_many([wanted]))
    assert body.pulled <= PULLED_AT_MOST


def test_a_github_readme_over_the_limit_is_a_note() -> None:
    body = Endless(allowed=PULLED_AT_MOST)

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/readme"):
            return httpx.Response(200, stream=body)
        if request.url.path.endswith("/commits"):
            return httpx.Response(200, json=[{"sha": "c0ffee"}])
        if request.url.path.endswith("/git/trees/c0ffee"):
            return httpx.Response(200, json={"tree": []})
        if request.url.path == "/repos/o/r":
            return httpx.Response(200, json={"default_branch": "main", "private": True})
        return httpx.Response(404)

    source = GitHubSource(client(handler), readme_limit=10 * CHUNK)
    snapshot = source.inspect(SourceRef(SourceKind.GITHUB, "https://github.com/o/r", "o/r"))
    assert snapshot.readme == ""
    assert any("README" in note and "TMR_EAGER_FILE_LIMIT" in note for note in snapshot.notes)
    assert body.pulled <= PULLED_AT_MOST
    assert snapshot.private


def test_an_eager_file_is_never_read_past_the_eager_limit() -> None:
    body = Endless(allowed=PULLED_AT_MOST)
    source = HuggingFaceSource(client(lambda _r: httpx.Response(200, stream=body)), eager_limit=10 * CHUNK)
    listed_small = UpstreamFile(
        "config.json", 1 << 30, FileKind.CONFIG, "https://up.test/a/b/resolve/c/config.json"
    )
    with pytest.raises(UpstreamTooLarge, match="TMR_EAGER_FILE_LIMIT"):
        source._download(listed_small)
    assert body.pulled <= PULLED_AT_MOST


@pytest.mark.parametrize(
    ("info", "restricted"),
    [
        ({"private": False, "gated": False}, False),
        ({}, False),
        ({"private": True, "gated": False}, True),
        ({"private": False, "gated": "manual"}, True),
        ({"private": False, "gated": "auto"}, True),
    ],
)
def test_hub_privacy_is_read_from_private_and_gated(info: dict[str, object], restricted: bool) -> None:
    assert is_restricted(info) is restricted


def test_a_private_snapshot_describes_a_private_artifact() -> None:
    ref = SourceRef(SourceKind.HF_MODEL, "https://huggingface.co/o/m", "o/m")
    assert describe(
        ArtifactType.MODEL, "m", ref.url, SourceSnapshot(ref, private=True)
    ).artifact.visibility is (Visibility.PRIVATE)
    assert (
        describe(ArtifactType.MODEL, "m", ref.url, SourceSnapshot(ref)).artifact.visibility
        is Visibility.PUBLIC
    )


@pytest.mark.parametrize("repo_id", ["o/../../x", "o/m%2F..", "../x", "o/m/resolve"])
def test_sources_refuse_a_reference_they_did_not_parse(repo_id: str) -> None:
    """A reference built by hand (not through the URL parser) still never reaches the network."""

    def refuse(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"no request expected, got {request.url}")

    hub = HuggingFaceSource(client(refuse), eager_limit=CHUNK)
    github = GitHubSource(client(refuse))
    with pytest.raises(InvalidInput):
        hub.inspect(SourceRef(SourceKind.HF_MODEL, "u", repo_id))
    with pytest.raises(InvalidInput):
        github.inspect(SourceRef(SourceKind.GITHUB, "u", repo_id))
    with pytest.raises(InvalidInput):
        github.pull_requests(repo_id)


def test_hub_file_paths_leaving_the_repository_are_left_out_with_a_note() -> None:
    info = {
        "sha": "c0ffee",
        "siblings": [
            {"rfilename": "../../../api/whoami-v2", "size": 3, "blobId": "ab"},
            {"rfilename": "ok/weights.bin", "size": 3, "lfs": {"sha256": "00", "size": 3}},
        ],
    }

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/models/o/m":
            return httpx.Response(200, json=info)
        return httpx.Response(404)

    snapshot = HuggingFaceSource(client(handler), eager_limit=CHUNK).inspect(
        SourceRef(SourceKind.HF_MODEL, "https://huggingface.co/o/m", "o/m")
    )
    assert [f.path for f in snapshot.files] == ["ok/weights.bin"]
    assert any("leaves the repository" in note for note in snapshot.notes)
