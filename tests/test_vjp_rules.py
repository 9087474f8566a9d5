"""Vector-Jacobian rules of the structural ops against SymPy's own jacobian.

For each rule: inputs become matrices of SymPy symbols, the op is written out here with
SymPy, the jacobian of vec(Y) with respect to vec(X) is taken by SymPy, contracted with a
random upstream G, and evaluated at random numbers. The rule (called directly, and through
the language with `grad NAME with G`) must give the same numbers.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from bpshell.ops import structural as st
from bpshell.session import Session

RNG = np.random.default_rng(2024)
DELTA = sp.Rational(1, 10**7)  # the book's cross_entropy_error delta


# ---------------------------------------------------------------- the oracle


def symbols_like(name: str, shape: tuple) -> np.ndarray:
    """An object array of real symbols with the given shape."""
    flat = [sp.Symbol(f"{name}_{k}", real=True) for k in range(int(np.prod(shape, dtype=int)))]
    return np.array(flat, dtype=object).reshape(shape)


def sympy_vjp(build, values: dict, wrt: str, G) -> np.ndarray:
    """J^T vec(G) for Y = build(**inputs), J = d vec(Y) / d vec(inputs[wrt]), by SymPy."""
    arrays, subs = {}, {}
    for name, v in values.items():
        v = np.asarray(v, dtype=np.float64)
        syms = symbols_like(name, v.shape)
        arrays[name] = syms
        for s, num in zip(syms.ravel(), v.ravel()):
            subs[s] = sp.Float(float(num), 30)
    Y = np.asarray(build(**arrays), dtype=object)
    y_vec = sp.Matrix([sp.sympify(e) for e in Y.ravel()])
    x_vec = list(arrays[wrt].ravel())
    J = y_vec.jacobian(x_vec)
    g_vec = sp.Matrix([sp.Float(float(g), 30) for g in np.ravel(G)])
    d = (J.T * g_vec).xreplace(subs)
    out = np.array([float(sp.N(e, 20)) for e in d], dtype=np.float64)
    return out.reshape(np.shape(values[wrt]))


def sym_exp(a: np.ndarray) -> np.ndarray:
    return np.vectorize(sp.exp, otypes=[object])(a)


def sym_log(a: np.ndarray) -> np.ndarray:
    return np.vectorize(sp.log, otypes=[object])(a)


def sym_softmax(x: np.ndarray) -> np.ndarray:
    e = sym_exp(x)
    return e / e.sum(axis=-1, keepdims=True)


def sym_log_softmax(x: np.ndarray) -> np.ndarray:
    return x - sym_log(sym_exp(x).sum(axis=-1, keepdims=True))


def batch(x) -> int:
    return np.shape(x)[0] if np.ndim(x) >= 2 else 1


def np_softmax(x):
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def lit(a) -> str:
    return repr(np.asarray(a, dtype=float).tolist())


def through_language(defs: dict, expr: str, G, wrt: str) -> np.ndarray:
    """`grad Y with G` for Y = expr over the named values."""
    src = "".join(f"{k} = {lit(v)}\n" for k, v in defs.items())
    src += f"Y = {expr}\ngrad Y with {lit(G)}"
    r = Session().run(src)[-1]
    assert r["ok"], r
    return r["grads"][wrt]


def rand(*shape):
    return RNG.standard_normal(shape)


def close(a, b):
    np.testing.assert_allclose(np.asarray(a, dtype=np.float64), b, rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- matmul


MATMUL_SHAPES = [((2, 3), (3, 4)), ((3,), (3, 2)), ((2, 3), (3,)), ((4,), (4,)),
                 ((1, 3), (3, 1))]


@pytest.mark.parametrize("sa, sb", MATMUL_SHAPES, ids=[f"{a}@{b}" for a, b in MATMUL_SHAPES])
def test_matmul_rules(sa, sb):
    A, B = rand(*sa), rand(*sb)
    out = A @ B
    G = rand(*np.shape(out))
    vals = {"A": A, "B": B}
    dA = sympy_vjp(lambda A, B: A @ B, vals, "A", G)
    dB = sympy_vjp(lambda A, B: A @ B, vals, "B", G)
    close(st.matmul_da(G, out, A, B), dA)
    close(st.matmul_db(G, out, A, B), dB)
    close(through_language(vals, "A @ B", G, "A"), dA)
    close(through_language(vals, "A @ B", G, "B"), dB)


def test_matmul_rule_is_the_books_affine_backward():
    X, W = rand(5, 2), rand(2, 3)
    dY = rand(5, 3)
    close(st.matmul_da(dY, X @ W, X, W), dY @ W.T)
    close(st.matmul_db(dY, X @ W, X, W), X.T @ dY)


# ---------------------------------------------------------------- transpose


@pytest.mark.parametrize("shape", [(2, 3), (1, 4), (3,)])
def test_transpose_rule(shape):
    X = rand(*shape)
    G = rand(*np.shape(X.T))
    dX = sympy_vjp(lambda X: X.T, {"X": X}, "X", G)
    close(st.transpose_vjp(G, X.T, X), dX)
    close(through_language({"X": X}, "X.T", G, "X"), dX)


def test_transpose_inside_matmul():
    A, B = rand(3, 2), rand(3, 4)
    G = rand(2, 4)
    vals = {"A": A, "B": B}
    close(through_language(vals, "A.T @ B", G, "A"),
          sympy_vjp(lambda A, B: A.T @ B, vals, "A", G))


# ---------------------------------------------------------------- sum and mean


REDUCTIONS = [((2, 3), None), ((2, 3), 0), ((2, 3), 1), ((2, 3), -1), ((4,), None),
              ((4,), 0), ((2, 3, 2), 1)]


def _reduce(kind, axis):
    def f(X):
        s = X.sum(axis=axis)
        n = X.size if axis is None else X.shape[axis]
        return s / n if kind == "mean" else s
    return f


@pytest.mark.parametrize("kind", ["sum", "mean"])
@pytest.mark.parametrize("shape, axis", REDUCTIONS, ids=[f"{s}-{a}" for s, a in REDUCTIONS])
def test_sum_and_mean_rules(kind, shape, axis):
    X = rand(*shape)
    out = X.sum(axis=axis) if kind == "sum" else X.mean(axis=axis)
    G = rand(*np.shape(out))
    dX = sympy_vjp(_reduce(kind, axis), {"X": X}, "X", G)
    rule = st.total_vjp if kind == "sum" else st.mean_vjp
    close(rule(G, out, X, axis), dX)
    call = f"{kind}(X)" if axis is None else f"{kind}(X, {axis})"
    close(through_language({"X": X}, call, G, "X"), dX)


# ---------------------------------------------------------------- softmax, log_softmax


@pytest.mark.parametrize("shape", [(2, 3), (4,), (3, 1)])
def test_softmax_rule(shape):
    X = rand(*shape)
    out = np_softmax(X)
    G = rand(*shape)
    dX = sympy_vjp(lambda X: sym_softmax(X), {"X": X}, "X", G)
    close(st.softmax_vjp(G, out, X), dX)
    close(through_language({"X": X}, "softmax(X)", G, "X"), dX)


@pytest.mark.parametrize("shape", [(2, 3), (4,)])
def test_log_softmax_rule(shape):
    X = rand(*shape)
    out = np.log(np_softmax(X))
    G = rand(*shape)
    dX = sympy_vjp(lambda X: sym_log_softmax(X), {"X": X}, "X", G)
    close(st.log_softmax_vjp(G, out, X), dX)
    close(through_language({"X": X}, "log_softmax(X)", G, "X"), dX)


# ---------------------------------------------------------------- losses


def _sym_cross_entropy(y, t):
    return -(t * sym_log(y + DELTA)).sum() / batch(y)


def _sym_softmax_cross_entropy(x, t):
    return -(t * sym_log_softmax(x)).sum() / batch(x)


def _probabilities(*shape):
    return np_softmax(rand(*shape))


@pytest.mark.parametrize("shape", [(3, 4), (4,)])
def test_cross_entropy_one_hot(shape):
    y = _probabilities(*shape)
    lab = RNG.integers(0, shape[-1], size=shape[:-1])
    t = np.eye(shape[-1])[lab]
    g = 1.7
    out = -np.sum(t * np.log(y + 1e-7)) / batch(y)
    vals = {"y": y, "t": t}
    dy = sympy_vjp(_sym_cross_entropy, vals, "y", g)
    dt = sympy_vjp(_sym_cross_entropy, vals, "t", g)
    close(st.cross_entropy_dy(g, out, y, t), dy)
    close(st.cross_entropy_dt(g, out, y, t), dt)
    close(through_language(vals, "cross_entropy(y, t)", g, "y"), dy)
    close(through_language(vals, "cross_entropy(y, t)", g, "t"), dt)


@pytest.mark.parametrize("shape", [(3, 4), (4,)])
def test_cross_entropy_labels(shape):
    y = _probabilities(*shape)
    lab = RNG.integers(0, shape[-1], size=shape[:-1])
    t = np.eye(shape[-1])[lab]
    g = 0.6
    out = -np.sum(t * np.log(y + 1e-7)) / batch(y)
    dy = sympy_vjp(_sym_cross_entropy, {"y": y, "t": t}, "y", g)
    labels = lab.astype(np.float64)
    close(st.cross_entropy_dy(g, out, y, labels), dy)
    assert st.cross_entropy_dt(g, out, y, labels) is None  # labels have no gradient
    close(through_language({"y": y, "t": labels}, "cross_entropy(y, t)", g, "y"), dy)


@pytest.mark.parametrize("shape", [(3, 4), (4,), (1, 3)])
def test_softmax_cross_entropy_one_hot(shape):
    x = rand(*shape) * 2
    lab = RNG.integers(0, shape[-1], size=shape[:-1])
    t = np.eye(shape[-1])[lab]
    g = 1.3
    out = -np.sum(t * np.log(np_softmax(x))) / batch(x)
    vals = {"x": x, "t": t}
    dx = sympy_vjp(_sym_softmax_cross_entropy, vals, "x", g)
    dt = sympy_vjp(_sym_softmax_cross_entropy, vals, "t", g)
    # the book's closed form: (softmax(x) - t) / N
    close(dx, g * (np_softmax(x) - t) / batch(x))
    close(st.softmax_cross_entropy_dx(g, out, x, t), dx)
    close(st.softmax_cross_entropy_dt(g, out, x, t), dt)
    close(through_language(vals, "softmax_cross_entropy(x, t)", g, "x"), dx)
    close(through_language(vals, "softmax_cross_entropy(x, t)", g, "t"), dt)


@pytest.mark.parametrize("shape", [(3, 4), (4,), (1, 3)])
def test_softmax_cross_entropy_labels(shape):
    x = rand(*shape) * 2
    lab = RNG.integers(0, shape[-1], size=shape[:-1])
    t = np.eye(shape[-1])[lab]
    g = 0.8
    out = -np.sum(t * np.log(np_softmax(x))) / batch(x)
    dx = sympy_vjp(_sym_softmax_cross_entropy, {"x": x, "t": t}, "x", g)
    labels = lab.astype(np.float64)
    close(st.softmax_cross_entropy_dx(g, out, x, labels), dx)
    assert st.softmax_cross_entropy_dt(g, out, x, labels) is None
    close(through_language({"x": x, "t": labels}, "softmax_cross_entropy(x, t)", g, "x"), dx)


def test_softmax_cross_entropy_soft_targets():
    x = rand(3, 4)
    t = _probabilities(3, 4) * 0.9  # rows sum to 0.9: the general case
    g = 1.0
    vals = {"x": x, "t": t}
    dx = sympy_vjp(_sym_softmax_cross_entropy, vals, "x", g)
    dt = sympy_vjp(_sym_softmax_cross_entropy, vals, "t", g)
    close(st.softmax_cross_entropy_dx(g, None, x, t), dx)
    close(st.softmax_cross_entropy_dt(g, None, x, t), dt)
    close(through_language(vals, "softmax_cross_entropy(x, t)", g, "x"), dx)
    close(through_language(vals, "softmax_cross_entropy(x, t)", g, "t"), dt)


@pytest.mark.parametrize("sy, st_", [((3,), (3,)), ((2, 3), (2, 3)), ((2, 3), (3,))])
def test_mse_rule(sy, st_):
    y, t = rand(*sy), rand(*st_)
    g = 2.5
    out = 0.5 * np.sum((y - t) ** 2)
    vals = {"y": y, "t": t}

    def f(y, t):
        return ((y - t) ** 2).sum() / 2

    dy = sympy_vjp(f, vals, "y", g)
    dt = sympy_vjp(f, vals, "t", g)
    close(st.mse_dy(g, out, y, t), dy)
    close(st.mse_dt(g, out, y, t), dt)
    close(through_language(vals, "mse(y, t)", g, "y"), dy)
    close(through_language(vals, "mse(y, t)", g, "t"), dt)


# ---------------------------------------------------------------- broadcasting


BIAS_SHAPES = [((3, 4), (4,)), ((3, 4), (1, 4)), ((3, 4), (3, 1)), ((2, 3, 4), (4,)),
               ((3, 4), ())]


@pytest.mark.parametrize("sx, sb", BIAS_SHAPES, ids=[f"{a}+{b}" for a, b in BIAS_SHAPES])
def test_broadcast_add_bias(sx, sb):
    X = rand(*sx)
    b = rand(*sb) if sb else np.float64(RNG.standard_normal())
    G = rand(*sx)
    vals = {"X": X, "b": b}
    db = sympy_vjp(lambda X, b: X + b, vals, "b", G)
    dX = sympy_vjp(lambda X, b: X + b, vals, "X", G)
    if sb == (4,) and len(sx) == 2:
        close(db, G.sum(0))  # the book: db = dY summed over the batch axis
    close(st.unbroadcast(G, np.shape(b)), db)
    close(st.unbroadcast(G, np.shape(X)), dX)
    close(through_language(vals, "X + b", G, "b"), db)
    close(through_language(vals, "X + b", G, "X"), dX)


def test_affine_through_language_all_three():
    X, W, b = rand(4, 2), rand(2, 3), rand(3)
    G = rand(4, 3)
    vals = {"X": X, "W": W, "b": b}

    def f(X, W, b):
        return X @ W + b

    for name in vals:
        close(through_language(vals, "X @ W + b", G, name), sympy_vjp(f, vals, name, G))


def test_broadcast_multiply_column_times_row():
    a, b = rand(3, 1), rand(4)
    G = rand(3, 4)
    vals = {"a": a, "b": b}
    for name in vals:
        close(through_language(vals, "a * b", G, name),
              sympy_vjp(lambda a, b: a * b, vals, name, G))
