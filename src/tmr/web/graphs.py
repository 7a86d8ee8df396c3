"""Lineage graphs drawn as SVG on the server: a layered layout, then markup.

The layout is the classic layered one (after Sugiyama): cycles are broken by reversing the back
edges a depth-first search finds, nodes are layered by their longest path from a root (parents
above children), long edges pass through dummy points in the layers they cross, and nodes are
ordered within a layer by barycentre sweeps, keeping the order with the fewest crossings. Then
each node is pulled towards the mean position of its neighbours (chains run straight, parents
sit over their children), lines meet a box at points spread along its edge, and each label takes
the first free spot along its line. Every step is deterministic (nodes are taken in (label, id)
order), so a page looks the same on every load; a 500-node graph (the lineage walk's bound)
lays out in well under a second. Pure functions only: the page module feeds the analysis
service's graph in.
"""

from __future__ import annotations

from bisect import bisect_right, insort
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from itertools import pairwise

from markupsafe import Markup, escape

NODE_W = 210.0
NODE_H = 52.0
DUMMY_W = 18.0
H_GAP = 36.0
V_GAP = 84.0
MARGIN = 16.0
LOOP_W = 40.0  # room on a node's right for an edge from the node to itself
PAIR_OFFSET = 10.0  # two edges in opposite directions between one pair are drawn apart
MAX_LABEL = 24  # characters of a name shown in a box; the full name is in its <title>
SWEEPS = 6
ALIGN_PASSES = 4
LABEL_CHAR_W = 6.8  # a 12 px label's mean character width, to size its background
LABEL_SPOTS = (0.5, 0.3, 0.7, 0.15, 0.85)  # where along its first stretch a label may sit
MAX_DESCRIBED = 12  # relations spelled out in the SVG's <desc>; the table has them all

_INK = "#1b1f24"
_MUTED = "#4a5360"
_ACCENT = "#0b57a4"


@dataclass(frozen=True, slots=True)
class Node:
    """A box in the graph; `href` makes it a link to the artifact's page."""

    id: str
    label: str
    kind: str = ""
    href: str | None = None
    current: bool = False


@dataclass(frozen=True, slots=True)
class Link:
    """An edge as the data has it: parent → child, named by its relation."""

    parent: str
    child: str
    relation: str


@dataclass(frozen=True, slots=True)
class Box:
    node: Node
    x: float
    y: float
    width: float
    layer: int


@dataclass(frozen=True, slots=True)
class Route:
    """One drawn arrow: every relation between one parent and one child, along `points`."""

    parent: str
    child: str
    relations: tuple[str, ...]
    points: tuple[tuple[float, float], ...]
    upward: bool  # drawn against the layering: an edge that closed a cycle
    loop: bool = False
    side: str = "middle"  # the label's text-anchor: centred on the line, or beside it
    label_at: tuple[float, float] = (0.0, 0.0)  # the label's baseline anchor point

    @property
    def label(self) -> str:
        return ", ".join(self.relations)


@dataclass(frozen=True, slots=True)
class Layout:
    width: float
    height: float
    boxes: dict[str, Box]
    routes: tuple[Route, ...]
    layers: tuple[tuple[str, ...], ...]  # real nodes only, in drawing order
    reversed_edges: frozenset[tuple[str, str]]


# -- the steps of the layout, on integer node indices ---------------------------------------------


def break_cycles(count: int, edges: Iterable[tuple[int, int]]) -> set[tuple[int, int]]:
    """The edges to reverse so that none closes a cycle: the back edges of a depth-first search
    that starts from the roots (then from the rest) in index order. Self-loops are not edges here."""
    out: dict[int, list[int]] = {i: [] for i in range(count)}
    indegree = [0] * count
    for parent, child in sorted(set(edges)):
        if parent != child:
            out[parent].append(child)
            indegree[child] += 1
    white, grey, black = 0, 1, 2
    colour = [white] * count
    back: set[tuple[int, int]] = set()
    starts = [i for i in range(count) if indegree[i] == 0] + [i for i in range(count) if indegree[i] > 0]
    for start in starts:
        if colour[start] != white:
            continue
        colour[start] = grey
        stack = [(start, iter(out[start]))]
        while stack:
            node, children = stack[-1]
            following = next(children, None)
            if following is None:
                colour[node] = black
                stack.pop()
            elif colour[following] == grey:
                back.add((node, following))
            elif colour[following] == white:
                colour[following] = grey
                stack.append((following, iter(out[following])))
    return back


def longest_path_layers(count: int, dag: Iterable[tuple[int, int]]) -> list[int]:
    """Each node's layer: 0 for a root, else one below its lowest parent. A root with children
    then moves down to sit just above its highest child, so a dataset used only by a grandchild
    does not stretch an edge across the whole graph."""
    edges = sorted(set(dag))
    children: dict[int, list[int]] = {i: [] for i in range(count)}
    indegree = [0] * count
    for parent, child in edges:
        children[parent].append(child)
        indegree[child] += 1
    layer = [0] * count
    ready = [i for i in range(count) if indegree[i] == 0]
    remaining = list(indegree)
    while ready:
        node = ready.pop()
        for child in children[node]:
            layer[child] = max(layer[child], layer[node] + 1)
            remaining[child] -= 1
            if remaining[child] == 0:
                ready.append(child)
    for node in range(count):
        if indegree[node] == 0 and children[node]:
            layer[node] = min(layer[child] for child in children[node]) - 1
    return layer


def crossings(upper: Sequence[int], lower: Sequence[int], edges: Iterable[tuple[int, int]]) -> int:
    """How many edges between two adjacent layers cross, given each layer's order."""
    at_upper = {node: i for i, node in enumerate(upper)}
    at_lower = {node: i for i, node in enumerate(lower)}
    pairs = sorted((at_upper[u], at_lower[v]) for u, v in edges if u in at_upper and v in at_lower)
    seen: list[int] = []
    count = 0
    for _u, v in pairs:
        count += len(seen) - bisect_right(seen, v)
        insort(seen, v)
    return count


def order_layers(layers: list[list[int]], edges: Sequence[tuple[int, int]]) -> list[list[int]]:
    """Barycentre sweeps, down then up, keeping the order with the fewest crossings. Edges join
    adjacent layers only (dummies already placed); a node without neighbours on the side being
    looked at keeps its place."""
    up: dict[int, list[int]] = {}
    down: dict[int, list[int]] = {}
    for parent, child in edges:
        down.setdefault(parent, []).append(child)
        up.setdefault(child, []).append(parent)

    # Layers keep their members, only their order changes: group the edges by layer once.
    layer_of = {node: at for at, layer in enumerate(layers) for node in layer}
    between: list[list[tuple[int, int]]] = [[] for _ in layers]
    for parent, child in edges:
        between[layer_of[parent]].append((parent, child))

    def total(order: list[list[int]]) -> int:
        return sum(crossings(order[i], order[i + 1], between[i]) for i in range(len(order) - 1))

    def reorder(layer: list[int], reference: list[int], neighbours: dict[int, list[int]]) -> list[int]:
        where = {node: i for i, node in enumerate(reference)}

        def key(item: tuple[int, int]) -> float:
            index, node = item
            near = [where[n] for n in neighbours.get(node, ()) if n in where]
            return sum(near) / len(near) if near else float(index)

        return [node for _i, node in sorted(enumerate(layer), key=key)]

    current = [list(layer) for layer in layers]
    best, best_count = [list(layer) for layer in current], total(current)
    for _ in range(SWEEPS):
        if best_count == 0:
            break
        for i in range(1, len(current)):
            current[i] = reorder(current[i], current[i - 1], up)
        for i in range(len(current) - 2, -1, -1):
            current[i] = reorder(current[i], current[i + 1], down)
        count = total(current)
        if count < best_count:
            best, best_count = [list(layer) for layer in current], count
    return best


# -- positions ------------------------------------------------------------------------------------


def fit(desired: Sequence[float], widths: Sequence[float], gap: float) -> list[float]:
    """Left edges as close to `desired` as a row allows: boxes keep their order and `gap`. The mean
    of a push to the right and a push to the left, which both keep the spacing, so neither side
    is favoured."""
    count = len(desired)
    right = list(desired)
    for i in range(1, count):
        right[i] = max(right[i], right[i - 1] + widths[i - 1] + gap)
    left = list(desired)
    for i in range(count - 2, -1, -1):
        left[i] = min(left[i], left[i + 1] - widths[i] - gap)
    return [(a + b) / 2 for a, b in zip(right, left, strict=True)]


def place(
    rows: Sequence[Sequence[int]],
    widths: dict[int, float],
    up: dict[int, list[int]],
    down: dict[int, list[int]],
) -> dict[int, float]:
    """Left edges: rows packed, then each node pulled towards the mean centre of its neighbours,
    sweeping down and up a few times, so chains run straight and parents sit over children."""
    x: dict[int, float] = {}
    for row in rows:
        at = 0.0
        for node in row:
            x[node] = at
            at += widths[node] + H_GAP
    widest = max((x[row[-1]] + widths[row[-1]] for row in rows if row), default=0.0)
    for row in rows:
        if row:
            shift = (widest - (x[row[-1]] + widths[row[-1]])) / 2
            for node in row:
                x[node] += shift

    def centre(node: int) -> float:
        return x[node] + widths[node] / 2

    def pull(row: Sequence[int], neighbours: dict[int, list[int]]) -> None:
        desired = []
        for node in row:
            near = neighbours.get(node, [])
            desired.append(sum(centre(n) for n in near) / len(near) - widths[node] / 2 if near else x[node])
        for node, left in zip(row, fit(desired, [widths[n] for n in row], H_GAP), strict=True):
            x[node] = left

    for _ in range(ALIGN_PASSES):
        for row in rows[1:]:
            pull(row, up)
        for row in reversed(rows[:-1]):
            pull(row, down)
    lowest = min(x.values(), default=0.0)
    return {node: left - lowest + MARGIN for node, left in x.items()}


def _ports(
    ends: dict[int, list[tuple[int, float]]], x: dict[int, float], width: dict[int, float], count: int
) -> dict[tuple[int, int], float]:
    """Where each line meets a box: spread along its edge in the order of the far ends, so lines
    from one box do not start on one point (and their labels do not pile up)."""
    ports: dict[tuple[int, int], float] = {}
    for node, far in ends.items():
        span = NODE_W if node < count else 0.0
        ordered = sorted(far, key=lambda item: (item[1], item[0]))
        for i, (other, _far_x) in enumerate(ordered):
            if node < count:
                ports[(node, other)] = x[node] + span * (i + 1) / (len(ordered) + 1)
            else:
                ports[(node, other)] = x[node] + width[node] / 2
    return ports


# -- the whole layout ------------------------------------------------------------------------------


def layout(nodes: Sequence[Node], links: Iterable[Link]) -> Layout:
    """Positions for every box and a route for every (parent, child) pair of `links`. Links naming
    a node that is not in `nodes` are left out."""
    ordered = sorted({n.id: n for n in nodes}.values(), key=lambda n: (n.label, n.id))
    index = {node.id: i for i, node in enumerate(ordered)}
    count = len(ordered)
    relations: dict[tuple[int, int], set[str]] = {}
    for link in links:
        if link.parent in index and link.child in index:
            relations.setdefault((index[link.parent], index[link.child]), set()).add(link.relation)
    pairs = sorted(relations)
    back = break_cycles(count, pairs)
    dag = {(c, p) if (p, c) in back else (p, c) for p, c in pairs if p != c}
    layer_of = longest_path_layers(count, dag)

    # Dummies: one per layer an edge crosses, so it can bend around the boxes in between.
    chains: dict[tuple[int, int], list[int]] = {}
    short: list[tuple[int, int]] = []
    for parent, child in sorted(dag):
        chain = [parent]
        for between in range(layer_of[parent] + 1, layer_of[child]):
            layer_of.append(between)
            chain.append(len(layer_of) - 1)
        chain.append(child)
        chains[(parent, child)] = chain
        short.extend(pairwise(chain))
    depth = max(layer_of, default=-1) + 1
    rows: list[list[int]] = [[] for _ in range(depth)]
    for node, at in enumerate(layer_of):
        rows[at].append(node)
    rows = order_layers(rows, short)

    loop_labels = {p: ", ".join(sorted(relations[(p, c)])) for p, c in pairs if p == c}
    widths = {
        n: (NODE_W + (LOOP_W + _text_width(loop_labels[n]) if n in loop_labels else 0.0))
        if n < count
        else DUMMY_W
        for n in range(len(layer_of))
    }
    up: dict[int, list[int]] = {}
    down: dict[int, list[int]] = {}
    for parent, child in short:
        down.setdefault(parent, []).append(child)
        up.setdefault(child, []).append(parent)
    x = place(rows, widths, up, down)
    y = {node: MARGIN + layer_of[node] * (NODE_H + V_GAP) for node in x}
    width = max((x[n] + widths[n] for n in x), default=NODE_W) + MARGIN
    height = max(depth, 1) * NODE_H + max(depth - 1, 0) * V_GAP + 2 * MARGIN

    def mid(node: int) -> float:
        return x[node] + (NODE_W if node < count else DUMMY_W) / 2

    below = _ports({n: [(c, mid(c)) for c in down.get(n, [])] for n in x}, x, widths, count)
    above = _ports({n: [(p, mid(p)) for p in up.get(n, [])] for n in x}, x, widths, count)

    routes: list[Route] = []
    for parent, child in pairs:
        names = tuple(sorted(relations[(parent, child)]))
        a, b = ordered[parent].id, ordered[child].id
        if parent == child:
            right, top = x[parent] + NODE_W, y[parent]
            points = (
                (right, top + 14),
                (right + 34, top - 6),
                (right + 34, top + NODE_H + 6),
                (right, top + NODE_H - 14),
            )
            routes.append(Route(a, b, names, points, upward=False, loop=True, side="start"))
            continue
        upward = (parent, child) in back
        chain = chains[(child, parent)] if upward else chains[(parent, child)]
        both_ways = (child, parent) in relations
        shift = (PAIR_OFFSET if upward else -PAIR_OFFSET) if both_ways else 0.0
        line: list[tuple[float, float]] = [(below[(chain[0], chain[1])] + shift, y[chain[0]] + NODE_H)]
        for before, node, after in zip(chain, chain[1:-1], chain[2:], strict=False):
            line.append((above[(node, before)] + shift, y[node]))
            line.append((below[(node, after)] + shift, y[node] + NODE_H))
        line.append((above[(chain[-1], chain[-2])] + shift, y[chain[-1]]))
        if upward:
            line.reverse()
        side = "start" if upward else ("end" if both_ways else "middle")
        routes.append(Route(a, b, names, tuple(line), upward=upward, side=side))

    boxes = {
        ordered[n].id: Box(ordered[n], x[n], y[n], NODE_W, layer_of[n])
        for row in rows
        for n in row
        if n < count
    }
    drawn_layers = tuple(tuple(ordered[n].id for n in row if n < count) for row in rows)
    reversed_edges = frozenset((ordered[p].id, ordered[c].id) for p, c in back)
    placed = _label(tuple(routes), boxes.values())
    return Layout(width, height, boxes, placed, drawn_layers, reversed_edges)


# -- labels ---------------------------------------------------------------------------------------


def _text_width(text: str, per_char: float = LABEL_CHAR_W) -> float:
    return len(text) * per_char + 8


def _label_rect(x: float, y: float, text: str, side: str) -> tuple[float, float, float, float]:
    """The label's background (left, top, right, bottom) for text whose baseline is at (x, y)."""
    width = _text_width(text)
    left = {"start": x - 4, "end": x - width + 4}.get(side, x - width / 2)
    return (left, y - 13, left + width, y + 5)


def _overlaps(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


class _Free:
    """Rectangles already taken, in a coarse grid, so a label asks only its neighbourhood."""

    CELL = 120.0

    def __init__(self) -> None:
        self._cells: dict[tuple[int, int], list[tuple[float, float, float, float]]] = {}

    def _keys(self, rect: tuple[float, float, float, float]) -> list[tuple[int, int]]:
        left, top, right, bottom = (int(v // self.CELL) for v in rect)
        return [(i, j) for i in range(left, right + 1) for j in range(top, bottom + 1)]

    def take(self, rect: tuple[float, float, float, float]) -> None:
        for key in self._keys(rect):
            self._cells.setdefault(key, []).append(rect)

    def free(self, rect: tuple[float, float, float, float]) -> bool:
        return not any(
            _overlaps(rect, other) for key in self._keys(rect) for other in self._cells.get(key, ())
        )


def _label(routes: tuple[Route, ...], boxes: Iterable[Box]) -> tuple[Route, ...]:
    """Each label on the first stretch of its line, at the first of a few points along it where
    it covers neither a box nor a label already placed."""
    taken = _Free()
    for b in boxes:
        taken.take((b.x, b.y, b.x + b.width, b.y + NODE_H))
    done: list[Route] = []
    for route in sorted(routes, key=lambda r: (r.points[0][1], r.points[0][0], r.parent, r.child)):
        if route.loop:
            (x0, y0), (_x3, y3) = route.points[0], route.points[-1]
            at = (x0 + LOOP_W, (y0 + y3) / 2 + 4)
        else:
            (x0, y0), (x1, y1) = route.points[0], route.points[1]
            nudge = {"start": 6.0, "end": -6.0}.get(route.side, 0.0)
            spots = [(x0 + (x1 - x0) * t + nudge, y0 + (y1 - y0) * t + 4) for t in LABEL_SPOTS]
            at = next((s for s in spots if taken.free(_label_rect(*s, route.label, route.side))), spots[0])
        taken.take(_label_rect(*at, route.label, route.side))
        done.append(replace(route, label_at=at))
    order = {(r.parent, r.child): i for i, r in enumerate(routes)}
    return tuple(sorted(done, key=lambda r: order[(r.parent, r.child)]))


# -- SVG -------------------------------------------------------------------------------------------


def shorten(text: str, limit: int = MAX_LABEL) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _path(points: Sequence[tuple[float, float]], curve: bool) -> str:
    if curve and len(points) == 4:
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = points
        return f"M{_n(x0)} {_n(y0)} C{_n(x1)} {_n(y1)} {_n(x2)} {_n(y2)} {_n(x3)} {_n(y3)}"
    head, *rest = points
    return f"M{_n(head[0])} {_n(head[1])}" + "".join(f" L{_n(x)} {_n(y)}" for x, y in rest)


def describe(nodes: Sequence[Node], links: Sequence[Link]) -> str:
    """A sentence or two a screen reader can read in place of the drawing."""
    names = {n.id: n.label for n in nodes}
    known = [link for link in links if link.parent in names and link.child in names]
    artifacts = f"{len(names)} artifact{'s' if len(names) != 1 else ''}"
    if not known:
        return f"{artifacts}, no relations."
    said = [
        f"{names[link.parent]} is {link.relation} of {names[link.child]}"
        for link in sorted(known, key=lambda k: (names[k.parent], k.relation, names[k.child]))[:MAX_DESCRIBED]
    ]
    more = len(known) - len(said)
    tail = f"; and {more} more, listed in the table" if more else ""
    relations = f"{len(known)} relation{'s' if len(known) != 1 else ''}"
    return f"{artifacts}, {relations}, parents above children: " + "; ".join(said) + tail + "."


def lineage_svg(nodes: Sequence[Node], links: Sequence[Link], *, ident: str, title: str) -> Markup:
    """The graph as an inline SVG element. Every text is escaped; `ident` prefixes the element ids
    (title, description, arrow marker) so two graphs can share a page.

    The root is a named group, not `role="img"`: an image's children are presentational, so the
    node links inside it would be focusable yet unnamed to assistive technology (axe's
    nested-interactive). The edges are hidden from it; the description and the page's table say
    the same."""
    placed = layout(nodes, links)
    width, height = placed.width, placed.height
    marker = escape(f"{ident}-arrow")
    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="lineage-graph" role="group" '
        f'aria-labelledby="{escape(ident)}-title" aria-describedby="{escape(ident)}-desc" '
        f'viewBox="0 0 {_n(width)} {_n(height)}" width="{_n(width)}" height="{_n(height)}">',
        f'<title id="{escape(ident)}-title">{escape(title)}</title>',
        f'<desc id="{escape(ident)}-desc">{escape(describe(nodes, links))}</desc>',
        "<defs>",
        f'<marker id="{marker}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" '
        'markerHeight="8" orient="auto-start-reverse">'
        f'<path d="M0 0 L10 5 L0 10 z" fill="{_MUTED}"/></marker>',
        "</defs>",
        '<g class="lineage-graph__edges" aria-hidden="true">',
        *(_edge(route, str(marker)) for route in placed.routes),
        "</g>",
        '<g class="lineage-graph__nodes">',
        *(_box(box) for box in sorted(placed.boxes.values(), key=lambda b: (b.layer, b.x))),
        "</g></svg>",
    ]
    # Every name, label and link above went through escape(): the joined text is safe markup.
    return Markup("\n".join(out))  # noqa: S704


def _edge(route: Route, marker: str) -> str:
    lx, ly = route.label_at
    left, top, right, bottom = _label_rect(lx, ly, route.label, route.side)
    kind = " lineage-graph__edge--upward" if route.upward else ""
    return (
        f'<g class="lineage-graph__edge{kind}">'
        f'<path d="{_path(route.points, curve=route.loop)}" fill="none" stroke="{_MUTED}" '
        f'stroke-width="1.5" marker-end="url(#{marker})"/>'
        f'<rect x="{_n(left)}" y="{_n(top)}" width="{_n(right - left)}" height="{_n(bottom - top)}" rx="3" '
        'fill="#ffffff" fill-opacity="0.92"/>'
        f'<text x="{_n(lx)}" y="{_n(ly)}" text-anchor="{route.side}" font-size="12" fill="{_MUTED}">'
        f"{escape(route.label)}</text></g>"
    )


def _box(box: Box) -> str:
    node = box.node
    x, y = box.x, box.y
    stroke, stroke_w, fill = (_ACCENT, 4, "#eaf1fa") if node.current else (_MUTED, 1.5, "#ffffff")
    second = node.kind or "artifact"
    if node.current:
        second = f"★ {second} · this artifact"
    title = (
        node.label + (f" ({node.kind})" if node.kind else "") + (", this artifact" if node.current else "")
    )
    name_fill = _ACCENT if node.href else _INK
    decoration = ' text-decoration="underline"' if node.href else ""
    inner = (
        f"<title>{escape(title)}</title>"
        f'<rect class="lineage-graph__box" x="{_n(x)}" y="{_n(y)}" width="{_n(box.width)}" '
        f'height="{_n(NODE_H)}" rx="6" fill="{fill}" stroke="{stroke}" stroke-width="{stroke_w}"/>'
        f'<text x="{_n(x + 12)}" y="{_n(y + 21)}" font-size="14" font-weight="600" fill="{name_fill}"'
        f"{decoration}>{escape(shorten(node.label))}</text>"
        f'<text x="{_n(x + 12)}" y="{_n(y + 40)}" font-size="12" fill="{_MUTED}">{escape(second)}</text>'
    )
    current = " lineage-graph__node--current" if node.current else ""
    if node.href:
        return (
            f'<a class="lineage-graph__node{current}" href="{escape(node.href)}" '
            f'aria-label="{escape(title)}">{inner}</a>'
        )
    return f'<g class="lineage-graph__node{current}">{inner}</g>'
