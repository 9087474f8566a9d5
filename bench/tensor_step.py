"""Context: a training step (forward + backward) on the planned graph vs the book's NumPy layers.

The net is written in bpshell source and planned once; each step sets a new batch and runs
forward and backward for the weights and biases, as a training loop does. The baseline is
the book's layer classes (bench/book_layers.py) on the same weights and batches, timed in
the same process, interleaved. The engine skips the first layer's dx (data needs no
gradient), which the book computes; a second figure compares with the book minus that.
These were goals before issue 17, which measures the `grad` and `fit` statements instead
(bench/train_step.py); they stay, without goals, to show the passes' own cost.
"""

from __future__ import annotations

import os

import numpy as np
from book_layers import Net
from common import arguments, emit, emit_machine, interleaved

from bpshell.session import Session

BENCH = "tensor_step"
NETS = {  # name: (layer sizes, batch, rounds)
    "TwoLayerNet": ((784, 50, 10), 100, 400),
    "wide": ((1024, 4096, 1024, 10), 512, 12),
}
TINY = {"TwoLayerNet": ((12, 6, 3), 4, 3), "wide": ((10, 16, 8, 3), 5, 3)}


def source(sizes: tuple[int, ...], batch: int) -> str:
    """The net in bpshell: relu(X @ W1 + b1), ..., then softmax_cross_entropy with t."""
    lines = [f"X = zeros({batch}, {sizes[0]}); t = zeros({batch}, {sizes[-1]})"]
    h = "X"
    for k, (n_in, n_out) in enumerate(zip(sizes, sizes[1:]), start=1):
        lines.append(f"W{k} = randn({n_in}, {n_out}) * 0.01; b{k} = zeros({n_out})")
        if k < len(sizes) - 1:
            lines.append(f"h{k} = relu({h} @ W{k} + b{k})")
            h = f"h{k}"
        else:
            lines.append(f"y = {h} @ W{k} + b{k}")
    lines.append("loss = softmax_cross_entropy(y, t)")
    return "\n".join(lines)


def batches(sizes: tuple[int, ...], batch: int, count: int, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        x = rng.standard_normal((batch, sizes[0]))
        t = np.eye(sizes[-1])[rng.integers(0, sizes[-1], batch)]
        out.append((x, t))
    return out


def measure(name: str, sizes: tuple[int, ...], batch: int, rounds: int) -> None:
    session = Session(seed=0)
    results = session.run(source(sizes, batch))
    bad = [r for r in results if not r["ok"]]
    if bad:
        raise RuntimeError(f"the net's source failed: {bad[0]['error']}")
    plan = session.full_plan("loss")
    layers = len(sizes) - 1
    params = [f"{p}{k}" for k in range(1, layers + 1) for p in "Wb"]
    targets = {plan.graph.named[p] for p in params}
    net = Net([plan.values[plan.graph.named[f"W{k}"]] for k in range(1, layers + 1)],
              [plan.values[plan.graph.named[f"b{k}"]] for k in range(1, layers + 1)])
    data = batches(sizes, batch, 4)
    state = {"engine": 0, "book": 0, "same": 0}

    def engine():
        x, t = data[state["engine"] % len(data)]
        state["engine"] += 1
        plan.set("X", x)
        plan.set("t", t)
        plan.forward()
        return plan.backward(1.0, targets)

    def book():
        x, t = data[state["book"] % len(data)]
        state["book"] += 1
        net.step(x, t)

    def book_same_work():
        x, t = data[state["same"] % len(data)]
        state["same"] += 1
        net.step(x, t, skip_first_dx=True)

    grads = engine()  # the engine must agree with the book before it is timed
    state["engine"] = 0
    book()
    state["book"] = 0
    for k, affine in enumerate(net.affines, start=1):
        for p, ref in (("W", affine.dW), ("b", affine.db)):
            if not np.allclose(grads[plan.graph.named[f"{p}{k}"]], ref, rtol=1e-9, atol=1e-12):
                raise AssertionError(f"{name}: d{p}{k} differs from the book's")
    t = interleaved({"engine": engine, "book": book, "book_same_work": book_same_work},
                    rounds)
    label = "-".join(map(str, sizes))
    core = os.environ.get("OPENBLAS_CORETYPE")
    blas = f" (OPENBLAS_CORETYPE={core})" if core else ""
    figure = f"{name} {label} step, batch {batch}{blas}"
    emit(BENCH, figure, t["engine"] * 1e3, "ms", "book layers (NumPy)", t["book"] * 1e3,
         rounds=rounds)
    emit(BENCH, f"{figure}, same work", t["engine"] * 1e3, "ms",
         "book layers less the first layer's dx", t["book_same_work"] * 1e3, rounds=rounds)


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    emit_machine(BENCH)
    for name, spec in (TINY if args.tiny else NETS).items():
        measure(name, *spec)


if __name__ == "__main__":
    main()
