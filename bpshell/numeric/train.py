"""`step` and `fit`: gradient descent on a session's leaves, in place of hand-written loops.

The optimizers are the book's (common/optimizer.py of Deep Learning from Scratch), rule for
rule, with its defaults; `help step` and the README write them out. A fit runs on one
planned graph (new leaf values are set, nothing is rebuilt) and commits the parameters it
reached, also when it is interrupted.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from bpshell.errors import BpError, MathError
from bpshell.numeric.passes import Plan

# name -> (the book's default for its one option, what the option is, the rule as written)
OPTIMIZERS: dict[str, tuple[float | None, str, str]] = {
    "sgd": (None, "", "p -= lr*g"),
    "momentum": (0.9, "momentum", "v = momentum*v - lr*g; p += v"),
    "nesterov": (0.9, "momentum", "v = momentum*v - lr*g; "
                                  "p += momentum*momentum*v - (1 + momentum)*lr*g"),
    "adagrad": (None, "", "h += g*g; p -= lr*g/(sqrt(h) + 1e-7)"),
    "rmsprop": (0.99, "decay", "h = decay*h + (1 - decay)*g*g; p -= lr*g/(sqrt(h) + 1e-7)"),
    "adam": (None, "", "m += (1 - 0.9)*(g - m); v += (1 - 0.999)*(g*g - v); "
                       "p -= lr*sqrt(1 - 0.999**t)/(1 - 0.9**t) * m/(sqrt(v) + 1e-7)"),
}
_EPS = 1e-7  # the book's, inside AdaGrad's, RMSprop's and Adam's denominators


def optimizer_notes() -> tuple[str, ...]:
    """Each optimizer's rule as `help step` writes it, p a parameter and g its gradient."""
    out = ["The book's optimizers (common/optimizer.py), for each parameter p with "
           "gradient g:"]
    for name, (default, what, rule) in OPTIMIZERS.items():
        option = f"  [{what} {default:g} unless given: '{name} {default:g}']" if what else ""
        out.append(f"  {name}: {rule}{option}")
    out.append("adam was Kingma and Ba's form (PyTorch's) before: 1e-8 added to the "
               "bias-corrected sqrt(v/(1 - 0.999**t)). The book's adds 1e-7 to sqrt(v) and "
               "folds the correction into lr_t, an epsilon of 1e-7/sqrt(1 - 0.999**t) in "
               "that form (3.2e-6 at step 1, 1e-7 in the long run); the steps differ only "
               "where sqrt(v) is that small.")
    return tuple(out)


class Optimizer:
    """One of the book's optimizers, with its state per parameter name.

    `Optimizer(lr, momentum, adam)` is the old spelling and still works; `kind` names any
    of OPTIMIZERS, and `option` is its one setting (momentum, or RMSprop's decay).
    """

    def __init__(self, lr: float, momentum: float = 0.0, adam: bool = False, *,
                 kind: str | None = None, option: float | None = None):
        if kind is None:
            kind = "adam" if adam else ("momentum" if momentum else "sgd")
            option = momentum or None
        if kind not in OPTIMIZERS:
            raise BpError(f"unknown optimizer '{kind}'; one of {', '.join(OPTIMIZERS)}")
        default, what, _ = OPTIMIZERS[kind]
        if option is not None and not what:
            raise BpError(f"{kind} takes no number after it; its learning rate is 'lr X'")
        self.kind, self.lr = kind, lr
        self.option = default if option is None else option
        self.state: dict[str, dict] = {}
        self.t = 0  # Adam's step count, which run_steps sets before each update

    @property
    def name(self) -> str:
        return self.kind

    @property
    def momentum(self) -> float:
        return self.option if self.kind in ("momentum", "nesterov") else 0.0

    def update(self, name: str, value, grad):
        """The parameter after one step; nothing is changed in place."""
        s = self.state.setdefault(name, {})
        return _RULES[self.kind](self, s, value, grad)


def _sgd(o: Optimizer, s: dict, p, g):
    return p - o.lr * g


def _momentum(o: Optimizer, s: dict, p, g):
    s["v"] = o.option * s.get("v", 0.0) - o.lr * g
    return p + s["v"]


def _nesterov(o: Optimizer, s: dict, p, g):
    m = o.option
    s["v"] = s.get("v", 0.0) * m - o.lr * g
    return p + m * m * s["v"] - (1 + m) * o.lr * g


def _adagrad(o: Optimizer, s: dict, p, g):
    s["h"] = s.get("h", 0.0) + g * g
    return p - o.lr * g / (np.sqrt(s["h"]) + _EPS)


def _rmsprop(o: Optimizer, s: dict, p, g):
    s["h"] = s.get("h", 0.0) * o.option + (1 - o.option) * g * g
    return p - o.lr * g / (np.sqrt(s["h"]) + _EPS)


def _adam(o: Optimizer, s: dict, p, g, beta1: float = 0.9, beta2: float = 0.999):
    lr_t = o.lr * np.sqrt(1.0 - beta2**o.t) / (1.0 - beta1**o.t)
    m, v = s.get("m", 0.0), s.get("v", 0.0)
    s["m"] = m + (1 - beta1) * (g - m)
    s["v"] = v + (1 - beta2) * (g**2 - v)
    return p - lr_t * s["m"] / (np.sqrt(s["v"]) + _EPS)


_RULES: dict[str, Callable] = {"sgd": _sgd, "momentum": _momentum, "nesterov": _nesterov,
                               "adagrad": _adagrad, "rmsprop": _rmsprop, "adam": _adam}


def check_leaves(plan: Plan, names: list[str]) -> list[str]:
    """names, each a leaf the loss reads: what 'wrt' may name."""
    g = plan.graph
    for n in names:
        if n not in g.named:
            raise BpError(f"the loss does not depend on '{n}'")
        if g.nodes[g.named[n]].kind != "leaf":
            raise BpError(f"'{n}' is defined by a formula; only leaves (names holding "
                          "values) can be updated")
    return list(names)


def leaves_of(plan: Plan) -> list[str]:
    """Every leaf the loss reads, in the order the graph met them."""
    g = plan.graph
    return [n for n, i in g.named.items() if g.nodes[i].kind == "leaf"]


Measure = Callable[[], list[float]]  # the reports at a trace point, from the plan's values


def run_steps(plan: Plan, names: list[str], opt: Optimizer, steps: int, every: int,
              progress: Callable | None = None, measure: Measure | None = None,
              advance: Callable[[bool], None] = lambda on: None) -> dict:
    """Run gradient steps on plan; returns the trace and the parameters reached.

    Each trace row is [step, loss, *reports], reports measured at the row's step.
    advance(True) comes before the forward pass each step's gradient is taken on (dropout
    draws a new mask, batchnorm moves its running averages), advance(False) before the
    one that only measures the final loss.
    """
    g = plan.graph
    ids = [g.named[n] for n in names]
    targets = set(ids)
    advance(True)
    loss0 = _scalar_loss(plan.forward())
    reports = measure or list
    trace = [[0, loss0, *reports()]]
    interrupted = False
    done = 0
    loss = loss0
    try:
        for step in range(1, steps + 1):
            grads = plan.backward(1.0, targets)
            opt.t = step
            _update(plan, names, ids, grads, opt)
            advance(step < steps)
            loss = float(plan.forward())
            done = step
            if not np.isfinite(loss):
                raise MathError(f"the loss became {loss} at step {step}; try a smaller lr")
            if every and step % every == 0 or step == steps:
                trace.append([step, loss, *reports()])
            if progress is not None:
                progress(step, steps, loss, every)
    except KeyboardInterrupt:
        interrupted = True
        if trace[-1][0] != done:
            trace.append([done, loss, *reports()])
    finally:
        advance(False)
    params = {n: plan.values[i] for n, i in zip(names, ids)}
    return {"loss_before": loss0, "loss_after": loss, "steps_done": done,
            "trace": trace, "interrupted": interrupted, "params": params}


def _scalar_loss(value) -> float:
    if np.ndim(value) != 0:
        raise BpError("the loss must be a scalar (sum or mean it)")
    return float(value)


def _update(plan: Plan, names: list[str], ids: list[int], grads: list, opt: Optimizer) -> None:
    for n, i in zip(names, ids):
        gi = grads[i] if grads[i] is not None else 0.0
        plan.values[i] = opt.update(n, plan.values[i], gi)


# ---------------------------------------------------------------- mini-batches


def batch_rows(rng: np.random.Generator, rows: int, size: int) -> list[np.ndarray]:
    """One epoch's batches: a fresh permutation of the rows cut into pieces of `size`.

    The last piece keeps the rows left over (fewer than `size`), as PyTorch's DataLoader
    does by default (drop_last=False): every row is seen once per epoch.
    """
    order = rng.permutation(rows)
    return [order[k:k + size] for k in range(0, rows, size)]


def run_epochs(plan: Plan, names: list[str], opt: Optimizer, data: list[str], size: int,
               epochs: int, rng: np.random.Generator, progress: Callable | None = None,
               measure: Measure | None = None,
               advance: Callable[[bool], None] = lambda on: None) -> dict:
    """Mini-batch gradient descent: each epoch shuffles the rows of the data leaves (all
    with the same first axis) and takes one step per batch.

    Trace row 0 is the loss on all the data before training; row e is epoch e's loss, the
    mean over its batches weighted by their sizes, each measured before its step (as a
    PyTorch loop reports it), then the reports measured on the parameters the epoch ended
    with.
    """
    g = plan.graph
    ids = [g.named[n] for n in names]
    targets = set(ids)
    full = {g.named[n]: plan.values[g.named[n]] for n in data}
    rows = int(np.shape(next(iter(full.values())))[0])
    reports = measure or list
    loss0 = _scalar_loss(plan.forward())
    trace = [[0, loss0, *reports()]]
    total = epochs * -(-rows // size)
    done, interrupted = 0, False
    try:
        for epoch in range(1, epochs + 1):
            seen, summed = 0, 0.0
            for idx in batch_rows(rng, rows, size):
                for i, value in full.items():
                    plan.values[i] = value[idx]
                advance(True)  # a new dropout mask, batchnorm's averages moved, per step
                loss = _scalar_loss(plan.forward())
                grads = plan.backward(1.0, targets)
                done += 1
                opt.t = done
                _update(plan, names, ids, grads, opt)
                seen, summed = seen + len(idx), summed + loss * len(idx)
                if not np.isfinite(loss):
                    raise MathError(f"the loss became {loss} in epoch {epoch}; try a "
                                    "smaller lr")
                if progress is not None:
                    progress(done, total, loss, 0)
            trace.append([epoch, summed / seen, *reports()])
    except KeyboardInterrupt:
        interrupted = True
    finally:
        for i, value in full.items():
            plan.values[i] = value
        advance(False)
    params = {n: plan.values[i] for n, i in zip(names, ids)}
    return {"loss_before": loss0, "loss_after": float(plan.forward()), "steps_done": done,
            "trace": trace, "interrupted": interrupted, "params": params}


def trajectory(plan: Plan, names: list[str], opt: Optimizer, steps: int) -> dict:
    """Every point an optimizer visits and the loss there, from the plan's current leaves:
    what `compare` draws (Figure 6-8). The plan's leaves are put back afterwards."""
    g = plan.graph
    ids = [g.named[n] for n in names]
    start = [plan.values[i] for i in ids]
    loss = plan.forward()
    if np.ndim(loss) != 0:
        raise BpError("the loss must be a scalar (sum or mean it)")
    path = [[float(np.ravel(v)[0]) if np.size(v) == 1 else np.asarray(v, np.float64)
             for v in start]]
    losses = [float(loss)]
    try:
        for step in range(1, steps + 1):
            grads = plan.backward(1.0, set(ids))
            opt.t = step
            for n, i in zip(names, ids):
                gi = grads[i] if grads[i] is not None else 0.0
                plan.values[i] = opt.update(n, plan.values[i], gi)
            losses.append(float(plan.forward()))
            path.append([float(np.ravel(plan.values[i])[0]) if np.size(plan.values[i]) == 1
                         else np.asarray(plan.values[i], np.float64) for i in ids])
    finally:
        for i, v in zip(ids, start):
            plan.values[i] = v
        plan.forward()
    return {"path": path, "loss": losses}
