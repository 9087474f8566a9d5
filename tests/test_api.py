"""The Python API: `Session.run` returns Results, `session["W"]` reads NumPy,
`session["X"] = array` binds a leaf; and the README's Python examples run as shown.

Oracles: NumPy reimplementations of the book's layers (Affine, ReLU, Sigmoid,
Softmax-with-Loss, as chapter 5 writes them) run on the data handed to the session,
SymPy's own algebra for symbolic values, and the README's printed outputs (doctest).
"""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import bpshell
from bpshell.limits import Limits
from bpshell.render.jsonl import dumps
from bpshell.results.result import Result

ROOT = Path(__file__).resolve().parents[1]


def book_net_grads(X, t, W1, b1, W2, b2, act: str) -> dict[str, np.ndarray]:
    """The book's layers in NumPy: Affine, ReLU or Sigmoid, Affine, SoftmaxWithLoss."""
    a1 = X @ W1 + b1
    if act == "relu":
        mask = a1 <= 0
        h = np.where(mask, 0.0, a1)
    else:
        h = 1 / (1 + np.exp(-a1))
    a2 = h @ W2 + b2
    p = np.exp(a2 - a2.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    da2 = (p - t) / len(X)
    dh = da2 @ W2.T
    da1 = np.where(mask, 0.0, dh) if act == "relu" else dh * h * (1 - h)
    return {"W1": X.T @ da1, "b1": da1.sum(axis=0), "W2": h.T @ da2, "b2": da2.sum(axis=0)}


def snapshot(s) -> dict:
    """What a failed call must leave as it was: bindings, values, functions, `_`."""
    return {"bindings": dict(s.state.bindings), "funcs": dict(s.state.funcs),
            "last": s.state.last, "version": s.state.version,
            "values": {n: s.run(n)[0].get("value") for n in s.state.bindings}}


def same(a: dict, b: dict) -> bool:
    return a["bindings"] == b["bindings"] and a["funcs"] == b["funcs"] and \
        a["version"] == b["version"] and all(
            np.array_equal(a["values"][n], b["values"][n], equal_nan=True)
            for n in a["values"]) and np.array_equal(a["last"], b["last"], equal_nan=True)


# ---------------------------------------------------------------- results


def test_results_are_the_same_dicts_readable_by_attribute():
    s = bpshell.Session()
    results = s.run("apple = 100; n = 2; tax = 1.1; price = apple*n*tax; grad price")
    g = results[-1]
    assert all(isinstance(r, Result) and isinstance(r, dict) for r in results)
    assert g.kind == "grad" and g.grads == pytest.approx({"apple": 2.2, "n": 110, "tax": 200})
    assert g.grads is g["grads"] and "grads" in dir(g)
    assert dumps(g) == dumps(dict(g))  # JSON Lines unchanged
    assert repr(g).startswith("Result({'line': 1")
    with pytest.raises(AttributeError, match="this grad result has no field 'nope'"):
        _ = g.nope
    assert results[0]["update"] is False  # a key shadowed by a dict method: by index


def test_a_failed_statement_is_a_result_with_its_position():
    s = bpshell.Session()
    ok, bad, after = s.run("x = 2\ny = x + nope(x)\nz = 1")
    assert ok.ok and not bad.ok and after.ok  # run goes on by default
    assert (bad.error["line"], bad.error["column"]) == (2, 9)
    assert [r.kind for r in s.run("a = 1\nb = a @ a\nc = 1", keep_going=False)] == [
        "assign", "error"]


# ---------------------------------------------------------------- values in and out


def test_numpy_in_gradients_out_agree_with_the_books_layers():
    rng = np.random.default_rng(11)
    data = {"X": rng.standard_normal((8, 3)), "t": np.eye(4)[rng.integers(0, 4, 8)],
            "W1": rng.standard_normal((3, 6)), "b1": rng.standard_normal(6),
            "W2": rng.standard_normal((6, 4)), "b2": rng.standard_normal(4)}
    s = bpshell.Session()
    for name, value in data.items():
        s[name] = value
    for act in ("relu", "sigmoid"):
        (g,) = s.run(f"h = {act}(X @ W1 + b1); loss = softmax_cross_entropy(h @ W2 + b2, t); "
                     "grad loss wrt W1, b1, W2, b2")[2:]
        want = book_net_grads(**data, act=act)
        for k, v in want.items():
            np.testing.assert_allclose(g.grads[k], v, rtol=1e-12, atol=1e-14)


def test_values_come_out_as_copies_and_go_in_as_copies():
    s = bpshell.Session()
    x = np.array([1.0, 2.0])
    s["x"] = x
    x[0] = 100.0  # the caller's array changes; the session's leaf does not
    out = s["x"]
    out[1] = -5.0  # nor does changing what was read
    assert s["x"].tolist() == [1.0, 2.0]
    assert isinstance(s["x"], np.ndarray) and s["x"].dtype == np.float64
    s.run("y = sum(x*x)")
    assert isinstance(s["y"], np.float64) and s["y"] == 5.0
    s["x"] = [3, 4]  # a definition follows its input, as after `x = [3, 4]`
    assert s["y"] == 25.0 and s.run("vars")[0].vars[0]["expr"] == "(from Python)"


def test_what_a_leaf_may_hold_from_python():
    s = bpshell.Session()
    s["b"] = np.array([True, False])
    s["i"] = np.arange(3, dtype=np.int32)
    s["f"] = 7
    assert s["b"].tolist() == [1.0, 0.0] and s["i"].dtype == np.float64 and s["f"] == 7.0
    s["z"] = [np.inf, np.nan, 1.0]  # inf and nan are kept, and reported where they matter
    (g,) = s.run("w = 2*z; grad w with [1, 1, 1]")[1:]
    assert np.isinf(s["z"][0]) and np.isnan(s["z"][1]) and g.ok
    for bad in ([1 + 2j], ["a"], [[1, 2], [3]], {"a": 1}, object()):
        before = snapshot(s)
        with pytest.raises(TypeError, match="real numbers"):
            s["q"] = bad
        assert same(before, snapshot(s)) and "q" not in s


def test_a_leaf_over_the_element_limit_is_refused_before_anything_changes():
    s = bpshell.Session(limits=Limits(max_elements=10))
    s["a"] = np.zeros(10)
    before = snapshot(s)
    with pytest.raises(ValueError, match="11 elements is over the limit of 10.*"
                                         "BPSHELL_MAX_ELEMENTS"):
        s["a"] = np.zeros(11)
    assert same(before, snapshot(s))


@pytest.mark.parametrize("name, why", [
    ("grad", "'grad' is a command"), ("sigmoid", "'sigmoid' is a built-in function"),
    ("swish", "'swish' is a function"), ("_x", "may not start with an underscore"),
    ("lambda", "not part of the bpshell language"), ("_", "holds the last value"),
    ("a b", "not a bpshell name"), ("x.T", "not a bpshell name"), ("ｘ", "not a bpshell name"),
    (3, "not a bpshell name")])
def test_names_that_cannot_be_bound_change_nothing(name, why):
    s = bpshell.Session()
    s.run("def swish(u) = u*sigmoid(u); x = 1; y = swish(x)")
    before = snapshot(s)
    with pytest.raises(ValueError, match=re.escape(why)):
        s[name] = 1.0
    assert same(before, snapshot(s))


def test_a_value_without_numbers_reads_as_a_sympy_expression():
    s = bpshell.Session()
    s.run("def swish(u) = u*sigmoid(u); y = swish(w*x) + x**2; x = 3")
    x, w = sp.Symbol("x", real=True), sp.Symbol("w", real=True)
    expr = s["y"]
    # SymPy's own algebra: the same function of w and x, checked at a point
    want = w * x / (1 + sp.exp(-w * x)) + x**2
    assert isinstance(expr, sp.Expr)
    assert abs(float((expr - want).subs({w: 0.7, x: -1.3}).evalf())) < 1e-12
    with pytest.raises(KeyError, match="'yy' is not defined; did you mean y"):
        s["yy"]
    s.run("A = [[1, 2]]; B = A @ v")
    with pytest.raises(ValueError, match="B has no value yet"):
        s["B"]


# ---------------------------------------------------------------- the README


def readme_api_examples() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## The Python API\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```pycon\n(.*?)```", section, flags=re.S)
    assert blocks, "the README's Python API section shows its examples in pycon blocks"
    return "\n".join(blocks)


def test_the_readme_python_examples_print_what_they_show(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    test = doctest.DocTestParser().get_doctest(readme_api_examples(), {}, "README.md",
                                               "README.md", 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    assert runner.failures == 0 and runner.tries > 5
