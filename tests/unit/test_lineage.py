"""Lineage graphs and size costs over an in-memory store: the same connected graph whichever member
is asked, private artifacts of others invisible, and every dependency counted once in a cost."""

from __future__ import annotations

from tests.unit.memory_repo import MemoryArtifacts
from tmr.analysis.lineage import MB, Edge, Graph, closure, dependencies, lineage_graph, size_cost
from tmr.artifacts.interfaces import EVERYTHING, Scope
from tmr.artifacts.models import (
    Artifact,
    ArtifactLink,
    ArtifactSummary,
    ArtifactType,
    FileEntry,
    FileKind,
    Visibility,
)


def _artifact(
    ident: str,
    keys: set[str],
    links: list[ArtifactLink] | None = None,
    size: int = 0,
    type_: ArtifactType = ArtifactType.MODEL,
    **kwargs: object,
) -> Artifact:
    files = [FileEntry("w.bin", size, FileKind.WEIGHTS)] if size else []
    return Artifact(
        id=ident,
        type=type_,
        name=f"name-{ident}",
        url=f"https://x/{ident}",
        source="hf",
        keys=frozenset(keys),
        links=tuple(links or ()),
        files=tuple(files),
        **kwargs,  # type: ignore[arg-type]
    )


def _family() -> MemoryArtifacts:
    base = _artifact("b", {"k-b"}, size=MB)
    data = _artifact("d", {"k-d"}, size=2 * MB, type_=ArtifactType.DATASET)
    child = _artifact(
        "c",
        {"k-c"},
        [ArtifactLink("k-b", "base_model", "card"), ArtifactLink("k-d", "fine_tuning_dataset", "readme")],
        size=3 * MB,
    )
    grandchild = _artifact("g", {"k-g"}, [ArtifactLink("k-c", "base_model", "config")], size=4 * MB)
    return MemoryArtifacts(base, data, child, grandchild)


def test_graph_from_a_leaf_reaches_the_whole_component() -> None:
    store = _family()
    graph = lineage_graph(store, store.rows["g"], EVERYTHING)
    assert set(graph.nodes) == {"b", "c", "d", "g"}
    assert set(graph.edges.values()) == {
        Edge("c", "g", "base_model"),
        Edge("b", "c", "base_model"),
        Edge("d", "c", "fine_tuning_dataset"),
    }
    assert graph.sources == {"g": "registry", "c": "config", "b": "card", "d": "readme"}


def test_graph_is_the_same_whichever_member_is_asked() -> None:
    store = _family()
    from_root = lineage_graph(store, store.rows["b"], EVERYTHING)
    from_leaf = lineage_graph(store, store.rows["g"], EVERYTHING)
    assert set(from_root.nodes) == set(from_leaf.nodes)
    assert set(from_root.edges) == set(from_leaf.edges)
    # The start is always "registry"; the others say which link found them.
    assert from_root.sources["b"] == "registry"
    assert from_root.sources["c"] == "card"
    assert from_root.nodes["d"] == ArtifactSummary("d", "name-d", ArtifactType.DATASET)


def test_isolated_artifact_is_a_graph_of_one() -> None:
    store = MemoryArtifacts(_artifact("x", {"k-x"}, [ArtifactLink("k-missing", "base_model", "card")]))
    graph = lineage_graph(store, store.rows["x"], EVERYTHING)
    assert graph.nodes == {"x": ArtifactSummary("x", "name-x", ArtifactType.MODEL)}
    assert graph.edges == {}


def test_others_private_artifacts_are_neither_shown_nor_walked_through() -> None:
    secret = _artifact(
        "s",
        {"k-s"},
        [ArtifactLink("k-b", "base_model", "card")],
        visibility=Visibility.PRIVATE,
        created_by="alice",
    )
    leaf = _artifact("l", {"k-l"}, [ArtifactLink("k-s", "base_model", "card")])
    store = MemoryArtifacts(_artifact("b", {"k-b"}), secret, leaf)
    bob = lineage_graph(store, store.rows["l"], Scope(viewer="bob"))
    assert set(bob.nodes) == {"l"}
    alice = lineage_graph(store, store.rows["l"], Scope(viewer="alice"))
    assert set(alice.nodes) == {"l", "s", "b"}


def test_self_links_add_no_edge() -> None:
    graph = Graph()
    graph.add_edge("a", "a", "base_model")
    graph.add_edge("a", "b", "base_model")
    graph.add_edge("a", "b", "base_model")
    assert list(graph.edges.values()) == [Edge("a", "b", "base_model")]


def test_an_artifact_answering_to_its_own_link_is_not_its_own_parent() -> None:
    store = MemoryArtifacts(_artifact("x", {"k-x"}, [ArtifactLink("k-x", "base_model", "card")]))
    assert dependencies(store, "x", EVERYTHING) == {"x": set()}
    assert lineage_graph(store, store.rows["x"], EVERYTHING).edges == {}


def test_dependencies_are_the_ancestors_with_their_direct_parents() -> None:
    store = _family()
    assert dependencies(store, "g", EVERYTHING) == {"g": {"c"}, "c": {"b", "d"}, "b": set(), "d": set()}
    assert dependencies(store, "b", EVERYTHING) == {"b": set()}


def test_dependencies_stop_where_a_cycle_closes() -> None:
    one = _artifact("1", {"k1"}, [ArtifactLink("k2", "base_model", "card")])
    two = _artifact("2", {"k2"}, [ArtifactLink("k1", "base_model", "card")])
    direct = dependencies(MemoryArtifacts(one, two), "1", EVERYTHING)
    assert direct == {"1": {"2"}, "2": {"1"}}
    assert closure(direct, "1") == {"1", "2"}


def test_closure_includes_the_start_and_ignores_unknown_members() -> None:
    assert closure({}, "z") == {"z"}
    assert closure({"a": {"b"}, "b": {"c"}}, "a") == {"a", "b", "c"}
    assert closure({"a": {"b"}, "b": {"c"}}, "b") == {"b", "c"}


def test_size_cost_alone_is_the_artifact_in_mebibytes() -> None:
    store = _family()
    assert size_cost(store, store.rows["c"], False, EVERYTHING) == {"c": {"total_cost": 3.0}}


def test_size_cost_with_dependencies_counts_each_one_once() -> None:
    # A diamond: top depends on left and right, both depend on bottom; bottom counts once.
    bottom = _artifact("bot", {"k-bot"}, size=MB)
    left = _artifact("l", {"k-l"}, [ArtifactLink("k-bot", "base_model", "card")], size=2 * MB)
    right = _artifact("r", {"k-r"}, [ArtifactLink("k-bot", "base_model", "card")], size=4 * MB)
    top = _artifact(
        "t",
        {"k-t"},
        [ArtifactLink("k-l", "base_model", "card"), ArtifactLink("k-r", "base_model", "card")],
        size=MB // 2,
    )
    store = MemoryArtifacts(bottom, left, right, top)
    cost = size_cost(store, store.rows["t"], True, EVERYTHING)
    assert cost == {
        "t": {"standalone_cost": 0.5, "total_cost": 7.5},
        "l": {"standalone_cost": 2.0, "total_cost": 3.0},
        "r": {"standalone_cost": 4.0, "total_cost": 5.0},
        "bot": {"standalone_cost": 1.0, "total_cost": 1.0},
    }
