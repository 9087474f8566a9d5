"""A Picture drawn on a terminal's character grid: the book's figure, left to right.

`explain NAME step` shows this in a terminal large enough: inputs on the left, the output
on the right, ops as `(×)`, layers as `[Affine]`, each edge's forward value on the row
above its arrow and its gradient on the row below (`?` until the backward pass reaches it).
The ranks and the order within them, which decide the crossings, are layout.py's; the
rest is placed on whole cells, because a terminal cannot put a label between two rows:

- each vertex (a node, or a bend of an edge spanning layers) has a slot of rows in its
  layer: a node's name above it, its gradient sum below, and per edge leaving it a track
  of three rows (value, line, gradient). Slots of a layer share no row (cells.py).
- between two layers, a channel: the fan column where a node's tracks split, the label
  zone as wide as the widest label, one jog column per edge that changes rows, the arrow.
  A line changes rows only in a jog column, and no text is ever put there.

Every text is put whole in cells nothing else uses; if the construction ever failed at
that, or the drawing is larger than the room given, the answer is None and the caller
draws the tree instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bpshell.render.draw.cells import Segment, Slot, jog_order, place_rows, slots_of
from bpshell.render.draw.layout import layered
from bpshell.render.format import shape_text
from bpshell.results.picture import PENDING, Picture

BOX = {"LR": "─", "DU": "│", "DL": "┐", "LU": "┘", "RU": "└", "DR": "┌", "DLR": "┬",
       "LRU": "┴", "DRU": "├", "DLU": "┤", "DLRU": "┼"}
ASCII_BOX = {"LR": "-", "DU": "|"}
ASCII_TEXT = {"×": "x", "·": "*", "−": "-", "…": "...", "Σ": "sum", "→": "->"}


@dataclass
class Grid:
    """The drawing: its lines, and spans (row, start, stop, what) a renderer may colour.

    what: leaf, op, name, value, grad, pending (a `?`) or current (the node the walk is at,
    marked ◀ or < too, in the space after its label: the gradient arrives from the right).
    """

    lines: list[str]
    spans: list[tuple[int, int, int, str]] = field(default_factory=list)

    @property
    def width(self) -> int:
        return max((len(s) for s in self.lines), default=0)


class Clash(Exception):
    """Two things wanted one cell: the drawing would mislead, so none is drawn."""


def text_picture(pic: Picture, width: int, height: int, unicode: bool = True,
                 current: int | None = None, measure: Picture | None = None,
                 names: dict[int, str] | None = None) -> Grid | None:
    """pic on at most width x height cells, or None when it does not fit.

    current: the node to highlight (a node's id, or an op inside a layer box). measure: a
    picture of the same graph whose labels size the grid (the last step of a walk), so
    that every step of it is drawn on the same grid. names: what to call op nodes the
    user left unnamed (the ledger's u1, u2), written above them.
    """
    if not pic.edges:
        return None
    try:
        grid = _draw(pic, measure or pic, unicode, current, names or {})
    except Clash:
        return None
    if grid is None or grid.width > width or len(grid.lines) > height:
        return None
    return grid


def short(v) -> str:
    """A value on one line of a few cells: `2.2`, `220`, `?`, or an array by its shape in
    parentheses as the ledger writes it, `(2x3)`, `(2)`: never to be read as a number."""
    if v is None:
        return ""
    if v is PENDING:
        return "?"
    if isinstance(v, str):
        return v
    shape = tuple(getattr(v, "shape", ()))
    if shape:
        return f"({shape_text(shape)})"
    v = float(v)
    return "0" if v == 0 else f"{v:.4g}"


def _ascii(text: str) -> str:
    for uni, plain in ASCII_TEXT.items():
        text = text.replace(uni, plain)
    return text.encode("ascii", "backslashreplace").decode("ascii")


class _Texts:
    """What is written where, for one picture: node labels, names, sums, edge labels."""

    def __init__(self, pic: Picture, unicode: bool):
        fix = (lambda s: s) if unicode else _ascii
        sigma = "Σ " if unicode else "sum "
        self.node: dict[int, str] = {}
        self.name: dict[int, str] = {}
        self.sum: dict[int, str] = {}
        for n in pic.nodes:
            if n.kind == "op":
                self.node[n.id] = fix(f"({n.symbol})")
            elif n.kind == "layer":
                self.node[n.id] = fix(f"[{n.symbol}]")
            else:
                self.node[n.id] = fix(n.label)
            if n.grad is not None:
                self.sum[n.id] = fix(sigma + short(n.grad))
        self.value = [fix(short(e.value)) for e in pic.edges]
        self.grad = [fix(short(e.grad)) for e in pic.edges]
        self.pending = [e.grad is PENDING for e in pic.edges]
        self.fix = fix


def _draw(pic: Picture, measure: Picture, unicode: bool, current: int | None,
          names: dict[int, str]) -> Grid | None:
    verts, chains, layers = layered(pic)
    texts, sizes = _Texts(pic, unicode), _Texts(measure, unicode)
    if len(sizes.value) != len(texts.value):
        sizes = texts
    last = {e.source for e in pic.edges if e.target == pic.root}
    for v in verts:
        node = v.node
        if node is None or node.kind not in ("op", "layer") or node.id in last:
            continue
        name = v.name or names.get(node.id)
        if name:
            texts.name[node.id] = sizes.name[node.id] = texts.fix(name)
    slots = slots_of(verts, chains, layers)
    segments = _segments(chains, slots)
    place_rows(layers, slots, segments)
    canvas = _Canvas(unicode)
    xs = _columns(layers, slots, sizes, segments)
    for layer in layers:
        for k in layer:
            _draw_vertex(canvas, slots[k], xs, texts, _is_current(slots[k], current, pic))
    for r in range(len(layers) - 1):
        channel = [s for s in segments if s.rank == r]
        order = jog_order([s for s in channel if s.jogs])
        if order is None:
            return None
        for j, s in enumerate(order):
            s.jog = xs.jog0[r] + 2 * j
        for s in channel:
            _draw_segment(canvas, s, xs, texts)
    return canvas.grid()


def _is_current(slot: Slot, current: int | None, pic: Picture) -> bool:
    node = slot.node
    return node is not None and current is not None and (
        node.id == current or current in node.members)


def _segments(chains: list[list[int]], slots: list[Slot]) -> list[Segment]:
    """Each edge, cut into one segment per channel it crosses."""
    out = []
    for k, chain in enumerate(chains):
        for i, (a, b) in enumerate(zip(chain, chain[1:])):
            out.append(Segment(k, slots[a], slots[b], first=i == 0))
    return out


@dataclass
class _Xs:
    """Columns: where each layer's node column starts and how wide it is, and its channel."""

    start: list[int]
    width: list[int]
    fan: list[int]
    zone: list[int]  # the label zone's first column
    zone_w: list[int]
    jog0: list[int]
    arrow: list[int]


def _columns(layers: list[list[int]], slots: list[Slot], sizes: _Texts,
             segments: list[Segment]) -> _Xs:
    xs = _Xs([], [], [], [], [], [], [])
    x = 0
    for r, layer in enumerate(layers):
        width = 0
        for k in layer:
            node = slots[k].node
            if node is not None:
                width = max(width, len(sizes.node[node.id]), len(sizes.sum.get(node.id, "")),
                            len(sizes.name.get(node.id, "")))
        xs.start.append(x)
        xs.width.append(width)
        xs.fan.append(x + width + 1)
        labels = [max(len(sizes.value[s.edge]), len(sizes.grad[s.edge]))
                  for s in segments if s.rank == r and s.first]
        zone_w = max(labels, default=0) + 2
        jogs = sum(1 for s in segments if s.rank == r and s.jogs)
        xs.zone.append(x + width + 2)
        xs.zone_w.append(zone_w)
        xs.jog0.append(x + width + 2 + zone_w)
        xs.arrow.append(x + width + 2 + zone_w + 2 * jogs)
        x = xs.arrow[-1] + 2
    return xs


def _draw_vertex(canvas: _Canvas, slot: Slot, xs: _Xs, texts: _Texts, current: bool) -> None:
    """A node's label, name and sum, its line out to the fan column and the fan itself;
    or for a bend point, the line straight through its column."""
    r, row = slot.rank, slot.row
    x0, fan = xs.start[r], xs.fan[r]
    node = slot.node
    if node is None:
        canvas.hline(row, x0, fan + 1)
        return
    label = texts.node[node.id]
    right = node.kind in ("leaf", "const")
    start = x0 + xs.width[r] - len(label) if right else x0
    what = "current" if current else ("leaf" if node.kind in ("leaf", "const", "output")
                                      else "op")
    canvas.text(row, start, label, what)
    if current:  # in the space after the label: seen without colour too
        canvas.text(row, start + len(label), "◀" if canvas.unicode else "<", "current")
    for dy, text, cls in ((-1, texts.name.get(node.id), "name"),
                          (1, texts.sum.get(node.id), "grad")):
        if text:
            at = x0 + xs.width[r] - len(text) if right else x0
            canvas.text(row + dy, at, text, "pending" if text.endswith("?") else cls)
    if not slot.tracks:
        return
    canvas.hline(row, start + len(label) + 1, fan)
    last = slot.track_row(slot.tracks[-1])
    for y in range(row, last + 1):
        dirs = ("L" if y == row else "") + ("U" if y > row else "") + \
            ("D" if y < last else "") + ("R" if y in slot.rows() else "")
        canvas.line(y, fan, dirs)


def _draw_segment(canvas: _Canvas, s: Segment, xs: _Xs, texts: _Texts) -> None:
    """One edge across one channel: along its track, down or up in its jog column, into
    its target; the labels over and under the track if this is the edge's first channel."""
    r = s.rank
    ya, yb, arrow = s.ya, s.yb, xs.arrow[r]
    zone = xs.zone[r]
    if s.jogs:
        canvas.hline(ya, zone, s.jog)
        down = yb > ya
        canvas.line(ya, s.jog, "LD" if down else "LU")
        for y in range(min(ya, yb) + 1, max(ya, yb)):
            canvas.line(y, s.jog, "UD")
        canvas.line(yb, s.jog, "RU" if down else "DR")
        canvas.hline(yb, s.jog + 1, arrow)
    else:
        canvas.hline(ya, zone, arrow)
    if s.target.node is None:
        canvas.hline(yb, arrow, arrow + 2)
    else:
        canvas.arrow(yb, arrow)
    if s.first:
        w = xs.zone_w[r]
        value, grad = texts.value[s.edge], texts.grad[s.edge]
        if value:
            canvas.text(ya - 1, zone + (w - len(value)) // 2, value, "value")
        if grad:
            canvas.text(ya + 1, zone + (w - len(grad)) // 2, grad,
                        "pending" if texts.pending[s.edge] else "grad")


class _Canvas:
    """Cells of text and of lines; a text meeting anything else is a Clash."""

    def __init__(self, unicode: bool):
        self.unicode = unicode
        self.chars: dict[tuple[int, int], str] = {}
        self.dirs: dict[tuple[int, int], set[str]] = {}
        self.spans: list[tuple[int, int, int, str]] = []

    def text(self, row: int, col: int, text: str, what: str) -> None:
        if row < 0 or col < 0:
            raise Clash(text)
        for i, ch in enumerate(text):
            cell = (row, col + i)
            if cell in self.chars or cell in self.dirs:
                raise Clash(text)
            self.chars[cell] = ch
        self.spans.append((row, col, col + len(text), what))

    def arrow(self, row: int, col: int) -> None:
        """The arrowhead into a node; edges that merge share it."""
        head = "→" if self.unicode else ">"
        if self.chars.get((row, col)) == head:
            return
        self.text(row, col, head, "line")
        self.spans.pop()

    def line(self, row: int, col: int, dirs: str) -> None:
        cell = (row, col)
        if cell in self.chars:
            raise Clash(dirs)
        self.dirs.setdefault(cell, set()).update(dirs)

    def hline(self, row: int, start: int, stop: int) -> None:
        for col in range(start, stop):
            self.line(row, col, "LR")

    def grid(self) -> Grid:
        cells = {**{c: self._box(d) for c, d in self.dirs.items()}, **self.chars}
        widths: dict[int, int] = {}
        for r, c in cells:
            widths[r] = max(widths.get(r, 0), c + 1)
        lines = [[" "] * widths.get(y, 0) for y in range(1 + max(widths))]
        for (r, c), ch in cells.items():
            lines[r][c] = ch
        return Grid(["".join(s) for s in lines], sorted(self.spans))

    def _box(self, dirs: set[str]) -> str:
        key = "".join(sorted(dirs))
        if len(key) == 1:
            key = "LR" if key in "LR" else "DU"
        if self.unicode:
            return BOX[key]
        return ASCII_BOX.get(key, "+")
