"""`diff`, symbolic `grad`, `rules` and `tree` against SymPy's own diff.

The engine answers with SymPy `str` strings. They are never handed to a SymPy parser
here: a small evaluator below walks Python's `ast` of the string with a whitelist of
node types and plain `math` functions, so each string is compared with the derivative
that SymPy gives for an expression built by hand in the test, at several points.
"""

from __future__ import annotations

import ast
import math
import operator

import pytest
import sympy as sp

from bpshell.limits import Limits
from bpshell.session import Session

# ---------------------------------------------------------------- evaluating result strings


def _sigmoid(v):
    return 1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v))


def _heaviside(v, h0=0.5):
    return 1.0 if v > 0 else (0.0 if v < 0 else h0)


FUNCS = {
    "exp": math.exp, "log": math.log, "sqrt": math.sqrt, "sin": math.sin, "cos": math.cos,
    "tan": math.tan, "tanh": math.tanh, "cosh": math.cosh, "sinh": math.sinh,
    "Abs": abs, "sign": lambda v: float((v > 0) - (v < 0)), "sigmoid": _sigmoid,
    "softplus": lambda v: max(v, 0) + math.log1p(math.exp(-abs(v))),
    "relu": lambda v: v if v > 0 else 0.0,
    "leaky_relu": lambda v, s=0.01: v if v > 0 else s * v,
    "Max": max, "Min": min, "Heaviside": _heaviside,
    "swish": lambda v: v * _sigmoid(v),
}
CONSTANTS = {"E": math.e, "pi": math.pi}
BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
          ast.Div: operator.truediv, ast.Pow: operator.pow}
COMPARE = {ast.Gt: operator.gt, ast.Lt: operator.lt, ast.GtE: operator.ge,
           ast.LtE: operator.le}


def names_in(text: str) -> set[str]:
    """Variable names read by a result string (function names excluded)."""
    tree = ast.parse(text, mode="eval")
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    return {n.id for n in ast.walk(tree)
            if isinstance(n, ast.Name) and id(n) not in called and n.id not in CONSTANTS}


def evaluate(text: str, env: dict[str, float]) -> float:
    """The value of a SymPy-printed expression, walking a whitelisted ast."""

    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, bool)):
            return node.value
        if isinstance(node, ast.Name):
            if node.id in env:
                return env[node.id]
            return CONSTANTS[node.id]
        if isinstance(node, ast.BinOp):
            return BINOPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp):
            v = ev(node.operand)
            return -v if isinstance(node.op, ast.USub) else +v
        if isinstance(node, ast.IfExp):  # how Piecewise is printed: 1 if x > 0 else 0
            return ev(node.body) if ev(node.test) else ev(node.orelse)
        if isinstance(node, ast.Compare) and len(node.ops) == 1:
            return COMPARE[type(node.ops[0])](ev(node.left), ev(node.comparators[0]))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id == "Piecewise":
                for piece in node.args:
                    assert isinstance(piece, ast.Tuple) and len(piece.elts) == 2
                    if ev(piece.elts[1]):
                        return ev(piece.elts[0])
                raise AssertionError("no piece of the Piecewise applies")
            return FUNCS[node.func.id](*[ev(a) for a in node.args])
        raise AssertionError(f"unexpected syntax in a result string: {ast.dump(node)}")

    return float(ev(ast.parse(text, mode="eval")))


def test_the_evaluator_itself():
    assert evaluate("Piecewise((1, x > 0), (0, True))", {"x": 0.0}) == 0
    assert evaluate("-y**2 + 3/2", {"y": 2.0}) == -2.5
    assert evaluate("y*(1 - y)", {"y": 0.25}) == 0.1875
    assert names_in("b*(1 - sigmoid(a))*sigmoid(a)") == {"a", "b"}
    with pytest.raises(AssertionError):
        evaluate("x.__class__", {"x": 1.0})


# ---------------------------------------------------------------- diff

x = sp.Symbol("x", real=True)
w = sp.Symbol("w", real=True)


def sig(u):
    return 1 / (1 + sp.exp(-u))


def diff_result(src: str, session: Session | None = None) -> dict:
    r = (session or Session()).run(src)[-1]
    assert r["ok"], r
    assert r["kind"] == "diff"
    return r


# (bpshell expression in x, the same function built here with SymPy, points)
DIFF_CASES = [
    ("sigmoid(x)", sig(x), [-2.0, 0.0, 1.5]),
    ("tanh(x)", sp.tanh(x), [-1.0, 0.0, 0.7]),
    ("exp(x)", sp.exp(x), [-1.0, 0.5]),
    ("1/x", 1 / x, [-2.0, 0.5, 3.0]),
    ("sqrt(x)", sp.sqrt(x), [0.25, 2.0]),
    ("log(x)", sp.log(x), [0.5, 3.0]),
    ("sin(x)", sp.sin(x), [-2.0, 0.3, 2.5]),
    ("cos(x)", sp.cos(x), [-2.0, 0.3, 2.5]),
    ("abs(x)", sp.Abs(x), [-1.0, 2.0]),
    ("relu(x)", sp.Max(x, 0), [-1.0, 2.0]),
    ("leaky_relu(x, 0.1)", sp.Piecewise((x, x > 0), (x / 10, True)), [-1.0, 2.0]),
    ("softplus(x)", sp.log(1 + sp.exp(x)), [-1.0, 0.0, 2.0]),
    ("x^3 - 2*x", x**3 - 2 * x, [-1.0, 0.5]),
    ("x ** 2", x**2, [-1.5, 1.5]),
    ("sigmoid(x) * tanh(x)", sig(x) * sp.tanh(x), [-1.0, 0.4]),
    ("exp(-x^2 / 2)", sp.exp(-(x**2) / 2), [-1.0, 0.4]),
    ("log(1 + exp(sin(x)))", sp.log(1 + sp.exp(sp.sin(x))), [-1.0, 0.4, 2.0]),
    ("sqrt(x^2 + 1) / (1 + x^2)", sp.sqrt(x**2 + 1) / (1 + x**2), [-1.0, 0.4]),
    ("tanh(tanh(x))", sp.tanh(sp.tanh(x)), [-0.5, 1.2]),
    ("sigmoid(2*x + 1)", sig(2 * x + 1), [-0.5, 1.2]),
    ("2 ** x", 2**x, [-0.5, 1.2]),
]


@pytest.mark.parametrize("expr, f, points", DIFF_CASES, ids=[c[0] for c in DIFF_CASES])
def test_diff_matches_sympy(expr, f, points):
    r = diff_result(f"diff {expr} wrt x")
    assert r["wrt"] == "x"
    d = sp.diff(f, x)
    for p in points:
        expected = float(d.subs(x, p))
        assert evaluate(r["derivative"], {"x": p}) == pytest.approx(expected, rel=1e-10,
                                                                    abs=1e-12)
        assert evaluate(r["simplified"], {"x": p}) == pytest.approx(expected, rel=1e-10,
                                                                    abs=1e-12)
        out = r["in_terms_of_output"]
        if out is not None:
            # in terms of y, and of x only where the output does not cover it (-x*y for
            # exp(-x^2/2), as the book writes exp' = y times the inner derivative)
            name = r["output_name"]
            assert name in names_in(out) and names_in(out) <= {name, "x"}, out
            y = float(f.subs(x, p))
            assert evaluate(out, {name: y, "x": p}) == pytest.approx(
                expected, rel=1e-9, abs=1e-12), (expr, out, p)


def _in_terms(r: dict, f, points, name="y"):
    assert r["output_name"] == name
    out = r["in_terms_of_output"]
    assert out is not None, r
    assert names_in(out) == {name}, out
    d = sp.diff(f, x)
    for p in points:
        y = float(f.subs(x, p))
        assert evaluate(out, {name: y}) == pytest.approx(float(d.subs(x, p)), rel=1e-10)


OUTPUT_FORMS = [
    # the forms the book uses, built here in SymPy in terms of the output Y
    ("sigmoid(x)", sig(x), "y*(1 - y)", [-2.0, 0.0, 1.0, 3.0]),
    ("tanh(x)", sp.tanh(x), "1 - y**2", [-2.0, 0.0, 1.0]),
    ("exp(x)", sp.exp(x), "y", [-1.0, 0.0, 2.0]),
    ("1/x", 1 / x, "-y**2", [-3.0, 0.5, 2.0]),
    ("sqrt(x)", sp.sqrt(x), "1/(2*y)", [0.25, 1.0, 4.0]),
]


@pytest.mark.parametrize("expr, f, form, points", OUTPUT_FORMS, ids=[c[0] for c in OUTPUT_FORMS])
def test_in_terms_of_output_book_forms(expr, f, form, points):
    r = diff_result(f"diff {expr} wrt x")
    _in_terms(r, f, points)
    # equivalent to the book's form, checked by value at the same outputs
    for p in points:
        y = float(f.subs(x, p))
        assert evaluate(r["in_terms_of_output"], {"y": y}) == pytest.approx(
            evaluate(form, {"y": y}), rel=1e-12)


def test_in_terms_of_output_strings_are_the_plain_forms():
    # where the form is obvious, the string is exactly SymPy's printing of it
    Y = sp.Symbol("y")
    expected = {"sigmoid(x)": Y * (1 - Y), "tanh(x)": 1 - Y**2, "exp(x)": Y, "1/x": -(Y**2),
                "sqrt(x)": 1 / (2 * Y)}
    for expr, form in expected.items():
        r = diff_result(f"diff {expr} wrt x")
        assert r["in_terms_of_output"] == str(form), (expr, r["in_terms_of_output"])


def test_diff_of_named_expression_uses_its_name():
    s = Session()
    s.run("s = sigmoid(x)")
    r = diff_result("diff s wrt x", s)
    assert r["output_name"] == "s"
    _in_terms(r, sig(x), [-1.0, 0.5], name="s")
    s.run("t = tanh(x)")
    r = diff_result("diff t wrt x", s)
    _in_terms(r, sp.tanh(x), [-1.0, 0.5], name="t")


def test_diff_output_name_does_not_clash_with_the_expression():
    r = diff_result("diff sigmoid(y) wrt y")
    assert r["output_name"] not in ("y",)
    out = r["in_terms_of_output"]
    assert out is not None and "y" not in names_in(out)
    yv = sp.Symbol("y", real=True)
    f = sig(yv)
    for p in (-1.0, 2.0):
        val = float(f.subs(yv, p))
        assert evaluate(out, {r["output_name"]: val}) == pytest.approx(
            float(sp.diff(f, yv).subs(yv, p)))


def test_diff_in_terms_of_output_is_null_without_such_form():
    for expr in ("sin(x)", "x ** 2", "relu(x)"):
        r = diff_result(f"diff {expr} wrt x")
        assert r["in_terms_of_output"] is None, (expr, r["in_terms_of_output"])


def test_diff_through_named_definitions():
    s = Session()
    s.run("h = w * x\na = tanh(h)\nL = a * a")
    f = sp.tanh(w * x) ** 2
    d = sp.diff(f, x)
    # in chain form, in terms of the named nodes, and written out on request
    chain = diff_result("diff L wrt x", s)
    expanded = diff_result("diff L wrt x expanded", s)
    assert chain["chain"] is not None and expanded["chain"] is None
    for xv, wv in [(0.3, 1.5), (-1.0, 0.2)]:
        assert evaluate_chain(chain, {"x": xv, "w": wv}) == pytest.approx(
            float(d.subs({x: xv, w: wv})), rel=1e-10)
        assert evaluate(expanded["derivative"], {"x": xv, "w": wv}) == pytest.approx(
            float(d.subs({x: xv, w: wv})), rel=1e-10)


def evaluate_chain(r: dict, env: dict[str, float]) -> float:
    """A chain-form diff: the named nodes from their definitions, then each d_ step."""
    env = dict(env)
    for name, expr in r["chain"]["definitions"].items():
        env[name] = evaluate(expr, env)
    for step in r["chain"]["steps"]:
        env[step["name"]] = evaluate(step["expr"], env)
    return evaluate(r["derivative"], env)


def test_diff_keeps_bound_names_other_than_wrt_as_symbols_or_values():
    s = Session()
    s.run("w = 2\nf = sigmoid(x) * w")
    r = diff_result("diff f wrt x", s)
    d = sp.diff(sig(x) * w, x)
    for p in (-1.0, 0.5):
        env = {"x": p, "w": 2.0}
        assert evaluate(r["derivative"], env) == pytest.approx(float(d.subs({x: p, w: 2})))


def test_diff_with_respect_to_a_bound_name():
    s = Session()
    s.run("x = 3\ny = x * x * x")
    r = diff_result("diff y wrt x", s)
    assert evaluate(r["derivative"], {"x": 1.5}) == pytest.approx(3 * 1.5**2)


def test_diff_of_a_user_function():
    s = Session()
    s.run("def swish(u) = u * sigmoid(u)")
    r = diff_result("diff swish(x) wrt x", s)
    d = sp.diff(x * sig(x), x)
    for p in (-2.0, 0.0, 1.3):
        expected = float(d.subs(x, p))
        assert evaluate(r["derivative"], {"x": p}) == pytest.approx(expected, rel=1e-12)
        assert evaluate(r["simplified"], {"x": p}) == pytest.approx(expected, rel=1e-12)


def test_diff_of_a_user_function_of_two_parameters():
    s = Session()
    s.run("def g(u, v) = u * tanh(v) + exp(u * v)")
    r = diff_result("diff g(x, 2*x) wrt x", s)
    f = x * sp.tanh(2 * x) + sp.exp(2 * x**2)
    d = sp.diff(f, x)
    for p in (-0.5, 0.7):
        assert evaluate(r["derivative"], {"x": p}) == pytest.approx(float(d.subs(x, p)),
                                                                    rel=1e-10)


def test_diff_raw_and_simplified_agree_and_simplified_is_simpler():
    r = diff_result("diff sin(x) * cos(x) wrt x")
    for p in (0.1, 1.0, 2.0):
        expected = math.cos(2 * p)
        assert evaluate(r["derivative"], {"x": p}) == pytest.approx(expected)
        assert evaluate(r["simplified"], {"x": p}) == pytest.approx(expected)
    assert len(r["simplified"]) <= len(r["derivative"])


def test_simplify_is_time_bounded():
    s = Session(limits=Limits(simplify_seconds=0.01))
    expr = "sigmoid(tanh(x)) * softplus(sin(x)^3) / sqrt(1 + exp(cos(x)))"
    r = diff_result(f"diff {expr} wrt x simplify", s)
    note = r.get("simplify_note")
    assert isinstance(note, str) and note
    f = sig(sp.tanh(x)) * sp.log(1 + sp.exp(sp.sin(x) ** 3)) / sp.sqrt(1 + sp.exp(sp.cos(x)))
    d = sp.diff(f, x)
    for p in (-0.4, 1.1):
        assert evaluate(r["derivative"], {"x": p}) == pytest.approx(float(d.subs(x, p)),
                                                                    rel=1e-10)


def test_diff_of_arrays_is_an_error():
    rs = Session().run("v = [1, 2]\ndiff v * x wrt x\ndiff softmax(x) wrt x\ndiff x @ x wrt x")
    for r in rs[1:]:
        assert r["ok"] is False, r
        assert r["error"]["line"] == r["line"]


def test_diff_errors_have_positions():
    for src in ("diff x", "diff wrt x", "diff foo(x) wrt x", "diff x wrt 3"):
        r = Session().run(src)[-1]
        assert r["ok"] is False, src
        assert r["error"]["line"] == 1 and r["error"]["column"] is not None, src


# ---------------------------------------------------------------- symbolic grad


def _symbolic_grad_env(r: dict, env: dict) -> dict:
    """Values of the named intermediates and of the shared-adjoint steps."""
    env = dict(env)
    for name, text in r.get("definitions", {}).items():
        if name not in env and names_in(text) <= set(env):
            env[name] = evaluate(text, env)
    for step in r.get("steps", []):
        env[step["name"]] = evaluate(step["expr"], env)
    return env


def test_symbolic_grad_while_names_are_unbound():
    r = Session().run("f = sigmoid(a) * b\ngrad f")[-1]
    assert r["ok"] and r["value"] is None
    a, b = sp.symbols("a b", real=True)
    f = sig(a) * b
    for av, bv in [(0.3, 2.0), (-1.2, -0.5)]:
        env = {"a": av, "b": bv}
        sub = {a: av, b: bv}
        assert evaluate(r["grads"]["a"], env) == pytest.approx(float(sp.diff(f, a).subs(sub)))
        assert evaluate(r["grads"]["b"], env) == pytest.approx(float(sp.diff(f, b).subs(sub)))


def test_symbolic_grad_with_named_intermediate():
    r = Session().run("h = a * b\nf = sin(h) * h\ngrad f")[-1]
    assert r["ok"], r
    a, b = sp.symbols("a b", real=True)
    f = sp.sin(a * b) * a * b
    for av, bv in [(0.3, 2.0), (-1.2, 0.5)]:
        env = _symbolic_grad_env(r, {"a": av, "b": bv})
        assert env["h"] == pytest.approx(av * bv)
        sub = {a: av, b: bv}
        assert evaluate(r["grads"]["a"], env) == pytest.approx(float(sp.diff(f, a).subs(sub)))
        assert evaluate(r["grads"]["b"], env) == pytest.approx(float(sp.diff(f, b).subs(sub)))
        h = sp.Symbol("h")
        dh = sp.diff(sp.sin(h) * h, h).subs(h, av * bv)
        assert evaluate(r["grads"]["h"], env) == pytest.approx(float(dh))


def test_symbolic_grad_with_diamond():
    r = Session().run("h = a * b\nf = sin(h) * h + exp(a)\ngrad f")[-1]
    assert r["ok"], r
    a, b = sp.symbols("a b", real=True)
    f = sp.sin(a * b) * a * b + sp.exp(a)
    env = _symbolic_grad_env(r, {"a": 0.4, "b": -1.1})
    sub = {a: 0.4, b: -1.1}
    assert evaluate(r["grads"]["a"], env) == pytest.approx(float(sp.diff(f, a).subs(sub)))
    assert evaluate(r["grads"]["b"], env) == pytest.approx(float(sp.diff(f, b).subs(sub)))


def test_symbolic_grad_wrt():
    r = Session().run("f = tanh(a * b) + a\ngrad f wrt a")[-1]
    assert set(r["grads"]) == {"a"}
    a, b = sp.symbols("a b", real=True)
    d = sp.diff(sp.tanh(a * b) + a, a)
    assert evaluate(r["grads"]["a"], {"a": 0.5, "b": 2.0}) == pytest.approx(
        float(d.subs({a: 0.5, b: 2.0})))


def test_symbolic_grad_of_user_function():
    r = Session().run("def swish(u) = u * sigmoid(u)\nf = swish(a) * c\ngrad f")[-1]
    assert r["ok"], r
    a, c = sp.symbols("a c", real=True)
    f = a * sig(a) * c
    env = {"a": 0.8, "c": 1.5}
    sub = {a: 0.8, c: 1.5}
    assert evaluate(r["grads"]["a"], env) == pytest.approx(float(sp.diff(f, a).subs(sub)))
    assert evaluate(r["grads"]["c"], env) == pytest.approx(float(sp.diff(f, c).subs(sub)))


def test_symbolic_expression_becomes_numeric_when_bound():
    s = Session()
    s.run("f = sigmoid(a) * b")
    rs = s.run("a = 0.3\nb = 2\ngrad f")
    g = rs[-1]
    assert g["value"] == pytest.approx(2 * _sigmoid(0.3))
    a = sp.Symbol("a")
    assert g["grads"]["a"] == pytest.approx(float(sp.diff(2 * sig(a), a).subs(a, 0.3)))
    assert g["grads"]["b"] == pytest.approx(_sigmoid(0.3))


# ---------------------------------------------------------------- rules


def _rules(session: Session | None = None) -> dict:
    r = (session or Session()).run("rules")[-1]
    assert r["ok"] and r["kind"] == "rules"
    return {row["op"]: row for row in r["rules"]}


SPEC_FUNCTIONS = ["exp", "log", "sqrt", "abs", "sin", "cos", "tanh", "sigmoid", "relu",
                  "leaky_relu", "softplus", "sum", "mean", "softmax", "log_softmax",
                  "cross_entropy", "softmax_cross_entropy", "mse"]


def test_rules_lists_every_op():
    rows = _rules()
    for name in SPEC_FUNCTIONS:
        assert name in rows, name
    # operators: + - * / ** unary minus @ .T
    ops = set(rows)
    assert {"add", "sub", "mul", "div", "pow", "neg", "matmul"} <= ops
    assert any(row.get("call") == "x.T" for row in rows.values()) or "T" in ops or \
        "transpose" in ops
    for row in rows.values():
        assert row["definition"], row
        assert row["derivative"], row
        assert "output_form" in row


def _def_of(name: str, args: list[sp.Symbol]) -> sp.Expr:
    """Each elementwise op's definition, written here by hand."""
    a = args[0]
    b = args[1] if len(args) > 1 else None
    return {
        "add": lambda: a + b, "sub": lambda: a - b, "mul": lambda: a * b, "div": lambda: a / b,
        "pow": lambda: a**b, "neg": lambda: -a, "exp": lambda: sp.exp(a),
        "log": lambda: sp.log(a), "sqrt": lambda: sp.sqrt(a), "abs": lambda: sp.Abs(a),
        "sin": lambda: sp.sin(a), "cos": lambda: sp.cos(a), "tanh": lambda: sp.tanh(a),
        "sigmoid": lambda: sig(a), "relu": lambda: sp.Piecewise((a, a > 0), (0, True)),
        "leaky_relu": lambda: sp.Piecewise((a, a > 0), (b * a, True)),
        "softplus": lambda: sp.log(1 + sp.exp(a)),
    }[name]()


ELEMENTWISE_OPS = ["add", "sub", "mul", "div", "pow", "neg", "exp", "log", "sqrt", "abs", "sin",
                   "cos", "tanh", "sigmoid", "relu", "leaky_relu", "softplus"]


@pytest.mark.parametrize("name", ELEMENTWISE_OPS)
def test_rules_derivatives_match_sympy(name):
    row = _rules()[name]
    names = row["inputs"]
    syms = [sp.Symbol(n, real=True) for n in names]
    f = _def_of(name, syms)
    points = [[0.7, 1.3], [1.9, 0.4], [-0.6, 0.25]]
    if name in ("log", "sqrt", "pow"):
        points = [[0.7, 1.3], [1.9, 0.4], [2.5, -0.5]]
    for pt in points:
        env = dict(zip(names, pt))
        sub = dict(zip(syms, pt))
        assert evaluate(row["definition"], env) == pytest.approx(float(f.subs(sub)), rel=1e-12)
        y = float(f.subs(sub))
        for k, s in enumerate(syms):
            expected = float(sp.diff(f, s).subs(sub))
            assert evaluate(row["derivative"][k], env) == pytest.approx(expected, rel=1e-10), \
                (name, k, pt)
            form = row["output_form"][k]
            if form is not None:
                assert evaluate(form, {**env, "y": y}) == pytest.approx(expected, rel=1e-10), \
                    (name, k, form, pt)


def test_rules_output_forms_for_sigmoid_tanh_exp():
    rows = _rules()
    cases = {"sigmoid": (sig(x), "y*(1 - y)"), "tanh": (sp.tanh(x), "1 - y**2"),
             "exp": (sp.exp(x), "y")}
    for name, (f, book) in cases.items():
        form = rows[name]["output_form"][0]
        assert form is not None, name
        assert names_in(form) == {"y"}, (name, form)
        for p in (-1.5, 0.0, 2.0):
            y = float(f.subs(x, p))
            assert evaluate(form, {"y": y}) == pytest.approx(float(sp.diff(f, x).subs(x, p)))
            assert evaluate(form, {"y": y}) == pytest.approx(evaluate(book, {"y": y}))


def test_rules_structural_rows_give_vjp_rules():
    rows = _rules()
    assert any("W.T" in t or "B.T" in t for t in rows["matmul"]["derivative"])
    assert any("A.T" in t or "X.T" in t for t in rows["matmul"]["derivative"])
    assert any("softmax" in t and "t" in t for t in rows["softmax_cross_entropy"]["derivative"])


def test_rules_include_user_functions():
    s = Session()
    s.run("def swish(u) = u * sigmoid(u)")
    row = _rules(s)["swish"]
    name = row["inputs"][0]
    v = sp.Symbol(name, real=True)
    d = sp.diff(v * sig(v), v)
    for p in (-1.0, 0.5):
        assert evaluate(row["derivative"][0], {name: p}) == pytest.approx(float(d.subs(v, p)))


# ---------------------------------------------------------------- tree


def _walk(node: dict):
    """Pre-order: the order in which a tree is drawn."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(n.get("children", [])))


def test_tree_structure():
    s = Session()
    s.run("x = 2\nw = 3\nh = x * w\ny = tanh(h) + h")
    r = s.run("tree y")[-1]
    assert r["ok"] and r["kind"] == "tree"
    root = r["root"]
    assert root["name"] == "y" and root["op"] == "add"
    assert root["value"] == pytest.approx(math.tanh(6) + 6)
    assert root["shape"] == []
    for node in _walk(root):
        assert {"name", "op", "expr"} <= set(node)
        if "ref" not in node:
            assert {"local", "value", "grad", "shape", "children"} <= set(node)
    full = [n for n in _walk(root) if "ref" not in n]
    refs = [n for n in _walk(root) if "ref" in n]
    # h is read twice (by tanh and by +): drawn once, and referred to once
    assert [n["name"] for n in full].count("h") == 1
    assert [n["name"] for n in refs] == ["h"]
    leaves = {n["name"] for n in full if n["op"] == "leaf"}
    assert leaves == {"x", "w"}
    tanh_node = next(n for n in full if n["op"] == "tanh")
    assert tanh_node["value"] == pytest.approx(math.tanh(6))


def test_tree_reference_points_at_a_node_drawn_earlier():
    s = Session()
    s.run("a = 3\nc = a * a + a\nk = tanh(a) * tanh(a)")
    for name in ("c", "k"):
        root = s.run(f"tree {name}")[-1]["root"]
        seen = set()
        for node in _walk(root):
            if "ref" in node:
                assert node["ref"] in seen, (name, node)
            elif "id" in node:
                seen.add(node["id"])


def test_tree_local_derivatives_in_terms_of_output():
    s = Session()
    s.run("x = 0.5\ny = sigmoid(x)")
    root = s.run("tree y")[-1]["root"]
    assert root["op"] == "sigmoid"
    (local,) = root["local"]
    yv = 1 / (1 + math.exp(-0.5))
    assert local["to"] == "x"
    assert evaluate(local["form"], {"y": yv}) == pytest.approx(yv * (1 - yv))


def test_tree_after_grad_carries_gradients():
    s = Session()
    s.run("a = 3\nb = a * a + a\ngrad b")
    root = s.run("tree b")[-1]["root"]
    assert root["grad"] == pytest.approx(1.0)
    a_nodes = [n for n in _walk(root) if n.get("name") == "a" and "ref" not in n]
    assert len(a_nodes) == 1
    assert a_nodes[0]["grad"] == pytest.approx(7.0)


def test_tree_of_long_chain_is_bounded_and_iterative():
    n = 2000
    s = Session()
    s.run("h0 = 0.1\n" + "\n".join(f"h{i} = sin(h{i - 1})" for i in range(1, n + 1)))
    r = s.run(f"tree h{n}")[-1]
    assert r["ok"], r
    v = 0.1
    for _ in range(n):
        v = math.sin(v)
    assert r["root"]["name"] == f"h{n}"
    assert r["root"]["value"] == pytest.approx(v)
    child = r["root"]["children"][0]
    assert child.get("name") == f"h{n - 1}" or child.get("truncated")
