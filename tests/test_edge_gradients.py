"""Numeric edge cases PyTorch decides, and bpshell decides the same way.

The expected numbers are PyTorch's, written as closed forms from its backward formulas
(tools/autograd/derivatives.yaml and FunctionsManual.cpp, float64 on the CPU):

    relu:      threshold_backward: x <= 0 ? 0 : grad        (relu'(nan) passes grad)
    abs:       grad * sgn(x), and torch.sign(nan) = 0       (abs'(nan) = 0)
    pow(x, b): d/dx = b == 0 ? 0 : grad * b * x**(b - 1)
               d/db = (x == 0 and b >= 0) ? 0 : grad * x**b * log(x)
    softmax, log_softmax: a row holding +inf is nan throughout (max = inf, inf - inf)

When torch is installed, the last test also asks it directly.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from bpshell.limits import Limits
from bpshell.results.curve import runs
from bpshell.session import Session

ROOT = Path(__file__).resolve().parents[1]
INF, NAN = math.inf, math.nan
SPELL = {INF: "1e400", -INF: "-1e400"}


def spell(v: float) -> str:
    if isinstance(v, float) and math.isnan(v):
        return "(1e400 - 1e400)"
    return SPELL.get(v, repr(float(v)))


def grad_of(source: str, with_: str | None = None) -> dict:
    s = Session(limits=Limits.from_env({}), seed=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = s.run(source + "\ngrad y" + (f" with {with_}" if with_ else ""))
    assert [w for w in caught if issubclass(w.category, RuntimeWarning)] == []
    for r in results:
        assert r["ok"], r
    return results[-1]


def close(actual, expected) -> None:
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64),
                               np.asarray(expected, dtype=np.float64),
                               rtol=1e-12, atol=0, equal_nan=True)


# ---------------------------------------------------------------- relu's flat side

# (y as a function of x, x, value, dy/dx): an infinite upstream gradient meets relu's
# flat side (relu' = 0 for x <= 0), which gives 0, not inf * 0 = nan
FLAT = [
    ("sqrt(relu(x))", [-2.0, 0.0, 4.0], [0.0, 0.0, 2.0], [0.0, 0.0, 0.25]),
    ("log(relu(x))", [-2.0, 0.0, 4.0], [-INF, -INF, math.log(4)], [0.0, 0.0, 0.25]),
    ("relu(x)**0.5", [-2.0, 0.0, 4.0], [0.0, 0.0, 2.0], [0.0, 0.0, 0.25]),
    ("1/relu(x)", [-2.0, 0.0, 4.0], [INF, INF, 0.25], [0.0, 0.0, -1 / 16]),
    ("sqrt(relu(x))*3", [-1.0], [0.0], [0.0]),
]


@pytest.mark.parametrize("expr,x,value,grad", FLAT, ids=[r[0] for r in FLAT])
def test_an_infinite_gradient_stops_at_relus_flat_side(expr, x, value, grad) -> None:
    r = grad_of(f"x = {x}\ny = {expr}", with_=str([1.0] * len(x)))
    close(r["value"], value)
    close(r["grads"]["x"], grad)


@pytest.mark.parametrize("body", ["sqrt(relu(V))", "log(relu(V)*2)", "sqrt(relu(V))*3 + V"])
def test_the_same_inside_a_user_function(body: str) -> None:
    # one op of its own, derived by SymPy: its flat side is the same as written inline
    inline = body.replace("V", "x")
    a = grad_of(f"def f(V) = {body}\nx = [-2, 0, 4]\ny = sum(f(x))")
    b = grad_of(f"x = [-2, 0, 4]\ny = sum({inline})")
    close(a["grads"]["x"], b["grads"]["x"])
    assert np.all(np.isfinite(a["grads"]["x"]))


def test_the_ledger_shows_what_the_backward_pass_did() -> None:
    s = Session(limits=Limits.from_env({}), seed=0)
    r = s.run("x = -1\ny = sqrt(relu(x))\nexplain y")[-1]
    assert r["ok"], r
    relu_row = next(row for row in r["rows"] if row["op"] == "relu")
    assert relu_row["upstream"] == INF
    assert relu_row["downstream"][0]["local_value"] == 0.0
    assert relu_row["downstream"][0]["value"] == 0.0
    assert r["leaves"][0]["grad"] == 0.0


# ---------------------------------------------------------------- nan inputs

# (function, value at nan, derivative at nan)
AT_NAN = [
    ("relu(x)", NAN, 1.0),  # nan <= 0 is false: threshold_backward passes grad
    ("abs(x)", NAN, 0.0),  # grad * sign(nan), and torch.sign(nan) is 0
    ("leaky_relu(x)", NAN, 0.01),  # nan > 0 is false: grad * slope
    ("leaky_relu(x, 0.2)", NAN, 0.2),
    ("relu(x)*3", NAN, 3.0),
    ("sigmoid(x)", NAN, NAN),
]


@pytest.mark.parametrize("expr,value,grad", AT_NAN, ids=[r[0] for r in AT_NAN])
def test_derivatives_at_nan(expr: str, value: float, grad: float) -> None:
    r = grad_of(f"x = {spell(NAN)}\ny = {expr}")
    close(r["value"], value)
    close(r["grads"]["x"], grad)


def test_relu_and_abs_elsewhere_are_unchanged() -> None:
    x = [-2.0, -1e-300, 0.0, 1e-300, 3.0, INF, -INF]
    r = grad_of(f"x = [{', '.join(map(spell, x))}]\ny = sum(relu(x))")
    close(r["grads"]["x"], [0, 0, 0, 1, 1, 1, 0])
    r = grad_of(f"x = [{', '.join(map(spell, x))}]\ny = sum(abs(x))")
    close(r["grads"]["x"], [-1, -1, 0, 1, 1, 1, -1])


# ---------------------------------------------------------------- pow at 0


def torch_pow(x: float, b: float) -> tuple[float, float, float]:
    """x**b and PyTorch's two gradients, from its pow_backward formulas."""
    with np.errstate(all="ignore"):
        value = float(np.power(np.float64(x), np.float64(b)))
        dx = 0.0 if b == 0 else float(b * np.power(np.float64(x), np.float64(b - 1)))
        db = 0.0 if (x == 0 and b >= 0) else float(value * np.log(np.float64(x)))
    return value, dx, db


POW = [(0.0, 0.0), (0.0, 2.0), (0.0, 0.5), (0.0, -1.0), (0.0, 3.0), (3.0, 0.0), (2.0, 3.0),
       (-2.0, 3.0), (-2.0, 0.5), (1e-300, 2.0), (INF, 0.0), (0.0, INF)]


@pytest.mark.parametrize("x,b", POW, ids=[f"{x}**{b}" for x, b in POW])
def test_pow_gradients_at_base_and_exponent_zero(x: float, b: float) -> None:
    value, dx, db = torch_pow(x, b)
    r = grad_of(f"x = {spell(x)}\nb = {spell(b)}\ny = x**b")
    close(r["value"], value)
    close(r["grads"]["x"], dx)
    close(r["grads"]["b"], db)


@pytest.mark.parametrize("src,value,grad", [
    ("x = 0\ny = x**0", 1.0, 0.0),  # not 0 * 0**-1 = nan
    ("x = -2\ny = x**0", 1.0, 0.0),
    ("x = 0\ny = 0**x", 1.0, 0.0),  # a base of 0: d/dx is 0 for x >= 0
    ("x = 1\ny = 0**x", 0.0, 0.0),
    ("x = -1\ny = 0**x", INF, -INF),  # inf * log(0)
    ("x = 0\ny = 2**x", 1.0, math.log(2)),
    ("x = [0, 1, 2]\ny = sum(x**[0, 0, 2])", 6.0, [0.0, 0.0, 4.0]),
])
def test_pow_with_a_constant_base_or_exponent(src: str, value, grad) -> None:
    r = grad_of(src)
    close(r["value"], value)
    close(r["grads"]["x"], grad)


# ---------------------------------------------------------------- softmax rows with +inf

UP = "[1, 2]"


@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
@pytest.mark.parametrize("x", ["[1e400, 0]", "[0, 1e400]", "[1e400, -1e400]"])
def test_a_row_holding_plus_inf_is_nan_throughout(fn: str, x: str) -> None:
    r = grad_of(f"x = {x}\ny = {fn}(x)", with_=UP)
    close(r["value"], [NAN, NAN])
    close(r["grads"]["x"], [NAN, NAN])
    assert r["nonfinite"] == ["x"]


def test_only_the_row_holding_plus_inf_is_nan() -> None:
    r = grad_of("x = [[1e400, 0], [0, 0]]\ny = log_softmax(x)", with_="[[1, 2], [1, 2]]")
    close(r["value"], [[NAN, NAN], [-math.log(2), -math.log(2)]])
    close(r["grads"]["x"], [[NAN, NAN], [-0.5, 0.5]])


@pytest.mark.parametrize("t", ["[1, 0]", "[0, 1]", "0", "1"])
def test_softmax_cross_entropy_with_plus_inf_is_nan(t: str) -> None:
    # F.cross_entropy(x, t) = -sum(t * log_softmax(x)) / N: nan, and its gradient
    # (softmax(x) - t) / N is nan too
    r = grad_of(f"x = [1e400, 0]\ny = softmax_cross_entropy(x, {t})")
    close(r["value"], NAN)
    close(r["grads"]["x"], [NAN, NAN])


def test_a_one_hot_target_reads_as_its_label_where_log_softmax_is_minus_inf() -> None:
    # the documented difference: t = [0, 1] gives what the label 1 gives (PyTorch's
    # class-index target): 0, where PyTorch's probability target has 0 * -inf = nan
    a = grad_of("x = [-1e400, 0]\ny = softmax_cross_entropy(x, [0, 1])")
    b = grad_of("x = [-1e400, 0]\ny = softmax_cross_entropy(x, 1)")
    assert a["value"] == b["value"] == 0.0 and math.copysign(1, a["value"]) == 1
    close(a["grads"]["x"], [0.0, 0.0])
    close(b["grads"]["x"], [0.0, 0.0])


# ---------------------------------------------------------------- exact numbers past the limit


@pytest.mark.parametrize("src", ["diff 7**1100*7**1100*7**1100*7**1100*7**1100*7**1100*x wrt x",
                                 "y = 7**1100*7**1100*7**1100*7**1100*7**1100*7**1100*x\n"
                                 "grad y"])
def test_a_product_of_large_exact_powers_is_a_float(src: str) -> None:
    # 7**6600 has 5578 digits, past Python's 4300 printable ones: taken as a float
    s = Session(limits=Limits.from_env({}), seed=0)
    r = s.run(src)[-1]
    assert r["ok"], r
    text = r["derivative"] if "derivative" in r else r["grads"]["x"]
    mantissa, exponent = text.split("e+")
    assert exponent == "5577" and float(mantissa) == pytest.approx(7**6600 / 10**5577)


@pytest.mark.parametrize("src", ["y = 10**100000*x\ngrad y", "y = x**(10**100000)\ngrad y",
                                 "diff 10**100000*x wrt x", "diff (x + 1)**(10**100000) wrt x"])
def test_huge_exact_powers_are_limit_errors(src: str) -> None:
    s = Session(limits=Limits.from_env({}), seed=0)
    r = s.run(src)[-1]
    assert r["ok"] is False and r["error"]["type"] == "limit", r
    assert "BPSHELL_MAX_EXPONENT" in r["error"]["message"]


# ---------------------------------------------------------------- plots


def plot(src: str) -> dict:
    s = Session(limits=Limits.from_env({}), seed=0)
    r = s.run(src)[-1]
    assert r["ok"], r
    return r


def test_a_plot_says_what_it_leaves_out() -> None:
    r = plot("plot log(x) wrt x from -2 to 2")
    # 201 points from -2 to 2: 100 below 0 (nan), log(0) = -inf; 1/x at 0 is +inf
    assert r["left_out"] == ["log(x): 101 of 201 points (100 nan, 1 -inf; x from -2 to 0)",
                             "d/dx: 1 of 201 points (1 +inf; x = 0)"]
    r = plot("plot exp(x) wrt x from 700 to 720")
    # exp(x) overflows past x = log(max float) = 709.78; from 690.78 on it is past 1e300
    assert r["left_out"][0].startswith("exp(x): all 201 points (")
    assert "+inf" in r["left_out"][0] and "beyond +-1e300" in r["left_out"][0]
    r = plot("plot sigmoid(x) wrt x from -6 to 6")
    assert r["left_out"] == []


def test_runs_split_a_curve_at_its_gaps() -> None:
    mask = np.array([True, True, False, True, False, False, True])
    assert runs(mask) == [(0, 2), (3, 4), (6, 7)]
    assert runs(np.zeros(3, dtype=bool)) == []


def cli(src: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bpshell", "-c", src], capture_output=True,
                          text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "100"})


@pytest.mark.parametrize("src", ["plot log(x) wrt x from -2 to -1",
                                 "plot exp(x) wrt x from 700 to 720",
                                 "plot (1e400 - 1e400)*x wrt x from 0 to 1"])
def test_plots_of_curves_with_nothing_finite_are_shown(src: str) -> None:
    proc = cli(src)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "cannot show" not in proc.stdout + proc.stderr
    assert "left out of the plot:" in proc.stdout


def test_a_plot_does_not_draw_across_a_gap() -> None:
    # 1/x at x = -1, -0.5, 0, 0.5, 1: x = 0 is left out, so nothing is drawn between the
    # -0.5 and 0.5 ticks (a line from -2 at -0.5 to 2 at 0.5 would cross the middle)
    proc = cli("x = linspace(-1, 1, 5); plot 1/x wrt x")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    top = next(i for i, t in enumerate(lines) if "┌" in t)
    bottom = next(i for i, t in enumerate(lines) if "└" in t)
    ticks = lines[bottom + 1]
    left = ticks.index("-0.50") + len("-0.50")
    right = ticks.index(" 0.50") + 1
    middle = [t[left + 1:right - 1] for t in lines[top + 3:bottom]]  # below the legend
    assert all(not c.strip() or set(c) <= {" ", "│"} for c in middle), middle
    assert "left out of the plot: 1/x: 1 of 5 points (1 +inf; x = 0)" in proc.stdout


# ---------------------------------------------------------------- PyTorch itself


def test_against_pytorch_when_it_is_installed() -> None:
    torch = pytest.importorskip("torch")
    for x, b in POW:
        xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        bt = torch.tensor(b, dtype=torch.float64, requires_grad=True)
        (xt ** bt).backward()
        r = grad_of(f"x = {spell(x)}\nb = {spell(b)}\ny = x**b")
        close(r["grads"]["x"], xt.grad.item())
        close(r["grads"]["b"], bt.grad.item())
    for expr, xs, _, _ in FLAT:
        xt = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
        fn = {"sqrt(relu(x))": lambda v: torch.sqrt(torch.relu(v)),
              "log(relu(x))": lambda v: torch.log(torch.relu(v)),
              "relu(x)**0.5": lambda v: torch.relu(v) ** 0.5,
              "1/relu(x)": lambda v: 1 / torch.relu(v),
              "sqrt(relu(x))*3": lambda v: torch.sqrt(torch.relu(v)) * 3}[expr]
        fn(xt).sum().backward()
        r = grad_of(f"x = {xs}\ny = sum({expr})")
        close(r["grads"]["x"], xt.grad.numpy())
    for fn in ("softmax", "log_softmax"):
        xt = torch.tensor([INF, 0.0], dtype=torch.float64, requires_grad=True)
        out = getattr(torch, fn)(xt, 0)
        out.backward(torch.tensor([1.0, 2.0], dtype=torch.float64))
        r = grad_of(f"x = [1e400, 0]\ny = {fn}(x)", with_=UP)
        close(r["value"], out.detach().numpy())
        close(r["grads"]["x"], xt.grad.numpy())
    for name, _, slope in AT_NAN:
        if name == "sigmoid(x)":
            continue
        xt = torch.tensor(NAN, dtype=torch.float64, requires_grad=True)
        fns = {"relu(x)": torch.relu, "abs(x)": torch.abs,
               "leaky_relu(x)": torch.nn.functional.leaky_relu,
               "leaky_relu(x, 0.2)": lambda v: torch.nn.functional.leaky_relu(v, 0.2),
               "relu(x)*3": lambda v: torch.relu(v) * 3}
        fns[name](xt).backward()
        close(slope, xt.grad.item())
