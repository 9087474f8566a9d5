"""Every script in examples/ runs through the console script and gives the book's numbers.

Each example has an oracle written here: the book's printed values (the apple and the
apple-orange examples), or the same layer computed directly with NumPy as the book's
code computes it (ReLU's mask, Affine, Softmax-with-Loss, the two-layer net).
"""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import numpy as np
import pytest
from test_cli import clean_env, console_script

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.bp"))


def run_json(name: str) -> list[dict]:
    p = subprocess.run(console_script() + ["--json", f"examples/{name}"], cwd=ROOT,
                       capture_output=True, text=True, env=clean_env(), timeout=120)
    assert p.returncode == 0, p.stderr
    return [json.loads(s) for s in p.stdout.splitlines()]


def only(results: list[dict], kind: str) -> list[dict]:
    return [r for r in results if r["kind"] == kind]


def assigned(results: list[dict]) -> dict:
    return {r["name"]: r["value"] for r in only(results, "assign")}


# a default run renders two examples as text (the JSON tests below run every one); CI all
TEXT_FAST = {"two_layer_net.bp", "swish.bp"}


@pytest.mark.parametrize("path", [
    pytest.param(p, id=p.name, marks=() if p.name in TEXT_FAST else pytest.mark.slow)
    for p in EXAMPLES])
def test_every_example_runs_cleanly_as_text(path):
    p = subprocess.run(console_script() + [str(path)], cwd=ROOT, capture_output=True,
                       text=True, env=clean_env(), timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stderr == "" and "\x1b" not in p.stdout and p.stdout


def test_apple():
    r = run_json("apple.bp")
    (g,) = only(r, "grad")
    assert g["value"] == pytest.approx(220)
    assert g["grads"] == pytest.approx({"apple": 2.2, "n": 110, "tax": 200})
    (tree,) = only(r, "tree")
    assert tree["has_grads"] and tree["root"]["grad"] == 1.0


def test_add_and_multiply_nodes():
    (g,) = only(run_json("add_mul.bp"), "grad")
    assert g["value"] == pytest.approx(715)
    expected = {"apple": 2.2, "apple_num": 110, "orange": 3.3, "orange_num": 165, "tax": 650}
    assert {k: g["grads"][k] for k in expected} == pytest.approx(expected)


def test_relu_passes_the_upstream_gradient_where_the_input_was_positive():
    r = run_json("relu_mask.bp")
    x = np.array(assigned(r)["x"])
    dout = np.array([[10.0, 20.0], [30.0, 40.0]])
    dout[x <= 0] = 0  # the book's Relu.backward
    (g,) = only(r, "grad")
    assert np.array_equal(np.array(g["grads"]["x"]), dout)


def test_sigmoid_derivative_is_y_times_one_minus_y():
    r = run_json("sigmoid.bp")
    (d,) = only(r, "diff")
    assert d["in_terms_of_output"] == "y*(1 - y)"
    symbolic, numeric = only(r, "grad")
    assert symbolic["grads"] == {"x": "y*(1 - y)"}
    y = 1 / (1 + math.exp(-2))
    assert numeric["value"] == pytest.approx(y)
    assert numeric["grads"]["x"] == pytest.approx(y * (1 - y))


def test_batch_affine():
    r = run_json("affine.bp")
    v = assigned(r)
    X, W = np.array(v["X"]), np.array(v["W"])
    dY = np.ones((3, 3))
    (g,) = only(r, "grad")
    assert np.allclose(g["grads"]["X"], dY @ W.T)
    assert np.allclose(g["grads"]["W"], X.T @ dY)
    assert np.allclose(g["grads"]["b"], dY.sum(axis=0))


def test_softmax_with_loss_gradient_is_y_minus_t_over_n():
    r = run_json("softmax_with_loss.bp")
    x = np.array(assigned(r)["x"])
    y = np.exp(x - x.max(axis=1, keepdims=True))
    y /= y.sum(axis=1, keepdims=True)
    t = np.array([[0, 0, 1], [1, 0, 0]], dtype=float)
    (probs,) = only(r, "value")
    assert np.allclose(probs["value"], y)
    assert np.allclose(probs["value"][0], [0.01821127, 0.24519181, 0.73659691])  # the book
    loss = -np.sum(t * np.log(y)) / 2
    one_hot, labels = only(r, "grad")
    for g in (one_hot, labels):
        assert g["value"] == pytest.approx(loss)
        assert np.allclose(g["grads"]["x"], (y - t) / 2)


def test_two_layer_net_backprop_matches_the_books_layers_and_passes_check():
    r = run_json("two_layer_net.bp")
    v = {k: np.array(val) for k, val in assigned(r).items()}
    X, t, W1, b1, W2, b2 = (v[k] for k in ("X", "t", "W1", "b1", "W2", "b2"))
    a1 = X @ W1 + b1
    h = 1 / (1 + np.exp(-a1))
    s = h @ W2 + b2
    y = np.exp(s - s.max(axis=1, keepdims=True))
    y /= y.sum(axis=1, keepdims=True)
    n = X.shape[0]
    ds = (y - t) / n  # SoftmaxWithLoss.backward
    dW2, db2, dh = h.T @ ds, ds.sum(axis=0), ds @ W2.T  # Affine.backward
    da1 = dh * h * (1 - h)  # Sigmoid.backward
    dW1, db1 = X.T @ da1, da1.sum(axis=0)
    (g,) = only(r, "grad")
    for name, want in (("W1", dW1), ("b1", db1), ("W2", dW2), ("b2", db2)):
        assert np.allclose(g["grads"][name], want), name
    (c,) = only(r, "check")
    assert c["passed"] and set(c["results"]) >= {"W1", "b1", "W2", "b2"}


def test_swish_user_defined_activation():
    r = run_json("swish.bp")
    x = 1.5
    s = 1 / (1 + math.exp(-x))
    (g,) = only(r, "grad")
    assert g["value"] == pytest.approx(x * s)
    assert g["grads"]["x"] == pytest.approx(s + x * s * (1 - s))
    (c,) = only(r, "check")
    assert c["passed"]


def test_linear_unit_learns_w_3_and_b_half():
    r = run_json("linear_unit.bp")
    w, b = (x["value"] for x in only(r, "value"))
    assert w == pytest.approx(3, abs=1e-6) and b == pytest.approx(0.5, abs=1e-6)


def test_fit_square_lowers_the_loss_and_bends_twice_inside_0_2():
    rows = run_json("fit_square.bp")
    (fit,) = only(rows, "fit")
    assert fit["loss_after"] < fit["loss_before"] / 100
    kinks = np.ravel(assigned(rows)["kinks"])
    assert np.all((kinks > 0) & (kinks < 2)), kinks
    # three segments: y's second differences vanish but at the two kinks, and its
    # slope takes three values, increasing (a convex fit of a convex curve)
    (plot,) = only(rows, "plot")
    x, y = np.array(plot["x"]), np.array(plot["y"])
    slopes = np.diff(y) / np.diff(x)
    bends = np.flatnonzero(np.abs(np.diff(slopes)) > 1e-6)
    assert len(bends) in (2, 3, 4)  # one or two steps of the grid per kink
    levels = np.unique(np.round(slopes[np.abs(np.diff(slopes, append=slopes[-1])) < 1e-6],
                                6))
    assert len(levels) == 3 and np.all(np.diff(levels) > 0), levels
