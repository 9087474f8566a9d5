"""Gradient descent on a session's parameters: `param`, `step` and `fit`.

Parameters are kept apart from data: `param W1, b1` marks the leaves that `step` and `fit`
train when no 'wrt' names them, `vars` shows them, and a fit that knows none refuses
rather than train the data too. `fit ... batch N over x, t epochs E` trains on shuffled
mini-batches of the named data leaves; `report EXPR` measures (say) an accuracy after each
epoch, and `plot` / `to FILE.png` draw those curves.
"""

from __future__ import annotations

import os

import numpy as np

from bpshell.commands.registry import Args, command
from bpshell.errors import BpError, ShapeError, UnknownName
from bpshell.graph.build import Formula, Leaf
from bpshell.language.grammar import Choice, Exprs, Flag, Names, Number, RestPath, Target
from bpshell.language.printer import to_text
from bpshell.numeric.passes import Plan, to_plain
from bpshell.numeric.train import optimizer_notes
from bpshell.ops.table import OPS
from bpshell.results.fields import NONE, TEXT

TRAINED = {"of": str, "lr": float, "optimizer": str, "updated": list, "loss_before": float,
           "loss_after": float}

_LR = Number("lr", "lr", required=True,
             why="'{command}' needs a learning rate: '{command} LOSS lr 0.1'",
             doc="the learning rate")
_COMMON = (Names("wrt", "wrt", doc="the leaves to train (without it: the parameters)"),
           Choice("optimizer", choices=(
               "sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"),
               doc="the book's optimizer (sgd unless named), with its one setting after it: "
                   "momentum 0.9, rmsprop 0.99"))
_NOTES = optimizer_notes()
_LOSS = Target(doc="the loss to minimize")
_WHICH = ("Without 'wrt' only the parameters are trained: the leaves marked with 'param' "
          "(vars lists them as param). With none marked it refuses, and says which leaves "
          "the loss reads; data is never updated unless 'wrt' names it.")


@command("param", Names("names", required=True, doc="the leaves to train"),
         summary="mark leaves as parameters: what 'fit' and 'step' train without 'wrt'",
         examples=("param w, b", "param W"), group="training",
         notes=("A parameter stays one when a new value is assigned to it (W = W - lr*dW); "
                "'del' forgets it, and a formula is never a parameter.",),
         fields={"names": list, "params": list})
def param(session, args: Args, stmt) -> dict:
    state = session.state
    for n in args.names:
        b = state.bindings.get(n)
        if b is None:
            raise UnknownName(session.ev.unknown(n), *stmt.pos)
        if isinstance(b, Formula):
            raise BpError(f"'{n}' is a formula ({n} = {b.text}); only a name holding a value "
                          "can be a parameter", *stmt.pos)
        if b.value is None:
            raise BpError(f"'{n}' has no value yet", *stmt.pos)
    for n in args.names:
        state.mark_param(n)
    return {"kind": "param", "names": list(args.names), "params": list(state.params)}


def _optimizer(args: Args):
    from bpshell.numeric.train import Optimizer

    kind, option = args.optimizer or ("sgd", None)
    return Optimizer(args.lr, kind=kind, option=option)


def _advancing(session):
    """What a training step tells the layers: dropout draws a new mask and batchnorm moves
    its running averages while it is on (they stay put when a value is only evaluated)."""
    return lambda on: setattr(session.state, "advancing", on)


def _plan_of(session, name: str, stmt) -> Plan:
    plan = session.ev.full_plan(name)
    if plan.values[plan.graph.root] is None:
        raise BpError(f"{name} is symbolic; give its inputs values first", *stmt.pos)
    return plan


def trained_leaves(session, plan: Plan, name: str, wrt: list[str], stmt) -> list[str]:
    """The leaves to train: those after 'wrt', else the parameters the loss reads."""
    from bpshell.numeric.train import check_leaves, leaves_of

    command, pos = stmt.text.split(None, 1)[0], stmt.pos
    if wrt:
        try:
            return check_leaves(plan, wrt)
        except BpError as e:
            raise e.at(*pos) from None
    state = session.state
    leaves = leaves_of(plan)
    found = [n for n in state.params if n in leaves]
    if found:
        return found
    listed = ", ".join(n for n in state.bindings if n in leaves) or "none"
    guess = ", ".join(_likely_parameters(session, plan, leaves)) or "NAMES"
    if state.params:
        raise BpError(f"{name} reads none of the parameters ({', '.join(state.params)}); "
                      f"its leaves are {listed}. Name the ones to train: "
                      f"'{stmt.text} wrt {guess}'", *pos)
    raise BpError(f"{command} trains parameters only, and none is marked; {name} reads the "
                  f"leaves {listed}. Mark the ones to learn with 'param {guess}' (vars lists "
                  f"them), or name them for this {command}: '{stmt.text} wrt {guess}'",
                  *pos)


def _likely_parameters(session, plan: Plan, leaves: list[str]) -> list[str]:
    """A guess at the parameters among leaves, for the advice in an error only: not data
    that was loaded or made by linspace, and not a leaf that looks like data in the graph
    (see _data_like)."""
    g = plan.graph
    data = _data_like(plan)
    out = []
    for n, b in session.state.bindings.items():
        if n in leaves and g.named[n] not in data and not b.text.startswith(
                ("load ", "linspace(")):
            out.append(n)
    return out


def _data_like(plan: Plan) -> set[int]:
    """Leaves in the places data takes: a loss's targets, the left operand of a matrix
    product, and the larger of two leaves an elementwise op combines (x in w*x)."""
    g, vals = plan.graph, plan.values
    data = set()
    for node in g.nodes:
        if node.kind != "op":
            continue
        op, args = node.op, node.args
        for k, a in enumerate(args):
            if op.inputs[k] in op.label_inputs or op is OPS["matmul"] and k == 0:
                data.add(a)
        if op.elementwise and len(args) == 2 and all(g.nodes[a].kind == "leaf" for a in args):
            sizes = [np.size(vals[a]) for a in args]
            if sizes[0] != sizes[1]:
                data.add(args[int(sizes[1] > sizes[0])])
    return data


def _commit(session, params: dict) -> None:
    state = session.state
    for n, v in params.items():
        b = state.bindings[n]
        state.bind(n, Leaf(to_plain(v), b.text, b.stmt, b.line), None)


@command("step", _LOSS, _LR, *_COMMON,
         summary="one gradient-descent step on the parameters (or the leaves after 'wrt')",
         examples=("step loss lr 0.1 wrt w, b", "step loss lr 0.1 momentum 0.9 wrt w, b",
                   "step loss lr 0.01 adam wrt w"), group="training",
         notes=("Plain SGD unless another optimizer is named.", _WHICH, *_NOTES),
         fields=TRAINED)
def step(session, args: Args, stmt) -> dict:
    from bpshell.numeric.train import run_steps

    plan = _plan_of(session, args.name, stmt)
    names = trained_leaves(session, plan, args.name, args.wrt, stmt)
    opt = _optimizer(args)
    out = run_steps(plan, names, opt, 1, 1, advance=_advancing(session))
    _commit(session, out["params"])
    return {"kind": "step", "of": args.name, "lr": opt.lr, "optimizer": opt.name,
            "updated": names, "loss_before": out["loss_before"],
            "loss_after": out["loss_after"]}


@command("fit", _LOSS, _LR,
         Number("steps", "steps", integer=True, meta="N", doc="how many steps (100 without)"),
         Number("every", "every", integer=True, meta="K", doc="a loss line every K steps"),
         *_COMMON,
         Number("batch", "batch", integer=True, meta="N",
                doc="mini-batches of N rows of the data named after 'over'"),
         Names("over", "over", doc="the data leaves sliced into mini-batches (x, t)"),
         Number("epochs", "epochs", integer=True, meta="N",
                doc="passes over the data with mini-batches"),
         Exprs("report", "report", doc="expressions measured after every epoch, such as "
               "accuracy(net(x_test), t_test)"),
         Flag("plot", "plot", doc="draw the loss and the reports per epoch"),
         RestPath("file", "to", doc="save those curves as a PNG (last on the line)"),
         summary="repeat 'step': 'steps N' times, or 'epochs N' over mini-batches",
         examples=("fit loss lr 0.1 steps 200 wrt w, b every 50",
                   "fit loss lr 0.01 steps 50 adam wrt w, b",
                   "fit fitloss lr 0.01 wrt a batch 2 over xs, ts epochs 3 report fitloss "
                   "plot"), group="training",
         notes=("Ctrl-C stops a fit and keeps the parameters it reached.", _WHICH,
                "A terminal shows a progress bar; a pipe a loss line every K steps.",
                "'batch 100 over x_train, t_train epochs 10' slices those data leaves along "
                "their first axis: each epoch shuffles the rows (with the session's seed) "
                "and takes one step per batch; the last batch keeps the rows left over.",
                "'report accuracy(net(x_test), t_test), ...' measures each expression on "
                "the parameters reached, after every epoch (every K steps without batches); "
                "'plot' draws those curves per epoch, 'to FILE.png' saves them.", *_NOTES),
         fields={**TRAINED, "steps": int, "every": int, "steps_done": int, "trace": list,
                 "interrupted": bool, "batch": (int, NONE), "epochs": (int, NONE),
                 "over": list, "reports": list, "plot": bool, "file": TEXT})
def fit(session, args: Args, stmt) -> dict:
    from bpshell.numeric.train import run_epochs, run_steps

    _check_schedule(args, stmt)
    plan = _plan_of(session, args.name, stmt)
    names = trained_leaves(session, plan, args.name, args.wrt, stmt)
    opt = _optimizer(args)
    measure, texts = _reports(session, args.report, plan, names, stmt)
    common = {"kind": "fit", "of": args.name, "lr": opt.lr, "optimizer": opt.name,
              "updated": names, "over": list(args.over), "reports": texts,
              "plot": args.plot, "file": args.file}
    if args.batch is not None:
        _check_data(plan, args.over, names, stmt)
        epochs = 1 if args.epochs is None else args.epochs
        out = run_epochs(plan, names, opt, args.over, args.batch, epochs, session.state.rng,
                         session.progress, measure, _advancing(session))
        result = {**common, "steps": out["steps_done"], "every": 0, "batch": args.batch,
                  "epochs": epochs}
    else:
        steps = 100 if args.steps is None else args.steps
        every = max(1, steps // 10) if args.every is None else args.every
        out = run_steps(plan, names, opt, steps, every, session.progress, measure,
                        _advancing(session))
        result = {**common, "steps": steps, "every": every, "batch": None, "epochs": None}
    _commit(session, out.pop("params"))
    result.update(out)
    if args.file:
        from bpshell.render.plotfile import save_curves

        save_curves(result, os.path.expanduser(args.file))
    return result


def _check_schedule(args: Args, stmt) -> None:
    """The options that go together: batches with 'over' and epochs, steps without."""
    batched = args.batch is not None
    if batched and args.batch < 1:
        raise BpError("batch must be at least 1", *stmt.pos)
    if batched and not args.over:
        raise BpError("'batch N' needs the data to slice: 'batch 100 over x_train, t_train'",
                      *stmt.pos)
    if not batched and (args.over or args.epochs is not None):
        raise BpError("'over' and 'epochs' go with 'batch N': 'fit loss lr 0.1 batch 100 "
                      "over x_train, t_train epochs 10'", *stmt.pos)
    if batched and (args.steps is not None or args.every is not None):
        raise BpError("a mini-batch fit runs in epochs: give 'epochs N', not 'steps' or "
                      "'every'", *stmt.pos)
    if args.steps is not None and args.steps < 1 or args.epochs is not None and \
            args.epochs < 1:
        raise BpError("steps and epochs must be at least 1", *stmt.pos)
    if args.file and not args.file.lower().endswith((".png", ".svg")):
        raise BpError("'to FILE' saves the curves as .png or .svg", *stmt.pos)


def _check_data(plan: Plan, over: list[str], names: list[str], stmt) -> None:
    """Each data name a leaf of the loss, not trained, all with the same number of rows."""
    g = plan.graph
    rows = {}
    for n in over:
        if n not in g.named:
            raise BpError(f"the loss does not read the data leaf '{n}'", *stmt.pos)
        if g.nodes[g.named[n]].kind != "leaf":
            raise BpError(f"'{n}' is a formula; the data after 'over' must be names that "
                          "hold values (leaves), sliced row by row", *stmt.pos)
        if n in names:
            raise BpError(f"'{n}' is both data ('over') and trained", *stmt.pos)
        rows[n] = np.shape(plan.values[g.named[n]])[:1]
    if len(set(rows.values())) != 1 or () in rows.values():
        shapes = ", ".join(f"{n} {r[0] if r else 'scalar'}" for n, r in rows.items())
        raise ShapeError(f"the data after 'over' need the same number of rows ({shapes})",
                         *stmt.pos)


def _reports(session, exprs: list, plan: Plan, names: list[str], stmt):
    """A function that measures each report expression on the parameters the fit has
    reached (read from the fit's plan), and the expressions as text."""
    ev, state = session.ev, session.state
    plans = []
    for e in exprs:
        b = ev.builder(frozen=False)
        b.graph.root = b.expr(ev.fold(e, state.serial), {}, state.serial)
        plans.append(Plan(b.graph, session.limits.max_elements))
    g = plan.graph
    shared = [[(i, g.named[n]) for n, i in p.graph.named.items() if n in names]
              for p in plans]

    def measure() -> list[float]:
        out = []
        for p, pairs, e in zip(plans, shared, exprs):
            for mine, theirs in pairs:
                p.values[mine] = plan.values[theirs]
            v = p.forward()
            if v is None or np.ndim(v) != 0:
                raise ShapeError(f"report {to_text(e)} needs a number (a scalar value)",
                                 *e.pos)
            out.append(float(v))
        return out

    return measure, [to_text(e) for e in exprs]
