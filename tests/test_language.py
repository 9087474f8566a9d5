"""The bpshell language through Session.run: bindings, literals, operators, commands, errors.

Expected values are computed here with plain Python/NumPy, never by the engine.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from bpshell.session import Session


def values(results: list[dict]) -> list:
    return [r.get("value") for r in results]


def var_table(s: Session) -> dict:
    """`vars` as {name: (kind, expr, value)} for comparing session states."""
    r = s.run("vars")[-1]
    assert r["ok"], r
    out = {}
    for v in r["vars"]:
        val = v["value"]
        out[v["name"]] = (v["kind"], v["expr"], None if val is None else np.array(val).tolist())
    funcs = {f["name"]: (tuple(f["params"]), f["expr"]) for f in r["functions"]}
    return {"vars": out, "functions": funcs}


# ---------------------------------------------------------------- result shape


def test_every_result_has_line_source_ok_kind(run):
    src = "a = 1\nb = a + 1; b\n# only a comment\ngrad b\nvars"
    rs = run(src)
    assert [r["kind"] for r in rs] == ["assign", "assign", "value", "grad", "vars"]
    assert [r["line"] for r in rs] == [1, 2, 2, 4, 5]
    assert [r["source"] for r in rs] == ["a = 1", "b = a + 1", "b", "grad b", "vars"]
    assert all(r["ok"] is True for r in rs)


def test_assign_result_fields_scalar(last):
    r = last("x = 3")
    assert r["kind"] == "assign"
    assert r["name"] == "x"
    assert type(r["value"]) is float and r["value"] == 3.0
    assert r["shape"] == []
    assert r["expr"] == "3"


def test_assign_result_fields_array(last):
    r = last("m = [[1, 2, 3], [4, 5, 6]]")
    assert isinstance(r["value"], np.ndarray)
    assert r["value"].dtype == np.float64
    assert r["shape"] == [2, 3]
    np.testing.assert_array_equal(r["value"], [[1, 2, 3], [4, 5, 6]])


def test_value_result_fields(last):
    r = last("2 + 3")
    assert r["kind"] == "value"
    assert "name" not in r
    assert type(r["value"]) is float and r["value"] == 5.0
    assert r["shape"] == []


def test_integer_inputs_are_float64(last):
    r = last("[1, 2] * [3, 4]")
    assert r["value"].dtype == np.float64
    r = last("7 / 2")
    assert r["value"] == 3.5


# ---------------------------------------------------------------- statements, comments


def test_semicolons_and_comments(run):
    rs = run("a = 1; b = 2  # a comment ; not a statement\nc = a + b # another")
    assert [r["source"] for r in rs] == ["a = 1", "b = 2", "c = a + b"]
    assert [r["column"] for r in rs] == [1, 8, 1]
    assert rs[-1]["value"] == 3.0


def test_blank_lines_and_comment_only_lines_give_no_results(run):
    rs = run("\n\n# nothing\n   \nx = 1\n\n")
    assert len(rs) == 1 and rs[0]["line"] == 5


def test_multiline_brackets_are_one_statement(run):
    rs = run("m = [[1, 2],\n     [3, 4]]\nsum(m)")
    assert len(rs) == 2
    assert rs[-1]["value"] == 10.0


def test_underscore_is_the_last_value(run):
    rs = run("2 * 21\n_ + 1")
    assert rs[-1]["value"] == 43.0


# ---------------------------------------------------------------- live definitions


def test_definitions_are_live(run):
    rs = run("x = 2; y = sigmoid(x); x = 0; y")
    assert rs[1]["value"] == pytest.approx(1 / (1 + math.exp(-2)))
    assert rs[-1]["value"] == 0.5


def test_live_definitions_follow_a_chain_of_names(run):
    rs = run("a = 1\nb = a * 10\nc = b + a\nc\na = 2\nc")
    assert rs[3]["value"] == 11.0
    assert rs[-1]["value"] == 22.0


def test_symbols_until_bound(run):
    rs = run("f = sigmoid(a) * b\nf\na = 0\nf\nb = 3\nf")
    assert rs[0]["ok"] and rs[0]["value"] is None
    assert rs[1]["value"] is None
    assert rs[3]["value"] is None  # b still unbound
    assert rs[-1]["value"] == pytest.approx(1.5)


def test_symbolic_definition_reports_its_symbols(last):
    r = last("f = sigmoid(a) * b")
    assert r["value"] is None
    assert sorted(r.get("symbols", [])) == ["a", "b"]


def test_rebinding_a_formula_to_a_constant(run):
    rs = run("x = 1\ny = x + 1\ny = 5\nx = 100\ny")
    assert rs[-1]["value"] == 5.0


def test_update_uses_current_values_and_makes_a_leaf(run):
    rs = run("w = 1\ndw = 0.5\nw = w - 0.1*dw\nw = w - 0.1*dw\ndw = 100\nw")
    assert rs[2]["value"] == pytest.approx(0.95)
    assert rs[3]["value"] == pytest.approx(0.90)
    # w is a leaf holding its value: changing dw afterwards does not change it
    assert rs[-1]["value"] == pytest.approx(0.90)


def test_update_of_an_array_weight(run):
    rs = run("W = [[1, 2], [3, 4]]\ndW = [[1, 1], [1, 1]]\nW = W - 0.5*dW\nW")
    np.testing.assert_allclose(rs[-1]["value"], [[0.5, 1.5], [2.5, 3.5]])


def test_update_with_gradient_from_grad_step(run):
    # a gradient-descent step written by hand: L = (w - 3)^2, dL/dw = 2(w - 3)
    s = Session()
    rs = s.run("w = 5\nL = (w - 3)^2\ng = 2*(w - 3)\nw = w - 0.25*g\nL")
    assert rs[3]["value"] == pytest.approx(4.0)
    assert rs[-1]["value"] == pytest.approx(1.0)


def test_update_through_another_definition(run):
    # y reads x, so `x = y * 2` reads x itself: x becomes a leaf holding 4, y follows it
    rs = run("x = 1\ny = x + 1\nx = y * 2\nx\ny")
    assert rs[2]["ok"]
    assert rs[3]["value"] == 4.0
    assert rs[4]["value"] == 5.0


def test_update_of_unbound_name_is_an_error(run):
    rs = run("q = q + 1")
    assert rs[0]["ok"] is False
    assert rs[0]["error"]["line"] == 1


# ---------------------------------------------------------------- literals and constructors


@pytest.mark.parametrize("text, expected", [
    ("0", 0.0), ("42", 42.0), ("1.5", 1.5), ("1e-3", 1e-3), ("2E3", 2000.0),
    (".5", 0.5), ("1.5e+2", 150.0), ("3.", 3.0),
])
def test_number_literals(last, text, expected):
    r = last(text)
    assert type(r["value"]) is float
    assert r["value"] == expected


def test_nested_array_literals(last):
    r = last("[[[1, 2], [3, 4]], [[5, 6], [7, 8]]]")
    assert r["shape"] == [2, 2, 2]
    np.testing.assert_array_equal(r["value"], np.arange(1, 9).reshape(2, 2, 2))


def test_array_literal_number_forms(last):
    r = last("[-2, 4, +3, 1e-3, .5, 2.]")
    np.testing.assert_allclose(r["value"], [-2, 4, 3, 1e-3, 0.5, 2.0])


def test_array_literal_with_trailing_comma_and_spaces(last):
    r = last("[ [1 , 2 ,] ,\n [3, 4] ]")
    np.testing.assert_array_equal(r["value"], [[1, 2], [3, 4]])


def test_zeros_ones_shapes(run):
    rs = run("zeros(2, 3)\nones(3)\nzeros(4)\nones(1, 2)")
    np.testing.assert_array_equal(rs[0]["value"], np.zeros((2, 3)))
    np.testing.assert_array_equal(rs[1]["value"], np.ones(3))
    assert rs[2]["shape"] == [4]
    assert rs[3]["shape"] == [1, 2]


def test_linspace(run):
    rs = run("linspace(0, 2, 5)\nlinspace(0, 2, 50)\nlinspace(-1, 1)")
    np.testing.assert_allclose(rs[0]["value"], [0, 0.5, 1, 1.5, 2])
    np.testing.assert_allclose(rs[1]["value"], np.linspace(0, 2, 50))
    assert rs[2]["shape"] == [50]
    assert rs[2]["value"][0] == -1 and rs[2]["value"][-1] == 1


def test_onehot(run):
    rs = run("onehot([0, 2, 1], 3)\nlab = [1, 0]\nonehot(lab, 2)")
    np.testing.assert_array_equal(rs[0]["value"], [[1, 0, 0], [0, 0, 1], [0, 1, 0]])
    np.testing.assert_array_equal(rs[-1]["value"], [[0, 1], [1, 0]])


def test_onehot_rejects_labels_out_of_range(run):
    r = run("onehot([0, 3], 3)")[0]
    assert r["ok"] is False
    assert r["error"]["line"] == 1 and r["error"]["column"] is not None


def test_randn_shape_and_distribution(last):
    r = last("seed 1\nr = randn(200, 50)")
    v = r["value"]
    assert v.shape == (200, 50) and v.dtype == np.float64
    assert abs(v.mean()) < 0.05
    assert abs(v.std() - 1) < 0.05


def test_seed_makes_random_values_reproducible(run):
    rs = run("seed 0\na = randn(3, 2)\nb = randn(4)\nseed 0\nc = randn(3, 2)\nd = randn(4)")
    np.testing.assert_array_equal(rs[1]["value"], rs[4]["value"])
    np.testing.assert_array_equal(rs[2]["value"], rs[5]["value"])
    # successive draws continue the stream rather than repeating it
    assert not np.array_equal(rs[1]["value"].ravel()[:4], rs[2]["value"])


def test_seed_reproducible_across_sessions(run):
    a = run("seed 7\nrandn(5)")[-1]["value"]
    b = run("seed 7\nrandn(5)")[-1]["value"]
    c = run("seed 8\nrandn(5)")[-1]["value"]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_random_values_are_drawn_once(run):
    # a definition using randn keeps its draw: reading it twice gives the same numbers
    rs = run("seed 0\nr = randn(3)\nr\nr")
    np.testing.assert_array_equal(rs[1]["value"], rs[2]["value"])
    np.testing.assert_array_equal(rs[2]["value"], rs[3]["value"])


# ---------------------------------------------------------------- operators


@pytest.mark.parametrize("text, expected", [
    ("1 + 2 * 3", 7.0),
    ("(1 + 2) * 3", 9.0),
    ("7 - 2 - 1", 4.0),
    ("8 / 4 / 2", 1.0),
    ("2 ** 3", 8.0),
    ("2 ^ 3", 8.0),
    ("2 ^ 3 ^ 2", 512.0),  # right-associative, as in mathematics and Python
    ("2 ** 3 ** 2", 512.0),
    ("-2 ^ 2", -4.0),  # unary minus binds looser than power
    ("(-2) ^ 2", 4.0),
    ("-3 + 5", 2.0),
    ("--3", 3.0),
    ("2 * -3", -6.0),
    ("2 ^ -1", 0.5),
    ("+4", 4.0),
])
def test_scalar_operators(last, text, expected):
    assert last(text)["value"] == pytest.approx(expected)


def test_matmul_and_transpose(run):
    a = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    b = np.array([[1.0, 0.0], [2.0, 1.0], [0.0, 3.0]])
    rs = run(f"A = {a.tolist()}\nB = {b.tolist()}\nA @ B\nA.T\nA @ A.T\n(A @ B).T\nB.T.T")
    np.testing.assert_allclose(rs[2]["value"], a @ b)
    np.testing.assert_allclose(rs[3]["value"], a.T)
    np.testing.assert_allclose(rs[4]["value"], a @ a.T)
    np.testing.assert_allclose(rs[5]["value"], (a @ b).T)
    np.testing.assert_allclose(rs[6]["value"], b)


def test_matmul_vector_cases(run):
    rs = run("v = [1, 2, 3]\nM = [[1, 2], [3, 4], [5, 6]]\nv @ M\nM.T @ v\nv @ v")
    m = np.array([[1, 2], [3, 4], [5, 6]], float)
    v = np.array([1, 2, 3], float)
    np.testing.assert_allclose(rs[2]["value"], v @ m)
    np.testing.assert_allclose(rs[3]["value"], m.T @ v)
    assert type(rs[4]["value"]) is float and rs[4]["value"] == 14.0


def test_matmul_binds_like_multiplication(run):
    rs = run("A = [[1, 2], [3, 4]]\nA @ A + A\n2 * A @ A")
    a = np.array([[1, 2], [3, 4]], float)
    np.testing.assert_allclose(rs[1]["value"], a @ a + a)
    np.testing.assert_allclose(rs[2]["value"], (2 * a) @ a)


def test_transpose_binds_tighter_than_unary_minus_and_power(run):
    rs = run("A = [[1, 2], [3, 4]]\n-A.T\nA.T ^ 2")
    a = np.array([[1, 2], [3, 4]], float)
    np.testing.assert_allclose(rs[1]["value"], -(a.T))
    np.testing.assert_allclose(rs[2]["value"], a.T ** 2)


def test_broadcasting(run):
    rs = run("X = [[1, 2, 3], [4, 5, 6]]\nb = [10, 20, 30]\nX + b\nX * 2\n"
             "c = [[1], [2]]\nX - c\nc * b\n1 / X")
    x = np.array([[1, 2, 3], [4, 5, 6]], float)
    b = np.array([10, 20, 30], float)
    c = np.array([[1], [2]], float)
    np.testing.assert_allclose(rs[2]["value"], x + b)
    np.testing.assert_allclose(rs[3]["value"], x * 2)
    np.testing.assert_allclose(rs[5]["value"], x - c)
    np.testing.assert_allclose(rs[6]["value"], c * b)
    np.testing.assert_allclose(rs[7]["value"], 1 / x)


def test_elementwise_power_of_array(run):
    rs = run("v = [1, 2, 3]\nv ^ 2\n2 ** v\nv ** v")
    v = np.array([1, 2, 3], float)
    np.testing.assert_allclose(rs[1]["value"], v**2)
    np.testing.assert_allclose(rs[2]["value"], 2.0**v)
    np.testing.assert_allclose(rs[3]["value"], v**v)


# ---------------------------------------------------------------- functions (forward values)


def _np_sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _np_softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


X_VALUES = [-2.0, -0.5, 0.0, 0.3, 1.7]
ELEMENTWISE = {
    "exp": np.exp,
    "sin": np.sin,
    "cos": np.cos,
    "tanh": np.tanh,
    "abs": np.abs,
    "sigmoid": _np_sigmoid,
    "relu": lambda x: np.where(x > 0, x, 0.0),
    "leaky_relu": lambda x: np.where(x > 0, x, 0.01 * x),
    "softplus": lambda x: np.log1p(np.exp(x)),
}


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_elementwise_function_values(run, name):
    x = np.array(X_VALUES)
    rs = run(f"x = {X_VALUES}\n{name}(x)\n{name}(0.3)")
    np.testing.assert_allclose(rs[1]["value"], ELEMENTWISE[name](x), rtol=1e-12, atol=1e-15)
    assert type(rs[2]["value"]) is float
    assert rs[2]["value"] == pytest.approx(float(ELEMENTWISE[name](np.array(0.3))), rel=1e-12)


def test_log_and_sqrt_values(run):
    x = np.array([0.1, 1.0, 2.5, 9.0])
    rs = run(f"x = {x.tolist()}\nlog(x)\nsqrt(x)")
    np.testing.assert_allclose(rs[1]["value"], np.log(x), rtol=1e-12)
    np.testing.assert_allclose(rs[2]["value"], np.sqrt(x), rtol=1e-12)


def test_leaky_relu_slope_argument(run):
    rs = run("x = [-2, 3]\nleaky_relu(x, 0.2)\nleaky_relu(x)\ns = 0.5\nleaky_relu(x, s)")
    np.testing.assert_allclose(rs[1]["value"], [-0.4, 3.0])
    np.testing.assert_allclose(rs[2]["value"], [-0.02, 3.0])
    np.testing.assert_allclose(rs[4]["value"], [-1.0, 3.0])


def test_sum_and_mean_with_and_without_axis(run):
    x = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 7.0]])
    rs = run(f"X = {x.tolist()}\nsum(X)\nsum(X, 0)\nsum(X, 1)\nmean(X)\nmean(X, 0)\n"
             "mean(X, 1)\nsum(X, -1)")
    assert type(rs[1]["value"]) is float and rs[1]["value"] == 22.0
    np.testing.assert_allclose(rs[2]["value"], x.sum(0))
    np.testing.assert_allclose(rs[3]["value"], x.sum(1))
    assert rs[4]["value"] == pytest.approx(x.mean())
    np.testing.assert_allclose(rs[5]["value"], x.mean(0))
    np.testing.assert_allclose(rs[6]["value"], x.mean(1))
    np.testing.assert_allclose(rs[7]["value"], x.sum(-1))


def test_softmax_and_log_softmax_values(run):
    x = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 0.0]])
    rs = run(f"X = {x.tolist()}\nsoftmax(X)\nlog_softmax(X)\nsoftmax([1, 2, 3])")
    np.testing.assert_allclose(rs[1]["value"], _np_softmax(x), rtol=1e-12)
    np.testing.assert_allclose(rs[2]["value"], np.log(_np_softmax(x)), rtol=1e-12)
    np.testing.assert_allclose(rs[3]["value"], _np_softmax(np.array([1.0, 2, 3])), rtol=1e-12)


def test_cross_entropy_is_the_books(run):
    # the book: -np.sum(t * np.log(y + 1e-7)) / batch_size, labels via y[arange(N), t]
    y = np.array([[0.1, 0.6, 0.3], [0.8, 0.1, 0.1]])
    t = np.array([[0, 1, 0], [1, 0, 0]], float)
    expected = -np.sum(t * np.log(y + 1e-7)) / 2
    rs = run(f"y = {y.tolist()}\nt = {t.tolist()}\ncross_entropy(y, t)\n"
             "cross_entropy(y, [1, 0])\ncross_entropy([0.1, 0.9], [0, 1])")
    assert rs[2]["value"] == pytest.approx(expected, rel=1e-12)
    assert rs[3]["value"] == pytest.approx(expected, rel=1e-12)
    assert rs[4]["value"] == pytest.approx(-np.log(0.9 + 1e-7), rel=1e-12)


def test_softmax_cross_entropy_is_the_books(run):
    x = np.array([[0.3, 2.9, 4.0], [1.0, -1.0, 0.5]])
    t = np.array([[0, 0, 1], [1, 0, 0]], float)
    expected = -np.sum(t * np.log(_np_softmax(x))) / 2
    rs = run(f"x = {x.tolist()}\nt = {t.tolist()}\nsoftmax_cross_entropy(x, t)\n"
             "softmax_cross_entropy(x, [2, 0])")
    assert rs[2]["value"] == pytest.approx(expected, rel=1e-12)
    assert rs[3]["value"] == pytest.approx(expected, rel=1e-12)


def test_mse_is_the_books(run):
    y = np.array([0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0])
    t = np.array([0, 0, 1, 0, 0, 0, 0, 0, 0, 0], float)
    rs = run(f"mse({y.tolist()}, {t.tolist()})")
    # the book's worked example gives 0.0975
    assert rs[0]["value"] == pytest.approx(0.5 * np.sum((y - t) ** 2))
    assert rs[0]["value"] == pytest.approx(0.0975)


def test_functions_compose(run):
    rs = run("x = 0.7\nexp(log(x))\nsqrt(x^2)\ntanh(sigmoid(relu(x)))")
    assert rs[1]["value"] == pytest.approx(0.7)
    assert rs[2]["value"] == pytest.approx(0.7)
    assert rs[3]["value"] == pytest.approx(math.tanh(1 / (1 + math.exp(-0.7))))


# ---------------------------------------------------------------- user functions


def test_def_function_usable_everywhere(run):
    rs = run("def swish(u) = u * sigmoid(u)\nswish(1.5)\nx = [-1, 0, 2]\ny = swish(x)\n"
             "z = swish(swish(0.5)) + 1")
    assert rs[0]["ok"] and rs[0]["kind"] == "def"
    assert rs[1]["value"] == pytest.approx(1.5 / (1 + math.exp(-1.5)))
    x = np.array([-1.0, 0.0, 2.0])
    np.testing.assert_allclose(rs[3]["value"], x * _np_sigmoid(x))
    inner = 0.5 * _np_sigmoid(0.5)
    assert rs[4]["value"] == pytest.approx(inner * _np_sigmoid(inner) + 1)


def test_def_with_several_parameters_and_arrays(run):
    rs = run("def affine(x, W, b) = x @ W + b\nX = [[1, 2], [3, 4]]\nW = [[1, 0, 2], [0, 1, 1]]\n"
             "affine(X, W, [1, 1, 1])")
    x = np.array([[1, 2], [3, 4]], float)
    w = np.array([[1, 0, 2], [0, 1, 1]], float)
    np.testing.assert_allclose(rs[-1]["value"], x @ w + 1)


def test_def_can_call_an_earlier_def(run):
    rs = run("def sq(u) = u * u\ndef quad(u) = sq(sq(u))\nquad(3)")
    assert rs[-1]["value"] == 81.0


def test_def_is_live_for_formulas_that_use_it(run):
    rs = run("def f(u) = u + 1\nx = 2\ny = f(x)\ny\ndef f(u) = u + 10\ny")
    assert rs[2]["value"] == 3.0
    assert rs[-1]["value"] == 12.0


def test_recursive_def_is_an_error(run):
    r = run("def f(u) = f(u) + 1")[0]
    assert r["ok"] is False and r["error"]["line"] == 1


# ---------------------------------------------------------------- grad


def test_grad_of_scalar_gives_every_named_dependency(run):
    rs = run("x = 2\nh = x * x\ny = sin(h)\ngrad y")
    g = rs[-1]
    assert g["kind"] == "grad" and g["of"] == "y"
    assert g["value"] == pytest.approx(math.sin(4))
    assert set(g["grads"]) == {"x", "h"}
    assert g["grads"]["h"] == pytest.approx(math.cos(4))
    assert g["grads"]["x"] == pytest.approx(math.cos(4) * 4)
    assert type(g["grads"]["x"]) is float


def test_grad_wrt_selects_names(run):
    rs = run("a = 2\nb = 3\nc = 5\nf = a*b + c*a\ngrad f wrt a, c\ngrad f wrt b")
    assert set(rs[-2]["grads"]) == {"a", "c"}
    assert rs[-2]["grads"]["a"] == pytest.approx(8.0)
    assert rs[-2]["grads"]["c"] == pytest.approx(2.0)
    assert rs[-1]["grads"] == {"b": pytest.approx(2.0)}


def test_grad_of_array_uses_ones_upstream(run):
    x = np.array([1.0, -2.0, 3.0])
    rs = run(f"x = {x.tolist()}\ny = x * x\ngrad y")
    np.testing.assert_allclose(rs[-1]["grads"]["x"], 2 * x)
    assert rs[-1]["grads"]["x"].dtype == np.float64


def test_grad_with_upstream_expression(run):
    x = np.array([1.0, -2.0, 3.0])
    rs = run(f"x = {x.tolist()}\ny = x * x\nu = [1, 10, 100]\ngrad y with u\n"
             "grad y with 2*u")
    np.testing.assert_allclose(rs[3]["grads"]["x"], 2 * x * [1, 10, 100])
    np.testing.assert_allclose(rs[4]["grads"]["x"], 4 * x * [1, 10, 100])


def test_grad_with_on_scalar(run):
    rs = run("a = 3\nc = a * a + a\ngrad c with 2")
    assert rs[-1]["grads"]["a"] == pytest.approx(14.0)


def test_grad_with_wrong_shape_is_an_error(run):
    rs = run("x = [1, 2, 3]\ny = x * x\ngrad y with [1, 2]")
    assert rs[-1]["ok"] is False
    assert rs[-1]["error"]["type"] == "shape"
    assert rs[-1]["error"]["line"] == 3


def test_a_name_used_twice_accumulates(run):
    rs = run("a = 3\nb = a*a + a\ngrad b")
    assert rs[-1]["grads"]["a"] == pytest.approx(2 * 3 + 1)


def test_accumulation_through_shared_intermediate(run):
    # h is used three times: y = h*h + exp(h) + h, dy/dh = 2h + e^h + 1
    rs = run("x = 0.4\nh = 2*x\ny = h*h + exp(h) + h\ngrad y")
    h = 0.8
    assert rs[-1]["grads"]["h"] == pytest.approx(2 * h + math.exp(h) + 1)
    assert rs[-1]["grads"]["x"] == pytest.approx(2 * (2 * h + math.exp(h) + 1))


def test_grad_after_rebinding_uses_new_values(run):
    rs = run("x = 2\ny = x ^ 3\ngrad y\nx = -1\ngrad y")
    assert rs[2]["grads"]["x"] == pytest.approx(12.0)
    assert rs[-1]["grads"]["x"] == pytest.approx(3.0)


def test_grad_of_unknown_name_is_an_error(run):
    r = run("grad nothing")[0]
    assert r["ok"] is False and r["error"]["type"] == "name"


def test_grad_of_name_that_does_not_depend_on_wrt(run):
    rs = run("a = 1\nb = 2\nf = a * 3\ngrad f wrt b")
    assert rs[-1]["ok"]
    assert rs[-1]["grads"]["b"] == 0.0


# ---------------------------------------------------------------- vars, del, reset


def test_vars_lists_leaves_formulas_symbols_and_functions(run):
    rs = run("a = 1\nb = a + 1\nc = q * 2\ndef f(u) = u + 1\nvars")
    v = rs[-1]
    assert v["kind"] == "vars"
    by = {x["name"]: x for x in v["vars"]}
    assert set(by) == {"a", "b", "c"}
    assert by["a"]["value"] == 1.0
    assert by["b"]["value"] == 2.0
    assert by["c"]["value"] is None
    assert [f["name"] for f in v["functions"]] == ["f"]


def test_del_removes_a_name_and_dependents_become_symbolic(run):
    rs = run("a = 1\nb = a + 1\ndel a\nb\nvars\na = 5\nb")
    assert rs[2]["ok"]
    assert rs[3]["value"] is None
    assert {x["name"] for x in rs[4]["vars"]} == {"b"}
    assert rs[-1]["value"] == 6.0


def test_del_several_names_and_a_function(run):
    rs = run("a = 1\nb = 2\ndef f(u) = u\ndel a, b\ndel f\nvars\nf(1)")
    assert rs[5]["vars"] == [] and rs[5]["functions"] == []
    assert rs[-1]["ok"] is False


def test_del_unknown_is_an_error(run):
    r = run("del nothing")[0]
    assert r["ok"] is False and r["error"]["type"] == "name"


def test_reset_forgets_everything(run):
    rs = run("a = 1\ndef f(u) = u\nreset\nvars\na")
    assert rs[3]["vars"] == [] and rs[3]["functions"] == []
    assert rs[-1]["value"] is None  # a is a symbol again


# ---------------------------------------------------------------- all or nothing


BAD_STATEMENTS = [
    "a = [1, 2] @ [1, 2, 3]",  # shape error on a rebinding
    "w = w @ [[1, 2, 3]]",  # shape error in an update
    "b = a + undefined_function(1)",
    "a = 1 +",
    "del a, nothing",  # one good name, one bad: nothing is deleted
    "def f(u) = f(u)",
    "def a(u) = u",  # a names a value
    "sigmoid = 3",
    "grad w with [1, 2, 3]",
    "m = zeros(2, 2) + ones(3)",
    "seed -1",
]


@pytest.mark.parametrize("bad", BAD_STATEMENTS)
def test_a_failing_statement_changes_nothing(bad):
    s = Session()
    assert all(r["ok"] for r in s.run("a = 1\nw = [1, 2]\nb = a + sum(w)\ndef g(u) = u + a"))
    before = var_table(s)
    r = s.run(bad)[-1]
    assert r["ok"] is False, r
    assert var_table(s) == before
    # and the session keeps working
    rs = s.run("a = 10\nb\ng(1)")
    assert [r["value"] for r in rs] == [10.0, 13.0, 11.0]


def test_a_failing_statement_does_not_advance_the_random_generator():
    s = Session()
    first = s.run("seed 0\nr = randn(3)")[-1]["value"]
    s2 = Session()
    s2.run("seed 0")
    bad = s2.run("bad = randn(2, 2) @ ones(3)")[-1]
    assert bad["ok"] is False
    after = s2.run("r = randn(3)")[-1]["value"]
    np.testing.assert_array_equal(after, first)


def test_failing_line_in_a_block_keeps_earlier_and_later_lines(run):
    rs = run("a = 1\nb = a +\nc = a + 1")
    assert [r["ok"] for r in rs] == [True, False, True]
    assert rs[-1]["value"] == 2.0


def test_run_stops_at_the_first_error_when_asked():
    rs = Session().run("a = 1\nb = a +\nc = 2", keep_going=False)
    assert [r["ok"] for r in rs] == [True, False]


# ---------------------------------------------------------------- bad input


def _error(run, src: str) -> dict:
    rs = run(src)
    bad = [r for r in rs if not r["ok"]]
    assert bad, rs
    r = bad[0]
    assert r["kind"] == "error"
    e = r["error"]
    assert set(e) >= {"type", "message", "line", "column"}
    assert isinstance(e["message"], str) and e["message"]
    return e


# (source, line, column) of the offending spot
BAD_INPUT = [
    ("y = __import__('os')", 1, 5),
    ("y = __import__", 1, 5),
    ("x = 1\ny = x.__class__", 2, 7),
    ("x = 1\ny = x.__class__.__bases__", 2, 7),
    ("x = 1\ny = x.T.foo", 2, 9),
    ("f = lambda: 1", 1, 5),
    ("z = (lambda u: u)(1)", 1, 6),
    ("z = [i for i in [1, 2]]", 1, 8),
    ("z = 'abc'", 1, 5),
    ('z = "abc"', 1, 5),
    ("z = 1 +", 1, 8),
    ("z = (1 + 2", 1, 5),
    ("z = 1 + 2)", 1, 10),
    ("z = 1 2", 1, 7),
    ("z = {1: 2}", 1, 5),
    ("import os", 1, 1),
    ("z = foo(1)", 1, 5),
    ("a = 1\n  b = a + 1 + qqq(2)", 2, 15),
    ("z = 1 $ 2", 1, 7),
    ("x = 1\nz = x[0]", 2, 6),
    ("z = sum(x=1)", 1, 9),
    ("_x = 1", 1, 1),
    ("A = ones(2, 3)\nB = ones(2, 3)\nC = A @ B", 3, 7),
    ("z = [1, 2] + [1, 2, 3]", 1, 12),
    ("a = 1; b = 2; c = a + ; d = 4", 1, 23),
    ("diff x wrt", 1, 11),
    ("a = 1; grad nothing", 1, 8),
    ("grad", 1, 5),
]


@pytest.mark.parametrize("src, line, column", BAD_INPUT)
def test_bad_input_gives_error_with_position(run, src, line, column):
    e = _error(run, src)
    assert (e["line"], e["column"]) == (line, column), e


@pytest.mark.parametrize("src, kind", [
    ("z = foo(1)", "name"),
    ("z = 'abc'", "syntax"),
    ("z = lambda: 1", "syntax"),
    ("z = [1, 2] + [1, 2, 3]", "shape"),
    ("z = [[1, 2], [3]]", "shape"),
    ("grad nothing", "name"),
])
def test_error_types(run, src, kind):
    assert _error(run, src)["type"] == kind


def test_unknown_name_inside_grad_target_and_wrt(run):
    rs = run("a = 1\nf = a * 2\ngrad f wrt zzz")
    assert rs[-1]["ok"] is False
    assert rs[-1]["error"]["type"] == "name"
    assert "zzz" in rs[-1]["error"]["message"]


def test_wrong_number_of_arguments(run):
    for src in ("relu()", "relu(1, 2)", "softmax_cross_entropy([1, 2])", "leaky_relu(1, 2, 3)",
                "def f(u) = u\nf(1, 2)"):
        e = _error(run, src)
        assert e["line"] is not None and e["column"] is not None, (src, e)


def test_reserved_words_cannot_be_assigned(run):
    for src in ("grad = 1", "sigmoid = 1", "randn = 1", "def exp(u) = u"):
        e = _error(run, src)
        assert e["line"] == 1, src


def test_nothing_raises_out_of_run():
    nasty = [
        "", ";;;", "(((((", ")))", "[[[", "]]]", "= 1", "1 = x", "x = = 1", "@", ".T",
        "x.T", "def", "def (u) = u", "def f(u, u) = u", "def f(u) =", "grad x wrt",
        "grad x with", "check", "tree", "diff", "diff x", "seed", "seed x", "del", "\x00",
        "x = 1e999999", "x = 10 ** 10 ** 10", "[]", "zeros(-1)", "ones(2.5)",
        "linspace(0, 1, -3)", "onehot([0.5], 2)", "x = é", "sum(1, 2, 3)", "mean([1, 2], 5)",
        "x = [1, 2]\nsum(x, 3)", "exp", "x = exp + 1", "ones(2) @ 3",
        "x ** ** 2", "1 +* 2", "(1,2)", "[1,,2]", "f(", "x = 1 # ok\ny = (",
    ]
    s = Session()
    for src in nasty:
        rs = s.run(src)
        for r in rs:
            assert r["ok"] in (True, False)
            if not r["ok"]:
                assert r["error"]["message"]
                assert r["error"]["line"] is not None, (src, r)
    assert s.run("1 + 1")[-1]["value"] == 2.0


def test_error_positions_in_a_multiline_script(run):
    rs = run("a = 1\nb = 2\n\n# comment\nc = a + b +\nd = 4")
    bad = [r for r in rs if not r["ok"]][0]
    assert bad["line"] == 5
    assert bad["error"]["line"] == 5
    assert bad["error"]["column"] == 12
    assert rs[-1]["ok"] and rs[-1]["value"] == 4.0
