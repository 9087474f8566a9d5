"""codegen: the NumPy layers and the PyTorch function generated for a graph.

Each test runs the generated code and checks it against oracles that do not come from the
generator: the book's numbers, closed forms written out here, central differences of the
generated forward, and bpshell's own backward pass.
"""

from __future__ import annotations

import importlib.util
import itertools
import math
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from bpshell.codegen.common import write_code
from bpshell.codegen.numpy_layers import numpy_module
from bpshell.codegen.torch_code import torch_module
from bpshell.errors import BpError, FileError
from bpshell.ops.table import Op
from bpshell.session import Session

_count = itertools.count()


def example(name: str, stop: str) -> str:
    """An example script up to the statement `stop` (its grad and tree are not needed)."""
    with open(f"examples/{name}.bp", encoding="utf-8") as f:
        return f.read().split(stop)[0]


def session(src: str) -> Session:
    s = Session()
    for r in s.run(src):
        assert r["ok"], r
    return s


def load(text: str, folder) -> object:
    """Import generated source as a fresh module (tests may run generated code)."""
    path = os.path.join(str(folder), f"generated_{next(_count)}.py")
    write_code(text, path)
    spec = importlib.util.spec_from_file_location(f"generated_{next(_count)}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def generate(src: str, name: str, folder):
    """bpshell's plan, value and gradients for name, and the generated module loaded."""
    s = session(src)
    plan, _, grads = s.gradients(name)
    text = numpy_module(plan, name)
    return s, plan, grads, text, load(text, folder)


def run(module, dout=1.0, **leaves):
    g = module.Graph()
    out = g.forward(**leaves)
    return out, g.backward(dout)


def numeric_grads(module, values: dict, dout, h: float = 1e-6) -> dict:
    """Central differences of sum(dout * forward) for each leaf: an oracle for backward."""
    values = {k: np.array(v, dtype=np.float64) for k, v in values.items()}

    def f(vals):
        return float(np.sum(np.asarray(dout) * module.Graph().forward(**vals)))

    out = {}
    for name, v in values.items():
        g = np.zeros_like(v)
        for idx in np.ndindex(v.shape):
            step = h * max(1.0, abs(float(v[idx])))
            up, down = v.copy(), v.copy()
            up[idx] += step
            down[idx] -= step
            g[idx] = (f({**values, name: up}) - f({**values, name: down})) / (2 * step)
        out[name] = g
    return out


def same_as_bpshell(plan, grads, module, out, got):
    """The generated output and every leaf gradient equal bpshell's."""
    np.testing.assert_allclose(out, plan.values[plan.graph.root], rtol=1e-12, atol=1e-300)
    leaves = set(module.NAMES)
    expected = {k: v for k, v in grads.items() if k in leaves}
    assert set(got) == set(expected)
    for k, v in expected.items():
        np.testing.assert_allclose(got[k], v, rtol=1e-10, atol=1e-12, err_msg=k)


def ruff_clean(text: str, folder) -> None:
    if shutil.which("ruff") is None and importlib.util.find_spec("ruff") is None:
        pytest.skip("ruff is not installed")
    path = os.path.join(str(folder), f"lint_{next(_count)}.py")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    r = subprocess.run([sys.executable, "-m", "ruff", "check", "--isolated", "--select",
                        "E,F,W,I,B,UP,SIM", "--line-length", "100", path],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def method(text: str, cls: str, name: str) -> str:
    """The source of one method of one generated class."""
    body = text.split(f"class {cls}:")[1].split("\nclass ")[0]
    return body.split(f"def {name}(")[1].split("\n    def ")[0]


# ---------------------------------------------------------------- the book's graphs


def test_apple_gives_the_books_numbers(tmp_path):
    src = example("apple", "grad price")
    s, plan, grads, text, m = generate(src, "price", tmp_path)
    out, got = run(m)
    assert out == pytest.approx(220.0)
    assert got["apple"] == pytest.approx(2.2)
    assert got["n"] == pytest.approx(110.0)
    assert got["tax"] == pytest.approx(200.0)
    same_as_bpshell(plan, grads, m, out, got)
    assert "class MulLayer:" in text
    assert "dx = _unbroadcast(dout * self.y," in text  # the book's: dx = dout * self.y
    ruff_clean(text, tmp_path)


def test_apple_and_orange_add_layer(tmp_path):
    src = example("add_mul", "grad price")
    s, plan, grads, text, m = generate(src, "price", tmp_path)
    out, got = run(m)
    assert out == pytest.approx(715.0)
    expected = {"apple": 2.2, "apple_num": 110.0, "orange": 3.3, "orange_num": 165.0,
                "tax": 650.0}
    for k, v in expected.items():
        assert got[k] == pytest.approx(v), k
    assert "class AddLayer:" in text
    ruff_clean(text, tmp_path)


def _sigmoid(x):
    with np.errstate(over="ignore"):  # exp(1000) is inf, and 1/inf the right 0
        return 1.0 / (1.0 + np.exp(-x))


@pytest.mark.parametrize("body", ["sigmoid(x)", "1 / (1 + exp(-x))"])
def test_sigmoid_as_one_node_and_from_nodes(tmp_path, body):
    s, plan, grads, text, m = generate(f"x = 2; y = {body}", "y", tmp_path)
    out, got = run(m)
    y = _sigmoid(2.0)
    assert out == pytest.approx(y, rel=1e-14)
    assert got["x"] == pytest.approx(y * (1 - y), rel=1e-12)  # the closed form
    same_as_bpshell(plan, grads, m, out, got)
    for x in (-3.0, 0.25, 5.0):
        out, got = run(m, x=x)
        assert got["x"] == pytest.approx(_sigmoid(x) * (1 - _sigmoid(x)), rel=1e-9)
    ruff_clean(text, tmp_path)


def test_sigmoid_backward_uses_the_output(tmp_path):
    *_, text, m = generate("x = [-1000.0, -2.0, 0.0, 3.0, 1000.0]; y = sigmoid(x)", "y",
                           tmp_path)
    backward = method(text, "Sigmoid", "backward")
    assert "self.out" in backward and "self.x" not in backward
    assert "self.out = out" in method(text, "Sigmoid", "forward")
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # stable at +-1000
        out, got = run(m)
    x = np.array([-1000.0, -2.0, 0.0, 3.0, 1000.0])
    np.testing.assert_allclose(out, [0.0, _sigmoid(-2.0), 0.5, _sigmoid(3.0), 1.0], atol=1e-300)
    np.testing.assert_allclose(got["x"], _sigmoid(x) * (1 - _sigmoid(x)), atol=1e-300)


def test_relu_keeps_a_mask(tmp_path):
    s, plan, grads, text, m = generate("x = [[1.0, -0.5], [-2.0, 3.0]]; y = relu(x)", "y",
                                       tmp_path)
    assert "self.mask = (x <= 0)" in method(text, "Relu", "forward")
    assert "self.mask" in method(text, "Relu", "backward")
    out, got = run(m, dout=np.array([[10.0, 20.0], [30.0, 40.0]]))
    np.testing.assert_array_equal(out, [[1.0, 0.0], [0.0, 3.0]])
    np.testing.assert_array_equal(got["x"], [[10.0, 0.0], [0.0, 40.0]])  # the book's 5.6.1
    _, at_zero = run(m, x=np.array([0.0, 2.0]), dout=np.ones(2))
    np.testing.assert_array_equal(at_zero["x"], [0.0, 1.0])  # relu'(0) = 0, as PyTorch
    ruff_clean(text, tmp_path)


def test_batch_affine(tmp_path):
    src = "X = [[1, 2], [3, 4]]; W = [[0.5], [-1]]; b = [0.1]; Y = X @ W + b"
    s, plan, grads, text, m = generate(src, "Y", tmp_path)
    assert "class Affine:" in text
    assert "dW = np.dot(self.x.T, dout)" in text and "db = np.sum(dout, axis=0)" in text
    out, got = run(m, dout=np.array([[1.0], [1.0]]))
    np.testing.assert_allclose(out, [[-1.4], [-2.4]])
    np.testing.assert_allclose(got["X"], [[0.5, -1.0], [0.5, -1.0]])
    np.testing.assert_allclose(got["W"], [[4.0], [6.0]])
    np.testing.assert_allclose(got["b"], [2.0])
    out, got = run(m)
    same_as_bpshell(plan, grads, m, out, got)
    ruff_clean(text, tmp_path)


def test_affine_with_three_rows(tmp_path):
    src = example("affine", "grad Y")
    s, plan, grads, text, m = generate(src, "Y", tmp_path)
    out, got = run(m)
    same_as_bpshell(plan, grads, m, out, got)
    X = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    W = np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])
    np.testing.assert_allclose(got["X"], np.ones((3, 3)) @ W.T)
    np.testing.assert_allclose(got["W"], X.T @ np.ones((3, 3)))
    np.testing.assert_allclose(got["b"], [3.0, 3.0, 3.0])


def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@pytest.mark.parametrize("targets", ["onehot([2, 0], 3)", "[2, 0]"])
def test_softmax_with_loss(tmp_path, targets):
    src = f"x = [[0.3, 2.9, 4.0], [1.0, 0.5, 0.2]]; t = {targets}; " \
          "loss = softmax_cross_entropy(x, t)"
    s, plan, grads, text, m = generate(src, "loss", tmp_path)
    assert "class SoftmaxWithLoss:" in text
    assert "dout * (self.y - self.t) / self.batch_size" in text  # the book's (y - t) / N
    out, got = run(m)
    x = np.array([[0.3, 2.9, 4.0], [1.0, 0.5, 0.2]])
    t = np.eye(3)[[2, 0]]
    assert out == pytest.approx(-np.sum(t * np.log(_softmax(x))) / 2, rel=1e-12)
    np.testing.assert_allclose(got["x"], (_softmax(x) - t) / 2, rtol=1e-12)
    assert ("t" in got) == targets.startswith("onehot")  # labels get no gradient
    same_as_bpshell(plan, grads, m, out, got)
    ruff_clean(text, tmp_path)


def test_two_layer_net(tmp_path):
    src = example("two_layer_net", "grad loss")
    s, plan, grads, text, m = generate(src, "loss", tmp_path)
    for cls in ("Affine", "Sigmoid", "SoftmaxWithLoss"):
        assert f"class {cls}:" in text
    assert "class MatMul" not in text and "class AddLayer" not in text
    out, got = run(m)
    same_as_bpshell(plan, grads, m, out, got)
    values = {k: v for k, v in m.VALUES.items() if k != "t"}
    fd = numeric_grads(m, values, 1.0)
    for k, v in fd.items():
        np.testing.assert_allclose(got[k], v, rtol=1e-5, atol=1e-8, err_msg=k)
    ruff_clean(text, tmp_path)


def test_a_value_used_twice_gets_the_sum(tmp_path):
    s, plan, grads, text, m = generate("x = 3; y = x*x + x", "y", tmp_path)
    out, got = run(m)
    assert out == 12.0
    assert got["x"] == pytest.approx(7.0)  # 2x + 1
    same_as_bpshell(plan, grads, m, out, got)
    ruff_clean(text, tmp_path)


def test_a_fixed_exponent_is_part_of_its_layer(tmp_path):
    *_, text, m = generate("x = [-1.5, 2.0]; y = x**2", "y", tmp_path)
    assert "class Power:" in text and "self.power1 = Power(2.0)" in text
    with np.errstate(invalid="raise"):  # x**2 takes no log of a negative x
        out, got = run(m, dout=np.ones(2))
    np.testing.assert_allclose(got["x"], [-3.0, 4.0])  # 2x
    s, plan, grads, text, m = generate("x = [0.5, 2.0]; y = x**2 + x**x", "y", tmp_path)
    out, got = run(m, dout=np.ones(2))
    same_as_bpshell(plan, grads, m, out, got)
    x = np.array([0.5, 2.0])
    np.testing.assert_allclose(got["x"], 2 * x + x**x * (np.log(x) + 1), rtol=1e-12)
    ruff_clean(text, tmp_path)


def test_broadcasting_sums_back_to_each_shape(tmp_path):
    src = "a = 2; P = [[1, 2, 3], [4, 5, 6]]; r = [1, -1, 0.5]; y = a*P + r*P - r"
    s, plan, grads, text, m = generate(src, "y", tmp_path)
    out, got = run(m)
    P = np.array([[1.0, 2, 3], [4, 5, 6]])
    r = np.array([1.0, -1, 0.5])
    assert got["a"] == pytest.approx(P.sum())
    np.testing.assert_allclose(got["r"], P.sum(axis=0) - 2)
    np.testing.assert_allclose(got["P"], 2 + r + 0 * P)
    same_as_bpshell(plan, grads, m, out, got)


def test_structural_ops(tmp_path):
    src = ("A = [[1, -2, 3], [0.5, 1, -1]]; v = [1, 2, 3]; "
           "y = mean(sum(softmax(A) * log_softmax(A @ A.T @ A), 0) + reshape(A, 6, 1)) + "
           "mse(A @ v, [1, 2]) + cross_entropy(softmax(A), [[0, 1, 0], [1, 0, 0]])")
    s, plan, grads, text, m = generate(src, "y", tmp_path)
    out, got = run(m)
    same_as_bpshell(plan, grads, m, out, got)
    fd = numeric_grads(m, m.VALUES, 1.0)
    for k, v in fd.items():
        np.testing.assert_allclose(got[k], v, rtol=1e-5, atol=1e-7, err_msg=k)
    ruff_clean(text, tmp_path)


def test_leaky_relu_and_other_elementwise_ops(tmp_path):
    src = ("x = [0.3, -1.5, 2.0]; s = 0.2; "
           "y = leaky_relu(x, s) + leaky_relu(x) + softplus(x) + abs(x) + sqrt(x**2 + 1) "
           "+ log(1 + x**2) + sin(x)*cos(x) - x**3 / 3")
    s, plan, grads, text, m = generate(src, "y", tmp_path)
    out, got = run(m)
    same_as_bpshell(plan, grads, m, out, got)
    fd = numeric_grads(m, m.VALUES, np.ones(3))
    for k, v in fd.items():
        np.testing.assert_allclose(got[k], v, rtol=1e-6, atol=1e-8, err_msg=k)
    ruff_clean(text, tmp_path)


def test_user_function_becomes_a_class(tmp_path):
    src = "def swish(u) = u*sigmoid(u)\nx = 1.5\ny = swish(x)*x + swish(2*x)"
    s, plan, grads, text, m = generate(src, "y", tmp_path)
    assert "class Swish:" in text
    out, got = run(m)
    same_as_bpshell(plan, grads, m, out, got)
    x = 1.5

    def d_swish(u):
        return _sigmoid(u) + u * _sigmoid(u) * (1 - _sigmoid(u))

    expected = d_swish(x) * x + x * _sigmoid(x) + 2 * d_swish(2 * x)
    assert got["x"] == pytest.approx(expected, rel=1e-12)
    ruff_clean(text, tmp_path)


def test_symbols_become_required_inputs(tmp_path):
    s = session("y = sigmoid(w*x + b)")
    plan, _, _ = s.gradients("y")
    text = numpy_module(plan, "y")
    m = load(text, tmp_path)
    assert set(m.NAMES) == {"w", "x", "b"} and m.VALUES == {}
    with pytest.raises(TypeError, match="missing"):
        m.Graph().forward(w=1.0)
    with pytest.raises(TypeError, match="unknown"):
        m.Graph().forward(w=1.0, x=2.0, b=0.5, z=1.0)
    out, got = run(m, w=0.5, x=2.0, b=-0.25)
    bound = session("w = 0.5; x = 2; b = -0.25; y = sigmoid(w*x + b)")
    plan2, _, grads2 = bound.gradients("y")
    same_as_bpshell(plan2, grads2, m, out, got)
    ruff_clean(text, tmp_path)


def test_leaves_default_to_the_session_values_and_take_new_ones(tmp_path):
    *_, m = generate("apple = 100; n = 2; tax = 1.1; price = apple*n*tax", "price", tmp_path)
    out, got = run(m, n=3)
    assert out == pytest.approx(330.0)
    assert got["apple"] == pytest.approx(3.3)


# ---------------------------------------------------------------- random graphs


def random_source(rng: np.random.Generator) -> str:
    """A few definitions over + - * / exp tanh sigmoid relu, scalar and 2x3 leaves."""
    a, b = rng.normal(size=2)
    P, Q = rng.normal(size=(2, 2, 3))
    lines = [f"a = {float(a)!r}", f"b = {float(b)!r}", f"P = {P.tolist()}", f"Q = {Q.tolist()}"]
    names = ["a", "b", "P", "Q"]

    def expr(depth: int) -> str:
        if depth == 0 or rng.random() < 0.25:
            return str(rng.choice(names))
        kind = str(rng.choice(["+", "-", "*", "/", "exp", "tanh", "sigmoid", "relu"]))
        if kind == "/":
            return f"({expr(depth - 1)} / (2 + tanh({expr(depth - 1)})))"
        if kind in "+-*":
            return f"({expr(depth - 1)} {kind} {expr(depth - 1)})"
        if kind == "exp":
            return f"exp(tanh({expr(depth - 1)}))"
        return f"{kind}({expr(depth - 1)})"

    for k in range(1, 4):
        lines.append(f"v{k} = {expr(3)}")
        names.append(f"v{k}")
    lines.append(f"out = {expr(2)} + v3")
    return "; ".join(lines)


@pytest.mark.parametrize("seed", range(12))
def test_random_graphs(tmp_path, seed):
    rng = np.random.default_rng(seed)
    src = random_source(rng)
    s, plan, grads, text, m = generate(src, "out", tmp_path)
    out, got = run(m)
    same_as_bpshell(plan, grads, m, out, got)
    dout = rng.normal(size=np.shape(out))
    _, got = run(m, dout=dout)
    fd = numeric_grads(m, m.VALUES, dout)
    for k, v in fd.items():
        if k in got:
            np.testing.assert_allclose(got[k], v, rtol=1e-5, atol=1e-6, err_msg=f"{k}: {src}")
    if seed < 3:
        ruff_clean(text, tmp_path)
        ruff_clean(torch_module(plan, "out"), tmp_path)


# ---------------------------------------------------------------- torch


TORCH_GRAPHS = [
    ("apple = 100; n = 2; tax = 1.1; price = apple*n*tax", "price"),
    ("x = 2; y = sigmoid(x)", "y"),
    ("x = 2; y = 1 / (1 + exp(-x))", "y"),
    ("x = [[1.0, -0.5], [-2.0, 3.0]]; y = relu(x)", "y"),
    ("X = [[1, 2], [3, 4]]; W = [[0.5], [-1]]; b = [0.1]; Y = X @ W + b", "Y"),
    ("x = [[0.3, 2.9, 4.0], [1.0, 0.5, 0.2]]; t = onehot([2, 0], 3); "
     "loss = softmax_cross_entropy(x, t)", "loss"),
    ("x = [[0.3, 2.9, 4.0], [1.0, 0.5, 0.2]]; t = [2, 0]; "
     "loss = softmax_cross_entropy(x, t)", "loss"),
    (example("two_layer_net", "grad loss"), "loss"),
    ("def swish(u) = u*sigmoid(u)\nx = 1.5\ny = swish(x)*x + swish(2*x)", "y"),
    ("x = [0.3, -1.5, 2.0]; s = 0.2; y = sum(leaky_relu(x, s) + leaky_relu(x) + "
     "softplus(x) + mse(x, [1, 2, 3]))", "y"),
    ("x = [[0.3, 2.9, 4.0], [1.0, 0.5, 0.2]]; t = [2, 0]; W = [[1, 2], [3, 4], [5, 6]]; "
     "loss = softmax_cross_entropy(x, t) + cross_entropy(softmax(x), t) + "
     "mean(relu(x @ W).T) + cross_entropy(softmax(x), [[0, 1, 0], [1, 0, 0]])", "loss"),
    ("A = [[1, -2, 3], [0.5, 1, -1]]; v = [1, 2, 3]; y = mean(sum(log_softmax(A), 0)) + "
     "sum(reshape(A, 3, 2) @ [1, -1]) + mse(A @ v, [1, 2]) + sum(A / (2 + tanh(A)) - A**3)",
     "y"),
]


@pytest.mark.parametrize("src,name", TORCH_GRAPHS)
def test_torch_code_is_clean(tmp_path, src, name):
    s = session(src)
    plan, _, _ = s.gradients(name)
    text = torch_module(plan, name)
    assert "def forward(**leaves):" in text
    compile(text, "generated.py", "exec")
    ruff_clean(text, tmp_path)


@pytest.mark.parametrize("src,name", TORCH_GRAPHS + [(random_source(
    np.random.default_rng(k)), "out") for k in range(6)])
def test_torch_code_runs_and_agrees(tmp_path, src, name):
    torch = pytest.importorskip("torch")
    s = session(src)
    plan, _, grads = s.gradients(name)
    m = load(torch_module(plan, name), tmp_path)
    leaves = m.make_leaves()
    out = m.forward(**leaves)
    if out.dim():
        out.backward(torch.ones_like(out))
    else:
        out.backward()
    np.testing.assert_allclose(out.detach().numpy(), plan.values[plan.graph.root], rtol=1e-10)
    for k, v in grads.items():
        if k in leaves and leaves[k].grad is not None:
            np.testing.assert_allclose(leaves[k].grad.numpy(), v, rtol=1e-9, atol=1e-12,
                                       err_msg=k)


# ---------------------------------------------------------------- errors and files


def test_an_op_with_no_spelling_is_a_clear_error():
    s = session("x = [1.0, 2.0]; y = softmax(x)")
    plan, _, _ = s.gradients("y")
    node = plan.graph.nodes[plan.graph.root]
    fields = {f: getattr(node.op, f) for f in Op.FIELDS}
    node.op = Op(**{**fields, "name": "softsign_max"})
    with pytest.raises(BpError, match="no NumPy spelling for the op 'softsign_max'"):
        numpy_module(plan, "y")
    with pytest.raises(BpError, match="no PyTorch spelling for the op 'softsign_max'"):
        torch_module(plan, "y")


def test_write_code_is_atomic_and_checks_the_path(tmp_path):
    path = str(tmp_path / "layer.py")
    assert write_code("x = 1\n", path) == path
    os.chmod(path, 0o640)
    write_code("x = 2\n", path)
    with open(path, encoding="utf-8") as f:
        assert f.read() == "x = 2\n"
    assert os.stat(path).st_mode & 0o777 == 0o640
    with pytest.raises(FileError, match=r"\.py"):
        write_code("x = 1\n", str(tmp_path / "layer.txt"))
    with pytest.raises(FileError, match="does not exist"):
        write_code("x = 1\n", str(tmp_path / "missing" / "layer.py"))
    (tmp_path / "taken.py").mkdir()
    with pytest.raises(FileError, match="cannot write"):
        write_code("x = 1\n", str(tmp_path / "taken.py"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["layer.py", "taken.py"]


def test_names_that_python_reserves_are_renamed(tmp_path):
    src = "l = 2; match = 3; dl = 0.5; y = l*match + dl*l"
    s, plan, grads, text, m = generate(src, "y", tmp_path)
    assert re.search(r"^\s+l = ", text, re.M) is None  # E741: l is renamed in the code
    out, got = run(m)
    same_as_bpshell(plan, grads, m, out, got)
    assert set(got) == {"l", "match", "dl"}
    ruff_clean(text, tmp_path)


def test_the_codegen_command_prints_and_writes_the_module(tmp_path):
    s = Session()
    assert all(r["ok"] for r in s.run("x = 0.5; y = sigmoid(x)"))
    shown = s.run("codegen y")[-1]
    assert shown["ok"] and "dx = dout * self.out * (1 - self.out)" in shown["code"]
    target = tmp_path / "layers.py"
    written = s.run(f"codegen y to {target}")[-1]
    assert written["ok"] and written["path"] == str(target)
    assert target.read_text() == shown["code"]
    spec = importlib.util.spec_from_file_location("layers_cmd", target)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    graph = module.Graph()
    y = graph.forward()
    sig = 1 / (1 + math.exp(-0.5))
    assert float(y) == pytest.approx(sig)
    assert float(graph.backward()["x"]) == pytest.approx(sig * (1 - sig))


def test_the_codegen_command_refuses_a_bad_path_and_writes_nothing(tmp_path):
    s = Session()
    s.run("x = 0.5; y = sigmoid(x)")
    r = s.run(f"codegen y to {tmp_path}/layers.txt")[-1]
    assert not r["ok"] and ".py" in r["error"]["message"]
    r = s.run(f"codegen y to {tmp_path}/missing/layers.py")[-1]
    assert not r["ok"] and "does not exist" in r["error"]["message"]
    assert list(tmp_path.iterdir()) == []
