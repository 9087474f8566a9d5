"""`plot net(x) wrt x data t` for points of two columns: the decision regions of a
classifier over the plane, and the data on them (a moons or spiral fit, seen whole)."""

from __future__ import annotations

import os

import numpy as np

from bpshell.commands.registry import Args
from bpshell.errors import BpError, ShapeError
from bpshell.graph.build import Builder, Leaf
from bpshell.language.printer import to_text
from bpshell.numeric.passes import Plan

GRID = 120  # cells along each axis: 14,400 points, one forward pass


def grid_axes(points: np.ndarray, size: int = GRID) -> tuple[np.ndarray, np.ndarray]:
    """Each axis from its least to its largest value, widened by a tenth of its range
    (0.5 where all points agree) on both sides."""
    axes = []
    for k in range(2):
        lo, hi = float(points[:, k].min()), float(points[:, k].max())
        pad = 0.1 * (hi - lo) if hi > lo else 0.5
        axes.append(np.linspace(lo - pad, hi + pad, size))
    return axes[0], axes[1]


def classes_of(scores: np.ndarray, count: int) -> np.ndarray:
    """The class of each point: the arg-max of its row of scores, or, with one score per
    point, 1 where it is above 0.5 (a sigmoid's output) and 0 elsewhere."""
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim == 2 and s.shape == (count, 1) or s.shape == (count,):
        return (s.reshape(-1) > 0.5).astype(np.float64)
    if s.ndim == 2 and s.shape[0] == count:
        return np.argmax(s, axis=1).astype(np.float64)
    raise ShapeError(f"a plot of decision regions needs one row of scores per point; "
                     f"got shape {'x'.join(map(str, s.shape)) or 'scalar'} for {count} "
                     "points")


def boundary(session, args: Args, stmt, points: np.ndarray) -> dict:
    """The class at every cell of a grid over the points; row i is the i-th y value."""

    xs, ys = grid_axes(points)
    gx, gy = np.meshgrid(xs, ys)
    grid = np.stack([gx.reshape(-1), gy.reshape(-1)], axis=1)
    _, plan = plan_at(session, args, grid)
    scores = plan.forward()
    if scores is None:
        raise BpError("the expression is symbolic here; give its other inputs values",
                      *stmt.pos)
    try:
        regions = classes_of(scores, len(grid)).reshape(len(ys), len(xs))
    except ShapeError as e:
        raise e.at(*stmt.pos) from None
    data = {}
    for n in args.data:
        v = session.ev.value_of(n)
        if v is None or np.size(v) != len(points):
            raise ShapeError(f"data {n} needs one label per row of {args.wrt}", *stmt.pos)
        data[n] = np.asarray(v, dtype=np.float64).reshape(-1)
    result = {"kind": "plot", "expr": to_text(session.ev.fold(args.expr, session.state.serial)),
              "wrt": args.wrt, "x": xs, "y": ys, "dy": None, "data": data,
              "data_x": points, "file": args.file, "regions": regions}
    if args.file:
        from bpshell.render.plotfile import save_regions

        save_regions(result, os.path.expanduser(args.file))
    return result


def plan_at(session, args: Args, xs: np.ndarray) -> tuple[Builder, Plan]:
    """The plot's expression as a plan, with the 'wrt' name holding xs."""
    state = session.state
    expr = session.ev.fold(args.expr, state.serial)
    bindings = dict(state.bindings)
    bindings[args.wrt] = Leaf(xs, "", 0, 0)
    b = Builder(bindings, state.funcs, None, session.limits.max_nodes, state.last, state)
    b.graph.root = b.expr(expr, {}, state.serial)
    return b, Plan(b.graph, session.limits.max_elements,
                   session.limits.max_statement_elements)
