"""Rows and jog columns of the text drawing (text.py), on whole cells.

Rows: each layer is placed as a whole by a small dynamic program over whole rows (the
slots keep their order and never share a row), which can leave one input of a node exactly
level with it: the book's straight line from apple into the first ×, with n coming in from
below. A least-squares packing, as the pixel layout uses, would pull both half a slot off
and bend every line. First left to right for the nodes, then right to left for the leaves
and constants, which sit beside whatever reads them.

Jog columns: in a channel, the edges that change rows each get a column; their order
decides how many lines cross, and one order is never allowed (an edge would run along
another's row), so the order with the fewest crossings is searched for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import permutations

from bpshell.results.picture import PicNode

TRACK = 3  # rows per edge leaving a node: its value, its line, its gradient
GAP = 1  # empty rows between two slots of a layer
BIG = 10**6  # the cost of an order that would run two edges along one row
# which inputs a node is drawn level with, tried in turn: an op's first (a chain runs
# straight, its leaves beside it), a long edge's first, or simply the first input
PREFER = ((0, 1, 2), (1, 0, 2), (0, 0, 0))
SEARCH = 6  # jogging edges in one channel up to which every order is tried
PRIMARY, OTHER, LIGHT, TIDY = 4.0, 1.0, 0.25, 0.001  # weights of the row costs


@dataclass(eq=False)
class Slot:
    """The rows a vertex takes in its layer: a node with a track per edge leaving it, or a
    bend point (node None), one row high."""

    index: int
    rank: int
    node: PicNode | None
    tracks: list[int] = field(default_factory=list)  # edge indices, top to bottom
    top: int = 0

    @property
    def height(self) -> int:
        return TRACK * max(1, len(self.tracks)) if self.node is not None else 1

    @property
    def offset(self) -> int:
        """The node's row within the slot: under its name, over its sum."""
        return 1 if self.node is not None else 0

    @property
    def row(self) -> int:
        return self.top + self.offset

    def track_row(self, edge: int) -> int:
        return self.row + TRACK * self.tracks.index(edge)

    def rows(self) -> set[int]:
        return {self.row + TRACK * i for i in range(len(self.tracks))}


@dataclass(eq=False)
class Segment:
    """One edge across one channel, from its source's track to its target's row."""

    edge: int
    source: Slot
    target: Slot
    first: bool  # the edge's first channel, where its labels are written
    jog: int = 0  # the column where it changes rows

    @property
    def rank(self) -> int:
        return self.source.rank

    @property
    def ya(self) -> int:
        return self.source.track_row(self.edge)

    @property
    def yb(self) -> int:
        return self.target.row

    @property
    def jogs(self) -> bool:
        return self.ya != self.yb


def slots_of(verts: list, chains: list[list[int]], layers: list[list[int]]) -> list[Slot]:
    """A slot per vertex of layout.layered, tracks ordered as their targets are."""
    pos = {v: i for layer in layers for i, v in enumerate(layer)}
    slots = [Slot(k, v.rank, v.node) for k, v in enumerate(verts)]
    for k, chain in enumerate(chains):
        slots[chain[0]].tracks.append(k)
        for v in chain[1:-1]:
            slots[v].tracks.append(k)
    for k, v in enumerate(verts):
        if v.node is not None:
            slots[k].tracks.sort(key=lambda e: (pos[chains[e][1]], e))
    return slots


def place_rows(layers: list[list[int]], slots: list[Slot], segments: list[Segment],
               sweeps: int = 4) -> None:
    """Each slot's top row, with the fewest lines that change rows: each way of choosing
    which input a node is level with is tried, as the sweeps can settle in a poor spot."""
    ins: dict[int, list[Segment]] = {}
    outs: dict[int, list[Segment]] = {}
    for s in segments:
        ins.setdefault(s.target.index, []).append(s)
        outs.setdefault(s.source.index, []).append(s)
    best: tuple[tuple[int, int], list[int]] | None = None
    for prefer in PREFER:
        primary = {id(min(group, key=lambda s, p=prefer: _rank(s, p)))
                   for group in ins.values()}
        _sweep(layers, slots, lambda slot, p=primary: _cost(
            slot, ins.get(slot.index, []), outs.get(slot.index, []), p, (ins, outs)), sweeps)
        score = (sum(s.jogs for s in segments), max(s.top + s.height for s in slots))
        if best is None or score < best[0]:
            best = score, [s.top for s in slots]
    for s, top in zip(slots, best[1]):
        s.top = top


def _sweep(layers: list[list[int]], slots: list[Slot], cost: Callable, sweeps: int) -> None:
    """Stacked first, then moved layer by layer, sweeping right and left."""
    for layer in layers:
        _place(layer, slots, lambda slot: [])
    for sweep in range(sweeps):
        for layer in layers if sweep % 2 == 0 else list(reversed(layers)):
            _place(layer, slots, cost)
    least = min(s.top for s in slots)
    for s in slots:
        s.top -= least


def _rank(seg: Segment, prefer: tuple[int, int, int]) -> tuple[int, int]:
    """Which input a node is drawn level with, by the kind of its source (an op's, a bend
    point's, a leaf's), in the order `prefer` gives, then the first."""
    source = seg.source
    kind = 1 if source.node is None else 2 if source.node.kind in ("leaf", "const") else 0
    return prefer[kind], seg.edge


def _cost(slot: Slot, ins: list[Segment], outs: list[Segment], primary: set[int],
          links: tuple[dict, dict]) -> list[tuple[float, int, int]]:
    """How far the slot's lines would run from straight with its top at a row. A leaf
    follows its user and the output its op, so a node pulls only lightly toward them."""
    all_ins, all_outs = links
    light = slot.node is not None
    wants = []
    for s in ins:
        w = PRIMARY if id(s) in primary else OTHER
        free = light and s.source.index not in all_ins
        wants.append((w * (LIGHT if free else 1.0), slot.offset, s.ya))
    for s in outs:
        w = PRIMARY if id(s) in primary else OTHER
        free = light and s.target.index not in all_outs
        wants.append((w * (LIGHT if free else 1.0),
                      slot.offset + TRACK * slot.tracks.index(s.edge), s.yb))
    return wants


def _place(layer: list[int], slots: list[Slot], wants_of: Callable) -> None:
    """The tops minimizing the summed costs, in order and apart: a DP over whole rows.

    A slot's cost at a top row is TIDY * top (the drawing stays short) plus, for each of
    its lines, weight * how many rows it would have to change: (weight, offset of the
    line's row in the slot, the row at its other end) from wants_of.
    """
    import numpy as np

    items = [slots[k] for k in layer]
    limit = max(s.top for s in slots) + sum(s.height + GAP for s in items) + 2 * TRACK
    t = np.arange(limit)
    best = np.full(limit, np.inf)
    back: list[np.ndarray] = []
    for i, slot in enumerate(items):
        cost = TIDY * t
        for w, off, y in wants_of(slot):
            cost = cost + w * np.abs(t + off - y)
        if i == 0:
            best = cost
            continue
        need = items[i - 1].height + GAP
        low = np.minimum.accumulate(best)
        new = np.concatenate(([True], best[1:] < low[:-1]))
        arg = np.maximum.accumulate(np.where(new, t, 0))
        best = np.concatenate((np.full(need, np.inf), low[:-need] + cost[need:]))
        back.append(np.concatenate((np.full(need, -1), arg[:-need])))
    top = int(np.argmin(best))
    tops = [top]
    for came in reversed(back):
        top = int(came[top])
        tops.append(top)
    for slot, top in zip(items, reversed(tops)):
        slot.top = top


def jog_order(segs: list[Segment]) -> list[Segment] | None:
    """The jogging edges of one channel, left to right: fewest crossings, and none running
    along another's row; None when no order avoids that."""
    if len(segs) <= 1:
        return list(segs)
    cost = [[_pair(s, t) for t in segs] for s in segs]
    if len(segs) <= SEARCH:
        best = min(permutations(range(len(segs))), key=lambda p: _total(p, cost))
    else:
        best = []
        for i in range(len(segs)):
            at = min(range(len(best) + 1),
                     key=lambda k: _total(best[:k] + [i] + best[k:], cost))
            best.insert(at, i)
    if _total(best, cost) >= BIG:
        return None
    return [segs[i] for i in best]


def _total(order, cost) -> int:
    return sum(cost[a][b] for i, a in enumerate(order) for b in order[i + 1:])


def _pair(s: Segment, t: Segment) -> int:
    """What putting s's jog column left of t's costs: the crossings it makes, or BIG when
    s would arrive along the row t leaves on."""
    if s.yb == t.ya:
        return BIG
    return int(_inside(t.ya, s.ya, s.yb)) + int(_inside(s.yb, t.ya, t.yb))


def _inside(y: int, a: int, b: int) -> bool:
    return min(a, b) < y < max(a, b)
