"""Gathering a model's evidence: its stored metadata, plus what its linked code repository and
named datasets say upstream, plus the net scores of its registered parents.

Upstream reads go through the sources' shared cache; a linked repository or dataset that cannot
be read is recorded as such (the metrics see it as absent), while an upstream outage on the
model's own evidence is an error the engine reports.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, Protocol

from tmr.analysis.references import code_links, normalize
from tmr.artifacts.models import Artifact, ArtifactType, FileEntry
from tmr.errors import InvalidInput, NotFound, UpstreamUnavailable
from tmr.rating.evidence import (
    Contributor,
    DatasetEvidence,
    FileFact,
    ModelEvidence,
    PullRequestFact,
    RepositoryEvidence,
)
from tmr.sources.models import SourceSnapshot, UpstreamFile

log = logging.getLogger("tmr.rating")
MAX_DATASETS = 5


class EvidenceSources(Protocol):
    def inspect_cached(self, url: str, type_: ArtifactType) -> SourceSnapshot: ...

    def pull_requests(self, repo_id: str) -> list[dict[str, Any]]: ...


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _files(files: Iterable[FileEntry | UpstreamFile]) -> tuple[FileFact, ...]:
    facts = []
    for f in files:
        safety = f.safety if isinstance(f, FileEntry) else None
        reasons = tuple(str(r) for r in (safety or {}).get("reasons") or ())
        facts.append(FileFact(f.path, f.size, f.kind.value, bool(safety and safety.get("unsafe")), reasons))
    return tuple(facts)


class EvidenceGatherer:
    def __init__(
        self,
        sources: EvidenceSources,
        is_registered: Callable[[str], bool],
        parent_scores: Callable[[Artifact], list[float]],
    ) -> None:
        self._sources = sources
        self._is_registered = is_registered
        self._parent_scores = parent_scores

    def gather(self, artifact: Artifact) -> ModelEvidence:
        facts = artifact.upstream
        links = code_links(artifact.readme)
        named = facts.get("card_datasets") or artifact.card.get("datasets") or []
        datasets = [d for d in (named if isinstance(named, list) else [named]) if isinstance(d, str)]
        with ThreadPoolExecutor(max_workers=1 + min(MAX_DATASETS, len(datasets) or 1)) as pool:
            repo_future = pool.submit(self.repository, links[0]) if links else None
            dataset_futures = [pool.submit(self.dataset, name) for name in datasets[:MAX_DATASETS]]
            repository = repo_future.result() if repo_future else None
            dataset_evidence = tuple(f.result() for f in dataset_futures)
        return ModelEvidence(
            name=artifact.name,
            url=artifact.url,
            readme=artifact.readme,
            card=artifact.card,
            card_error=facts.get("card_error"),
            license=artifact.license,
            downloads=int(facts.get("downloads") or 0),
            likes=int(facts.get("likes") or 0),
            tags=tuple(t for t in facts.get("tags") or [] if isinstance(t, str)),
            pipeline_tag=facts.get("pipeline_tag"),
            library_name=facts.get("library_name"),
            config=facts.get("config") if isinstance(facts.get("config"), dict) else None,
            adapter_config=facts.get("adapter_config")
            if isinstance(facts.get("adapter_config"), dict)
            else None,
            files=_files(artifact.files),
            repository=repository,
            datasets=dataset_evidence,
            parent_net_scores=tuple(self._parent_scores(artifact)),
            last_modified=_time(facts.get("lastModified")),
            observed_at=datetime.now(UTC),
        )

    def repository(self, url: str) -> RepositoryEvidence | None:
        """The linked GitHub repository, or None when it does not exist upstream."""
        try:
            snapshot = self._sources.inspect_cached(url, ArtifactType.CODE)
        except (NotFound, InvalidInput):
            return None
        facts = snapshot.facts
        # An upstream failure here fails the rating (reported, retried on the next request)
        # rather than passing off an unread review history as "not applicable".
        try:
            pulls: tuple[PullRequestFact, ...] = tuple(
                PullRequestFact(int(p["number"]), bool(p["approved"]), int(p["code_lines"]))
                for p in self._sources.pull_requests(snapshot.ref.repo_id)
            )
        except NotFound:
            pulls = ()  # pull requests disabled: nothing entered through review
        return RepositoryEvidence(
            url=url,
            full_name=snapshot.ref.repo_id,
            license=snapshot.license,
            readme=snapshot.readme,
            stars=int(facts.get("stargazers_count") or 0),
            forks=int(facts.get("forks_count") or 0),
            open_issues=int(facts.get("open_issues_count") or 0),
            archived=bool(facts.get("archived")),
            pushed_at=_time(facts.get("pushed_at")),
            contributors=tuple(
                Contributor(str(c["login"]), int(c["contributions"])) for c in facts.get("contributors") or []
            ),
            files=_files(snapshot.files),
            pulls=pulls,
        )

    def dataset(self, name: str) -> DatasetEvidence:
        key = normalize(name) or name
        url = name if name.startswith("http") else f"https://huggingface.co/datasets/{key}"
        registered = self._is_registered(key)
        try:
            snapshot = self._sources.inspect_cached(url, ArtifactType.DATASET)
        except (NotFound, InvalidInput, UpstreamUnavailable):
            return DatasetEvidence(name=name, url=None, registered=registered)
        return DatasetEvidence(
            name=name,
            url=url,
            card=snapshot.card,
            readme=snapshot.readme,
            license=snapshot.license,
            downloads=int(snapshot.facts.get("downloads") or 0),
            likes=int(snapshot.facts.get("likes") or 0),
            files=_files(snapshot.files),
            registered=registered,
        )
