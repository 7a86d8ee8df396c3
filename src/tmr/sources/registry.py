"""Which source handles a URL, and the one place upstream clients are built from settings."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from tmr.artifacts.models import ArtifactType
from tmr.settings import Settings
from tmr.sources.cache import TTLCache
from tmr.sources.facts import PullRequest
from tmr.sources.github import GitHubSource
from tmr.sources.http import UpstreamClient
from tmr.sources.huggingface import HuggingFaceSource
from tmr.sources.models import SourceKind, SourceRef, SourceSnapshot, UpstreamFile
from tmr.sources.urls import parse_source_url


class SourceRegistry:
    """Dispatches by URL to the Hugging Face or GitHub source; other URLs are never fetched (a
    registry that fetched any URL it was handed would be a server-side request forgery tool)."""

    def __init__(self, hf: HuggingFaceSource, github: GitHubSource, clients: list[UpstreamClient]) -> None:
        self.hf = hf
        self.github = github
        self._clients = clients
        self._snapshots: TTLCache[SourceSnapshot] = TTLCache()
        self._pulls: TTLCache[tuple[PullRequest, ...]] = TTLCache()

    @classmethod
    def from_settings(cls, settings: Settings) -> SourceRegistry:
        def client(name: str, url: str, token: str | None) -> UpstreamClient:
            return UpstreamClient(
                name,
                url,
                token=token,
                timeout_s=settings.upstream_timeout_s,
                retries=settings.upstream_retries,
                backoff_s=settings.upstream_backoff_s,
                body_limit=settings.upstream_body_limit,
            )

        hf_client = client("Hugging Face", settings.hf_endpoint, settings.hf_token)
        gh_client = client("GitHub", settings.github_api_url, settings.github_token)
        return cls(
            HuggingFaceSource(hf_client, eager_limit=settings.eager_file_limit),
            GitHubSource(
                gh_client,
                readme_limit=settings.eager_file_limit,
                archive_limit=settings.upstream_archive_limit,
            ),
            [hf_client, gh_client],
        )

    def close(self) -> None:
        for client in self._clients:
            client.close()

    def parse(self, url: str, type_: ArtifactType) -> SourceRef:
        return parse_source_url(url, want_dataset=type_ is ArtifactType.DATASET)

    def inspect(self, ref: SourceRef) -> SourceSnapshot:
        if ref.kind in (SourceKind.HF_MODEL, SourceKind.HF_DATASET):
            return self.hf.inspect(ref)
        if ref.kind is SourceKind.GITHUB:
            return self.github.inspect(ref)
        return SourceSnapshot(
            ref=ref,
            facts={"host": ref.host},
            notes=(
                f"registered from its URL alone: {ref.host} is not an upstream tmr inspects, "
                "so no card, license or files are known",
            ),
        )

    def inspect_cached(self, url: str, type_: ArtifactType) -> SourceSnapshot:
        """An upstream's snapshot for rating evidence (linked datasets and code), shared by
        concurrent ratings and kept for a few minutes."""
        ref = self.parse(url, type_)
        return self._snapshots.get_or_compute(
            f"{ref.kind}:{ref.repo_id}:{ref.revision}", lambda: self.inspect(ref)
        )

    def pull_requests(self, repo_id: str) -> tuple[PullRequest, ...]:
        """Recent merged pull requests of a GitHub repository with review and size facts."""
        return self._pulls.get_or_compute(repo_id.lower(), lambda: self.github.pull_requests(repo_id))

    def open_files(
        self, kind: SourceKind, files: Iterable[UpstreamFile]
    ) -> Iterator[tuple[UpstreamFile, Iterator[bytes]]]:
        """Checked bytes of upstream files, for mirroring on first download."""
        if kind is SourceKind.GITHUB:
            yield from self.github.open_many(files)
            return
        for file in files:
            yield file, self.hf.open(file)

    def clients(self) -> list[UpstreamClient]:
        return list(self._clients)
