"""Numeric gradients against independent oracles.

Oracles: SymPy's diff of expressions built here by hand, central finite differences
computed here with NumPy, and closed forms written out (PyTorch's conventions at kinks).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import sympy as sp

from bpshell.session import Session

RNG = np.random.default_rng(12345)


def central_diff(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """d sum(f(x) * 1) / dx by central differences, element by element."""
    x = np.array(x, dtype=np.float64)
    out = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += eps
        xm[i] -= eps
        out[i] = (np.sum(f(xp)) - np.sum(f(xm))) / (2 * eps)
    return out


def np_sigmoid(x):
    return 1 / (1 + np.exp(-x))


def np_softmax(x):
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def lit(a) -> str:
    return repr(np.asarray(a, dtype=float).tolist())


# ---------------------------------------------------------------- SymPy's diff, scalar grads

x_, w_, s_ = sp.symbols("x w s", real=True)


def sig(u):
    return 1 / (1 + sp.exp(-u))


# (bpshell function call, SymPy definition written by hand, points away from kinks)
ELEMENTWISE = [
    ("exp(x)", sp.exp(x_), [-1.3, 0.0, 0.7]),
    ("log(x)", sp.log(x_), [0.2, 1.0, 3.5]),
    ("sqrt(x)", sp.sqrt(x_), [0.3, 1.0, 4.0]),
    ("abs(x)", sp.Abs(x_), [-1.5, 0.4]),
    ("sin(x)", sp.sin(x_), [-1.0, 0.0, 2.0]),
    ("cos(x)", sp.cos(x_), [-1.0, 0.0, 2.0]),
    ("tanh(x)", sp.tanh(x_), [-2.0, 0.0, 0.6]),
    ("sigmoid(x)", sig(x_), [-3.0, 0.0, 1.2]),
    ("relu(x)", sp.Max(x_, 0), [-0.8, 0.9]),
    ("leaky_relu(x)", sp.Piecewise((x_, x_ > 0), (sp.Rational(1, 100) * x_, True)),
     [-0.8, 0.9]),
    ("leaky_relu(x, 0.2)", sp.Piecewise((x_, x_ > 0), (sp.Rational(1, 5) * x_, True)),
     [-0.8, 0.9]),
    ("softplus(x)", sp.log(1 + sp.exp(x_)), [-2.0, 0.0, 3.0]),
    ("x ^ 3", x_**3, [-1.1, 0.5]),
    ("1 / x", 1 / x_, [-2.0, 0.5]),
    ("-x", -x_, [1.0]),
    ("2 ** x", 2**x_, [-1.0, 1.5]),
]


@pytest.mark.parametrize("call, f, points", ELEMENTWISE, ids=[e[0] for e in ELEMENTWISE])
def test_elementwise_grad_matches_sympy_diff(call, f, points):
    d = sp.diff(f, x_)
    for p in points:
        s = Session()
        r = s.run(f"x = {p!r}\ny = {call}\ngrad y")[-1]
        assert r["ok"], r
        assert r["value"] == pytest.approx(float(f.subs(x_, p)), rel=1e-12, abs=1e-14)
        assert r["grads"]["x"] == pytest.approx(float(d.subs(x_, p)), rel=1e-10, abs=1e-13)


@pytest.mark.parametrize("call, f, points", ELEMENTWISE, ids=[e[0] for e in ELEMENTWISE])
def test_elementwise_grad_on_arrays_matches_sympy_diff(call, f, points):
    d = sp.diff(f, x_)
    r = Session().run(f"x = {points!r}\ny = {call}\ngrad y")[-1]
    expected = [float(d.subs(x_, p)) for p in points]
    np.testing.assert_allclose(r["grads"]["x"], expected, rtol=1e-10, atol=1e-13)


COMPOSED = [
    # (bpshell body in x and w, SymPy expression built by hand)
    ("sigmoid(x) * tanh(w) + exp(-x*w)", sig(x_) * sp.tanh(w_) + sp.exp(-x_ * w_)),
    ("log(softplus(x)) + sqrt(w^2 + 1) * sin(x) / cos(x/3)",
     sp.log(sp.log(1 + sp.exp(x_))) + sp.sqrt(w_**2 + 1) * sp.sin(x_) / sp.cos(x_ / 3)),
    ("x ** w", x_**w_),
    ("x / w - w / x", x_ / w_ - w_ / x_),
    ("(x*w)^2 * sigmoid(x*w) - relu(w - x)", (x_ * w_) ** 2 * sig(x_ * w_) - sp.Max(w_ - x_, 0)),
    ("tanh(tanh(tanh(x + w)))", sp.tanh(sp.tanh(sp.tanh(x_ + w_)))),
    ("exp(x) * exp(x) * exp(w)", sp.exp(2 * x_ + w_)),
]


@pytest.mark.parametrize("body, f", COMPOSED, ids=[c[0] for c in COMPOSED])
def test_composed_grad_matches_sympy_diff(body, f):
    dx, dw = sp.diff(f, x_), sp.diff(f, w_)
    for xv, wv in [(0.7, 1.3), (1.9, -0.4), (0.35, 2.2)]:
        s = Session()
        r = s.run(f"x = {xv}\nw = {wv}\ny = {body}\ngrad y")[-1]
        sub = {x_: xv, w_: wv}
        assert r["ok"], r
        assert r["value"] == pytest.approx(float(f.subs(sub)), rel=1e-11)
        assert r["grads"]["x"] == pytest.approx(float(dx.subs(sub)), rel=1e-9, abs=1e-12)
        assert r["grads"]["w"] == pytest.approx(float(dw.subs(sub)), rel=1e-9, abs=1e-12)


def test_leaky_relu_slope_gradient_matches_sympy():
    f = sp.Piecewise((x_, x_ > 0), (s_ * x_, True))
    for xv in (-1.5, 2.0):
        r = Session().run(f"x = {xv}\ns = 0.3\ny = leaky_relu(x, s)\ngrad y")[-1]
        sub = {x_: xv, s_: 0.3}
        assert r["grads"]["x"] == pytest.approx(float(sp.diff(f, x_).subs(sub)))
        assert r["grads"]["s"] == pytest.approx(float(sp.diff(f, s_).subs(sub)))


def test_user_function_grad_matches_sympy():
    f = x_ * sig(x_)
    d = sp.diff(f, x_)
    rs = Session().run("def swish(u) = u * sigmoid(u)\nx = [-2, -0.5, 0, 0.8, 3]\n"
                       "y = swish(x)\ngrad y\nz = swish(swish(x))\ngrad z")
    pts = [-2, -0.5, 0, 0.8, 3]
    np.testing.assert_allclose(rs[3]["grads"]["x"], [float(d.subs(x_, p)) for p in pts],
                               rtol=1e-12)
    ff = f.subs(x_, f)
    dd = sp.diff(ff, x_)
    np.testing.assert_allclose(rs[5]["grads"]["x"], [float(dd.subs(x_, p)) for p in pts],
                               rtol=1e-10)


def test_user_function_of_two_parameters_grad_matches_sympy():
    u, v = sp.symbols("u v", real=True)
    f = u * sp.tanh(v) + v * sp.exp(-u)
    rs = Session().run("def g(u, v) = u * tanh(v) + v * exp(-u)\na = 0.3\nb = -1.2\n"
                       "y = g(a, b) * g(b, a)\ngrad y")
    fy = f.subs({u: x_, v: w_}) * f.subs({u: w_, v: x_}, simultaneous=True)
    sub = {x_: 0.3, w_: -1.2}
    assert rs[-1]["grads"]["a"] == pytest.approx(float(sp.diff(fy, x_).subs(sub)), rel=1e-10)
    assert rs[-1]["grads"]["b"] == pytest.approx(float(sp.diff(fy, w_).subs(sub)), rel=1e-10)


# ---------------------------------------------------------------- closed forms


def test_sigmoid_grad_is_y_times_one_minus_y():
    x = np.array([-4.0, -1.0, 0.0, 0.5, 3.0])
    r = Session().run(f"x = {lit(x)}\ny = sigmoid(x)\ngrad y")[-1]
    y = np_sigmoid(x)
    np.testing.assert_allclose(r["grads"]["x"], y * (1 - y), rtol=1e-12)


def test_tanh_grad_is_one_minus_y_squared():
    x = np.array([-2.0, 0.0, 0.3])
    r = Session().run(f"x = {lit(x)}\ny = tanh(x)\ngrad y")[-1]
    np.testing.assert_allclose(r["grads"]["x"], 1 - np.tanh(x) ** 2, rtol=1e-12)


@pytest.mark.parametrize("call, expected", [
    ("relu(x)", 0.0),  # PyTorch: relu'(0) = 0
    ("leaky_relu(x)", 0.01),  # PyTorch: leaky_relu'(0) = negative_slope
    ("leaky_relu(x, 0.3)", 0.3),
    ("abs(x)", 0.0),  # PyTorch: abs'(0) = sign(0) = 0
])
def test_kinks_follow_pytorch(call, expected):
    r = Session().run(f"x = 0\ny = {call}\ngrad y")[-1]
    assert r["grads"]["x"] == expected
    r = Session().run(f"x = [0, 0]\ny = {call}\ngrad y")[-1]
    np.testing.assert_array_equal(r["grads"]["x"], [expected, expected])


def test_relu_grad_is_the_mask():
    x = np.array([[1.0, -0.5], [-2.0, 3.0], [0.0, 0.1]])
    g = np.array([[10.0, 20.0], [30.0, 40.0], [50.0, 60.0]])
    r = Session().run(f"x = {lit(x)}\ny = relu(x)\ngrad y with {lit(g)}")[-1]
    np.testing.assert_array_equal(r["grads"]["x"], np.where(x > 0, g, 0.0))


def test_affine_grads_closed_forms():
    X = RNG.standard_normal((4, 2))
    W = RNG.standard_normal((2, 3))
    b = RNG.standard_normal(3)
    dY = RNG.standard_normal((4, 3))
    r = Session().run(f"X = {lit(X)}\nW = {lit(W)}\nb = {lit(b)}\nY = X @ W + b\n"
                      f"grad Y with {lit(dY)}")[-1]
    np.testing.assert_allclose(r["value"], X @ W + b, rtol=1e-12)
    np.testing.assert_allclose(r["grads"]["X"], dY @ W.T, rtol=1e-12)
    np.testing.assert_allclose(r["grads"]["W"], X.T @ dY, rtol=1e-12)
    np.testing.assert_allclose(r["grads"]["b"], dY.sum(0), rtol=1e-12)


@pytest.mark.parametrize("labels", [False, True])
def test_softmax_with_loss_grad_closed_form(labels):
    x = RNG.standard_normal((5, 4))
    lab = np.array([0, 3, 1, 1, 2])
    t = np.eye(4)[lab]
    target = lit(lab) if labels else lit(t)
    r = Session().run(f"x = {lit(x)}\nL = softmax_cross_entropy(x, {target})\ngrad L")[-1]
    expected = -np.sum(t * np.log(np_softmax(x))) / 5
    assert r["value"] == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(r["grads"]["x"], (np_softmax(x) - t) / 5, rtol=1e-10,
                               atol=1e-15)


def test_softmax_with_loss_single_sample():
    x = np.array([0.3, 2.9, 4.0])
    t = np.array([0.0, 0.0, 1.0])
    r = Session().run(f"x = {lit(x)}\nL = softmax_cross_entropy(x, 2)\ngrad L")[-1]
    assert r["value"] == pytest.approx(-np.log(np_softmax(x)[2]), rel=1e-12)
    np.testing.assert_allclose(r["grads"]["x"], np_softmax(x) - t, rtol=1e-10)


def test_cross_entropy_grad_closed_form():
    y = np.array([[0.1, 0.6, 0.3], [0.8, 0.1, 0.1]])
    t = np.array([[0, 1, 0], [1, 0, 0]], float)
    r = Session().run(f"y = {lit(y)}\nt = {lit(t)}\nL = cross_entropy(y, t)\ngrad L")[-1]
    np.testing.assert_allclose(r["grads"]["y"], -t / (y + 1e-7) / 2, rtol=1e-12)
    np.testing.assert_allclose(r["grads"]["t"], -np.log(y + 1e-7) / 2, rtol=1e-12)


def test_mse_grad_closed_form():
    y = np.array([0.1, 0.05, 0.6, 0.25])
    t = np.array([0.0, 0.0, 1.0, 0.0])
    r = Session().run(f"y = {lit(y)}\nt = {lit(t)}\nL = mse(y, t)\ngrad L")[-1]
    np.testing.assert_allclose(r["grads"]["y"], y - t, rtol=1e-12)
    np.testing.assert_allclose(r["grads"]["t"], t - y, rtol=1e-12)


def test_sum_and_mean_grads():
    x = RNG.standard_normal((3, 4))
    rs = Session().run(f"x = {lit(x)}\na = sum(x)\ngrad a\nb = mean(x)\ngrad b\n"
                       "c = sum(x, 0)\ngrad c with [1, 2, 3, 4]\nd = mean(x, 1)\n"
                       "grad d with [1, 2, 3]")
    np.testing.assert_allclose(rs[2]["grads"]["x"], np.ones((3, 4)))
    np.testing.assert_allclose(rs[4]["grads"]["x"], np.full((3, 4), 1 / 12))
    np.testing.assert_allclose(rs[6]["grads"]["x"], np.tile([1.0, 2, 3, 4], (3, 1)))
    np.testing.assert_allclose(rs[8]["grads"]["x"], np.repeat([[1.0], [2], [3]], 4, 1) / 4)


# ---------------------------------------------------------------- finite differences


NETWORK_BODIES = {
    # intermediates as names: L reads W directly and through out, h reads W too
    "named": "h = tanh(X @ W + b)\nk = exp(-(h^2 @ ones(4, 1)) / 10)\n"
             "out = sigmoid(h @ V) * k\nL = mean(out^2) + mse(W, 0.1)",
    # the same loss in one expression
    "inline": "L = mean((sigmoid(tanh(X @ W + b) @ V) * exp(-(tanh(X @ W + b)^2 @ ones(4, 1))"
              " / 10))^2) + mse(W, 0.1)",
}


@pytest.mark.parametrize("form", sorted(NETWORK_BODIES))
def test_array_network_grads_match_finite_differences(form):
    X = RNG.standard_normal((3, 2))
    W = RNG.standard_normal((2, 4))
    b = RNG.standard_normal(4)
    V = RNG.standard_normal((4, 2))

    def loss(X, W, b, V):
        h = np.tanh(X @ W + b)
        out = np_sigmoid(h @ V) * np.exp(-(h**2).sum(axis=1, keepdims=True) / 10)
        return np.mean(out**2) + 0.5 * np.sum((W - 0.1) ** 2)

    # sum over axis 1 keeping the axis is written as a product with a column of ones
    src = (f"X = {lit(X)}\nW = {lit(W)}\nb = {lit(b)}\nV = {lit(V)}\n"
           f"{NETWORK_BODIES[form]}\ngrad L wrt X, W, b, V")
    r = Session().run(src)[-1]
    assert r["ok"], r
    args = dict(X=X, W=W, b=b, V=V)
    assert r["value"] == pytest.approx(loss(**args), rel=1e-12)
    for name, val in args.items():
        def f(v, name=name):
            return loss(**{**args, name: v})

        np.testing.assert_allclose(r["grads"][name], central_diff(f, val), rtol=1e-6,
                                   atol=1e-9, err_msg=name)


def test_broadcast_grads_match_finite_differences():
    a = RNG.standard_normal((3, 1))
    b = RNG.standard_normal(4)
    c = RNG.standard_normal((3, 4))

    def f(a, b, c):
        return np.sum(np.sin(a * b + c) / (2 + np.cos(a - b)))

    r = Session().run(f"a = {lit(a)}\nb = {lit(b)}\nc = {lit(c)}\n"
                      "y = sin(a * b + c) / (2 + cos(a - b))\ngrad y")[-1]
    assert r["grads"]["a"].shape == (3, 1)
    assert r["grads"]["b"].shape == (4,)
    args = dict(a=a, b=b, c=c)
    for name, val in args.items():
        np.testing.assert_allclose(
            r["grads"][name], central_diff(lambda v, n=name: f(**{**args, n: v}), val),
            rtol=1e-6, atol=1e-9, err_msg=name)


def test_scalar_times_array_grad_sums():
    x = RNG.standard_normal((2, 3))
    r = Session().run(f"x = {lit(x)}\nk = 1.5\ny = k * x + k\ngrad y")[-1]
    assert type(r["grads"]["k"]) is float
    assert r["grads"]["k"] == pytest.approx(x.sum() + 6)
    np.testing.assert_allclose(r["grads"]["x"], np.full((2, 3), 1.5))


def test_transpose_and_matmul_grads_match_finite_differences():
    A = RNG.standard_normal((3, 2))
    B = RNG.standard_normal((3, 4))

    def f(A, B):
        return np.sum((A.T @ B) ** 2) + np.sum(B.T @ A)

    r = Session().run(f"A = {lit(A)}\nB = {lit(B)}\ny = sum((A.T @ B)^2) + sum(B.T @ A)\n"
                      "grad y")[-1]
    np.testing.assert_allclose(r["grads"]["A"], central_diff(lambda v: f(v, B), A), rtol=1e-6)
    np.testing.assert_allclose(r["grads"]["B"], central_diff(lambda v: f(A, v), B), rtol=1e-6)


# ---------------------------------------------------------------- shared nodes


def test_a_name_used_twice_accumulates_gradients():
    r = Session().run("a = 3\nb = a*a + a\ngrad b")[-1]
    assert r["grads"]["a"] == pytest.approx(2 * 3 + 1)


@pytest.mark.parametrize("src", [
    "a = 1.3\nb = a * 10\nc = b + a\ngrad c",
    "a = 1.3\nb = a * 10\nc = a + b\ngrad c",
    "z = 1.3\ny = z * 10\nx = y + z\ngrad x",
])
def test_diamond_dependency_between_names(src):
    # the result reads a name both directly and through another named formula
    r = Session().run(src)[-1]
    assert r["ok"], r
    leaf = "z" if "z =" in src else "a"
    mid = "y" if "z =" in src else "b"
    assert r["value"] == pytest.approx(14.3)
    assert r["grads"][leaf] == pytest.approx(11.0)
    assert r["grads"][mid] == pytest.approx(1.0)


def test_diamond_value_after_rebinding():
    rs = Session().run("a = 1\nb = a * 10\nc = b + a\nc\na = 2\nc")
    assert rs[-1]["ok"], rs[-1]
    assert rs[-1]["value"] == 22.0


def test_residual_block_matches_finite_differences():
    x = RNG.standard_normal((2, 3))
    W = RNG.standard_normal((3, 3))

    def f(x, W):
        h = np.tanh(x @ W)
        y = h + np_sigmoid(h @ W) * x
        return np.sum(y * y)

    r = Session().run(f"x = {lit(x)}\nW = {lit(W)}\nh = tanh(x @ W)\n"
                      "y = h + sigmoid(h @ W) * x\nL = sum(y * y)\ngrad L")[-1]
    assert r["ok"], r
    np.testing.assert_allclose(r["grads"]["x"], central_diff(lambda v: f(v, W), x), rtol=1e-6)
    np.testing.assert_allclose(r["grads"]["W"], central_diff(lambda v: f(x, v), W), rtol=1e-6)


# ---------------------------------------------------------------- a long chain


def check_chain_forward_and_backward(n: int) -> None:
    """h_i = h_(i-1) + 1e-4*tanh(h_(i-1)) for n steps, against the closed form run here."""
    src = "h0 = 0.5\n" + "\n".join(
        f"h{i} = h{i - 1} + 0.0001*tanh(h{i - 1})" for i in range(1, n + 1))
    s = Session()
    rs = s.run(src)
    assert all(r["ok"] for r in rs[-5:]) and rs[0]["ok"]
    # closed form: the product of the local derivatives 1 + 1e-4 * (1 - tanh(h)^2)
    h, g = 0.5, 1.0
    for _ in range(n):
        t = math.tanh(h)
        g *= 1 + 0.0001 * (1 - t * t)
        h = h + 0.0001 * t
    assert rs[-1]["value"] == pytest.approx(h, rel=1e-12)
    r = s.run(f"grad h{n} wrt h0")[-1]
    assert r["ok"], r
    assert r["value"] == pytest.approx(h, rel=1e-12)
    assert r["grads"]["h0"] == pytest.approx(g, rel=1e-9)
    # forward again after changing the start of the chain
    r = s.run(f"h0 = 0.25\nh{n}")[-1]
    assert r["ok"], r
    h = 0.25
    for _ in range(n):
        h = h + 0.0001 * math.tanh(h)
    assert r["value"] == pytest.approx(h, rel=1e-12)


@pytest.mark.slow
def test_chain_of_100000_nodes_forward_and_backward():
    check_chain_forward_and_backward(100_000)


def test_chain_deeper_than_the_recursion_limit_forward_and_backward():
    # the fast version: deeper than Python's default recursion limit (1000) all the same
    check_chain_forward_and_backward(3_000)


# ---------------------------------------------------------------- stability at +-1000


@pytest.fixture
def no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def _finite(v) -> bool:
    return bool(np.all(np.isfinite(v)))


def test_sigmoid_stable(no_warnings):
    r = Session().run("x = [-1000, -800, 0, 800, 1000]\ny = sigmoid(x)\ngrad y")[-1]
    assert r["ok"], r
    np.testing.assert_array_equal(r["value"], [0, 0, 0.5, 1, 1])
    np.testing.assert_array_equal(r["grads"]["x"], [0, 0, 0.25, 0, 0])
    for v, expected in (("-1000", 0.0), ("1000", 1.0)):
        r = Session().run(f"x = {v}\ny = sigmoid(x)\ngrad y")[-1]
        assert r["value"] == expected and r["grads"]["x"] == 0.0


def test_tanh_stable(no_warnings):
    r = Session().run("x = [-1000, 0, 1000]\ny = tanh(x)\ngrad y")[-1]
    np.testing.assert_array_equal(r["value"], [-1, 0, 1])
    np.testing.assert_array_equal(r["grads"]["x"], [0, 1, 0])


def test_softplus_stable(no_warnings):
    r = Session().run("x = [-1000, 1000]\ny = softplus(x)\ngrad y")[-1]
    np.testing.assert_allclose(r["value"], [0, 1000])
    np.testing.assert_allclose(r["grads"]["x"], [0, 1])


def test_softmax_stable(no_warnings):
    g = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    r = Session().run(f"x = [[1000, 0, -1000], [1000, 1000, -1000]]\ny = softmax(x)\n"
                      f"grad y with {lit(g)}")[-1]
    assert r["ok"], r
    s = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]])
    np.testing.assert_allclose(r["value"], s, atol=1e-300)
    # J^T g = s * (g - <s, g>)
    expected = s * (g - np.sum(s * g, axis=1, keepdims=True))
    np.testing.assert_allclose(r["grads"]["x"], expected, atol=1e-12)
    assert _finite(r["grads"]["x"])


def test_log_softmax_stable(no_warnings):
    r = Session().run("x = [[1000, 0, -1000], [-1000, -1000, 1000]]\ny = log_softmax(x)\n"
                      "grad y")[-1]
    assert r["ok"], r
    np.testing.assert_allclose(r["value"], [[0, -1000, -2000], [-2000, -2000, 0]])
    s = np.array([[1.0, 0, 0], [0, 0, 1.0]])
    np.testing.assert_allclose(r["grads"]["x"], 1 - 3 * s)


def test_log_softmax_of_equal_huge_logits(no_warnings):
    r = Session().run("x = [1000, 1000]\ny = log_softmax(x)\ngrad y with [1, 0]")[-1]
    np.testing.assert_allclose(r["value"], [-math.log(2)] * 2)
    np.testing.assert_allclose(r["grads"]["x"], [0.5, -0.5])


@pytest.mark.parametrize("target", ["[0, 2]", "[[1, 0, 0], [0, 0, 1]]"])
def test_softmax_cross_entropy_stable(no_warnings, target):
    r = Session().run(f"x = [[1000, 0, -1000], [1000, 1000, -1000]]\n"
                      f"L = softmax_cross_entropy(x, {target})\ngrad L")[-1]
    assert r["ok"], r
    # row 1: target 0 has probability 1, loss 0; row 2: target 2 has log-probability
    # -2000 - log 2; batch mean
    assert r["value"] == pytest.approx((0 + 2000 + math.log(2)) / 2, rel=1e-12)
    s = np.array([[1.0, 0, 0], [0.5, 0.5, 0]])
    t = np.array([[1.0, 0, 0], [0, 0, 1.0]])
    np.testing.assert_allclose(r["grads"]["x"], (s - t) / 2, atol=1e-15)


def test_cross_entropy_on_saturated_softmax_stable(no_warnings):
    r = Session().run("x = [[1000, -1000]]\nL = cross_entropy(softmax(x), [1])\ngrad L")[-1]
    assert r["ok"], r
    # probability 0 for the target: the book's delta gives -log(1e-7)
    assert r["value"] == pytest.approx(-math.log(1e-7), rel=1e-9)
    assert _finite(r["grads"]["x"])
    # d/dx of -log(s1 + 1e-7) = -(s1 (e1 - s)) / (s1 + 1e-7) -> 0 as s1 -> 0
    np.testing.assert_allclose(r["grads"]["x"], [[0.0, 0.0]], atol=1e-12)


def test_check_passes_near_saturation(no_warnings):
    r = Session().run("x = [[30, -30, 0], [-30, 0, 30]]\nL = softmax_cross_entropy(x, [0, 1])\n"
                      "check L")[-1]
    assert r["ok"] and r["passed"], r


# ---------------------------------------------------------------- check


def test_check_reports_every_leaf():
    rs = Session().run("seed 1\nX = randn(3, 2)\nW = randn(2, 2)\nc = 0.5\n"
                       "L = sum(sigmoid(X @ W) * c)\ncheck L")
    r = rs[-1]
    assert r["kind"] == "check" and r["of"] == "L"
    assert r["passed"] is True
    assert set(r["results"]) == {"X", "W", "c"}
    for leaf in r["results"].values():
        assert leaf["passed"] is True
        assert 0 <= leaf["max_abs_error"] < 1e-6
        assert 0 <= leaf["max_rel_error"] < 1e-4


def test_check_fails_where_finite_differences_disagree():
    # at relu's kink the central difference is (eps - 0) / (2 eps) = 0.5, backprop says 0
    x = np.array(0.0)
    numeric = central_diff(lambda v: np.maximum(v, 0), x)
    assert numeric == pytest.approx(0.5)
    failed = Session().run("x = 0\nw = 2\ny = relu(x) * w\ncheck y")[-1]
    assert not failed["ok"] and failed["error"]["type"] == "check", failed
    r = failed["detail"]  # the table a failed check shows
    assert r["passed"] is False
    assert r["results"]["x"]["passed"] is False
    assert r["results"]["x"]["max_abs_error"] == pytest.approx(2 * 0.5, rel=1e-6)
    assert r["results"]["w"]["passed"] is True


def test_check_tolerance_can_be_set():
    r = Session().run("x = 0\ny = relu(x)\ncheck y atol 0.6")[-1]
    assert r["ok"] and r["passed"] is True
    r = Session().run("x = 0\ny = relu(x)\ncheck y atol 0.4")[-1]
    assert not r["ok"] and r["detail"]["passed"] is False


def test_check_of_symbolic_name_is_an_error():
    r = Session().run("y = sigmoid(q)\ncheck y")[-1]
    assert r["ok"] is False
