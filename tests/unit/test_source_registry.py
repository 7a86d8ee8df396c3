"""Dispatch of source URLs with stand-in Hugging Face and GitHub sources: each URL goes to its own
source, other hosts are never fetched, and rating evidence is shared through the caches."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from tmr.artifacts.models import ArtifactType, FileKind
from tmr.sources.facts import PullRequest
from tmr.sources.models import SourceKind, SourceRef, SourceSnapshot, UpstreamFile
from tmr.sources.registry import SourceRegistry


@dataclass
class Source:
    name: str
    inspected: list[str] = field(default_factory=list)
    pulls_asked: list[str] = field(default_factory=list)
    closed: bool = False

    def inspect(self, ref: SourceRef) -> SourceSnapshot:
        self.inspected.append(ref.url)
        return SourceSnapshot(ref=ref, readme=self.name)

    def pull_requests(self, repo_id: str) -> tuple[PullRequest, ...]:
        self.pulls_asked.append(repo_id)
        return ()

    def open(self, file: UpstreamFile) -> Iterator[bytes]:
        return iter([self.name.encode()])

    def open_many(self, files: Iterable[UpstreamFile]) -> Iterator[tuple[UpstreamFile, Iterator[bytes]]]:
        for file in files:
            yield file, iter([b"gh:" + file.path.encode()])


@dataclass
class Client:
    closed: bool = False

    def close(self) -> None:
        self.closed = True


def _registry() -> tuple[SourceRegistry, Source, Source, list[Client]]:
    hf, gh = Source("hf"), Source("gh")
    clients = [Client(), Client()]
    return SourceRegistry(hf, gh, clients), hf, gh, clients  # type: ignore[arg-type]


def test_urls_go_to_their_own_source() -> None:
    registry, hf, gh, _ = _registry()
    model = registry.parse("https://huggingface.co/google-bert/bert-base-uncased", ArtifactType.MODEL)
    assert model.kind is SourceKind.HF_MODEL
    assert model.repo_id == "google-bert/bert-base-uncased"
    assert registry.inspect(model).readme == "hf"
    code = registry.parse("https://github.com/acme/trainer", ArtifactType.CODE)
    assert registry.inspect(code).readme == "gh"
    assert hf.inspected == ["https://huggingface.co/google-bert/bert-base-uncased"]
    assert gh.inspected == ["https://github.com/acme/trainer"]


def test_other_hosts_are_described_but_never_fetched() -> None:
    registry, hf, gh, _ = _registry()
    ref = registry.parse("https://example.org/weights/model.bin", ArtifactType.MODEL)
    snapshot = registry.inspect(ref)
    assert snapshot.facts == {"host": "example.org"}
    assert snapshot.notes == (
        "registered from its URL alone: example.org is not an upstream tmr inspects, "
        "so no card, license or files are known",
    )
    assert hf.inspected == []
    assert gh.inspected == []


def test_rating_evidence_is_fetched_once_per_repository() -> None:
    registry, hf, gh, _ = _registry()
    for _ in range(3):
        registry.inspect_cached("https://huggingface.co/datasets/nyu-mll/glue", ArtifactType.DATASET)
    assert len(hf.inspected) == 1
    registry.pull_requests("Acme/Trainer")
    registry.pull_requests("acme/trainer")
    assert gh.pulls_asked == ["Acme/Trainer"]


def test_files_are_opened_by_their_source() -> None:
    registry, _, _, _ = _registry()
    files = [UpstreamFile("a.bin", 1, FileKind.WEIGHTS, "")]
    [(_, gh_chunks)] = list(registry.open_files(SourceKind.GITHUB, files))
    assert list(gh_chunks) == [b"gh:a.bin"]
    [(_, hf_chunks)] = list(registry.open_files(SourceKind.HF_MODEL, files))
    assert list(hf_chunks) == [b"hf"]


def test_close_closes_every_client() -> None:
    registry, _, _, clients = _registry()
    assert registry.clients() == clients
    registry.close()
    assert [c.closed for c in clients] == [True, True]
