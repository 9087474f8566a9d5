"""The ops a learner reaches for after chapter 5: indexing, comparisons, where, NumPy's
reductions with axis= and keepdims=, argmax, concat and stack, and the new constructors.

Values are checked against NumPy; gradients against PyTorch's rules written out here in
closed form (scatter for indexing, evenly split ties for max, 2(x - mean)/n for var, ...)
and against central differences computed here from the forward values alone.
"""

from __future__ import annotations

import numpy as np
import pytest

from bpshell.session import Session

X = np.array([[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]])
R = np.random.default_rng(7)


def lit(a) -> str:
    return repr(np.asarray(a, dtype=float).tolist())


def ok(src: str, s: Session | None = None) -> dict:
    r = (s or Session()).run(src)
    assert all(x["ok"] for x in r), [x for x in r if not x["ok"]]
    return r[-1]


def value(expr: str, **names) -> np.ndarray:
    src = "".join(f"{k} = {lit(v)}\n" for k, v in names.items())
    return np.asarray(ok(src + expr)["value"])


def grads(expr: str, G, **names) -> dict:
    """`grad Y with G` for Y = expr over the named values."""
    src = "".join(f"{k} = {lit(v)}\n" for k, v in names.items())
    return ok(src + f"Y = {expr}\ngrad Y with {lit(G)}")["grads"]


def numeric_vjp(expr: str, G, name: str, eps: float = 1e-6, **names) -> np.ndarray:
    """sum(G * Y) differentiated by central differences, one element of `name` at a time,
    from forward values only (each a fresh session)."""
    base = np.asarray(names[name], dtype=float)
    out = np.zeros(base.shape)
    for j in range(base.size):
        vals = []
        for sign in (1, -1):
            x = base.copy()
            x.flat[j] += sign * eps
            y = value(expr, **{**names, name: x})
            vals.append(float(np.sum(np.asarray(G) * y)))
        out.flat[j] = (vals[0] - vals[1]) / (2 * eps)
    return out


def error(src: str) -> dict:
    r = Session().run(src)[-1]
    assert not r["ok"]
    return r["error"]


# ---------------------------------------------------------------- indexing


@pytest.mark.parametrize("expr, key", [
    ("x[0]", (0,)), ("x[1, 2]", (1, 2)), ("x[:, 0]", (slice(None), 0)),
    ("x[0:1]", (slice(0, 1),)), ("x[-1]", (-1,)),
    ("x[:, ::-1]", (slice(None), slice(None, None, -1))),
    ("x[1, 1:]", (1, slice(1, None))),
])
def test_indexing_has_numpys_meaning_and_scatters_its_gradient(expr, key):
    np.testing.assert_array_equal(value(expr, x=X), X[key])
    G = R.standard_normal(np.shape(X[key]))
    want = np.zeros_like(X)
    want[key] = G  # PyTorch's index backward: zeros with the upstream put back
    np.testing.assert_array_equal(grads(expr, G, x=X)["x"], want)


def test_an_index_read_twice_adds_both_gradients():
    g = ok("x = [1, 2, 3]; y = x[0] * x[0] + x[-1]; grad y")["grads"]["x"]
    np.testing.assert_array_equal(g, [2.0, 0.0, 1.0])


@pytest.mark.parametrize("src, line, column, words", [
    ("x = [1, 2]\nz = x[5]", 2, 6, "index 5 is out of range for axis 0"),
    ("x = [1, 2]\nz = x[0, 1]", 2, 6, "2 indices for an array with 1 axis"),
    ("x = 2\nz = x[0]", 2, 6, "a scalar has no entries"),
    ("x = [1, 2]\nz = x[1.5]", 2, 7, "whole numbers or slices"),
    ("x = [1, 2]\nz = x[y]", 2, 7, "whole numbers or slices"),
    ("x = [1, 2]\nz = x[]", 2, 7, "whole numbers or slices"),
    ("x = [1, 2]\nz = x[::0]", 2, 9, "step cannot be 0"),
])
def test_bad_indices_are_errors_at_their_column(src, line, column, words):
    e = error(src)
    assert (e["line"], e["column"]) == (line, column) and words in e["message"], e


# ---------------------------------------------------------------- comparisons and where


@pytest.mark.parametrize("op, fn", [(">", np.greater), ("<=", np.less_equal), ("<", np.less),
                                    (">=", np.greater_equal), ("==", np.equal),
                                    ("!=", np.not_equal)])
def test_comparisons_give_zeros_and_ones(op, fn):
    y = np.array([[1.0, 0.0, 3.0], [-1.0, 5.0, 0.0]])
    got = value(f"x {op} y", x=X, y=y)
    np.testing.assert_array_equal(got, fn(X, y).astype(float))


def test_the_relu_mask_passes_no_gradient_through_the_comparison():
    # x * (x > 0) is the book's ReLU: the gradient is the mask alone; the comparison adds
    # nothing (PyTorch: a bool tensor has no grad_fn)
    r = ok("x = [-1, 0.5, 2]; y = sum(x * (x > 0)); grad y")
    np.testing.assert_array_equal(r["grads"]["x"], [0.0, 1.0, 1.0])
    r = ok("x = [-1, 0.5, 2]; m = x <= 0; y = sum(m); explain y")
    assert not any(d["to"] == "x" for row in r["rows"] for d in row["downstream"])


def test_comparisons_do_not_chain():
    e = error("a = 1; b = 2; c = a < b < 3")
    assert "do not chain" in e["message"] and e["column"] == 25


def test_where_selects_and_sends_gradients_to_the_side_it_took():
    a, b = R.standard_normal((2, 3)), R.standard_normal((2, 3))
    G = R.standard_normal((2, 3))
    np.testing.assert_array_equal(value("where(x > 0, a, b)", x=X, a=a, b=b),
                                  np.where(X > 0, a, b))
    g = grads("where(x > 0, a, b)", G, x=X, a=a, b=b)
    np.testing.assert_array_equal(g["a"], np.where(X > 0, G, 0.0))
    np.testing.assert_array_equal(g["b"], np.where(X > 0, 0.0, G))
    np.testing.assert_array_equal(g["x"], np.zeros_like(X))  # the mask takes none


def test_where_broadcasts_a_scalar_branch():
    r = ok("x = [-2, 3]; y = sum(where(x > 0, x, 0)); grad y")
    assert r["value"] == 3.0
    np.testing.assert_array_equal(r["grads"]["x"], [0.0, 1.0])


def test_maximum_splits_the_gradient_at_a_tie_as_pytorch():
    # torch.maximum: grad/2 to each side where a == b
    r = ok("a = [1, 2, 3]; b = [2, 2, 2]; y = sum(maximum(a, b)); grad y")
    np.testing.assert_array_equal(r["grads"]["a"], [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(r["grads"]["b"], [1.0, 0.5, 0.0])


# ---------------------------------------------------------------- reductions


@pytest.mark.parametrize("fn", ["sum", "mean", "max", "min", "var", "std", "logsumexp"])
@pytest.mark.parametrize("spelling, axis, keepdims", [
    ("", None, False), (", 0", 0, False), (", axis=1", 1, False),
    (", axis=1, keepdims=True", 1, True), (", keepdims=True", None, True),
    (", axis=-1", -1, False),
])
def test_reductions_match_numpy(fn, spelling, axis, keepdims):
    x = R.standard_normal((3, 4))
    ref = (lambda a, **k: np.log(np.sum(np.exp(a), **k))) if fn == "logsumexp" else \
        getattr(np, fn)
    got = value(f"{fn}(x{spelling})", x=x)
    np.testing.assert_allclose(got, ref(x, axis=axis, keepdims=keepdims), rtol=1e-12)


def closed_form(fn: str, x, G, axis):
    """PyTorch's backward of each reduction, written out (axis None: every element)."""
    n = x.size if axis is None else x.shape[axis]
    g = G if axis is None else np.expand_dims(G, axis)
    mu = x.mean(axis=axis, keepdims=True)
    if fn == "sum":
        return np.broadcast_to(g, x.shape)
    if fn == "mean":
        return np.broadcast_to(g / n, x.shape)
    if fn in ("max", "min"):
        best = (np.max if fn == "max" else np.min)(x, axis=axis, keepdims=True)
        hit = x == best
        return np.where(hit, g / hit.sum(axis=axis, keepdims=True), 0.0)
    if fn == "var":
        return g * 2 * (x - mu) / n
    if fn == "std":
        return g * (x - mu) / (n * np.sqrt(np.mean((x - mu) ** 2, axis=axis, keepdims=True)))
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return g * e / e.sum(axis=axis, keepdims=True)  # logsumexp: softmax


@pytest.mark.parametrize("fn", ["sum", "mean", "max", "min", "var", "std", "logsumexp"])
@pytest.mark.parametrize("axis", [None, 0, 1])
def test_reduction_gradients_match_closed_forms_and_differences(fn, axis):
    x = np.round(R.standard_normal((3, 4)), 3)
    spelling = "" if axis is None else f", axis={axis}"
    G = R.standard_normal(np.shape(getattr(np, fn if fn != "logsumexp" else "sum")(
        x, axis=axis)))
    got = grads(f"{fn}(x{spelling})", G, x=x)["x"]
    np.testing.assert_allclose(got, closed_form(fn, x, G, axis), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got, numeric_vjp(f"{fn}(x{spelling})", G, "x", x=x),
                               rtol=1e-5, atol=1e-6)


def test_keepdims_keeps_a_hand_written_batch_softmax_right_on_a_square_matrix():
    # without keepdims, x - max(x, axis=1) broadcasts the row maxima along the wrong axis
    x = R.standard_normal((3, 3))
    got = value("exp(x - max(x, axis=1, keepdims=True)) / "
                "sum(exp(x - max(x, axis=1, keepdims=True)), axis=1, keepdims=True)", x=x)
    np.testing.assert_allclose(got, value("softmax(x)", x=x), rtol=1e-12)
    G = R.standard_normal((3, 3))
    a = grads("exp(x - max(x, axis=1, keepdims=True)) / "
              "sum(exp(x - max(x, axis=1, keepdims=True)), axis=1, keepdims=True)", G, x=x)
    np.testing.assert_allclose(a["x"], grads("softmax(x)", G, x=x)["x"], rtol=1e-9,
                               atol=1e-12)


def test_max_ties_share_the_gradient_evenly():
    r = ok("x = [[3, 1, 3], [0, 2, 2]]; m = sum(max(x, axis=1)); grad m")
    np.testing.assert_array_equal(r["grads"]["x"], [[0.5, 0, 0.5], [0, 0.5, 0.5]])
    r = ok("x = [1, 3, 3, 3]; m = max(x); grad m")
    np.testing.assert_allclose(r["grads"]["x"], [0, 1 / 3, 1 / 3, 1 / 3])


def test_std_of_a_constant_has_gradient_zero_as_in_pytorch():
    r = ok("x = [2, 2, 2]; s = std(x); grad s")
    assert r["value"] == 0.0 and list(r["grads"]["x"]) == [0.0, 0.0, 0.0]


def test_argmax_and_argmin_are_numpys_and_have_no_gradient():
    y = np.array([[0.1, 0.7, 0.7], [0.9, 0.05, 0.05]])
    np.testing.assert_array_equal(value("argmax(y, axis=1)", y=y), [1.0, 0.0])
    np.testing.assert_array_equal(value("argmax(y, 1)", y=y), [1.0, 0.0])
    np.testing.assert_array_equal(value("argmin(y, axis=0)", y=y), [0.0, 1.0, 1.0])
    assert value("argmax(y)", y=y) == 3.0  # the flat index, as np.argmax
    t = np.array([1.0, 2.0])
    # the book's accuracy: np.sum(y.argmax(axis=1) == t) / N
    assert value("sum(argmax(y, axis=1) == t) / 2", y=y, t=t) == 0.5
    r = ok(f"y = {lit(y)}; a = sum(argmax(y, axis=1) * y[:, 0]); grad a")
    np.testing.assert_array_equal(r["grads"]["y"], [[1.0, 0, 0], [0, 0, 0]])


@pytest.mark.parametrize("fn, axis", [("concat", 0), ("concat", 1), ("stack", 0),
                                      ("stack", 2), ("stack", -1)])
def test_concat_and_stack_split_the_gradient_back(fn, axis):
    a, b = R.standard_normal((2, 3)), R.standard_normal((2, 3))
    ref = np.concatenate if fn == "concat" else np.stack
    np.testing.assert_array_equal(value(f"{fn}(a, b, axis={axis})", a=a, b=b),
                                  ref((a, b), axis=axis))
    G = R.standard_normal(ref((a, b), axis=axis).shape)
    g = grads(f"{fn}(a, b, axis={axis})", G, a=a, b=b)
    if fn == "concat":
        ga, gb = np.split(G, 2, axis=axis)
    else:
        ga, gb = np.take(G, 0, axis=axis), np.take(G, 1, axis=axis)
    np.testing.assert_array_equal(g["a"], ga)
    np.testing.assert_array_equal(g["b"], gb)


def test_concat_of_shapes_that_do_not_join_is_a_shape_error():
    e = error("a = ones(2, 3); b = ones(2, 2); c = concat(a, b)")
    assert e["type"] == "shape" and "every axis but the one joined" in e["message"]


def test_a_gradient_check_passes_through_the_new_ops():
    r = ok("seed 1; x = randn(4, 3); w = randn(3, 3); h = x @ w; "
           "L = sum(logsumexp(h, axis=1)) + sum(var(h, axis=0)) + sum(std(h[1:3], axis=1)) "
           "+ mean(where(h > 0, h, 0.1*h)) + sum(concat(h, x, axis=1)[:, 2:]**2); check L")
    assert r["passed"], r


# ---------------------------------------------------------------- keyword arguments


@pytest.mark.parametrize("src, at, words", [
    ("x = [1, 2]; z = sum(x, axis=0, foo=1)", "foo", "has no option 'foo'; it takes axis=, "
                                                     "keepdims="),
    ("x = [1, 2]; z = sum(x, keepdims=1)", "keepdims", "keepdims is True or False"),
    ("x = [1, 2]; z = sum(x, axis=0.5)", "axis", "must be a whole number"),
    ("x = [1, 2]; z = sigmoid(x, axis=1)", "axis", "takes no keyword arguments"),
    ("x = [1, 2]; z = sum(x=1)", "x=", "x is an input of sum"),
    ("x = [1, 2]; z = sum(x, 0, axis=0)", "axis", "axis is given twice"),
    ("x = [1, 2]; z = sum(axis=0, x)", "x)", "cannot follow 'axis='"),
    ("x = [1, 2]; z = sum(x, axis=0, axis=1)", "axis=1", "given twice"),
    ("x = [1, 2]; z = sum(x, axis=x)", "x)", "takes a number, True, False or None"),
    ("z = randn(2, seed=1)", "seed", "takes no keyword arguments"),
    ("def f(u) = u*2; z = f(u=1)", "u=1", "takes no keyword arguments"),
    ("x = [[1, 2]]; z = reshape(x, shape=2)", "shape", "reshape takes no keyword arguments"),
])
def test_keyword_arguments_are_refused_unless_the_op_declares_them(src, at, words):
    e = error(src)
    assert words in e["message"] and e["column"] == src.rindex(at) + 1, e


def test_keyword_spellings_print_back_as_written():
    s = Session()
    ok("x = [[1, 2], [3, 4]]; y = sum(x, axis=-1, keepdims=True) - x[:, 0:1]", s)
    rows = {v["name"]: v for v in ok("vars", s)["vars"]}
    assert rows["y"]["expr"] == "sum(x, axis=-1, keepdims=True) - x[:, 0:1]"
    np.testing.assert_array_equal(rows["y"]["value"], [[2.0], [4.0]])


def test_diff_refuses_array_options_clearly():
    e = error("diff sum(x, keepdims=True) wrt x")
    assert "works on arrays" in e["message"]
    e = error("diff x[0] wrt x")
    assert "indexing works on arrays" in e["message"]
    r = ok("diff where(x > 0, x, 0) wrt x")
    assert r["simplified"] == "1 if x > 0 else 0"


def test_max_of_a_scalar_points_to_maximum():
    e = error("x = 3; z = max(x, 0)")
    assert "maximum(x, 0)" in e["message"]
    assert ok("x = 3; z = maximum(x, 0)")["value"] == 3.0


# ---------------------------------------------------------------- constructors


def test_xavier_and_he_are_the_books_scaled_normal_draws():
    r = Session().run("seed 5; a = xavier(100, 30); b = he(50, 20); c = rand(2, 3)")
    rng = np.random.default_rng(5)
    np.testing.assert_array_equal(r[1]["value"],
                                  rng.standard_normal((100, 30)) * np.sqrt(1 / 100))
    np.testing.assert_array_equal(r[2]["value"], rng.standard_normal((50, 20)) * np.sqrt(2 / 50))
    np.testing.assert_array_equal(r[3]["value"], rng.random((2, 3)))


def test_eye_and_arange_are_numpys():
    np.testing.assert_array_equal(ok("eye(3)")["value"], np.eye(3))
    np.testing.assert_array_equal(ok("eye(2, 3)")["value"], np.eye(2, 3))
    np.testing.assert_array_equal(ok("arange(5)")["value"], np.arange(5.0))
    np.testing.assert_array_equal(ok("arange(1, 2, 0.25)")["value"], np.arange(1, 2, 0.25))
    np.testing.assert_array_equal(ok("arange(5, 1, -2)")["value"], [5.0, 3.0])


@pytest.mark.parametrize("src, words", [
    ("arange(0, 1, 0)", "step cannot be 0"),
    ("arange(0, 1e12)", "over the limit"),
    ("xavier(0, 3)", "n_in must be at least 1"),
    ("he(2)", "takes 2 arguments"),
])
def test_constructor_errors(src, words):
    assert words in error(src)["message"]
