"""A repeated grad/check/explain reuses the plan of an unchanged graph (bpshell/plans.py).

Every case changes something between two statements and checks the second answer
against a closed form written out here, so a stale plan cannot pass.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from bpshell.session import Session


def ok(s: Session, source: str) -> list:
    results = s.run(source)
    bad = [r for r in results if not r["ok"]]
    assert not bad, bad[0]["error"]
    return results


def grads(s: Session, stmt: str) -> dict:
    (r,) = ok(s, stmt)
    return r["grads"]


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def test_a_leaf_given_a_new_value_is_seen():
    s = Session()
    ok(s, "w = 2; x = 3; y = w*x*x")
    assert grads(s, "grad y")["w"] == pytest.approx(9.0)
    ok(s, "x = 5")
    assert grads(s, "grad y") == pytest.approx({"w": 25.0, "x": 20.0})


def test_a_redefined_formula_builds_afresh():
    s = Session()
    ok(s, "w = 2; x = 3; y = w*x")
    assert grads(s, "grad y")["w"] == pytest.approx(3.0)
    ok(s, "y = w*w*x")
    assert grads(s, "grad y")["w"] == pytest.approx(12.0)  # 2*w*x


def test_a_formula_below_the_output_redefined():
    s = Session()
    ok(s, "x = 0.5; h = tanh(x); y = h*h")
    assert grads(s, "grad y")["x"] == pytest.approx(2 * math.tanh(0.5) * (1 - math.tanh(0.5) ** 2))
    ok(s, "h = sigmoid(x)")
    assert grads(s, "grad y")["x"] == pytest.approx(
        2 * sigmoid(0.5) * sigmoid(0.5) * (1 - sigmoid(0.5)))


def test_a_redefined_function_builds_afresh():
    s = Session()
    ok(s, "def f(v) = v*v; w = 3; y = f(w)")
    assert grads(s, "grad y")["w"] == pytest.approx(6.0)
    ok(s, "def f(v) = v*v*v")
    assert grads(s, "grad y")["w"] == pytest.approx(27.0)


def test_a_symbol_given_a_value_and_a_leaf_deleted():
    s = Session()
    ok(s, "w = 2; y = w*z")
    (r,) = ok(s, "grad y")
    assert r["symbolic"]
    ok(s, "z = 4")
    assert grads(s, "grad y")["w"] == pytest.approx(4.0)
    ok(s, "del z")
    (r,) = ok(s, "grad y")
    assert r["symbolic"]


def test_a_leaf_of_another_shape():
    s = Session(seed=0)
    ok(s, "X = [[1, 2, 3], [4, 5, 6]]; W = [[1], [0], [-1]]; L = sum(X @ W)")
    x = np.array([[1, 2, 3], [4, 5, 6.0]])
    np.testing.assert_allclose(grads(s, "grad L")["W"], x.sum(axis=0, keepdims=True).T)
    x2 = np.arange(12.0).reshape(4, 3)
    s["X"] = x2
    g = grads(s, "grad L")
    np.testing.assert_allclose(g["W"], x2.sum(axis=0, keepdims=True).T)
    np.testing.assert_allclose(g["X"], np.tile([[1.0, 0.0, -1.0]], (4, 1)))


def test_explain_after_a_new_value_shows_the_new_numbers():
    s = Session()
    ok(s, "x = 3; y = sigmoid(x)")
    (r,) = ok(s, "explain y")
    assert r["rows"][0]["value"] == pytest.approx(sigmoid(3))
    ok(s, "x = 0")
    (r,) = ok(s, "explain y")
    row = r["rows"][0]
    assert row["value"] == pytest.approx(0.5)
    assert row["downstream"][0]["local_value"] == pytest.approx(0.25)


def test_a_rolled_back_run_leaves_no_stale_plan(tmp_path):
    s = Session()
    ok(s, "w = 2; x = 3; y = w*x")
    assert grads(s, "grad y")["w"] == pytest.approx(3.0)
    script = tmp_path / "bad.bp"
    script.write_text("x = 10\ny = w*w*x\ngrad y\nnosuchfunction(3)\n")
    (r,) = s.run(f"run {script}")
    assert not r["ok"]
    assert grads(s, "grad y") == pytest.approx({"w": 3.0, "x": 2.0})


def test_training_then_grad_sees_the_trained_weights():
    s = Session()
    ok(s, "w = 1; x = 2; t = 10; L = (w*x - t)**2; param w")
    ok(s, "fit L lr 0.01 steps 3")
    w = 1.0
    for _ in range(3):  # SGD on (w*x - t)^2: dL/dw = 2*(w*x - t)*x
        w -= 0.01 * 2 * (w * 2 - 10) * 2
    assert s["w"] == pytest.approx(w)
    assert grads(s, "grad L")["w"] == pytest.approx(2 * (w * 2 - 10) * 2)


def test_last_value_is_read_afresh():
    s = Session()
    ok(s, "x = 2; y = x*x")
    ok(s, "3")
    (r,) = ok(s, "z = _ * x")
    assert r["value"] == pytest.approx(6.0)
    assert grads(s, "grad z")["x"] == pytest.approx(3.0)


def test_a_reset_session_builds_afresh():
    s = Session()
    ok(s, "w = 2; y = w*w")
    assert grads(s, "grad y")["w"] == pytest.approx(4.0)
    ok(s, "reset")
    ok(s, "w = 5; y = w*w*w")
    assert grads(s, "grad y")["w"] == pytest.approx(75.0)


def test_a_new_element_limit_applies_to_a_kept_graph():
    s = Session()
    ok(s, "A = ones(30, 30); L = sum(A @ A)")
    ok(s, "grad L")
    ok(s, "set max_elements 100")
    (r,) = s.run("grad L")
    assert not r["ok"] and "limit" in r["error"]["message"]
