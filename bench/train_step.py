"""The `grad` and `fit` statements on TwoLayerNet 784-50-10 at batch 100, vs the book's NumPy.

The net is bpshell source (bench/tensor_step.py: relu(X @ W1 + b1) @ W2 + b2, then
softmax_cross_entropy with t), its weights marked with `param`. The baseline is the book's
TwoLayerNet on its layer classes (bench/book_layers.py) with the same weights and batches,
timed interleaved in the same process. Goals (issue 17):

- `grad loss wrt W1, b1, W2, b2` through Session.run after a new batch is set from Python
  (`session["X"] = x; session["t"] = t`), both timed, within 0.85x of the book's
  `net.gradient(x, t)` (forward loss + backward through its layers). The statement alone,
  the batch set untimed, is shown for context.
- one `fit loss lr 0.1 steps 200` on one batch within 0.9x of the book's loop of 200 SGD
  steps with net.gradient, both from the same weights (put back, untimed, before each run).

The gradients, and the weights after the fit, must equal the book's before timing.
"""

from __future__ import annotations

import os

import numpy as np
from book_layers import Net
from common import arguments, emit, emit_machine, interleaved
from tensor_step import batches, source

from bpshell.session import Session

BENCH = "train_step"
PARAMS = ("W1", "b1", "W2", "b2")
GRAD = "grad loss wrt W1, b1, W2, b2"
GOAL_GRAD, GOAL_FIT = 0.85, 0.9
LR = 0.1
FULL = {"sizes": (784, 50, 10), "batch": 100, "steps": 200, "grad_rounds": 400,
        "fit_rounds": 15}
TINY = {"sizes": (12, 6, 3), "batch": 4, "steps": 5, "grad_rounds": 3, "fit_rounds": 2}


def prepared(sizes: tuple[int, ...], batch: int) -> tuple[Session, Net]:
    """The session with the net and its parameters marked, and the book's net on a copy
    of the same weights."""
    session = Session(seed=0)
    bad = [r for r in session.run(source(sizes, batch) + f"\nparam {', '.join(PARAMS)}")
           if not r["ok"]]
    if bad:
        raise RuntimeError(f"the net's source failed: {bad[0]['error']}")
    net = Net([session["W1"], session["W2"]], [session["b1"], session["b2"]])
    return session, net


def same(what: str, got: dict, want: dict, rtol: float) -> None:
    """Each parameter's array in got equals want's within rtol, or the run stops."""
    for p in PARAMS:
        if not np.allclose(got[p], want[p], rtol=rtol, atol=1e-12):
            worst = np.max(np.abs(got[p] - want[p]))
            raise AssertionError(f"{what}: {p} differs from the book's by up to {worst:g}")


def net_name(sizes: tuple[int, ...], batch: int) -> str:
    """The figure's start: the net, its batch, and OPENBLAS_CORETYPE when it is set."""
    core = os.environ.get("OPENBLAS_CORETYPE")
    blas = f" (OPENBLAS_CORETYPE={core})" if core else ""
    return f"TwoLayerNet {'-'.join(map(str, sizes))}, batch {batch}{blas}"


def grad_statement(session: Session) -> dict:
    """The statement's gradients by name; a failed statement stops the run."""
    (result,) = session.run(GRAD)
    if not result["ok"]:
        raise RuntimeError(f"{GRAD} failed: {result['error']}")
    return result["grads"]


def measure_grad(sizes: tuple[int, ...], batch: int, rounds: int) -> None:
    """The grad statement (setting the batch, and without) against net.gradient."""
    session, net = prepared(sizes, batch)
    data = batches(sizes, batch, 4)
    turn = {"engine": 0, "alone": 0, "book": 0}

    def next_batch(who: str) -> tuple:
        turn[who] += 1
        return data[turn[who] % len(data)]

    def set_batch(who: str) -> None:
        session["X"], session["t"] = next_batch(who)

    def engine() -> dict:
        set_batch("engine")
        return grad_statement(session)

    def book() -> dict:
        return net.gradient(*next_batch("book"))

    same("grad", engine(), book(), 1e-9)  # the same batch: both turns are at 1
    t = interleaved({"engine": engine, "alone": lambda: grad_statement(session),
                     "book": book}, rounds, prepare={"alone": lambda: set_batch("alone")})
    figure = f"{net_name(sizes, batch)}: {GRAD}"
    baseline = "the book's net.gradient (NumPy layers)"
    ratio = t["engine"] / t["book"]
    emit(BENCH, f"{figure}, new batch set from Python", t["engine"] * 1e3, "ms", baseline,
         t["book"] * 1e3, goal=f"ratio <= {GOAL_GRAD}", met=ratio <= GOAL_GRAD,
         rounds=rounds)
    emit(BENCH, f"{figure}, the statement alone", t["alone"] * 1e3, "ms", baseline,
         t["book"] * 1e3, rounds=rounds)


def book_loop(net: Net, x: np.ndarray, t: np.ndarray, steps: int) -> None:
    """The book's training loop: SGD on net.gradient, in place."""
    for _ in range(steps):
        grads = net.gradient(x, t)
        for k, affine in enumerate(net.affines, start=1):
            affine.W -= LR * grads[f"W{k}"]
            affine.b -= LR * grads[f"b{k}"]


def measure_fit(sizes: tuple[int, ...], batch: int, steps: int, rounds: int) -> None:
    """One fit statement against the book's loop, each from the same weights and batch."""
    session, net = prepared(sizes, batch)
    x, t = batches(sizes, batch, 1)[0]
    session["X"], session["t"] = x, t
    start = {p: session[p] for p in PARAMS}
    statement = f"fit loss lr {LR} steps {steps}"

    def engine() -> None:
        (result,) = session.run(statement)
        if not result["ok"] or result["updated"] != list(PARAMS):
            raise RuntimeError(f"{statement} failed: {result.get('error')}")

    def reset_engine() -> None:
        for p in PARAMS:
            session[p] = start[p]

    def reset_book() -> None:
        for k, affine in enumerate(net.affines, start=1):
            np.copyto(affine.W, start[f"W{k}"])
            np.copyto(affine.b, start[f"b{k}"])

    engine()
    book_loop(net, x, t, steps)
    reached = {f"{p}{k}": getattr(a, p) for k, a in enumerate(net.affines, start=1)
               for p in "Wb"}
    same(f"the weights after {steps} steps", {p: session[p] for p in PARAMS}, reached, 1e-8)
    times = interleaved({"engine": engine, "book": lambda: book_loop(net, x, t, steps)},
                        rounds, prepare={"engine": reset_engine, "book": reset_book})
    ratio = times["engine"] / times["book"]
    emit(BENCH, f"{net_name(sizes, batch)}: {statement}",
         times["engine"] * 1e3, "ms", f"the book's loop: {steps} SGD steps on net.gradient",
         times["book"] * 1e3, goal=f"ratio <= {GOAL_FIT}", met=ratio <= GOAL_FIT,
         rounds=rounds)


def main() -> None:
    """The grad rows, then the fit row (tiny sizes with --tiny)."""
    args = arguments(__doc__.splitlines()[0])
    emit_machine(BENCH)
    spec = TINY if args.tiny else FULL
    measure_grad(spec["sizes"], spec["batch"], spec["grad_rounds"])
    measure_fit(spec["sizes"], spec["batch"], spec["steps"], spec["fit_rounds"])


if __name__ == "__main__":
    main()
