"""Where everything of a drawing goes: a small layered layout, left to right.

Why our own and not a library: networkx (not a bpshell dependency) has no layered layout
with crossing reduction (its multipartite_layout stacks layers but neither orders nor
spaces them around labels), grandalf is unmaintained since 2023, and Graphviz is a system
program that many machines lack. A chapter-5 graph needs only the classic steps:

1. Layers by longest path from the leaves; a leaf or constant moves right to sit just
   before its first user, as the book draws tax beside the second ×. An edge spanning
   several layers gets a bend point in each layer between.
2. Order within layers by barycenters, sweeping both ways, keeping the order with the
   fewest crossings.
3. Heights by slots: a node's slot holds its shape, its name above, its gradient sum below,
   and one band per outgoing edge. Slots of a layer never overlap (placed by isotonic
   regression toward their neighbors' heights, so edges run as straight as they can).
4. Widths by zones: between two layers, a straight stretch wide enough for the widest
   label, then a bend zone. Labels sit only on the straight stretches, each inside its
   source's band, so no text can meet another text or a node, and every edge runs right.

Text is measured with a fixed-width estimate (the drawing uses a monospace font), the
same estimate the tests use to check that no two text boxes overlap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from bpshell.render.format import number, shape_text
from bpshell.results.picture import PENDING, PicEdge, PicNode, Picture

FONT = 13  # px, edge labels and leaves
NODE_FONT = 14  # px, symbols in circles and boxes
CHAR = 0.62  # width of a monospace character, in font sizes
ASCENT, DESCENT = 0.8, 0.2  # of a text box, in font sizes, from the baseline
MARGIN = 16
GAP = 14  # between slots of one layer
FAN = 14  # where a node's edges spread to their bands
BEND = 40  # where edges turn toward their targets
PAD = 8  # around a label on its stretch
RED_DROP = 6  # the returning red arrow, below the black one
HALF_BAND = FONT + 12  # half the height one labeled edge needs
MAX_LABEL = 48  # characters of an expression label

# ---------------------------------------------------------------- text


def text_width(text: str, size: float = FONT) -> float:
    return len(text) * CHAR * size


def text_box(x: float, baseline: float, text: str, size: float = FONT,
             anchor: str = "middle") -> tuple[float, float, float, float]:
    """(left, top, right, bottom) of a text element under the fixed-width estimate."""
    w = text_width(text, size)
    left = x - w / 2 if anchor == "middle" else x - w if anchor == "end" else x
    return left, baseline - ASCENT * size, left + w, baseline + DESCENT * size


def value_text(v) -> str:
    """A forward value or gradient as one short line: `220`, `2x1 [[5], [11]]`, `?`."""
    if v is None:
        return ""
    if v is PENDING:
        return "?"
    if isinstance(v, str):
        return v if len(v) <= MAX_LABEL else v[: MAX_LABEL - 1] + "…"
    shape = tuple(getattr(v, "shape", ()))
    if not shape:
        return number(v)
    if len(shape) <= 2 and v.size <= 6:
        return f"{shape_text(shape)} {_nested(v.tolist())}"
    if v.size == 0:
        return f"{shape_text(shape)} empty"
    lo, mean, hi = float(v.min()), float(v.mean()), float(v.max())
    return f"{shape_text(shape)} min {_short(lo)} mean {_short(mean)} max {_short(hi)}"


def _nested(items) -> str:
    if isinstance(items, list):
        return "[" + ", ".join(_nested(i) for i in items) + "]"
    return number(items)


def _short(v: float) -> str:
    return "0" if v == 0 else f"{v:.4g}"


def sum_text(v) -> str:
    return "Σ " + value_text(v)


# ---------------------------------------------------------------- output primitives


@dataclass
class Text:
    x: float
    y: float  # baseline
    text: str
    cls: str  # forward, grad, node, leaf, name, note
    anchor: str = "middle"
    size: float = FONT
    color: str = "black"
    data: dict[str, str] = field(default_factory=dict)

    def box(self) -> tuple[float, float, float, float]:
        return text_box(self.x, self.y, self.text, self.size, self.anchor)


@dataclass
class Shape:
    kind: str  # circle (x, y the center, w the diameter) or box (x, y the top left)
    x: float
    y: float
    w: float
    h: float
    data: dict[str, str] = field(default_factory=dict)


@dataclass
class Line:
    points: list[tuple[float, float]]
    color: str
    cls: str  # edge or back
    data: dict[str, str] = field(default_factory=dict)


@dataclass
class Layout:
    width: float
    height: float
    texts: list[Text] = field(default_factory=list)
    shapes: list[Shape] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)


# ---------------------------------------------------------------- vertices


@dataclass
class _V:
    """A node of the picture, or a bend point of an edge spanning several layers."""

    node: PicNode | None
    rank: int
    width: float = 0.0
    vis_h: float = 2.0  # height of the drawn shape
    half: float = 4.0  # half the slot's height
    y: float = 0.0
    x: float = 0.0  # left of the column
    col: float = 0.0  # width of the column
    preds: list[int] = field(default_factory=list)
    succs: list[int] = field(default_factory=list)
    outs: list[int] = field(default_factory=list)  # edge indices leaving a real node
    ins: list[int] = field(default_factory=list)
    name: str | None = None  # the user's name, written above an op or layer


def _shape_of(node: PicNode) -> tuple[str, float, float]:
    """(circle, box or text; width; height) of a node's drawn shape."""
    if node.kind in ("op", "layer"):
        w = text_width(node.symbol or "", NODE_FONT)
        if node.kind == "op" and len(node.symbol or "") <= 7:
            r = max(16.0, w / 2 + 7)
            return "circle", 2 * r, 2 * r
        return "box", w + 20, 34.0
    return "text", text_width(node.label), FONT * 1.2


def _ranks(pic: Picture) -> dict[int, int]:
    """Longest path from the sources; then each source just before its nearest user."""
    rank = {n.id: 0 for n in pic.nodes}
    ins: dict[int, list[int]] = {n.id: [] for n in pic.nodes}
    outs: dict[int, list[int]] = {n.id: [] for n in pic.nodes}
    for e in pic.edges:
        ins[e.target].append(e.source)
        outs[e.source].append(e.target)
    for n in pic.nodes:  # topological order
        if ins[n.id]:
            rank[n.id] = 1 + max(rank[s] for s in ins[n.id])
    for n in pic.nodes:
        if not ins[n.id] and outs[n.id]:
            rank[n.id] = min(rank[t] for t in outs[n.id]) - 1
    return rank


def _vertices(pic: Picture, labels: list[tuple[str, str]]) -> tuple[list[_V], list[list[int]]]:
    """Vertices (nodes first, then bend points) and each edge's chain of vertices."""
    rank = _ranks(pic)
    index = {n.id: k for k, n in enumerate(pic.nodes)}
    feeds_output = {e.source for e in pic.edges if e.target == pic.root}
    verts = [_node_vertex(n, rank[n.id], n.id in feeds_output) for n in pic.nodes]
    chains = []
    for k, e in enumerate(pic.edges):
        chain = [index[e.source]]
        for r in range(rank[e.source] + 1, rank[e.target]):
            verts.append(_V(None, r))
            chain.append(len(verts) - 1)
        chain.append(index[e.target])
        for a, b in zip(chain, chain[1:]):
            verts[a].succs.append(b)
            verts[b].preds.append(a)
        verts[chain[0]].outs.append(k)
        verts[chain[-1]].ins.append(k)
        chains.append(chain)
    for v in verts:
        if v.node is not None:
            _size(v, [labels[k] for k in v.outs])
    return verts, chains


def _node_vertex(node: PicNode, rank: int, feeds_output: bool) -> _V:
    v = _V(node, rank)
    if not feeds_output and node.kind in ("op", "layer"):  # else the output's label says it
        v.name = node.name
    return v


def _size(v: _V, out_labels: list[tuple[str, str]]) -> None:
    """The width a node needs in its column and the half height of its slot."""
    node = v.node
    _, w, h = _shape_of(node)
    name_w = text_width(v.name) if v.name else 0
    sum_w = text_width(sum_text(node.grad)) if node.grad is not None else 0
    v.width = max(w, name_w, sum_w)
    v.vis_h = h
    extra = (FONT + 6) if name_w or sum_w else 0
    v.half = max(h / 2 + extra, len(out_labels) * HALF_BAND, len(v.ins) * 5.0)


# ---------------------------------------------------------------- order and heights


def _layers(verts: list[_V]) -> list[list[int]]:
    top = max(v.rank for v in verts)
    layers: list[list[int]] = [[] for _ in range(top + 1)]
    for k, v in enumerate(verts):
        layers[v.rank].append(k)
    return layers


def _crossings(layers: list[list[int]], verts: list[_V]) -> int:
    total = 0
    for upper, lower in zip(layers, layers[1:]):
        pos = {v: i for i, v in enumerate(lower)}
        ends = [(i, pos[s]) for i, v in enumerate(upper) for s in verts[v].succs]
        total += sum(1 for a in range(len(ends)) for b in range(a + 1, len(ends))
                     if (ends[a][0] - ends[b][0]) * (ends[a][1] - ends[b][1]) < 0)
    return total


def _first_order(layers: list[list[int]], verts: list[_V], root: int) -> None:
    """Each layer in the order a walk back from the output meets it, inputs in their order:
    the book's order (apple above n), before any sweep."""
    seen: dict[int, int] = {}
    stack = [root]
    while stack:
        v = stack.pop()
        if v in seen:
            continue
        seen[v] = len(seen)
        stack.extend(reversed(verts[v].preds))
    for layer in layers:
        layer.sort(key=lambda v: seen.get(v, len(verts) + v))


def _order(layers: list[list[int]], verts: list[_V], sweeps: int = 8) -> list[list[int]]:
    """Barycenter ordering, both directions, keeping the best seen."""
    best, best_count = [list(x) for x in layers], _crossings(layers, verts)
    for sweep in range(sweeps):
        down = sweep % 2 == 0
        rng = range(1, len(layers)) if down else range(len(layers) - 2, -1, -1)
        for r in rng:
            near = layers[r - 1] if down else layers[r + 1]
            pos = {v: i for i, v in enumerate(near)}

            def key(item: tuple[int, int], pos=pos, down=down) -> float:
                i, v = item
                nb = verts[v].preds if down else verts[v].succs
                return sum(pos[n] for n in nb) / len(nb) if nb else float(i)

            layers[r] = [v for _, v in sorted(enumerate(layers[r]), key=key)]
        count = _crossings(layers, verts)
        if count < best_count:
            best, best_count = [list(x) for x in layers], count
    return best


def _pack(half: list[float], desired: list[float],
          weights: list[float] | None = None) -> list[float]:
    """Centers closest (weighted least squares) to desired with the slots in order and not
    overlapping: isotonic regression by pooling adjacent violators."""
    offs = [0.0]
    for a, b in zip(half, half[1:]):
        offs.append(offs[-1] + a + b + GAP)
    weights = weights or [1.0] * len(half)
    blocks: list[list[float]] = []  # weighted sum, weight, count
    for d, o, w in zip(desired, offs, weights):
        blocks.append([w * (d - o), w, 1])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            s, w_, c = blocks.pop()
            blocks[-1][0] += s
            blocks[-1][1] += w_
            blocks[-1][2] += c
    z = [s / w for s, w, c in blocks for _ in range(int(c))]
    return [zi + o for zi, o in zip(z, offs)]


def _heights(layers: list[list[int]], verts: list[_V], passes: int = 5) -> None:
    """Slot centers: packed, then moved toward their neighbors, sweeping both ways and
    ending with a sweep to the right, in which a node follows its inputs that are not
    leaves, so a long chain runs level with its constants hanging beside it."""
    for layer in layers:
        verts_y = _pack([verts[v].half for v in layer], [0.0] * len(layer))
        for v, y in zip(layer, verts_y):
            verts[v].y = y
    for p in range(passes):
        down = p % 2 == 0
        rng = range(1, len(layers)) if down else range(len(layers) - 2, -1, -1)
        for r in rng:
            desired = [_desired(verts, v, down) for v in layers[r]]
            for v, y in zip(layers[r], _pack([verts[v].half for v in layers[r]], desired)):
                verts[v].y = y
    for layer in layers:  # leaves and constants beside their users, the rest held still
        desired = [_desired(verts, v, False) if _is_source(verts[v]) else verts[v].y
                   for v in layer]
        weights = [1.0 if _is_source(verts[v]) else 1000.0 for v in layer]
        for v, y in zip(layer, _pack([verts[v].half for v in layer], desired, weights)):
            verts[v].y = y
    top = min(v.y - v.half for v in verts)
    for v in verts:
        v.y += MARGIN + FONT - top


def _desired(verts: list[_V], v: int, down: bool) -> float:
    if down:
        nb = [n for n in verts[v].preds if not _is_source(verts[n])] or verts[v].preds
    else:
        nb = verts[v].succs
    return sum(verts[n].y for n in nb) / len(nb) if nb else verts[v].y


def _is_source(v: _V) -> bool:
    return v.node is not None and v.node.kind in ("leaf", "const")


# ---------------------------------------------------------------- widths


def _columns(layers: list[list[int]], verts: list[_V],
             labels: list[tuple[str, str]], chains: list[list[int]]) -> list[float]:
    """Left x of each column; returns the stretch width after each column."""
    zone = [0.0] * len(layers)
    for k, chain in enumerate(chains):
        r = verts[chain[0]].rank
        zone[r] = max(zone[r], *(text_width(t) for t in labels[k]))
    zone = [max(z + 2 * PAD, 36.0) for z in zone]
    x = float(MARGIN)
    for r, layer in enumerate(layers):
        width = max(verts[v].width for v in layer)
        for v in layer:
            verts[v].x = x
            verts[v].col = width
        x += width + FAN + zone[r] + BEND
    return zone


def layered(pic: Picture, labels: list[tuple[str, str]] | None = None
            ) -> tuple[list[_V], list[list[int]], list[list[int]]]:
    """Vertices, each edge's chain of them and the layers in their order: steps 1 and 2,
    which the text drawing (text.py) shares before it places anything on its own grid."""
    if labels is None:
        labels = [(value_text(e.value), value_text(e.grad)) for e in pic.edges]
    verts, chains = _vertices(pic, labels)
    layers = _layers(verts)
    _first_order(layers, verts, [n.id for n in pic.nodes].index(pic.root))
    return verts, chains, _order(layers, verts)


# ---------------------------------------------------------------- drawing


def layout(pic: Picture) -> Layout:
    """Every text, shape and line of the drawing, in pixels (y grows downward)."""
    labels = [(value_text(e.value), value_text(e.grad)) for e in pic.edges]
    verts, chains, layers = layered(pic, labels)
    _heights(layers, verts)
    zone = _columns(layers, verts, labels, chains)
    out = Layout(0, 0)
    for v in verts:
        if v.node is not None:
            _draw_node(out, v)
    ports = _out_ports(verts, chains)
    in_ports = _in_ports(verts, chains, ports)
    for k, (e, chain) in enumerate(zip(pic.edges, chains)):
        _draw_edge(out, e, [verts[c] for c in chain], zone, labels[k], ports[k], in_ports[k])
    right = max(max(t.box()[2] for t in out.texts), max(v.x + v.col for v in verts))
    bottom = max(max(t.box()[3] for t in out.texts), max(v.y + v.half for v in verts))
    if pic.note:
        bottom += FONT * 2
        out.texts.append(Text(MARGIN, bottom, pic.note, "note", anchor="start"))
        right = max(right, out.texts[-1].box()[2])
    out.width, out.height = math.ceil(right + MARGIN), math.ceil(bottom + MARGIN)
    return out


def _center_x(v: _V) -> float:
    """Ops sit in the middle of their column, leaves at its right, the output at its left."""
    kind = v.node.kind
    text_w = _shape_of(v.node)[1]
    if kind in ("leaf", "const"):
        return v.x + v.col - text_w / 2
    if kind == "output":
        return v.x + 6 + text_w / 2
    return v.x + v.col / 2


def _draw_node(out: Layout, v: _V) -> None:
    node = v.node
    kind, w, h = _shape_of(node)
    cx, cy = _center_x(v), v.y
    data = {"data-node": str(node.id)}
    if kind == "circle":
        out.shapes.append(Shape("circle", cx, cy, w, h, data))
    elif kind == "box":
        out.shapes.append(Shape("box", cx - w / 2, cy - h / 2, w, h, data))
    baseline = cy + (ASCENT - DESCENT) / 2 * (NODE_FONT if kind != "text" else FONT)
    if kind == "text":
        cls = "name" if node.kind == "output" else "leaf"
        anchor = "start" if node.kind == "output" else "end"
        x = cx - w / 2 if anchor == "start" else cx + w / 2
        out.texts.append(Text(x, baseline, node.label, cls, anchor, data=data))
    else:
        out.texts.append(Text(cx, baseline, node.symbol or "", "node", size=NODE_FONT,
                              data=data))
    if v.name:
        out.texts.append(Text(cx, cy - h / 2 - 4 - DESCENT * FONT, v.name, "name",
                              data=data))
    if node.grad is not None:
        anchor = "end" if kind == "text" else "middle"
        x = cx + w / 2 if kind == "text" else cx
        out.texts.append(Text(x, cy + h / 2 + 4 + ASCENT * FONT, sum_text(node.grad), "grad",
                              anchor, color="red", data=data))


def _edge_x(v: _V, side: str, dy: float) -> float:
    """Where an edge meets a node's outline, dy from its center."""
    kind, w, _ = _shape_of(v.node)
    cx = _center_x(v)
    sign = 1 if side == "right" else -1
    if kind == "circle":
        r = w / 2
        return cx + sign * math.sqrt(max(r * r - dy * dy, 0.0))
    return cx + sign * (w / 2 + (4 if kind == "text" else 0))


def _out_ports(verts: list[_V], chains: list[list[int]]) -> list[float]:
    """The y of each edge's labeled stretch: one band per edge in its source's slot, top to
    bottom in the order of where the edges go."""
    ys = [0.0] * len(chains)
    for v in verts:
        ordered = sorted(v.outs, key=lambda k: (verts[chains[k][1]].y, k))
        for i, k in enumerate(ordered):
            ys[k] = v.y + (i - (len(ordered) - 1) / 2) * 2 * HALF_BAND
    return ys


def _in_ports(verts: list[_V], chains: list[list[int]], ports: list[float]) -> list[float]:
    """The y where each edge enters its target, in the order of where the edges come from."""
    ys = [0.0] * len(chains)
    for v in verts:
        if v.node is None or not v.ins:
            continue
        came = sorted(v.ins, key=lambda k: (verts[chains[k][-2]].y if len(chains[k]) > 2
                                            else ports[k], k))
        step = min(10.0, v.vis_h * 0.7 / max(len(came) - 1, 1))
        for i, k in enumerate(came):
            ys[k] = v.y + (i - (len(came) - 1) / 2) * step
    return ys


def _draw_edge(out: Layout, e: PicEdge, chain: list[_V], zone: list[float],
               label: tuple[str, str], port: float, in_y: float) -> None:
    src, dst = chain[0], chain[-1]
    right = src.x + src.col
    a, b = right + FAN, right + FAN + zone[src.rank]
    pts = [(_edge_x(src, "right", 0.0), src.y), (a, port), (b, port)]
    for d in chain[1:-1]:
        pts += [(d.x, d.y), (d.x + d.col + FAN + zone[d.rank], d.y)]
    end = _edge_x(dst, "left", in_y - dst.y)
    if end > dst.x:
        pts.append((dst.x, in_y))
    pts.append((end, in_y))
    data = {"data-edge": e.key}
    out.lines.append(Line(pts, "black", "edge", data))
    mid = (a + b) / 2
    if label[0]:
        out.texts.append(Text(mid, port - 4 - DESCENT * FONT, label[0], "forward", data=data))
    if e.grad is None:
        return
    y = port + RED_DROP
    out.lines.append(Line([(b - 2, y), (a + 2, y)], "red", "back", data))
    out.texts.append(Text(mid, y + 4 + ASCENT * FONT, label[1], "grad", color="red", data=data))
