"""`def` keeps its shape, and chains of functions are as deep as they are written.

A function that bpshell makes one elementwise op gives a value of its arguments'
broadcast shape, as every elementwise op does, even when SymPy cancels a parameter away
(`u - u` is 0; `def f(u, v) = v*v` never reads u). Gradients follow from that shape.
Expected values are closed forms written here.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bpshell.limits import Limits
from bpshell.session import Session

ROOT = Path(__file__).resolve().parents[1]


def session(**limits) -> Session:
    return Session(limits=Limits.from_env({}, **limits), seed=0)


def ok(s: Session, src: str) -> dict:
    results = s.run(src)
    for r in results:
        assert r["ok"], r
    return results[-1]


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


U = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]


def test_a_parameter_the_body_never_reads_still_broadcasts() -> None:
    s = session()
    r = ok(s, f"def f(u, v) = v*v\nu = {U}\nv = 3\nm = f(u, v)")
    assert r["shape"] == [2, 3]
    assert np.array_equal(r["value"], np.full((2, 3), 9.0))
    # y = sum over the 2x3 broadcast of v**2 = 6 v**2: dy/dv = 12 v, dy/du = 0
    r = ok(s, "y = sum(f(u, v)); grad y")
    assert r["value"] == 54.0
    assert r["grads"]["v"] == 36.0
    assert np.array_equal(r["grads"]["u"], np.zeros((2, 3)))


def test_a_body_that_cancels_is_the_shape_of_its_argument() -> None:
    s = session()
    r = ok(s, "def f(u) = u - u\nx = [1, 2, 3]\ny = f(x)")
    assert r["shape"] == [3] and np.array_equal(r["value"], np.zeros(3))
    # as the same expression written inline
    inline = ok(s, "x - x")
    assert inline["shape"] == r["shape"] and np.array_equal(inline["value"], r["value"])
    r = ok(s, "grad y with [1, 1, 1]")
    assert np.array_equal(r["grads"]["x"], np.zeros(3))
    # a constant body on two arguments: their broadcast shape, gradient zero for both
    r = ok(s, f"def c(u, v) = u*0 + 2\nk = c(x, {U})")
    assert r["shape"] == [2, 3] and np.array_equal(r["value"], np.full((2, 3), 2.0))


def test_a_cancelled_parameter_inside_another_function() -> None:
    # g calls f, whose code ignores u: g's value still has u's rows, and its gradient for
    # w sums over them. g = sigmoid(w)*2 on a 2x3 broadcast; sum(g) = 6*2*sigmoid(w)
    s = session()
    r = ok(s, f"def f(u, v) = v*2\ndef g(u, v) = sigmoid(f(u, v))\nu = {U}\nw = 0.3\n"
              "y = sum(g(u, w)); grad y")
    sg = sigmoid(0.6)
    assert r["value"] == pytest.approx(6 * sg)
    assert r["grads"]["w"] == pytest.approx(6 * sg * (1 - sg) * 2)
    assert np.array_equal(r["grads"]["u"], np.zeros((2, 3)))


def test_broadcast_gradients_match_central_differences() -> None:
    # def f(u, v) = v*v*sigmoid(v): u is 3x1, v is 1x4; the value is 3x4
    s = session()
    r = ok(s, "def f(u, v) = v*v*sigmoid(v)\nu = [[1], [2], [3]]\nv = [[0.5, -1, 2, 0]]\n"
              "y = sum(f(u, v)*[[1], [2], [3]]); grad y")
    v = np.array([0.5, -1.0, 2.0, 0.0])
    eps = 1e-6

    def total(vv):
        return float(np.sum((vv * vv * sigmoid(vv))[None, :] * np.array([[1], [2], [3]])))

    numeric = [(total(v + eps * e) - total(v - eps * e)) / (2 * eps) for e in np.eye(4)]
    assert r["value"] == pytest.approx(total(v))
    assert np.allclose(np.ravel(r["grads"]["v"]), numeric, rtol=1e-6)
    assert np.array_equal(r["grads"]["u"], np.zeros((3, 1)))


def chain(n: int, inlined: bool) -> str:
    """f1(u) = 2 sigmoid(u) (times w = 1 when inlined: it reads a session name), and
    f_i(u) = f_{i-1}(u)/2 + u."""
    head = "w = 1\ndef f1(u) = sigmoid(u)*2*w" if inlined else "def f1(u) = sigmoid(u)*2"
    lines = [head] + [f"def f{i}(u) = f{i - 1}(u)*0.5 + u" for i in range(2, n + 1)]
    return "\n".join(lines)


def chain_closed_form(n: int, x: float) -> tuple[float, float]:
    """f_n = 2^(2-n) sigmoid(x) + 2x(1 - 2^(1-n)), and its derivative."""
    s = 1 / (1 + math.exp(-x))
    a = 0.5 ** (n - 1)
    return 2 * a * s + 2 * x * (1 - a), 2 * a * s * (1 - s) + 2 * (1 - a)


@pytest.mark.parametrize("inlined", [False, True], ids=["op", "inlined"])
def test_a_chain_of_20_functions(inlined: bool) -> None:
    s = session()
    ok(s, chain(20, inlined))
    r = ok(s, "x = 0.3; y = f20(x); grad y")
    value, slope = chain_closed_form(20, 0.3)
    assert r["value"] == pytest.approx(value, rel=1e-12)
    assert r["grads"]["x"] == pytest.approx(slope, rel=1e-12)


@pytest.mark.parametrize("inlined", [False, True], ids=["op", "inlined"])
def test_a_chain_of_60_functions_with_the_default_limits(inlined: bool) -> None:
    # each function calls the one before it; before, SymPy went down the chain inside its
    # own diff (some twenty frames a level) and passed Python's recursion limit
    s = session()
    ok(s, chain(60, inlined))
    r = ok(s, "x = 0.3; y = f60(x); grad y")
    value, slope = chain_closed_form(60, 0.3)
    assert r["value"] == pytest.approx(value, rel=1e-12)
    assert r["grads"]["x"] == pytest.approx(slope, rel=1e-12)
    for src in ("check y", "tree y", "explain y", "diff f60(x) wrt x", "q = f60(p)",
                "grad q"):
        ok(s, src)
    # the symbolic gradient at p = 0.3 is the same number
    g = s.run("grad q")[-1]["grads"]["p"]
    assert "f1(p)" in g or "sigmoid(p)" in g


def test_a_chain_too_deep_names_the_setting_and_changes_nothing() -> None:
    # f_i adds one level per function (the call around its argument); with a depth
    # bound of 20, f20 is refused and the functions before it stay
    s = session(max_depth=20)
    results = s.run(chain(25, inlined=False))
    bad = [r for r in results if not r["ok"]]
    assert bad, "some function of the chain should be refused"
    first = bad[0]
    assert first["error"]["type"] == "limit"
    assert "BPSHELL_MAX_DEPTH" in first["error"]["message"]
    assert "--max-depth" in first["error"]["message"]
    name = first["source"].split("(")[0].split()[-1]
    assert name not in s.funcs and "f2" in s.funcs


def test_the_depth_bound_counts_the_written_out_chain() -> None:
    # a chain of sigmoid(f(u)) is as deep as sigmoid(sigmoid(...)) typed by hand: two
    # levels a function. 10 functions fit a bound of 25, 13 do not
    s = session(max_depth=25)
    lines = ["def g1(u) = sigmoid(u)"] + [f"def g{i}(u) = sigmoid(g{i - 1}(u))"
                                           for i in range(2, 14)]
    results = s.run("\n".join(lines))
    assert all(r["ok"] for r in results[:10]), results[:10]
    assert not results[-1]["ok"] and results[-1]["error"]["type"] == "limit"


def test_a_chain_too_deep_through_the_cli() -> None:
    src = chain(30, inlined=False).replace("\n", "; ")
    proc = subprocess.run([sys.executable, "-m", "bpshell", "--json", "--max-depth", "15",
                           "-c", src], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    last = json.loads(proc.stdout.splitlines()[-1])
    assert last["error"]["type"] == "limit" and "BPSHELL_MAX_DEPTH" in last["error"]["message"]
