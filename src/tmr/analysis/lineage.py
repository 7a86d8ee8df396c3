"""Lineage: the connected graph of registered artifacts around a model, and its size cost.

References are stored as keys when an artifact is registered and resolved here, at query time,
so a parent registered after its child still joins the graph. Whichever member is asked, the
answer is the same connected graph; edges run parent → child.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Protocol

from tmr.artifacts.interfaces import Scope
from tmr.artifacts.models import Artifact, ArtifactLink, ArtifactSummary

MAX_NODES = 500
MB = 1024 * 1024


class LineageStore(Protocol):
    def answering_to(self, keys: Collection[str], scope: Scope) -> dict[str, list[ArtifactSummary]]: ...

    def linking_to(
        self, keys: Collection[str], scope: Scope
    ) -> list[tuple[ArtifactSummary, ArtifactLink]]: ...

    def keys_and_links(
        self, artifact_ids: Collection[str]
    ) -> dict[str, tuple[set[str], list[ArtifactLink]]]: ...

    def sizes(self, artifact_ids: Collection[str]) -> dict[str, int]: ...


@dataclass(frozen=True, slots=True)
class Edge:
    parent: str
    child: str
    relationship: str


@dataclass(frozen=True, slots=True)
class Graph:
    nodes: dict[str, ArtifactSummary] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # how each node was found
    edges: dict[tuple[str, str, str], Edge] = field(default_factory=dict)

    def add_edge(self, parent: str, child: str, relationship: str) -> None:
        if parent != child:
            self.edges.setdefault((parent, child, relationship), Edge(parent, child, relationship))


def _parents(
    store: LineageStore, ids: Collection[str], scope: Scope
) -> list[tuple[str, ArtifactSummary, ArtifactLink]]:
    """(child id, parent, link) for every link of the given artifacts resolving in `scope`."""
    keys_links = store.keys_and_links(ids)
    wanted = {link.key for _keys, links in keys_links.values() for link in links}
    resolved = store.answering_to(wanted, scope)
    return [
        (child, parent, link)
        for child, (_keys, links) in keys_links.items()
        for link in links
        for parent in resolved.get(link.key, [])
        if parent.id != child
    ]


def lineage_graph(store: LineageStore, start: Artifact, scope: Scope) -> Graph:
    """Breadth-first over parent and child links until the connected component is complete;
    artifacts outside `scope` (others' private uploads) are neither shown nor walked through."""
    graph = Graph()
    graph.nodes[start.id] = ArtifactSummary(start.id, start.name, start.type)
    graph.sources[start.id] = "registry"
    frontier = {start.id}
    while frontier and len(graph.nodes) < MAX_NODES:
        found: set[str] = set()
        for child, parent, link in _parents(store, frontier, scope):
            graph.add_edge(parent.id, child, link.relationship)
            if parent.id not in graph.nodes:
                graph.nodes[parent.id] = parent
                graph.sources[parent.id] = link.source
                found.add(parent.id)
        keys = store.keys_and_links(frontier)
        owners: dict[str, list[str]] = {}
        for ident, (own_keys, _links) in keys.items():
            for key in own_keys:
                owners.setdefault(key, []).append(ident)
        for child_summary, link in store.linking_to(owners, scope):
            for parent_id in owners[link.key]:
                graph.add_edge(parent_id, child_summary.id, link.relationship)
            if child_summary.id not in graph.nodes:
                graph.nodes[child_summary.id] = child_summary
                graph.sources[child_summary.id] = link.source
                found.add(child_summary.id)
        frontier = found
    return graph


def dependencies(store: LineageStore, root: str, scope: Scope) -> dict[str, set[str]]:
    """Each artifact of the root's dependency closure (ancestors: parent models, datasets, code)
    mapped to its own direct dependencies; cycles are cut where they close."""
    direct: dict[str, set[str]] = {}
    frontier = {root}
    while frontier and len(direct) < MAX_NODES:
        for ident in frontier:
            direct.setdefault(ident, set())
        for child, parent, _link in _parents(store, frontier, scope):
            direct[child].add(parent.id)
        frontier = {p for deps in direct.values() for p in deps} - set(direct)
    return direct


def closure(direct: dict[str, set[str]], start: str) -> set[str]:
    seen = {start}
    stack = [start]
    while stack:
        for dep in direct.get(stack.pop(), set()):
            if dep not in seen:
                seen.add(dep)
                stack.append(dep)
    return seen


def size_cost(
    store: LineageStore, artifact: Artifact, with_dependencies: bool, scope: Scope
) -> dict[str, dict[str, float]]:
    """The contract's ArtifactCost in MB (bytes / 1024²): standalone and total per artifact, with
    every dependency counted once."""
    if not with_dependencies:
        return {artifact.id: {"total_cost": artifact.size_bytes / MB}}
    direct = dependencies(store, artifact.id, scope)
    sizes = store.sizes(direct)
    sizes[artifact.id] = artifact.size_bytes
    result: dict[str, dict[str, float]] = {}
    for ident in direct:
        total = sum(sizes.get(member, 0) for member in closure(direct, ident))
        result[ident] = {
            "standalone_cost": sizes.get(ident, 0) / MB,
            "total_cost": total / MB,
        }
    return result
