"""Contract routes of the trust analyses: lineage and size cost (rating and licenses live in
their own modules)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from tmr.api.deps import RegistryDep, TypeDep, UserDep
from tmr.api.routing import JsonBodyRoute

router = APIRouter(tags=["analysis"], route_class=JsonBodyRoute)


@router.get("/artifact/model/{id}/lineage")
def lineage(user: UserDep, registry: RegistryDep, id: str) -> dict[str, Any]:
    graph = registry.analysis.lineage(user, id)
    return {
        "nodes": [
            {
                # The contract's ArtifactLineageNode requires `node` (and nothing else) without
                # describing it; the node's identity is the one value every node has.
                "node": node.id,
                "artifact_id": node.id,
                "name": node.name,
                "source": graph.sources[node.id],
                "metadata": {"type": node.type.value},
            }
            for node in graph.nodes.values()
        ],
        "edges": [
            {
                "from_node_artifact_id": e.parent,
                "to_node_artifact_id": e.child,
                "relationship": e.relationship,
            }
            for e in graph.edges.values()
        ],
    }


@router.get("/artifact/{artifact_type}/{id}/cost")
def cost(
    user: UserDep,
    registry: RegistryDep,
    type_: TypeDep,
    id: str,
    dependency: Annotated[bool, Query()] = False,
) -> dict[str, dict[str, float]]:
    return registry.analysis.cost(user, type_, id, dependencies=dependency)
