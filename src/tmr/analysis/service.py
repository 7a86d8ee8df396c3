"""The trust analyses as use cases: lineage, size cost and license compatibility, each answered
from the registry as the asking principal may see it (others' private artifacts are neither
shown nor walked through)."""

from __future__ import annotations

from typing import Protocol

from tmr.accounts.models import Principal
from tmr.accounts.permissions import scope_for
from tmr.analysis.compatibility import Verdict, check_strings
from tmr.analysis.lineage import Graph, LineageStore, lineage_graph, size_cost
from tmr.artifacts.models import ArtifactType
from tmr.artifacts.service import ArtifactService
from tmr.errors import InvalidInput, NotFound, UpstreamUnavailable
from tmr.sources.models import SourceKind, SourceRef, SourceSnapshot


class LicenseSources(Protocol):
    def parse(self, url: str, type_: ArtifactType) -> SourceRef: ...

    def inspect_cached(self, url: str, type_: ArtifactType) -> SourceSnapshot: ...


class AnalysisService:
    def __init__(self, artifacts: ArtifactService, store: LineageStore, sources: LicenseSources) -> None:
        self._artifacts = artifacts
        self._store = store
        self._sources = sources

    def lineage(self, principal: Principal, model_id: str) -> Graph:
        """The connected lineage graph around a model; 400 when its lineage metadata is malformed
        (noted at registration)."""
        artifact = self._artifacts.get(principal, ArtifactType.MODEL, model_id)
        error = artifact.upstream.get("lineage_error")
        if error:
            raise InvalidInput(f"the lineage graph cannot be computed: {error}")
        return lineage_graph(self._store, artifact, scope_for(principal))

    def cost(
        self, principal: Principal, type_: ArtifactType, artifact_id: str, *, dependencies: bool
    ) -> dict[str, dict[str, float]]:
        """Download size in MB, alone or with every dependency counted once."""
        artifact = self._artifacts.get(principal, type_, artifact_id)
        return size_cost(self._store, artifact, dependencies, scope_for(principal))

    def license_check(self, principal: Principal, model_id: str, github_url: str) -> Verdict:
        """Whether the model's license and a GitHub project's allow fine-tuning the model with the
        project and using the result for inference (docs/licensing.md)."""
        artifact = self._artifacts.get(principal, ArtifactType.MODEL, model_id)
        ref = self._sources.parse(github_url, ArtifactType.CODE)
        if ref.kind is not SourceKind.GITHUB:
            raise InvalidInput("github_url must be a GitHub repository URL")
        try:
            snapshot = self._sources.inspect_cached(github_url, ArtifactType.CODE)
        except NotFound as exc:
            raise NotFound(f"GitHub project not found: {github_url}") from exc
        except UpstreamUnavailable as exc:
            # The contract answers this route's upstream failures, an outage too, with 502.
            raise UpstreamUnavailable(
                f"the GitHub project's license could not be retrieved: {exc.message}",
                component=exc.details.get("component", "upstream:github"),
            ) from exc
        return check_strings(artifact.license, snapshot.license)
