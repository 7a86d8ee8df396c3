"""Gathering a model's evidence: its stored metadata, plus what its linked code repository and
named datasets say upstream, plus the net scores of its registered parents.

Upstream facts are read through the typed records of `tmr.sources.facts` (`HubFacts`,
`RepositoryFacts`, `PullRequest`), never by the Hub's or GitHub's field names. The keys read here
directly are the model card's own YAML metadata (`datasets`), which is card content.

Upstream reads go through the sources' shared cache; a linked repository or dataset that cannot
be read is recorded as such (the metrics see it as absent), while an upstream outage on the
model's own evidence is an error the engine reports.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Protocol

from tmr.analysis.references import code_links, normalize
from tmr.artifacts.models import Artifact, ArtifactType, FileEntry
from tmr.errors import InvalidInput, NotFound, UpstreamUnavailable
from tmr.rating.evidence import DatasetEvidence, FileFact, ModelEvidence, RepositoryEvidence
from tmr.sources.facts import HubFacts, PullRequest
from tmr.sources.models import SourceSnapshot, UpstreamFile

MAX_DATASETS = 5


class EvidenceSources(Protocol):
    def inspect_cached(self, url: str, type_: ArtifactType) -> SourceSnapshot: ...

    def pull_requests(self, repo_id: str) -> Sequence[PullRequest]: ...


def _files(files: Iterable[FileEntry | UpstreamFile]) -> tuple[FileFact, ...]:
    """The files as the metrics see them, with the safety verdict of those already judged."""
    facts = []
    for f in files:
        if isinstance(f, FileEntry):
            reasons = tuple(str(r) for r in (f.safety or {}).get("reasons") or ())
            facts.append(FileFact(f.path, f.size, f.kind.value, f.unsafe, reasons))
        else:
            facts.append(FileFact(f.path, f.size, f.kind.value))
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
        hub = HubFacts.from_upstream(artifact.upstream)
        links = code_links(artifact.readme)
        named = artifact.card.get("datasets") or []
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
            card_error=hub.card_error,
            license=artifact.license,
            downloads=hub.downloads,
            likes=hub.likes,
            tags=hub.tags,
            pipeline_tag=hub.pipeline_tag,
            library_name=hub.library_name,
            config=hub.config,
            adapter_config=hub.adapter_config,
            files=_files(artifact.files),
            repository=repository,
            datasets=dataset_evidence,
            parent_net_scores=tuple(self._parent_scores(artifact)),
            last_modified=hub.last_modified,
            observed_at=datetime.now(UTC),
        )

    def repository(self, url: str) -> RepositoryEvidence | None:
        """The linked GitHub repository, or None when it does not exist upstream."""
        try:
            snapshot = self._sources.inspect_cached(url, ArtifactType.CODE)
        except (NotFound, InvalidInput):
            return None
        facts = snapshot.repository_facts()
        # An upstream failure here fails the rating (reported, retried on the next request)
        # rather than passing off an unread review history as "not applicable".
        try:
            pulls = tuple(self._sources.pull_requests(snapshot.ref.repo_id))
        except NotFound:
            pulls = ()  # pull requests disabled: nothing entered through review
        return RepositoryEvidence(
            url=url,
            full_name=snapshot.ref.repo_id,
            license=snapshot.license,
            readme=snapshot.readme,
            stars=facts.stars,
            forks=facts.forks,
            open_issues=facts.open_issues,
            archived=facts.archived,
            pushed_at=facts.pushed_at,
            contributors=facts.contributors,
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
        hub = snapshot.hub_facts()
        return DatasetEvidence(
            name=name,
            url=url,
            card=snapshot.card,
            readme=snapshot.readme,
            license=snapshot.license,
            downloads=hub.downloads,
            likes=hub.likes,
            files=_files(snapshot.files),
            registered=registered,
        )
