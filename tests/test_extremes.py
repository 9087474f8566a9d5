"""Numeric extremes: values and gradients at 0, +-1e-300, +-1000, +-inf and nan.

The oracle for elementwise ops, softmax, log_softmax and softmax_cross_entropy is
PyTorch's documented float64 behaviour (torch.sigmoid, torch.tanh, torch.exp, torch.log,
torch.nn.functional.softplus with beta=1 and threshold=20, torch.softmax,
torch.log_softmax, torch.nn.functional.cross_entropy with mean reduction), whose
backward formulas are those of tools/autograd/derivatives.yaml:

    sigmoid: grad * y * (1 - y)          tanh: grad * (1 - y**2)
    exp:     grad * y                    log:  grad / x
    softplus: x > 20 ? grad : grad * exp(x) / (1 + exp(x))
    relu:    grad * (y > 0)              leaky_relu: x > 0 ? grad : grad * slope
    softmax: y * (grad - sum(grad * y))  log_softmax: grad - exp(y) * sum(grad)
    cross_entropy(logits, t): (softmax(x) - t) / N

`cross_entropy` in bpshell is the book's cross_entropy_error on probabilities; its
oracle is the closed form -sum(t * log(y + 1e-7)) / N with dy = -t / (y + 1e-7) / N and
dt = -log(y + 1e-7) / N. The expected numbers are written out; inf is spelled 1e400 in
bpshell source and nan as 1e400 - 1e400. No RuntimeWarning may reach the caller.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from bpshell.limits import Limits
from bpshell.session import Session

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

INF = float("inf")
NAN = float("nan")
LOG2 = 0.6931471805599453

X_SOURCE = {
    0.0: "0", 1e-300: "1e-300", -1e-300: "-1e-300", 1000.0: "1000", -1000.0: "-1000",
    INF: "1e400", -INF: "-1e400",
}


def spell(x: float) -> str:
    """A float as bpshell source (nan as inf - inf, which the language computes)."""
    if np.isnan(x):
        return "1e400 - 1e400"
    return X_SOURCE.get(x, repr(x))


def run_grad(source: str, wrt: str = "x", with_: str | None = None) -> tuple:
    """Run source (whose last line defines y), then `grad y`: (value, grads, nonfinite)."""
    s = Session(limits=Limits.from_env({}), seed=0)
    grad = "grad y" + (f" with {with_}" if with_ else "")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = s.run(source + "\n" + grad)
    leaked = [w for w in caught if issubclass(w.category, RuntimeWarning)]
    assert leaked == [], [str(w.message) for w in leaked]
    for r in results:
        assert r["ok"], r
    g = results[-1]
    assert g["symbolic"] is False
    return g["value"], g["grads"], g["nonfinite"]


def close(actual, expected) -> None:
    """Equal to the last few bits; inf matches inf of the same sign, nan matches nan."""
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64),
                               np.asarray(expected, dtype=np.float64),
                               rtol=1e-12, atol=0, equal_nan=True)


def finite(v) -> bool:
    return bool(np.all(np.isfinite(v)))


# ---------------------------------------------------------------- elementwise

# (function, x, value, gradient), as PyTorch gives them in float64
ELEMENTWISE = [
    # sigmoid: y = 1/(1 + exp(-x)), dy/dx = y(1 - y)
    ("sigmoid", 0.0, 0.5, 0.25),
    ("sigmoid", 1e-300, 0.5, 0.25),
    ("sigmoid", -1e-300, 0.5, 0.25),
    ("sigmoid", 1000.0, 1.0, 0.0),
    ("sigmoid", -1000.0, 0.0, 0.0),
    ("sigmoid", INF, 1.0, 0.0),
    ("sigmoid", -INF, 0.0, 0.0),
    ("sigmoid", NAN, NAN, NAN),
    # tanh: dy/dx = 1 - y**2
    ("tanh", 0.0, 0.0, 1.0),
    ("tanh", 1e-300, 1e-300, 1.0),
    ("tanh", -1e-300, -1e-300, 1.0),
    ("tanh", 1000.0, 1.0, 0.0),
    ("tanh", -1000.0, -1.0, 0.0),
    ("tanh", INF, 1.0, 0.0),
    ("tanh", -INF, -1.0, 0.0),
    ("tanh", NAN, NAN, NAN),
    # exp: dy/dx = y; exp(1000) overflows to inf, and so does its gradient
    ("exp", 0.0, 1.0, 1.0),
    ("exp", 1e-300, 1.0, 1.0),
    ("exp", -1e-300, 1.0, 1.0),
    ("exp", 1000.0, INF, INF),
    ("exp", -1000.0, 0.0, 0.0),
    ("exp", INF, INF, INF),
    ("exp", -INF, 0.0, 0.0),
    ("exp", NAN, NAN, NAN),
    # log: dy/dx = 1/x (PyTorch: grad.div(self)), finite even where log is nan
    ("log", 0.0, -INF, INF),
    ("log", 1e-300, -690.7755278982137, 1e300),
    ("log", -1e-300, NAN, -1e300),
    ("log", 1000.0, 6.907755278982137, 0.001),
    ("log", -1000.0, NAN, -0.001),
    ("log", INF, INF, 0.0),
    ("log", -INF, NAN, -0.0),
    ("log", NAN, NAN, NAN),
    # softplus (beta 1, threshold 20): log1p(exp(x)); x > 20 gives x with gradient 1
    ("softplus", 0.0, LOG2, 0.5),
    ("softplus", 1e-300, LOG2, 0.5),
    ("softplus", -1e-300, LOG2, 0.5),
    ("softplus", 1000.0, 1000.0, 1.0),
    ("softplus", -1000.0, 0.0, 0.0),
    ("softplus", INF, INF, 1.0),
    ("softplus", -INF, 0.0, 0.0),
    ("softplus", NAN, NAN, NAN),
    # relu: relu'(0) = 0 (threshold_backward on y > 0)
    ("relu", 0.0, 0.0, 0.0),
    ("relu", 1e-300, 1e-300, 1.0),
    ("relu", -1e-300, 0.0, 0.0),
    ("relu", 1000.0, 1000.0, 1.0),
    ("relu", -1000.0, 0.0, 0.0),
    ("relu", INF, INF, 1.0),
    ("relu", -INF, 0.0, 0.0),
    # leaky_relu, slope 0.01: leaky'(0) = slope (x > 0 is false at 0)
    ("leaky_relu", 0.0, 0.0, 0.01),
    ("leaky_relu", 1000.0, 1000.0, 1.0),
    ("leaky_relu", -1000.0, -10.0, 0.01),
    ("leaky_relu", -INF, -INF, 0.01),
    # abs: abs'(0) = sgn(0) = 0
    ("abs", 0.0, 0.0, 0.0),
    ("abs", -1e-300, 1e-300, -1.0),
    ("abs", -1000.0, 1000.0, -1.0),
    ("abs", -INF, INF, -1.0),
    # sqrt: dy/dx = 1/(2y): inf at 0
    ("sqrt", 0.0, 0.0, INF),
    ("sqrt", 1e-300, 1e-150, 5e149),
    ("sqrt", 1000.0, 31.622776601683793, 0.015811388300841896),
    ("sqrt", INF, INF, 0.0),
]


@pytest.mark.parametrize("fn,x,value,grad", ELEMENTWISE,
                         ids=[f"{r[0]}({r[1]})" for r in ELEMENTWISE])
def test_elementwise_extremes(fn: str, x: float, value: float, grad: float) -> None:
    y, grads, nonfinite = run_grad(f"x = {spell(x)}\ny = {fn}(x)")
    close(y, value)
    close(grads["x"], grad)
    # a gradient that is inf or nan is reported for its leaf, not silently
    assert ("x" in nonfinite) == (not finite(grad))


def test_overflow_is_reported_per_leaf() -> None:
    # y = exp(a) + b at a = 1000: dy/da = exp(1000) = inf, dy/db = 1 (finite)
    y, grads, nonfinite = run_grad("a = 1000\nb = 1\ny = exp(a) + b")
    assert y == INF
    assert grads["a"] == INF and grads["b"] == 1.0
    assert nonfinite == ["a"]


def test_array_with_one_overflowing_element() -> None:
    # exp([0, 1000, -1000]): values [1, inf, 0], gradients the same (dy/dx = y)
    y, grads, nonfinite = run_grad("x = [0, 1000, -1000]\ny = exp(x)")
    close(y, [1.0, INF, 0.0])
    close(grads["x"], [1.0, INF, 0.0])
    assert nonfinite == ["x"]


def test_value_of_overflow_is_inf() -> None:
    s = Session(limits=Limits.from_env({}))
    r = s.run("exp(1000)")[0]
    assert r["ok"] and r["value"] == INF
    r = s.run("sigmoid(-1000) + softplus(1000)")[0]
    assert r["ok"] and r["value"] == 1000.0


def test_silu_defined_by_the_user_is_stable() -> None:
    # torch.nn.functional.silu: x*sigmoid(x); grad sigmoid(x)*(1 + x*(1 - sigmoid(x)))
    for x, value, grad in ((-1000.0, -0.0, 0.0), (1000.0, 1000.0, 1.0), (0.0, 0.0, 0.5)):
        y, grads, nonfinite = run_grad(f"def silu(u) = u*sigmoid(u)\nx = {spell(x)}\n"
                                       "y = silu(x)")
        close(y, value)
        close(grads["x"], grad)
        assert nonfinite == []


# ---------------------------------------------------------------- softmax family

UPSTREAM = "[1, 2]"  # grad y with [1, 2]: y.backward(torch.tensor([1., 2.]))

# (x, softmax(x), d/dx of sum(softmax(x) * [1, 2]))
SOFTMAX = [
    ("[0, 0]", [0.5, 0.5], [-0.25, 0.25]),
    ("[1e-300, -1e-300]", [0.5, 0.5], [-0.25, 0.25]),
    ("[1000, 0]", [1.0, 0.0], [0.0, 0.0]),
    ("[-1000, 0]", [0.0, 1.0], [0.0, 0.0]),
    ("[1000, -1000]", [1.0, 0.0], [0.0, 0.0]),
    ("[-1e400, 0]", [0.0, 1.0], [0.0, 0.0]),
    ("[-1e400, -1e400]", [NAN, NAN], [NAN, NAN]),
    ("[1e400, 1e400]", [NAN, NAN], [NAN, NAN]),
    ("[1e400, 0] - [1e400, 0]", [NAN, NAN], [NAN, NAN]),
]


@pytest.mark.parametrize("x,value,grad", SOFTMAX, ids=[r[0] for r in SOFTMAX])
def test_softmax_extremes(x: str, value: list, grad: list) -> None:
    y, grads, nonfinite = run_grad(f"x = {x}\ny = softmax(x)", with_=UPSTREAM)
    close(y, value)
    close(grads["x"], grad)
    assert ("x" in nonfinite) == (not finite(grad))


# (x, log_softmax(x), d/dx of sum(log_softmax(x) * [1, 2]))
LOG_SOFTMAX = [
    ("[0, 0]", [-LOG2, -LOG2], [-0.5, 0.5]),
    ("[1e-300, -1e-300]", [-LOG2, -LOG2], [-0.5, 0.5]),
    ("[1000, 0]", [0.0, -1000.0], [-2.0, 2.0]),
    ("[-1000, 0]", [-1000.0, 0.0], [1.0, -1.0]),
    ("[1000, -1000]", [0.0, -2000.0], [-2.0, 2.0]),
    ("[-1e400, 0]", [-INF, 0.0], [1.0, -1.0]),
    ("[1e400, 1e400]", [NAN, NAN], [NAN, NAN]),
    ("[1e400, 0] - [1e400, 0]", [NAN, NAN], [NAN, NAN]),
]


@pytest.mark.parametrize("x,value,grad", LOG_SOFTMAX, ids=[r[0] for r in LOG_SOFTMAX])
def test_log_softmax_extremes(x: str, value: list, grad: list) -> None:
    y, grads, nonfinite = run_grad(f"x = {x}\ny = log_softmax(x)", with_=UPSTREAM)
    close(y, value)
    close(grads["x"], grad)
    assert ("x" in nonfinite) == (not finite(grad))


def test_softmax_at_plus_inf_is_reported() -> None:
    # softmax([inf, 0]) is undefined (inf - inf); whatever the value, the nan is there
    # and the leaf's gradient is reported as non-finite
    for fn in ("softmax", "log_softmax"):
        y, grads, nonfinite = run_grad(f"x = [1e400, 0]\ny = {fn}(x)", with_=UPSTREAM)
        assert np.isnan(y[0])
        assert nonfinite == ["x"]


def test_log_softmax_rows_are_independent() -> None:
    # row 0 = [1000, 0], row 1 = [0, -1000]: each row is shifted by its own max
    y, grads, _ = run_grad("x = [[1000, 0], [0, -1000]]\ny = log_softmax(x)",
                           with_="[[1, 2], [3, 4]]")
    close(y, [[0.0, -1000.0], [0.0, -1000.0]])
    close(grads["x"], [[-2.0, 2.0], [-4.0, 4.0]])


# ---------------------------------------------------------------- losses

# softmax_cross_entropy(x, t) = F.cross_entropy(x, t): -sum(t * log_softmax(x)) / N,
# gradient (softmax(x) - t) / N; (x, t, loss, dloss/dx)
SOFTMAX_CE = [
    ("[0, 0]", "[1, 0]", LOG2, [-0.5, 0.5]),
    ("[1e-300, -1e-300]", "[1, 0]", LOG2, [-0.5, 0.5]),
    ("[1000, 0]", "[1, 0]", 0.0, [0.0, 0.0]),
    ("[1000, 0]", "[0, 1]", 1000.0, [1.0, -1.0]),
    ("[1000, 0]", "1", 1000.0, [1.0, -1.0]),
    ("[-1000, 0]", "[1, 0]", 1000.0, [-1.0, 1.0]),
    ("[-1000, 0]", "0", 1000.0, [-1.0, 1.0]),
    ("[-1e400, 0]", "[1, 0]", INF, [-1.0, 1.0]),
    ("[-1e400, 0]", "1", 0.0, [0.0, 0.0]),
    ("[1e400, 0] - [1e400, 0]", "[1, 0]", NAN, [NAN, NAN]),
    ("[[1000, 0], [0, -1000]]", "[0, 1]", 500.0, [[0.0, 0.0], [0.5, -0.5]]),
    ("[[1000, 0], [0, -1000]]", "[[0, 1], [1, 0]]", 500.0, [[0.5, -0.5], [0.0, 0.0]]),
]


@pytest.mark.parametrize("x,t,loss,grad", SOFTMAX_CE,
                         ids=[f"{r[0]}|{r[1]}" for r in SOFTMAX_CE])
def test_softmax_cross_entropy_extremes(x: str, t: str, loss: float, grad: list) -> None:
    y, grads, nonfinite = run_grad(f"x = {x}\ny = softmax_cross_entropy(x, {t})")
    close(y, loss)
    close(grads["x"], grad)
    assert ("x" in nonfinite) == (not finite(grad))


# the book's cross_entropy_error, closed form: (p, t, loss, dloss/dp)
CE = [
    ("[1, 0]", "[1, 0]", -9.999999505838704e-08, [-0.9999999000000099, 0.0]),
    ("[0, 1]", "[1, 0]", 16.11809565095832, [-1e7, 0.0]),
    ("[1e-300, 1]", "[1, 0]", 16.11809565095832, [-1e7, 0.0]),
    ("[-1e-300, 1]", "[1, 0]", 16.11809565095832, [-1e7, 0.0]),
    ("[0.5, 0.5]", "[1, 0]", 0.6931469805599654, [-1.9999996000000801, 0.0]),
    ("[0, 1]", "0", 16.11809565095832, [-1e7, 0.0]),
    ("[1000, 0]", "[1, 0]", -6.907755279082137, [-0.0009999999999, 0.0]),
    ("[-1000, 1]", "[1, 0]", NAN, [0.0010000000000999999, 0.0]),
    ("[1e400, 0]", "[1, 0]", -INF, [0.0, 0.0]),
    ("[1e400, 0] - [1e400, 0]", "[1, 0]", NAN, [NAN, 0.0]),
    ("[[1, 0], [0, 1]]", "[[1, 0], [1, 0]]", 8.059047775479163,
     [[-0.49999995000000497, 0.0], [-5e6, 0.0]]),
]


@pytest.mark.parametrize("p,t,loss,grad", CE, ids=[f"{r[0]}|{r[1]}" for r in CE])
def test_cross_entropy_extremes(p: str, t: str, loss: float, grad: list) -> None:
    y, grads, nonfinite = run_grad(f"x = {p}\ny = cross_entropy(x, {t})")
    close(y, loss)
    close(grads["x"], grad)
    assert ("x" in nonfinite) == (not finite(grad))


def test_cross_entropy_target_gradient() -> None:
    # dt = -log(y + 1e-7) / N: at y = [1, 0], [-log(1.0000001), -log(1e-7)]
    _, grads, nonfinite = run_grad("p = [1, 0]\nt = [1, 0]\ny = cross_entropy(p, t)")
    close(grads["t"], [-9.999999505838704e-08, 16.11809565095832])
    close(grads["p"], [-0.9999999000000099, 0.0])
    assert nonfinite == []


def test_mse_at_extremes() -> None:
    # 0.5 * sum((y - t)**2): at y = [1e200, 0] the square overflows to inf,
    # dy = y - t = [1e200, 0] stays finite
    y, grads, nonfinite = run_grad("x = [1e200, 0]\ny = mse(x, [0, 0])")
    assert y == INF
    close(grads["x"], [1e200, 0.0])
    assert nonfinite == []


# ---------------------------------------------------------------- definitions and checks


@pytest.mark.parametrize("body", ["u / 0", "u/0 + 1", "log(0)*u", "0.5/0.0 + u",
                                  "sin(1e400) + u"])
def test_definition_with_non_finite_constants(body: str) -> None:
    # u/0 is complex infinity to SymPy, sin(oo) an interval, but inf and nan to NumPy
    # and PyTorch (1/0 = inf, sin(inf) = nan): the definition either works, giving what
    # the same expression gives inline, or is refused with a clear error; never an
    # internal error
    s = Session(limits=Limits.from_env({}))
    r = s.run(f"def f(u) = {body}")[0]
    if not r["ok"]:
        assert r["error"]["type"] != "internal", r["error"]
        return
    inline = s.run(body.replace("u", "(1)"))[0]
    called = s.run("f(1)")[0]
    assert inline["ok"] and called["ok"], (inline, called)
    close(called["value"], inline["value"])


NO_WARNING = [
    "linspace(0, 1e400, 1)",
    "linspace(1e400, 0, 2)",
    "mean(zeros(0))",  # torch.mean of an empty tensor: nan, no warning
    "y = mean(zeros(0))\ntree y",
    "W = randn(2, 2)\nt = [1, 0]\nx = W / t\ncheck x",  # x holds inf
    "x = [1, 2]\ny = sum(x*x)\ncheck y eps 1e400",
    "x = [1, 2]\ny = sum(leaky_relu(x, 1e400))\ncheck y",
    "x = 1\nplot x wrt x from -1e400 to 1e400",
]


@pytest.mark.parametrize("source", NO_WARNING)
def test_no_runtime_warning_leaks(source: str) -> None:
    # whatever the numbers, the caller sees values (inf, nan) or errors, never a warning
    s = Session(limits=Limits.from_env({}), seed=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = s.run(source)
    leaked = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert leaked == []
    for r in results:
        assert r["ok"] or r["error"]["type"] != "internal", r


@pytest.mark.parametrize("source", [
    "diff (0.0 / 0.0) wrt x",
    "diff 0.0/0.0 + x wrt x",
    "diff x**(0.0/0.0) wrt x",
    "diff 1/0*x wrt x",
    "diff sin(1e400)*x wrt x",
    "diff log(0)*x wrt x",
    "diff 1e400*x wrt x",
])
def test_diff_with_non_finite_constants(source: str) -> None:
    # SymPy's zoo, oo, nan and AccumBounds: a derivative or a clear error, never an
    # internal one
    s = Session(limits=Limits.from_env({}))
    r = s.run(source)[0]
    assert r["ok"] or r["error"]["type"] != "internal", r


def test_losses_with_a_scalar_input_and_a_vector_target() -> None:
    # cross_entropy(p, t) with p = 0.5 broadcast against t = [0.1, -0.2] (closed form,
    # N = 1): loss -sum(t*log(p + 1e-7)), dp = -sum(t)/(p + 1e-7) = 0.1/0.5000001,
    # dt = -log(p + 1e-7) for each element. A shape error is acceptable too; wrongly
    # shaped gradients or an internal error are not.
    s = Session(limits=Limits.from_env({}))
    r = s.run("x = 0.5\nw = [0.1, -0.2]\ny = cross_entropy(x, w)")[-1]
    if not r["ok"]:
        assert r["error"]["type"] == "shape", r["error"]
    else:
        g = s.run("grad y")[0]
        assert g["ok"], g
        close(g["grads"]["x"], 0.19999996000000803)
        close(g["grads"]["w"], [0.6931469805599654, 0.6931469805599654])
        c = s.run("check y")[0]
        assert c["ok"] and c["passed"], c
    # softmax_cross_entropy of one logit: log_softmax is 0 whatever x is, so the loss is
    # 0 and both gradients are 0
    r = s.run("q = softmax_cross_entropy(x, w)")[0]
    if not r["ok"]:
        assert r["error"]["type"] == "shape", r["error"]
        return
    g = s.run("grad q")[0]
    assert g["ok"], g
    close(g["grads"]["x"], 0.0)
    close(g["grads"]["w"], [0.0, 0.0])
    c = s.run("check q")[0]
    assert c["ok"] and c["passed"], c
