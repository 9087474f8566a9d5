"""The digits net of examples/mnist_like.bp: one `fit` statement against the book's loop.

bpshell trains the two-layer net (64-50-10, Affine-ReLU-Affine-Softmax-with-Loss) on the
8x8 digits: 30 epochs of shuffled mini-batches of 100 with SGD, measuring train and test
accuracy after every epoch, all in one `fit ... batch 100 over x_train, t_train epochs 30
report ...` statement. The baseline is the book's loop (5.7.4) on the book's NumPy layers
(bench/book_layers.py), from the same initial weights, over the same batches, with the
same accuracy measured per epoch, timed in the same process and interleaved round by
round. Both must reach at least 95% test accuracy before a time is printed.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
from book_layers import Net
from common import arguments, emit, emit_machine

from bpshell.numeric.train import batch_rows
from bpshell.session import Session

BENCH = "digits_fit"
SETUP = """seed 0
load digits
W1 = 0.1*randn(64, 50)
b1 = zeros(50)
W2 = 0.1*randn(50, 10)
b2 = zeros(10)
param W1, b1, W2, b2
def net(x) = relu(x @ W1 + b1) @ W2 + b2
loss = softmax_cross_entropy(net(x_train), t_train)"""
FIT = ("fit loss lr 0.5 batch 100 over x_train, t_train epochs {epochs} report "
       "accuracy(net(x_train), t_train), accuracy(net(x_test), t_test)")


def prepared() -> Session:
    s = Session()
    bad = [r for r in s.run(SETUP) if not r["ok"]]
    if bad:
        raise RuntimeError(f"the setup failed: {bad[0]['error']}")
    return s


def engine_fit(s: Session, epochs: int) -> float:
    """Run the fit; returns the test accuracy it reports after the last epoch."""
    (r,) = s.run(FIT.format(epochs=epochs))
    if not r["ok"]:
        raise RuntimeError(f"the fit failed: {r['error']}")
    return r["trace"][-1][3]


def accuracy(net: Net, x, t) -> float:
    """The book's TwoLayerNet.accuracy: arg-max of the scores against the labels."""
    for layer in net.layers:
        x = layer.forward(x)
    return float(np.mean(np.argmax(x, axis=1) == t))


def book_fit(s: Session, epochs: int) -> float:
    """The book's loop over the session's initial weights and data, the same batches as
    the fit draws (the same permutations from a copy of the session's random stream)."""
    v = s.value_of
    net = Net([v("W1").copy(), v("W2").copy()], [v("b1").copy(), v("b2").copy()])
    x_train, x_test = v("x_train"), v("x_test")
    t_train, t_test = v("t_train").astype(np.int64), v("t_test").astype(np.int64)
    rng = np.random.default_rng()
    rng.bit_generator.state = s.state.rng.bit_generator.state
    history = [(accuracy(net, x_train, t_train), accuracy(net, x_test, t_test))]
    for _ in range(epochs):
        for idx in batch_rows(rng, len(x_train), 100):
            net.step(x_train[idx], t_train[idx])
            for affine in net.affines:
                affine.W -= 0.5 * affine.dW
                affine.b -= 0.5 * affine.db
        history.append((accuracy(net, x_train, t_train), accuracy(net, x_test, t_test)))
    return history[-1][1]


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    emit_machine(BENCH)
    epochs, rounds = (1, 2) if args.tiny else (30, 7)
    times: dict[str, list[float]] = {"engine": [], "book": []}
    reached: dict[str, float] = {}
    jobs = {"engine": engine_fit, "book": book_fit}
    for r in range(rounds):
        for name in (("engine", "book") if r % 2 == 0 else ("book", "engine")):
            s = prepared()
            t0 = time.perf_counter()
            reached[name] = jobs[name](s, epochs)
            times[name].append(time.perf_counter() - t0)
    if not args.tiny and min(reached.values()) < 0.95:
        raise AssertionError(f"test accuracy below 0.95: {reached}")
    if abs(reached["engine"] - reached["book"]) > 0.01:
        raise AssertionError(f"the fit and the book's loop disagree: {reached}")
    engine, book = statistics.median(times["engine"]), statistics.median(times["book"])
    emit(BENCH, f"digits 64-50-10, {epochs} epochs of batches of 100, train and test "
         "accuracy per epoch (one fit statement)", engine, "s",
         "the book's loop on its NumPy layers", book, rounds=rounds,
         test_accuracy=round(reached["engine"], 4),
         book_test_accuracy=round(reached["book"], 4))


if __name__ == "__main__":
    main()
