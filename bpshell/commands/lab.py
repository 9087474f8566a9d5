"""The book's chapter 6 as a lab: optimizers compared on one loss (Figure 6-8), activation
histograms (Figures 6-10 to 6-14), and the mode (train or eval) of dropout and batchnorm."""

from __future__ import annotations

import os

import numpy as np

from bpshell.commands.registry import Args, command
from bpshell.errors import BpError
from bpshell.graph.build import Builder, Formula, Leaf
from bpshell.language import ast as sx
from bpshell.language.ast import walk
from bpshell.language.grammar import (
    Names,
    Number,
    Numbers,
    OneName,
    Range,
    RestPath,
    Target,
)
from bpshell.numeric.passes import Plan
from bpshell.numeric.train import OPTIMIZERS, Optimizer, trajectory
from bpshell.results.fields import NONE, TEXT

# ---------------------------------------------------------------- train / eval


_MODES = {"train": "dropout drops by its mask, batchnorm uses the batch",
          "eval": "dropout scales by 1 - ratio, batchnorm uses its running averages"}


@command("mode", OneName("mode", meta="train|eval", required=True,
                         doc="train (dropout drops, batchnorm uses the batch) or eval"),
         summary="training or evaluation mode for dropout and batchnorm",
         examples=("mode eval", "mode train"), group="training",
         notes=("In training, dropout multiplies by its mask and batchnorm normalises with "
                "the batch's mean and variance; in evaluation, dropout scales by 1 - ratio "
                "and batchnorm uses its running averages. 'vars' shows the mode.",),
         fields={"mode": str})
def mode(session, args: Args, stmt) -> dict:
    if args.mode not in _MODES:
        raise BpError(f"the mode is train or eval, not '{args.mode}'", *stmt.pos)
    session.state.set_mode(args.mode)
    return {"kind": "mode", "mode": args.mode}


# ---------------------------------------------------------------- compare


_LR_PARTS = tuple(Number(name, name, doc=f"run {name} with this learning rate")
                  for name in OPTIMIZERS)


@command("compare", Target(doc="the loss the optimizers descend"),
         Numbers("start", "from", required=True,
                 why="'compare' needs a start: 'compare f from -7, 2'",
                 doc="where every optimizer starts: one number per input"),
         Names("wrt", "wrt", doc="the inputs that move (without it: the loss's inputs)"),
         Number("steps", "steps", integer=True, minimum=1, meta="N",
                doc="how many steps each optimizer takes"),
         *_LR_PARTS, RestPath("file", "to", doc="save the paths and curves as a PNG"),
         summary="optimizers from one start on one loss: their paths over its contour lines "
                 "and their loss curves (the book's Figure 6-8)",
         examples=("compare loss from 2, 1 wrt w, b steps 30 sgd 0.5 momentum 0.1 adam 0.1",
                   "compare loss from 2, 1 wrt w, b steps 10 adagrad 0.5 nesterov 0.1 "
                   "rmsprop 0.1"),
         group="training", files=True,
         notes=("The book's Figure 6-8 is 'f = x**2/20 + y**2' then 'compare f from -7, 2 "
                "steps 30 sgd 0.95 momentum 0.1 adagrad 1.5 adam 0.3' "
                "(examples/optimizers.bp).",
                "Each optimizer's number is its learning rate; their other settings are the "
                "book's defaults (momentum 0.9, RMSprop's decay 0.99, Adam's 0.9 and 0.999).",
                "The start gives values to the names after 'wrt', or to the loss's inputs in "
                "the order they are met. Nothing in the session changes.",
                "Paths are drawn over the contour lines when there are two inputs; "
                "'to FILE.png' also saves the picture (with the 'plot' extra)."),
         fields={"of": str, "names": list, "start": list, "steps": int, "runs": list,
                 "grid": (dict, NONE), "file": TEXT})
def compare(session, args: Args, stmt) -> dict:
    runs_asked = [(name, getattr(args, name)) for name in OPTIMIZERS
                  if getattr(args, name) is not None]
    if not runs_asked:
        raise BpError("name at least one optimizer and its learning rate: "
                      "'compare f from -7, 2 sgd 0.95 adam 0.3'", *stmt.pos)
    steps = 30 if args.steps is None else args.steps
    plan, names = _start_plan(session, args, stmt)
    runs = []
    for name, lr in runs_asked:
        out = trajectory(plan, names, Optimizer(lr, kind=name), steps)
        runs.append({"optimizer": name, "lr": lr, "path": out["path"], "loss": out["loss"]})
    grid = _grid(plan, names, runs) if len(names) == 2 else None
    result = {"kind": "compare", "of": args.name, "names": names,
              "start": [float(v) for v in args.start], "steps": steps, "runs": runs,
              "grid": grid, "file": args.file}
    if args.file:
        from bpshell.render.labplots import save_compare

        save_compare(result, os.path.expanduser(args.file))
    return result


def _start_plan(session, args: Args, stmt) -> tuple[Plan, list[str]]:
    """The loss's graph with its inputs as leaves holding the start values."""
    state = session.state
    if not isinstance(state.bindings.get(args.name), Formula):
        raise BpError(f"'{args.name}' must be a formula of the inputs: "
                      "f = x**2/20 + y**2", *stmt.pos)
    b = Builder(state.bindings, state.funcs, None, session.limits.max_nodes, state.last, state)
    b.graph.root = b.name_node(args.name)
    g = b.graph
    names = list(args.wrt) or inputs_in_order(state.bindings, args.name)
    if len(args.start) != len(names):
        raise BpError(f"the start has {len(args.start)} values for {len(names)} inputs "
                      f"({', '.join(names)})", *stmt.pos)
    bindings = dict(state.bindings)
    for n, v in zip(names, args.start):
        if n not in g.named:
            raise BpError(f"{args.name} does not depend on '{n}'", *stmt.pos)
        bindings[n] = Leaf(float(v), "", 0, 0)
    b = Builder(bindings, state.funcs, None, session.limits.max_nodes, state.last, state)
    b.graph.root = b.name_node(args.name)
    plan = Plan(b.graph, session.limits.max_elements)
    if plan.forward() is None:
        raise BpError(f"{args.name} is symbolic in other names; give them values or list "
                      "them after 'wrt'", *stmt.pos)
    return plan, names


def inputs_in_order(bindings: dict, name: str) -> list[str]:
    """The names without a formula that name reads, in the order they are written
    (through the formulas it reads): x before y in f = x**2/20 + y**2."""
    out: list[str] = []
    stack, seen = [name], {name}
    while stack:
        b = bindings.get(stack.pop())
        if not isinstance(b, Formula):
            continue
        later = []
        for node in walk(b.expr):
            if type(node) is not sx.Name or node.id in seen or node.id == "_":
                continue
            seen.add(node.id)
            if isinstance(bindings.get(node.id), Formula):
                later.append(node.id)
            else:
                out.append(node.id)
        stack.extend(reversed(later))
    return out


def _grid(plan: Plan, names: list[str], runs: list, n: int = 81) -> dict:
    """The loss on a grid around every path, for the contour lines: a loss of any form is
    evaluated point by point (an n x n grid is n*n forward passes of a small graph)."""
    pts = np.array([p for r in runs for p in r["path"]], dtype=np.float64)
    pts = pts[np.all(np.isfinite(pts), axis=1)]
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    span = np.maximum(hi - lo, 1e-3)
    # neither side under half the other, so a path along one input still shows its bowl
    grow = np.maximum(span, span.max() / 2) - span
    lo, hi = lo - 0.15 * span - grow / 2, hi + 0.15 * span + grow / 2
    xs, ys = np.linspace(lo[0], hi[0], n), np.linspace(lo[1], hi[1], n)
    ix, iy = (plan.graph.named[k] for k in names)
    z = np.empty((n, n))
    saved = plan.values[ix], plan.values[iy]
    try:
        for r, y in enumerate(ys):
            plan.values[iy] = float(y)
            for c, x in enumerate(xs):
                plan.values[ix] = float(x)
                z[r, c] = float(plan.forward())
    finally:
        plan.values[ix], plan.values[iy] = saved
    return {"x": xs, "y": ys, "z": z}


# ---------------------------------------------------------------- hist


@command("hist", Names("names", required=True, meta="NAME, ...",
                      doc="the values whose elements are counted, one histogram each"),
         Number("bins", "bins", integer=True, minimum=1, meta="N", doc="how many bars"),
         Range("range", "from", doc="count only values from A to B"),
         RestPath("file", "to", doc="save the histograms as a PNG"),
         summary="histogram of each value's elements, one per name: a layer's activations",
         examples=("hist Y bins 10", "hist X, Y bins 5 from 0 to 5"), group="values",
         files=True,
         notes=("The book's Figures 6-10 to 6-14: 'hist a1, a2, a3, a4, a5 bins 30 from 0 "
                "to 1' draws one histogram per layer (examples/init_weights.bp).",
                "Values outside 'from A to B' are not counted, as in plt.hist; the count of "
                "those left out is shown."),
         fields={"names": list, "edges": np.ndarray, "counts": list, "outside": list,
                 "sizes": list, "file": TEXT})
def hist(session, args: Args, stmt) -> dict:
    values = []
    for n in args.names:
        v = session.ev.value_of(n)
        if n not in session.state.bindings:
            raise BpError(session.ev.unknown(n), *stmt.pos)
        if v is None:
            raise BpError(f"{n} is symbolic; give its inputs values first", *stmt.pos)
        values.append(np.asarray(v, dtype=np.float64).reshape(-1))
    finite = np.concatenate(values)
    finite = finite[np.isfinite(finite)]
    if args.range is not None:
        lo, hi = args.range
    elif finite.size:
        lo, hi = float(finite.min()), float(finite.max())
    else:
        lo, hi = 0.0, 1.0
    if not hi > lo:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, (args.bins or 30) + 1)
    counts, outside = [], []
    for v in values:
        c, _ = np.histogram(v[np.isfinite(v)], bins=edges)
        counts.append([int(k) for k in c])
        outside.append(int(v.size - c.sum()))
    result = {"kind": "hist", "names": list(args.names), "edges": edges, "counts": counts,
              "outside": outside, "sizes": [int(v.size) for v in values], "file": args.file}
    if args.file:
        from bpshell.render.labplots import save_hist

        save_hist(result, os.path.expanduser(args.file))
    return result
