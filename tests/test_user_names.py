"""User names cannot change built-in math.

The code bpshell generates for derivatives calls NumPy by name (relu' is
`where(greater(x0, 0), 1, 0)`), takes its inputs as x0, x1 and y, and calls the kernels
of named ops and user functions. A user function named like any of these must not change
another function's value or derivative, nor cause an internal error. The oracle is the
closed form of each derivative, written here, and central differences.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from bpshell.limits import Limits
from bpshell.session import Session
from bpshell.symbolic.derive import NAMESPACE


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def softplus(x: float) -> float:
    return math.log1p(math.exp(x))


# what the generated code reads: NumPy's ufuncs and helpers, its own parameters, the
# output symbol, and the names SymPy's printer writes for constants
WRITTEN = ["greater", "less", "where", "select", "sign", "e", "y", "x0", "x1", "x2",
           "power", "multiply", "add", "expm1", "log1p", "nan", "inf", "pi", "amax",
           "numpy", "logical_and", "heaviside", "absolute", "maximum"]
# SymPy's printers pick a method by class name (_print_tuple, _print_str, _print_amax)
PRINTER_NAMES = ["tuple", "list", "dict", "str", "int", "float", "frozenset",  # (set is a command)
                 "type", "object", "amax", "expm1", "log1p"]


def session() -> Session:
    return Session(limits=Limits.from_env({}), seed=0)


def user_named(name: str) -> Session | None:
    """A session with `def NAME(u) = 3*u + 1`, or None when the name is refused cleanly."""
    s = session()
    r = s.run(f"def {name}(u) = 3*u + 1")[-1]
    if not r["ok"]:
        assert r["error"]["type"] != "internal", r["error"]
        assert "choose another name" in r["error"]["message"], r["error"]
        return None
    return s


def builtin_gradients(p: float) -> dict[str, tuple[float, float]]:
    """Each built-in op at p: (value, derivative), in closed form (PyTorch's kinks)."""
    s = sigmoid(p)
    return {
        "relu(x)": (max(p, 0.0), 1.0 if p > 0 else 0.0),
        "abs(x)": (abs(p), math.copysign(1.0, p) if p else 0.0),
        "sigmoid(x)": (s, s * (1 - s)),
        "leaky_relu(x)": (p if p > 0 else 0.01 * p, 1.0 if p > 0 else 0.01),
        "leaky_relu(x, 0.2)": (p if p > 0 else 0.2 * p, 1.0 if p > 0 else 0.2),
        "softplus(x)": (softplus(p), s),
        "tanh(x)": (math.tanh(p), 1 - math.tanh(p) ** 2),
        "exp(x)": (math.exp(p), math.exp(p)),
        "log(x*x)": (math.log(p * p), 2 / p),
        "sqrt(x*x)": (abs(p), math.copysign(1.0, p)),
        "x**3": (p**3, 3 * p**2),
        "2**x": (2**p, math.log(2) * 2**p),
    }


def check_builtins(s: Session, p: float) -> None:
    s.run(f"x = {p}")
    for expr, (value, slope) in builtin_gradients(p).items():
        r = s.run(f"z = {expr}; grad z")
        assert all(x["ok"] for x in r), (expr, r)
        assert r[-1]["value"] == pytest.approx(value, rel=1e-12, abs=1e-15), expr
        assert r[-1]["grads"]["x"] == pytest.approx(slope, rel=1e-12, abs=1e-15), expr


def check_mixed(s: Session, name: str, p: float) -> None:
    """A function that calls the user's function next to built-ins whose derivatives use
    the generated names: h = relu*f + abs*f + sigmoid + softplus + leaky_relu."""
    r = s.run(f"def h(u) = relu(u)*{name}(u) + abs(u)*{name}(u) + sigmoid(u) + "
              "softplus(u) + leaky_relu(u)")[-1]
    assert r["ok"] and r["elementwise"], r
    f, df = 3 * p + 1, 3.0
    step = 1.0 if p > 0 else 0.0
    sgn = math.copysign(1.0, p)
    sg = sigmoid(p)
    value = max(p, 0) * f + abs(p) * f + sg + softplus(p) + (p if p > 0 else 0.01 * p)
    slope = (step * f + max(p, 0) * df + sgn * f + abs(p) * df + sg * (1 - sg) + sg
             + (1.0 if p > 0 else 0.01))
    r = s.run(f"x = {p}; z = h(x); grad z")
    assert all(x["ok"] for x in r), r
    assert r[-1]["value"] == pytest.approx(value, rel=1e-12)
    assert r[-1]["grads"]["x"] == pytest.approx(slope, rel=1e-12)
    # and on an array, through the same generated code
    xs = np.array([p, -p, 2 * p])
    r = s.run(f"X = [{p}, {-p}, {2 * p}]; Z = sum(h(X)); grad Z")
    assert all(x["ok"] for x in r), r
    eps = 1e-6
    numeric = [(_h(name, q + eps) - _h(name, q - eps)) / (2 * eps) for q in xs]
    assert np.allclose(r[-1]["grads"]["X"], numeric, rtol=1e-6, atol=1e-8)


def _h(name: str, q: float) -> float:
    f = 3 * q + 1
    return (max(q, 0) * f + abs(q) * f + sigmoid(q) + softplus(q)
            + (q if q > 0 else 0.01 * q))


@pytest.mark.parametrize("name", WRITTEN)
def test_a_user_function_named_like_generated_code_changes_nothing_else(name: str) -> None:
    s = user_named(name)
    if s is None:
        return
    for p in (0.7, -0.4):
        check_builtins(s, p)
        check_mixed(s, name, p)
    # its own value and derivative are its own
    r = s.run(f"x = 2; z = {name}(x); grad z")
    assert r[-1]["value"] == 7.0 and r[-1]["grads"]["x"] == 3.0


@pytest.mark.slow
def test_every_name_generated_code_can_read() -> None:
    # the whole namespace, not only the names written above
    problems = []
    for name in sorted(NAMESPACE):
        s = user_named(name)
        if s is None:
            continue
        try:
            check_builtins(s, 0.7)
            check_mixed(s, name, -0.4)
        except AssertionError as e:
            problems.append((name, str(e)[:200]))
    assert problems == []


@pytest.mark.parametrize("name", ["x0", "x1", "y"])
def test_a_function_named_like_a_parameter_of_generated_code_can_be_called_inside_another(
        name: str) -> None:
    # x0 and y are the parameters of generated code: a kernel by that name would be
    # shadowed by them inside the code of a function that calls it
    s = session()
    for src in (f"def {name}(u) = u + 1", f"def g(u) = {name}(u)*2", "x = 0.5",
                "z = g(x)", "grad z", f"def k(u) = sigmoid(u)*{name}(u)", "w = k(x)",
                "grad w"):
        r = s.run(src)[-1]
        assert r["ok"], (src, r)
    assert s.run("z")[-1]["value"] == 3.0
    assert s.run("grad z")[-1]["grads"]["x"] == 2.0
    sg = sigmoid(0.5)
    r = s.run("grad w")[-1]
    assert r["value"] == pytest.approx(sg * 1.5)
    assert r["grads"]["x"] == pytest.approx(sg * (1 - sg) * 1.5 + sg)


def test_a_redefined_function_and_its_old_version_in_one_derivative() -> None:
    # g keeps the f it was defined with (2u); h calls g and the new f (u*u): its
    # derivative holds both, under the same name. h = 4u**2 * u**2 = 4u**4, h' = 16u**3
    s = session()
    r = s.run("def f(u) = u*2; def g(u) = f(u)*f(u); def f(u) = u*u; "
              "def h(u) = g(u)*f(u); x = 3; y = h(x); grad y")
    assert all(x["ok"] for x in r), r
    assert r[-1]["value"] == 4 * 3**4
    assert r[-1]["grads"]["x"] == 16 * 3**3


def test_user_names_are_never_an_internal_error_through_the_cli(tmp_path) -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    script = tmp_path / "names.bp"
    script.write_text("def greater(u) = u*3\ndef e(u) = u + 1\ndef y(u) = u*u\n"
                      "def x0(u) = u - 1\nx = 2\nz = relu(x)*greater(x) + e(x) + y(x) "
                      "+ x0(x)\ngrad z\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "bpshell", "--json", str(script)],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(root)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    import json

    last = json.loads(proc.stdout.splitlines()[-1])
    # z = 2*6 + 3 + 4 + 1 = 20; z' = (1*6 + 2*3) + 1 + 4 + 1 = 18
    assert last["value"] == 20.0 and last["grads"] == {"x": 18.0}


@pytest.mark.parametrize("name", PRINTER_NAMES)
def test_a_function_named_like_a_printer_method_is_shown_and_differentiated(name: str) -> None:
    # f(u) = 2u + sigmoid(u): f(1) and f'(1) in closed form, and every command that shows
    # formulas works (none is an internal error)
    s = session()
    sg = sigmoid(1.0)
    for src in (f"def {name}(u) = u*2 + sigmoid(u)", f"diff {name}(x) wrt x", "x = 1",
                f"y = {name}(x)", "tree y", "explain y", "codegen y", "rules",
                f"z = {name}(q)", "grad z", f"def h(u) = {name}(u)*relu(u)", "w = h(x)"):
        r = s.run(src)[-1]
        assert r["ok"], (src, r)
    r = s.run("grad y")[-1]
    assert r["value"] == pytest.approx(2 + sg) and r["grads"]["x"] == pytest.approx(
        2 + sg * (1 - sg))
    assert s.run("grad z")[-1]["grads"]["q"] == "(1 - sigmoid(q))*sigmoid(q) + 2"
    # h = f*relu: h'(1) = f'(1) + f(1)
    assert s.run("grad w")[-1]["grads"]["x"] == pytest.approx(2 + sg * (1 - sg) + 2 + sg)
