"""`plot EXPR wrt x`: an expression and its derivative over a range, in the terminal or a file."""

from __future__ import annotations

import os

import numpy as np

from bpshell.commands.boundary import boundary, plan_at
from bpshell.commands.registry import Args, command
from bpshell.errors import BpError, ShapeError
from bpshell.language.grammar import Expr, Names, OneName, Range, RestPath
from bpshell.language.printer import to_text
from bpshell.results.curve import DRAWABLE, drawable
from bpshell.results.fields import NONE, TEXT


@command("plot", Expr("expr", doc="the expression to plot"),
         OneName("wrt", "wrt", required=True,
                 why="plot needs 'wrt NAME': plot sigmoid(x) wrt x from -6 to 6",
                 doc="the name along the horizontal axis; the derivative is taken wrt it"),
         Range("range", "from", doc="the interval of the horizontal axis"),
         Names("data", "data", doc="names whose values are drawn as points (a fit's "
               "targets)"),
         RestPath("file", "to", doc="save the picture (.png, .svg) instead of drawing it "
                  "in the terminal"),
         summary="plot an expression and its derivative ('to FILE.png' saves it)",
         examples=("plot sigmoid(x) wrt x from -6 to 6",
                   "plot tanh(u) wrt u from -3 to 3 to tanh.png", "plot 2*W + 1 wrt W data Y"),
         group="values", files=True,
         notes=("Without 'from A to B' the points are the values of the 'wrt' name, and "
                "'data a, b' adds those names' values as points.",
                "When the 'wrt' name holds points of two columns (N x 2, as 'load moons' "
                "gives), plot draws the decision regions instead: the class of each point "
                "of a grid over them (the arg-max of a row of scores; one column: 1 where "
                "it is above 0.5), with the points of 'data t' marked by their label: "
                "'plot net(x) wrt x data t'."),
         fields={"expr": str, "wrt": str, "x": np.ndarray, "y": np.ndarray, "dy": (np.ndarray,
                 NONE), "data": dict, "data_x": (np.ndarray, NONE), "file": TEXT,
                 "regions": (np.ndarray, NONE), "left_out": list})
def plot(session, args: Args, stmt) -> dict:
    points = session.ev.value_of(args.wrt)
    if args.range is None and np.ndim(points) == 2 and np.shape(points)[1] == 2:

        return boundary(session, args, stmt, np.asarray(points, dtype=np.float64))
    xs = _points(session, args, stmt)
    y, dy = _curve(session, args, stmt, xs)
    data = {}
    wrt_values = session.ev.value_of(args.wrt)
    for n in args.data:
        v = session.ev.value_of(n)
        if v is None or np.size(v) != np.size(wrt_values):
            raise ShapeError(f"data {n} needs one value per {args.wrt}", *stmt.pos)
        data[n] = np.asarray(v, dtype=np.float64).reshape(-1)
    expr = to_text(session.ev.fold(args.expr, session.state.serial))
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    x = xs.reshape(-1)
    left_out = [note for note in (left_out_of(expr, x, y, args.wrt),
                                  left_out_of(f"d/d{args.wrt}", x, dy, args.wrt)) if note]
    result = {"kind": "plot", "expr": expr, "wrt": args.wrt, "x": x, "y": y, "dy": dy,
              "data": data,
              "data_x": np.asarray(wrt_values, dtype=np.float64).reshape(-1) if data else None,
              "file": args.file, "regions": None, "left_out": left_out}
    if args.file:
        from bpshell.render.plotfile import save_plot

        save_plot(result, os.path.expanduser(args.file))
    return result


def _points(session, args: Args, stmt) -> np.ndarray:
    if args.range is not None:
        lo, hi = args.range
        return np.linspace(lo, hi, 201)
    xs = session.ev.value_of(args.wrt)
    if xs is None or np.ndim(xs) == 0:
        raise BpError(f"give a range ('from A to B') or make {args.wrt} an array", *stmt.pos)
    return np.asarray(xs, dtype=np.float64)


def _curve(session, args: Args, stmt, xs: np.ndarray):
    b, plan = plan_at(session, args, xs)
    y = plan.forward()
    if y is None:
        raise BpError("the expression is symbolic here; give its other inputs values",
                      *stmt.pos)
    if np.size(y) != np.size(xs):
        raise ShapeError(f"plot needs one value per {args.wrt}: got {np.size(y)} values for "
                         f"{np.size(xs)} points", *stmt.pos)
    dy = None
    if args.wrt in b.graph.named:
        i = b.graph.named[args.wrt]
        g = plan.backward(np.ones(np.shape(y)), {i})[i]
        dy = None if g is None else np.asarray(g, dtype=np.float64).reshape(-1)
    return y, dy


def left_out_of(label: str, x: np.ndarray, v: np.ndarray | None, wrt: str) -> str | None:
    """What a curve's plot leaves out, and where: None when every point is drawn."""
    if v is None:
        return None
    bad = ~drawable(v)
    if not bad.any():
        return None
    parts = []
    with np.errstate(invalid="ignore"):
        for what, mask in (("nan", np.isnan(v)), ("+inf", v == np.inf),
                           ("-inf", v == -np.inf),
                           ("beyond +-1e300", np.isfinite(v) & (np.abs(v) > DRAWABLE))):
            if mask.any():
                parts.append(f"{int(mask.sum())} {what}")
    where = x[bad]
    span = f"{wrt} = {where[0]:.4g}" if where.size == 1 else \
        f"{wrt} from {where.min():.4g} to {where.max():.4g}"
    count = f"all {v.size} points" if bad.all() else f"{int(bad.sum())} of {v.size} points"
    return f"{label}: {count} ({', '.join(parts)}; {span})"
