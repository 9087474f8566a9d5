"""Gradient descent on a session's leaves: `step` and `fit`."""

from __future__ import annotations

from bpshell.commands.registry import Args, command
from bpshell.errors import BpError
from bpshell.graph.build import Leaf
from bpshell.language.grammar import Choice, Names, Number, Target
from bpshell.numeric.passes import to_plain
from bpshell.numeric.train import optimizer_notes

TRAINED = {"of": str, "lr": float, "optimizer": str, "updated": list, "loss_before": float,
           "loss_after": float}

_LR = Number("lr", "lr", required=True,
             why="'{command}' needs a learning rate: '{command} LOSS lr 0.1'")
_COMMON = (Names("wrt", "wrt"), Choice("optimizer", choices=(
    "sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")))
_NOTES = optimizer_notes()


def _train(session, args: Args, stmt, steps: int, every: int, progress) -> dict:
    from bpshell.numeric.train import Optimizer, leaves_for, run_steps

    plan = session.ev.full_plan(args.name)
    if plan.values[plan.graph.root] is None:
        raise BpError(f"{args.name} is symbolic; give its inputs values first", *stmt.pos)
    names = leaves_for(plan, args.wrt or None)
    kind, option = args.optimizer or ("sgd", None)
    opt = Optimizer(args.lr, kind=kind, option=option)
    if steps < 1:
        raise BpError("steps must be at least 1", *stmt.pos)
    out = run_steps(plan, names, opt, steps, every, progress,
                    lambda on: setattr(session.state, "advancing", on))
    state = session.state
    for n, v in out.pop("params").items():
        b = state.bindings[n]
        state.bind(n, Leaf(to_plain(v), b.text, b.stmt, b.line), None)
    return {"of": args.name, "lr": opt.lr, "optimizer": opt.name, "updated": names, **out}


@command("step", Target(), _LR, *_COMMON,
         summary="one gradient-descent step on the leaves after 'wrt' (every leaf without)",
         examples=("step loss lr 0.1 wrt w, b",), group="training",
         notes=("Plain SGD unless another optimizer is named.", *_NOTES),
         fields=TRAINED)
def step(session, args: Args, stmt) -> dict:
    out = _train(session, args, stmt, 1, 1, None)
    for k in ("trace", "steps_done", "interrupted"):
        out.pop(k)
    return {"kind": "step", **out}


@command("fit", Target(), _LR, Number("steps", "steps", integer=True, meta="N"),
         Number("every", "every", integer=True, meta="K"), *_COMMON,
         summary="repeat 'step': 'steps N' times, a loss line every K steps",
         examples=("fit loss lr 0.1 steps 200 wrt w, b every 50",), group="training",
         notes=("Ctrl-C stops a fit and keeps the parameters it reached.", *_NOTES),
         fields={**TRAINED, "steps": int, "every": int, "steps_done": int, "trace": list,
                 "interrupted": bool})
def fit(session, args: Args, stmt) -> dict:
    steps = 100 if args.steps is None else args.steps
    every = max(1, steps // 10) if args.every is None else args.every
    out = _train(session, args, stmt, steps, every, session.progress)
    return {"kind": "fit", "steps": steps, "every": every, **out}
