"""`step` and `fit`: gradient descent on a session's leaves, in place of hand-written loops.

Plain SGD by default; `momentum M` and `adam` are options. A fit runs on one planned graph
(new leaf values are set, nothing is rebuilt) and commits the parameters it reached, also
when it is interrupted.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from bpshell.errors import BpError, MathError
from bpshell.numeric.passes import Plan


class Optimizer:
    """SGD, SGD with momentum, or Adam (Kingma & Ba, default betas 0.9 and 0.999)."""

    def __init__(self, lr: float, momentum: float = 0.0, adam: bool = False):
        self.lr, self.momentum, self.adam = lr, momentum, adam
        self.state: dict[str, tuple] = {}
        self.t = 0

    @property
    def name(self) -> str:
        return "adam" if self.adam else ("momentum" if self.momentum else "sgd")

    def update(self, name: str, value, grad):
        if self.adam:
            m, v = self.state.get(name, (0.0, 0.0))
            m = 0.9 * m + 0.1 * grad
            v = 0.999 * v + 0.001 * np.square(grad)
            self.state[name] = (m, v)
            mhat = m / (1 - 0.9**self.t)
            vhat = v / (1 - 0.999**self.t)
            return value - self.lr * mhat / (np.sqrt(vhat) + 1e-8)
        if self.momentum:
            (vel,) = self.state.get(name, (0.0,))
            vel = self.momentum * vel - self.lr * grad
            self.state[name] = (vel,)
            return value + vel
        return value - self.lr * grad


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
              progress: Callable | None = None, measure: Measure | None = None) -> dict:
    """Run gradient steps on plan; returns the trace and the parameters reached.

    Each trace row is [step, loss, *reports], reports measured at the row's step.
    """
    g = plan.graph
    ids = [g.named[n] for n in names]
    targets = set(ids)
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
               measure: Measure | None = None) -> dict:
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
    params = {n: plan.values[i] for n, i in zip(names, ids)}
    return {"loss_before": loss0, "loss_after": float(plan.forward()), "steps_done": done,
            "trace": trace, "interrupted": interrupted, "params": params}
