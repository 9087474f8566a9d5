"""Gradient descent on a session's leaves: `step` and `fit`."""

from __future__ import annotations

from bpshell.commands.registry import Args, command
from bpshell.errors import BpError
from bpshell.graph.build import Leaf
from bpshell.language.grammar import Flag, Names, Number, Target
from bpshell.numeric.passes import to_plain

TRAINED = {"of": str, "lr": float, "optimizer": str, "updated": list, "loss_before": float,
           "loss_after": float}

_LR = Number("lr", "lr", required=True,
             why="'{command}' needs a learning rate: '{command} LOSS lr 0.1'",
             doc="the learning rate")
_COMMON = (Names("wrt", "wrt", doc="the leaves to train (every leaf without)"),
           Number("momentum", "momentum", meta="M",
                  doc="SGD with momentum M, as the book writes it: v = M*v - lr*g; w += v"),
           Flag("adam", "adam", doc="Adam (betas 0.9 and 0.999, eps 1e-8)"))
_LOSS = Target(doc="the loss to minimize")


def _train(session, args: Args, stmt, steps: int, every: int, progress) -> dict:
    from bpshell.numeric.train import Optimizer, leaves_for, run_steps

    plan = session.ev.full_plan(args.name)
    if plan.values[plan.graph.root] is None:
        raise BpError(f"{args.name} is symbolic; give its inputs values first", *stmt.pos)
    names = leaves_for(plan, args.wrt or None)
    opt = Optimizer(args.lr, args.momentum or 0.0, args.adam)
    if steps < 1:
        raise BpError("steps must be at least 1", *stmt.pos)
    out = run_steps(plan, names, opt, steps, every, progress)
    state = session.state
    for n, v in out.pop("params").items():
        b = state.bindings[n]
        state.bind(n, Leaf(to_plain(v), b.text, b.stmt, b.line), None)
    return {"of": args.name, "lr": opt.lr, "optimizer": opt.name, "updated": names, **out}


@command("step", _LOSS, _LR, *_COMMON,
         summary="one gradient-descent step on the leaves after 'wrt' (every leaf without)",
         examples=("step loss lr 0.1 wrt w, b", "step loss lr 0.1 momentum 0.9",
                   "step loss lr 0.01 adam"), group="training",
         notes=("Plain SGD unless 'momentum M' or 'adam' is given.",),
         fields=TRAINED)
def step(session, args: Args, stmt) -> dict:
    out = _train(session, args, stmt, 1, 1, None)
    for k in ("trace", "steps_done", "interrupted"):
        out.pop(k)
    return {"kind": "step", **out}


@command("fit", _LOSS, _LR,
         Number("steps", "steps", integer=True, meta="N", doc="how many steps (100 without)"),
         Number("every", "every", integer=True, meta="K", doc="a loss line every K steps"),
         *_COMMON,
         summary="repeat 'step': 'steps N' times, a loss line every K steps",
         examples=("fit loss lr 0.1 steps 200 wrt w, b every 50",
                   "fit loss lr 0.01 steps 50 adam"), group="training",
         notes=("Ctrl-C stops a fit and keeps the parameters it reached.",
                "A terminal shows a progress bar; a pipe a loss line every K steps."),
         fields={**TRAINED, "steps": int, "every": int, "steps_done": int, "trace": list,
                 "interrupted": bool})
def fit(session, args: Args, stmt) -> dict:
    steps = 100 if args.steps is None else args.steps
    every = max(1, steps // 10) if args.every is None else args.every
    out = _train(session, args, stmt, steps, every, session.progress)
    return {"kind": "fit", "steps": steps, "every": every, **out}
