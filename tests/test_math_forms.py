"""The formulas bpshell prints, parsed back here and checked against independent oracles.

Every local derivative that `tree` and `explain` print is read with this file's own
translator (Python's `ast` of the text, a whitelist of node types, `math` functions) and
compared, at the graph's values, with SymPy's derivative of the op written out here. The
book's forms (`-y**2`, `y*(1 - y)`, the ReLU mask) are written out in the tests.
"""

from __future__ import annotations

import ast
import math
import operator

import numpy as np
import pytest
import sympy as sp

from bpshell.session import Session

# ---------------------------------------------------------------- the test's translator


def _sigmoid(v: float) -> float:
    return 1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v))


FUNCS = {"exp": math.exp, "log": math.log, "sqrt": math.sqrt, "tanh": math.tanh,
         "sigmoid": _sigmoid, "sin": math.sin, "cos": math.cos,
         "softplus": lambda v: math.log1p(math.exp(v)), "swish": lambda v: v * _sigmoid(v)}
BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
          ast.Div: operator.truediv, ast.Pow: operator.pow}
COMPARE = {ast.Gt: operator.gt, ast.Lt: operator.lt, ast.GtE: operator.ge,
           ast.LtE: operator.le}


def value(text: str, env: dict[str, float]) -> float:
    """A printed formula's value: every name must be in env (or be a known function)."""

    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            return node.value
        if isinstance(node, ast.Name):
            return env[node.id]
        if isinstance(node, ast.BinOp):
            return BINOPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            v = ev(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.IfExp):
            return ev(node.body) if ev(node.test) else ev(node.orelse)
        if isinstance(node, ast.Compare) and len(node.ops) == 1:
            return COMPARE[type(node.ops[0])](ev(node.left), ev(node.comparators[0]))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
            return FUNCS[node.func.id](*[ev(a) for a in node.args])
        raise AssertionError(f"not a formula: {ast.dump(node)}")

    return float(ev(ast.parse(text, mode="eval")))


# each op of a tree, written out here in SymPy: the oracle for its local derivatives
OPS = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b, "pow": lambda a, b: a**b, "neg": lambda a: -a,
    "exp": sp.exp, "log": sp.log, "sqrt": sp.sqrt, "tanh": sp.tanh,
    "sigmoid": lambda a: 1 / (1 + sp.exp(-a)),
    "relu": lambda a: sp.Piecewise((a, a > 0), (0, True)),
    "softplus": lambda a: sp.log(1 + sp.exp(a)),
}


def run(src: str, session: Session | None = None) -> dict:
    rs = (session or Session()).run(src)
    assert all(r["ok"] for r in rs), rs
    return rs[-1]


def walk(node: dict):
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(n.get("children", [])))


def check_tree_formulas(root: dict) -> int:
    """Every local formula of a numeric tree against SymPy's derivative of its op."""
    full = {n["id"]: n for n in walk(root) if "id" in n}
    env = {}
    for n in full.values():
        if n["op"] != "const" and np.ndim(n["value"]) == 0:
            env[n["expr"]] = float(n["value"])
    checked = 0
    for n in full.values():
        if n["op"] not in OPS:
            continue
        kids = [full[c.get("id", c.get("ref"))] for c in n["children"]]
        syms = {k["id"]: sp.Symbol(f"s{k['id']}") for k in kids if k["op"] != "const"}
        args = [syms.get(k["id"], sp.Float(k["value"])) for k in kids]
        f = OPS[n["op"]](*args)
        at = {syms[k["id"]]: k["value"] for k in kids if k["id"] in syms}
        for entry in n["local"]:
            target = next(k for k in kids if k["expr"] == entry["to"])
            expected = float(sp.diff(f, syms[target["id"]]).subs(at))
            assert value(entry["form"], env) == pytest.approx(expected, rel=1e-12, abs=1e-12), \
                (n["expr"], entry)
            checked += 1
    return checked


# ---------------------------------------------------------------- what was wrong


def test_square_reads_2x_not_a_label_turned_symbol():
    root = run("x = 3; y = x**2; tree y")["root"]
    assert [e["form"] for e in root["local"]] == ["2*x"]
    assert check_tree_formulas(root) == 1


def test_mse_by_hand_names_its_inner_node():
    # was `∂/∂(x - t): 2*x - t**2/x - t`; now the inner node is u1 = x - t, defined once
    root = run("x = 3; t = 1; L = (x - t)**2; tree L")["root"]
    (entry,) = root["local"]
    inner = root["children"][0]
    assert entry == {**entry, "to": "u1", "form": "2*u1"}
    assert inner["expr"] == "u1" and inner["definition"] == "x - t"
    assert check_tree_formulas(root) == 3


@pytest.mark.parametrize("src", ["1/(1 + exp(-x))", "(1 + exp(-x))**-1"])
def test_sigmoid_from_nodes_shows_the_seed_form(src):
    # the seed: the "/" node's local derivative is -1/x**2 = -y**2
    root = run(f"x = 0.5; y = {src}; grad y; tree y")["root"]
    assert root["local"][0]["form"] == "-y**2"
    assert check_tree_formulas(root) >= 4
    consts = [n for n in walk(root) if n.get("op") == "const"]
    if "**-1" in src:  # the literal -1 is a constant, not a node with a child
        (minus_one,) = [n for n in consts if n["expr"] == "-1"]
        assert minus_one["children"] == [] and minus_one["value"] == -1
        assert len(root["local"]) == 1


def test_x_times_x_is_one_entry():
    root = run("x = 3; y = x*x; tree y")["root"]
    assert [(e["to"], e["form"]) for e in root["local"]] == [("x", "2*x")]
    assert check_tree_formulas(root) == 1


def test_unnamed_output_is_not_called_y_when_y_is_a_name():
    root = run("y = 5; x = 0.3; z = 2*exp(x); tree z")["root"]
    exp_node = next(n for n in walk(root) if n.get("op") == "exp")
    assert exp_node["expr"] == "u1" and exp_node["definition"] == "exp(x)"
    assert [e["form"] for e in exp_node["local"]] == ["u1"]  # exp' = its own output
    assert check_tree_formulas(root) == 2


def test_inlined_function_nodes_are_labelled_by_their_arguments():
    root = run("def lin(p, q) = p @ q + 1; X = [[1, 2]]; W = [[1], [2]]; Y = lin(X, W); "
               "tree Y")["root"]
    exprs = [n.get("expr") or "" for n in walk(root)]
    assert "X @ W" in exprs and not any("p" in e or "q" in e for e in exprs)


def test_a_mixed_graph_of_many_ops():
    root = run("a = 0.7; b = -1.3; c = sqrt(a*a + 1)/(b - exp(a)) + tanh(a/b)**3 "
               "- log(softplus(b)) * sigmoid(a - b); tree c")["root"]
    assert check_tree_formulas(root) >= 15


# ---------------------------------------------------------------- the book's forms


def test_relu_reads_as_a_conditional_and_shows_its_mask_on_arrays():
    x = np.array([[1.0, -2.0], [-3.0, 4.0]])
    dy = np.array([[0.5, 0.25], [2.0, -1.0]])
    r = run("x = [[1, -2], [-3, 4]]; dY = [[0.5, 0.25], [2, -1]]; y = relu(x); "
            "explain y with dY")
    (entry,) = r["rows"][0]["downstream"]
    assert entry["local"] == "1 if x > 0 else 0"
    mask = entry["mask"]
    assert mask["text"] == "x <= 0"
    assert np.array_equal(np.array(mask["value"]), x <= 0)  # the book: mask = (x <= 0)
    assert mask["zeroed"] == 2 and mask["of"] == 4
    expected = dy.copy()
    expected[x <= 0] = 0  # the book: dout[self.mask] = 0
    assert np.array_equal(entry["value"], expected)


def test_diff_forms_for_the_learner():
    s = Session()
    softplus = run("diff softplus(x) wrt x", s)
    assert softplus["simplified"] == "sigmoid(x)"
    tanh = run("diff tanh(x) wrt x", s)
    assert tanh["simplified"] == tanh["derivative"] == "1 - tanh(x)**2"  # not cosh(x)**-2
    assert tanh["in_terms_of_output"] == "1 - y**2"
    assert run("diff 1/x wrt x", s)["in_terms_of_output"] == "-y**2"
    assert run("diff sqrt(x) wrt x", s)["in_terms_of_output"] == "1/(2*y)"
    assert run("diff exp(x) wrt x", s)["in_terms_of_output"] == "y"
    assert run("diff sigmoid(x) wrt x", s)["in_terms_of_output"] == "y*(1 - y)"
    relu = run("diff relu(x) wrt x", s)
    assert relu["derivative"] == "1 if x > 0 else 0"
    assert "⎧" in relu["pretty"]["derivative"]  # the brace form in pretty output
    swish = run("def swish(u) = u*sigmoid(u); diff swish(x) wrt x", s)
    out = swish["in_terms_of_output"]
    assert out is not None and "y" in out
    u = sp.Symbol("u")
    d = sp.diff(u / (1 + sp.exp(-u)), u)
    for p in (-1.5, 0.2, 2.0):
        yv = p * _sigmoid(p)
        assert value(out, {"x": p, "y": yv}) == pytest.approx(float(d.subs(u, p)))


def test_simplified_is_not_printed_when_it_is_the_same():
    out = Session().run("diff tanh(x) wrt x")
    from bpshell.render.format import Style
    from bpshell.render.items.results import _diff
    from bpshell.render.text import to_text as render_items

    shown = render_items(_diff(out[-1], Style()))
    assert "simplified" not in shown and "cosh" not in shown


def test_rules_use_the_printer_and_named_forms():
    rows = {r["op"]: r for r in run("rules")["rules"]}
    assert rows["relu"]["derivative"] == ["1 if x > 0 else 0"]
    assert rows["softplus"]["derivative"] == ["sigmoid(x)"]
    assert rows["sigmoid"]["output_form"] == ["y*(1 - y)"]


# ---------------------------------------------------------------- symbolic explain


def test_symbolic_explain_of_the_sigmoid_from_nodes_is_figure_5_20():
    r = run("y = 1/(1 + exp(-x)); explain y")
    assert r["symbolic"] and r["upstream_symbol"] == "dout"
    rows = r["rows"]
    assert rows[0]["upstream"] == "dout"
    assert rows[0]["downstream"][0]["value"] == "-dout*y**2"  # the "/" node: -dL/dy * y**2
    (leaf,) = r["leaves"]
    assert leaf["result"] == "dout*y*(1 - y)"  # the book's end: dL/dy * y(1 - y)
    # every downstream expression is the chain rule so far: check the last numerically
    for xv, dout in ((0.3, 1.0), (-1.2, 2.5)):
        yv = _sigmoid(xv)
        xs = sp.Symbol("x")
        expected = dout * float(sp.diff(1 / (1 + sp.exp(-xs)), xs).subs(xs, xv))
        env = {"x": xv, "y": yv, "dout": dout}
        assert value(leaf["grad"], env) == pytest.approx(expected)
        assert value(leaf["result"], env) == pytest.approx(expected)


def test_symbolic_explain_with_a_number_and_symbolic_tree():
    r = run("y = tanh(w*x); explain y with 3")
    assert r["leaves"] and r["upstream_symbol"] is None
    assert "dout" not in r["leaves"][0]["grad"]
    tree = run("y = 1/(1 + exp(-x)); tree y")
    assert tree["has_grads"] and tree["root"]["grad"] == "dout"
    x_node = next(n for n in walk(tree["root"]) if n.get("name") == "x")
    assert x_node["grad"] == "dout*y**2*exp(-x)"


# ---------------------------------------------------------------- explain with dY


def test_explain_batch_affine_with_dy_against_the_book():
    X = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    W = np.array([[0.5, -1.0, 2.0], [1.5, 0.0, -0.5]])
    dY = np.array([[1.0, 0.0, -1.0], [0.5, 2.0, 1.0], [-1.0, 1.0, 0.0]])
    s = Session()
    r = run("X = [[1, 2], [3, 4], [5, 6]]; W = [[0.5, -1, 2], [1.5, 0, -0.5]]; "
            "b = [0.1, 0.2, 0.3]; dY = [[1, 0, -1], [0.5, 2, 1], [-1, 1, 0]]; "
            "Y = X @ W + b; explain Y with dY", s)
    leaves = {leaf["name"]: leaf["grad"] for leaf in r["leaves"]}
    assert [leaf["name"] for leaf in r["leaves"]] == ["X", "W", "b"]  # the order of use
    assert np.allclose(leaves["X"], dY @ W.T)  # the book's Affine: dx = dout @ W.T
    assert np.allclose(leaves["W"], X.T @ dY)  # dW = x.T @ dout
    assert np.allclose(leaves["b"], dY.sum(axis=0))  # db = sum(dout, axis=0)
    from bpshell.render.format import Style
    from bpshell.render.items.train import explain_items
    from bpshell.render.text import to_text as render_items

    shown = render_items(explain_items(r, Style()))
    assert "min" not in shown  # a 3x3 upstream is printed whole
    assert "[[ 1. ,  0. , -1. ]," in shown


# ---------------------------------------------------------------- diff in chain form


def _chain(n: int) -> str:
    lines = ["x = 0.5"] + [f"w{i} = {0.1 * i + 0.3:g}\nb{i} = {0.05 * i:g}" for i in
                           range(1, n + 1)]
    lines += ["h0 = x"] + [f"h{i} = sigmoid(w{i}*h{i - 1} + b{i})" for i in range(1, n + 1)]
    return "\n".join(lines)


def test_diff_of_a_named_chain_is_the_chain_form():
    s = Session()
    s.run(_chain(3))
    r = run("diff h3 wrt w1", s)
    chain = r["chain"]
    assert [st["name"] for st in chain["steps"]] == ["d_h2", "d_h1"]
    env = {"x": 0.5}
    for i in (1, 2, 3):
        env[f"w{i}"], env[f"b{i}"] = 0.1 * i + 0.3, 0.05 * i
    for name, expr in chain["definitions"].items():
        env[name] = value(expr, env)
    for st in chain["steps"]:
        env[st["name"]] = value(st["expr"], env)
    xs, w = sp.Symbol("x"), sp.symbols("w1:4")
    h = xs
    for i in range(3):
        h = 1 / (1 + sp.exp(-(w[i] * h + 0.05 * (i + 1))))
    expected = sp.diff(h, w[0]).subs({xs: 0.5, w[0]: 0.4, w[1]: 0.5, w[2]: 0.6})
    assert value(r["derivative"], env) == pytest.approx(float(expected), rel=1e-10)


def test_a_deep_chain_answers_and_its_expansion_is_refused_past_the_limit():
    s = Session()
    s.run(_chain(40))
    r = run("diff h40 wrt w1", s)
    assert len(r["chain"]["steps"]) == 39
    assert len(r["derivative"]) < 100
    deep = Session()
    deep.run(_chain(80))
    (bad,) = deep.run("diff h80 wrt w1 expanded")
    assert not bad["ok"] and bad["error"]["type"] == "limit"
    assert "BPSHELL_MAX_DEPTH" in bad["error"]["message"]


# ---------------------------------------------------------------- grad wrt, leaves, -0


def test_grad_wrt_a_missing_name_is_the_same_error_symbolic_or_numeric():
    numeric = Session().run("w = 1; y = sigmoid(w); grad y wrt w, x")[-1]
    symbolic = Session().run("y = sigmoid(w); grad y wrt w, x")[-1]
    assert not numeric["ok"] and not symbolic["ok"]
    assert numeric["error"]["message"] == symbolic["error"]["message"] == "'x' is not defined"
    assert not Session().run("y = x**2; grad y wrt z")[-1]["ok"]


def test_grad_wrt_a_name_that_is_not_an_input_is_zero_in_both():
    numeric = run("x = 2; w = 1; y = sigmoid(w); grad y wrt w, x")
    symbolic = run("x = 2; y = sigmoid(w); grad y wrt w, x")
    assert numeric["grads"]["x"] == 0.0
    assert symbolic["grads"]["x"] == "0"


def test_leaves_in_the_order_of_use_and_no_negative_zero():
    r = run("b = 1; a = 2; W = 3; c = W*a + b; explain c")
    assert [leaf["name"] for leaf in r["leaves"]] == ["W", "a", "b"]
    g = run("x = [1, -2]; y = relu(x) * -1; grad y")["grads"]["x"]
    assert np.array_equal(g, [-1.0, 0.0]) and not np.signbit(g[1])
    e = run("x = [1, -2]; y = relu(x) * -1; explain y")
    assert not np.signbit(e["leaves"][0]["grad"][1])
