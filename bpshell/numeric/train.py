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


def leaves_for(plan: Plan, wrt: list[str] | None) -> list[str]:
    """The leaves to update: those named, or every leaf the loss depends on."""
    g = plan.graph
    if wrt:
        for n in wrt:
            if n not in g.named:
                raise BpError(f"the loss does not depend on '{n}'")
            if g.nodes[g.named[n]].kind != "leaf":
                raise BpError(f"'{n}' is defined by a formula; only leaves (names holding "
                              "values) can be updated")
        return list(wrt)
    return [n for n, i in g.named.items() if g.nodes[i].kind == "leaf"]


def run_steps(plan: Plan, names: list[str], opt: Optimizer, steps: int, every: int,
              progress: Callable | None = None) -> dict:
    """Run gradient steps on plan; returns the trace and the parameters reached."""
    g = plan.graph
    ids = [g.named[n] for n in names]
    targets = set(ids)
    loss0 = plan.forward()
    if np.ndim(loss0) != 0:
        raise BpError("the loss must be a scalar (sum or mean it)")
    trace = [(0, float(loss0))]
    interrupted = False
    done = 0
    loss = float(loss0)
    try:
        for step in range(1, steps + 1):
            grads = plan.backward(1.0, targets)
            opt.t = step
            for n, i in zip(names, ids):
                gi = grads[i] if grads[i] is not None else 0.0
                plan.values[i] = opt.update(n, plan.values[i], gi)
            loss = float(plan.forward())
            done = step
            if not np.isfinite(loss):
                raise MathError(f"the loss became {loss} at step {step}; try a smaller lr")
            if every and step % every == 0 or step == steps:
                trace.append((step, loss))
            if progress is not None:
                progress(step, steps, loss, every)
    except KeyboardInterrupt:
        interrupted = True
        if not trace or trace[-1][0] != done:
            trace.append((done, loss))
    params = {n: plan.values[i] for n, i in zip(names, ids)}
    return {"loss_before": float(loss0), "loss_after": loss, "steps_done": done,
            "trace": [[s, v] for s, v in trace], "interrupted": interrupted,
            "params": params}
