"""The lineage drawing: layering, ordering, cycles, escaping and the SVG's accessible structure."""

from __future__ import annotations

import itertools
import random
import xml.etree.ElementTree as ET

import pytest

from tmr.web.graphs import (
    LOOP_W,
    MAX_LABEL,
    NODE_H,
    NODE_W,
    Layout,
    Link,
    Node,
    crossings,
    layout,
    lineage_svg,
)

SVG = "{http://www.w3.org/2000/svg}"


def nodes(*names: str, current: str | None = None) -> list[Node]:
    return [
        Node(n, n, "model", href=None if n == current else f"/ui/artifacts/{n}", current=n == current)
        for n in names
    ]


def links(*pairs: str) -> list[Link]:
    """'a>b' is a link from parent a to child b, relation base_model."""
    ends = [pair.split(">", 1) for pair in pairs]
    return [Link(parent, child, "base_model") for parent, child in ends]


def layer_of(placed: Layout) -> dict[str, int]:
    return {node: at for at, row in enumerate(placed.layers) for node in row}


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # our own output: parsed to prove it is well-formed


def centre(placed: Layout, node: str) -> float:
    box = placed.boxes[node]
    return box.x + box.width / 2


def assert_no_overlap(placed: Layout) -> None:
    boxes = sorted(placed.boxes.values(), key=lambda b: (b.y, b.x))
    for a, b in itertools.pairwise(boxes):
        if a.y == b.y:
            assert a.x + a.width <= b.x, (a.node.id, b.node.id)


def test_parents_sit_above_children_by_their_longest_path() -> None:
    placed = layout(nodes("a", "b", "c"), links("a>b", "b>c", "a>c"))
    assert layer_of(placed) == {"a": 0, "b": 1, "c": 2}
    assert placed.boxes["a"].y < placed.boxes["b"].y < placed.boxes["c"].y
    assert placed.reversed_edges == frozenset()


def test_a_root_moves_down_next_to_its_highest_child() -> None:
    """A dataset used only by a grandchild sits one layer above it, not at the top."""
    placed = layout(nodes("base", "tuned", "lora", "data"), links("base>tuned", "tuned>lora", "data>lora"))
    assert layer_of(placed) == {"base": 0, "tuned": 1, "data": 1, "lora": 2}


def test_a_long_edge_bends_around_the_boxes_between() -> None:
    placed = layout(nodes("a", "b", "c", "d"), links("a>b", "b>c", "a>c", "d>b"))
    route = next(r for r in placed.routes if (r.parent, r.child) == ("a", "c"))
    assert len(route.points) == 4  # down to the dummy's band, through it, on to c
    b = placed.boxes["b"]
    for x, y in route.points[1:3]:
        assert not (b.x <= x <= b.x + b.width and b.y <= y <= b.y + NODE_H)


def test_a_diamond_has_no_crossing_and_is_balanced() -> None:
    placed = layout(
        nodes("top", "left", "right", "bottom"), links("top>left", "top>right", "left>bottom", "right>bottom")
    )
    assert layer_of(placed) == {"top": 0, "left": 1, "right": 1, "bottom": 2}
    assert sorted(placed.layers[1]) == ["left", "right"]
    assert centre(placed, "top") == pytest.approx(centre(placed, "bottom"))
    assert_no_overlap(placed)
    assert {(r.parent, r.child) for r in placed.routes} == {
        ("top", "left"), ("top", "right"), ("left", "bottom"), ("right", "bottom"),
    }  # fmt: skip


def test_crossings_are_counted_and_ordering_removes_them() -> None:
    assert crossings([1, 2], [3, 4], [(1, 4), (2, 3)]) == 1
    assert crossings([1, 2], [3, 4], [(1, 3), (2, 4)]) == 0
    assert crossings([1, 2, 3], [4, 5, 6], [(1, 6), (2, 5), (3, 4)]) == 3
    # By name the children come x, y; x belongs under b and y under a: one crossing unless reordered.
    placed = layout(nodes("a", "b", "x", "y"), links("b>x", "a>y"))
    order = {n: i for row in placed.layers for i, n in enumerate(row)}
    assert (order["a"] < order["b"]) == (order["y"] < order["x"])


def test_a_two_cycle_terminates_and_draws_both_edges_apart() -> None:
    placed = layout(nodes("cycle-a", "cycle-b"), links("cycle-a>cycle-b", "cycle-b>cycle-a"))
    assert layer_of(placed) == {"cycle-a": 0, "cycle-b": 1}
    assert placed.reversed_edges == {("cycle-b", "cycle-a")}
    down, up = sorted(placed.routes, key=lambda r: r.upward)
    assert (down.parent, down.upward, up.parent, up.upward) == ("cycle-a", False, "cycle-b", True)
    assert down.points[0][1] < down.points[-1][1]
    assert up.points[0][1] > up.points[-1][1]
    assert down.points[0][0] != up.points[0][0]  # side by side, not one over the other
    assert down.label_at != up.label_at


def test_a_longer_cycle_is_broken_once_and_the_same_whatever_the_input_order() -> None:
    names = ["a", "b", "c", "d"]
    edges = links("a>b", "b>c", "c>a", "c>d")
    first = layout(nodes(*names), edges)
    assert len(first.reversed_edges) == 1
    assert set(layer_of(first)) == set(names)
    assert len(first.routes) == 4
    svg = str(lineage_svg(nodes(*names), edges, ident="g", title="t"))
    rng = random.Random(7)
    for _ in range(5):
        shuffled_nodes, shuffled_links = nodes(*names), list(edges)
        rng.shuffle(shuffled_nodes)
        rng.shuffle(shuffled_links)
        assert layout(shuffled_nodes, shuffled_links) == first
        assert str(lineage_svg(shuffled_nodes, shuffled_links, ident="g", title="t")) == svg


def test_a_self_parent_is_a_loop_beside_its_box() -> None:
    placed = layout(nodes("bare/self-parent"), links("bare/self-parent>bare/self-parent"))
    assert placed.layers == (("bare/self-parent",),)
    (loop,) = placed.routes
    assert loop.loop
    assert not loop.upward
    box = placed.boxes["bare/self-parent"]
    assert placed.width >= box.x + NODE_W + LOOP_W
    svg = parse(
        str(
            lineage_svg(
                nodes("bare/self-parent"), links("bare/self-parent>bare/self-parent"), ident="g", title="t"
            )
        )
    )
    assert "base_model" in "".join(svg.itertext())


def test_names_and_relations_are_escaped() -> None:
    evil = '<script>alert("x")</script>'
    graph_nodes = [
        Node("1", evil, "model", href='/ui/artifacts/1?"><script>'),
        Node("2", "child & co", "model", current=True),
    ]
    svg = str(
        lineage_svg(graph_nodes, [Link("1", "2", "<b>base_model</b>")], ident="g", title=f"Lineage of {evil}")
    )
    assert "<script>" not in svg
    assert "<b>" not in svg
    assert "&lt;script&gt;" in svg
    assert "child &amp; co" in svg
    root = parse(svg)
    link = root.find(f".//{SVG}a")
    assert link is not None
    assert link.get("href") == '/ui/artifacts/1?"><script>'
    title = root.find(f"{SVG}title")
    assert title is not None
    assert evil in (title.text or "")


def test_long_names_are_shortened_with_the_full_name_in_the_title() -> None:
    name = "organisation/" + "a-very-long-model-name-" * 3
    root = parse(str(lineage_svg([Node("1", name, "model", href="/x")], [], ident="g", title="t")))
    texts = [t.text or "" for t in root.iter(f"{SVG}text")]
    shown = next(t for t in texts if t.startswith("organisation/"))
    assert len(shown) == MAX_LABEL
    assert shown.endswith("…")
    titles = [t.text or "" for t in root.iter(f"{SVG}title")]
    assert any(name in t for t in titles)


def test_a_single_node_is_drawn_and_described() -> None:
    placed = layout(nodes("alone", current="alone"), [])
    assert placed.layers == (("alone",),)
    assert placed.routes == ()
    root = parse(str(lineage_svg(nodes("alone", current="alone"), [], ident="g", title="Lineage of alone")))
    assert root.get("viewBox") == f"0 0 {root.get('width')} {root.get('height')}"
    desc = root.find(f"{SVG}desc")
    assert desc is not None
    assert desc.text == "1 artifact, no relations."


def test_the_current_artifact_is_marked_by_border_and_words_and_others_are_links() -> None:
    root = parse(
        str(lineage_svg(nodes("a", "b", current="b"), links("a>b"), ident="lin", title="Lineage of b"))
    )
    assert root.get("role") == "group"
    assert root.get("aria-labelledby") == "lin-title"
    assert root.get("aria-describedby") == "lin-desc"
    assert {e.get("id") for e in root.iter() if e.get("id")} >= {"lin-title", "lin-desc", "lin-arrow"}
    anchors = list(root.iter(f"{SVG}a"))
    assert [a.get("href") for a in anchors] == ["/ui/artifacts/a"]
    assert anchors[0].get("aria-label") == "a (model)"
    current = next(
        g for g in root.iter(f"{SVG}g") if "lineage-graph__node--current" in (g.get("class") or "")
    )
    rect = current.find(f"{SVG}rect")
    assert rect is not None
    assert rect.get("stroke-width") == "4"
    assert any("this artifact" in (t.text or "") for t in current.iter(f"{SVG}text"))
    desc = root.find(f"{SVG}desc")
    assert desc is not None
    assert "a is base_model of b" in (desc.text or "")


def test_a_wide_layer_grows_the_drawing_without_overlaps() -> None:
    children = [f"child-{i:02d}" for i in range(30)]
    placed = layout(nodes("parent", *children), links(*(f"parent>{c}" for c in children)))
    assert placed.layers[0] == ("parent",)
    assert sorted(placed.layers[1]) == children
    assert placed.width >= 30 * NODE_W
    assert_no_overlap(placed)
    xs = [centre(placed, c) for c in children]
    assert centre(placed, "parent") == pytest.approx((min(xs) + max(xs)) / 2)
    root = parse(
        str(
            lineage_svg(
                nodes("parent", *children), links(*(f"parent>{c}" for c in children)), ident="g", title="t"
            )
        )
    )
    assert float(root.get("width") or 0) == pytest.approx(placed.width)
    labels = [r.label_at for r in placed.routes]
    assert len(set(labels)) == len(labels)


def test_links_to_unknown_nodes_are_left_out() -> None:
    placed = layout(nodes("a"), links("a>ghost", "ghost>a"))
    assert placed.routes == ()
    assert placed.layers == (("a",),)
