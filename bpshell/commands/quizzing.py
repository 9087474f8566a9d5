"""Practice: the book's exercise of filling in a graph's backward pass, checked.

From the output down, for each input of each node, the learner gives the local
derivative and the gradient sent down (local x upstream). An answer is a bpshell
expression read by bpshell's own parser. On a graph with values it is evaluated with the
graph's values bound (so `tax`, `1.1` and `apple*n*tax/(apple*n)` are all right); on a
symbolic graph it is built into SymPy from its tree, like `diff` does, and accepted when
SymPy finds it equal to the expected form or it agrees at several random points.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from bpshell.errors import BpError
from bpshell.graph.build import Formula, Leaf
from bpshell.language import ast as sx
from bpshell.language.printer import to_text

RTOL, ATOL = 1e-6, 1e-9
POINTS = 3  # random points at which a symbolic answer must agree
SIMPLIFY_SECONDS = 2.0

# the book's graphs: the apple of figure 5-16, the sigmoid of figure 5-19 written out
# node by node, and the batch Affine layer of section 5.6.2; each is fixed text from here,
# run by bpshell's own parser like an example script
BOOK = {
    "apple": ("apple = 100; n = 2; tax = 1.1; price = apple*n*tax", "price"),
    "sigmoid": ("x = 0.5; y = 1/(1 + exp(-x))", "y"),
    "affine": ("X = [[1, 2], [3, 4], [5, 6]]; W = [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]]; "
               "b = [0.1, 0.2, 0.3]; Y = X @ W + b", "Y"),
}
RANDOM_OPS = ("+", "*", "-", "sigmoid", "tanh", "exp", "square")


@dataclass
class Question:
    """One blank of the backward pass, with what checks it."""

    node: str
    op: str
    to: str
    ask: str  # "local" or "downstream"
    prompt: str
    answer: str  # the expected form, as text
    hint: str
    expected: object = None  # a number or array (values), or a SymPy expression
    env: dict = field(default_factory=dict)  # names an answer may use, with values

    def as_dict(self) -> dict:
        return {"node": self.node, "op": self.op, "to": self.to, "ask": self.ask,
                "prompt": self.prompt, "answer": self.answer, "hint": self.hint}


class Quiz:
    """The questions of one graph and the means to check an answer to each."""

    def __init__(self, questions: list[Question], symbolic: bool, funcs: dict, limits,
                 defs: dict | None = None):
        self.questions = questions
        self.symbolic = symbolic
        self.funcs = funcs
        self.limits = limits
        self.defs = defs or {}  # symbolic: each named node's symbol -> its expression

    def __str__(self) -> str:  # what --json shows of it
        return f"quiz of {len(self.questions)} questions"

    def check(self, k: int, text: str) -> tuple[bool | None, str]:
        """(right?, what to say); None when the text is no answer (a syntax error, ...)."""
        q = self.questions[k]
        try:
            ast = parse_answer(text, self.limits.max_depth)
            if self.symbolic:
                return self._check_symbolic(q, ast)
            return self._check_values(q, ast)
        except BpError as e:
            where = f" (column {e.column})" if e.column else ""
            return None, f"not an answer: {e.message}{where}"

    def _check_values(self, q: Question, ast) -> tuple[bool | None, str]:
        got = evaluate_with(ast, q.env, self.funcs, self.limits)
        if got is None:
            return None, "that uses a name without a value; the graph's names are " + \
                ", ".join(sorted(q.env))
        want = np.asarray(q.expected, dtype=np.float64)
        got = np.asarray(got, dtype=np.float64)
        if got.shape != want.shape and not (got.ndim == 0 and want.ndim == 0):
            return False, f"the shape is {_shape(got)}; it should be {_shape(want)}"
        return bool(np.allclose(got, want, rtol=RTOL, atol=ATOL)), ""

    def _check_symbolic(self, q: Question, ast) -> tuple[bool | None, str]:
        from bpshell.symbolic.expr import SympyBuilder

        answer = SympyBuilder({}, self.funcs, set(), self.limits.max_exponent).expr(ast, {})
        subs = dict(self.defs)
        if "y" in q.env:
            subs[sp.Symbol("y", real=True)] = q.env["y"]
        a, e = answer.xreplace(subs), q.expected.xreplace(subs)
        unknown = a.free_symbols - e.free_symbols - set(subs)
        if unknown:
            return None, "unknown names: " + ", ".join(sorted(map(str, unknown)))
        if not agree_at_points(a, e):
            return False, ""
        return True, "" if sympy_equal(a, e) else "(equal at every point checked)"


def parse_answer(text: str, max_depth: int):
    """One expression, read by bpshell's parser (a command or an assignment is refused)."""
    from bpshell.language.split import split_statements
    from bpshell.language.statements import parse_statement

    chunks = list(split_statements(text))
    if len(chunks) != 1:
        raise BpError("one expression, please")
    stmt = parse_statement(chunks[0], {}, max_depth)
    if stmt.kind != "value":
        raise BpError("an expression, not an assignment")
    return stmt.args["expr"]


def evaluate_with(ast, env: dict, funcs: dict, limits):
    """The value of ast with the names of env bound to their values, in a scratch state."""
    from bpshell.evaluate import Evaluator
    from bpshell.state import State

    state = State()
    state.funcs = dict(funcs)
    for name, value in env.items():
        if not isinstance(value, sp.Basic):
            state.bind(name, Leaf(value, "", 0, 0), None)
    _, value = Evaluator(state, limits).evaluate(ast, 1)
    return value


def agree_at_points(a: sp.Expr, e: sp.Expr) -> bool:
    rng = np.random.default_rng(0)
    symbols = sorted(a.free_symbols | e.free_symbols, key=str)
    for _ in range(POINTS):
        point = {s: sp.Float(rng.uniform(0.3, 1.7)) for s in symbols}
        try:
            va, ve = complex(a.evalf(subs=point)), complex(e.evalf(subs=point))
        except (TypeError, ValueError):
            return False
        if not np.isclose(va, ve, rtol=1e-8, atol=1e-10):
            return False
    return True


def sympy_equal(a: sp.Expr, e: sp.Expr) -> bool:
    """Whether SymPy shows a - e is 0, named ops (sigmoid) written out, within a bound."""
    from bpshell.timeout import deadline

    try:
        with deadline(SIMPLIFY_SECONDS):
            return sp.simplify(written(a) - written(e)) == 0
    except BpError:
        return False


def written(expr: sp.Expr) -> sp.Expr:
    """expr with each named op (sigmoid, softplus) replaced by its definition."""
    from bpshell.ops.table import OPS
    from bpshell.symbolic.calls import written_out

    def named(e) -> bool:
        op = OPS.get(type(e).__name__) if isinstance(e, sp.Function) else None
        return op is not None and op.named and op.define is not None

    return expr.replace(named, lambda e: written_out(OPS[type(e).__name__], *e.args))


def _shape(v) -> str:
    return "x".join(map(str, np.shape(v))) or "a scalar"


def random_graph(rng: np.random.Generator, state, serial: int) -> str:
    """A small scalar graph of random ops over two or three leaves, bound in state as a
    formula `L`; built as a syntax tree, so no text is generated and run."""
    names = ["a", "b", "c"][: int(rng.integers(2, 4))]
    pos = (1, 1)
    for n in names:
        v = float(rng.integers(-3, 4)) or 1.0
        state.bind(n, Leaf(v, f"{v:g}", serial, 1), None)
    terms: list = [sx.Name(n, pos) for n in names]
    while len(terms) > 1 or isinstance(terms[0], sx.Name):
        op = RANDOM_OPS[int(rng.integers(len(RANDOM_OPS)))]
        if op in ("+", "*", "-") and len(terms) > 1:
            i = int(rng.integers(len(terms) - 1))
            terms[i:i + 2] = [sx.Binary(op, terms[i], terms[i + 1], pos)]
        elif op == "square":
            terms[-1] = sx.Binary("**", terms[-1], sx.Num(2.0, pos, "2"), pos)
        elif op not in ("+", "*", "-"):
            terms[0] = sx.Call(op, [terms[0]], pos)
    expr = terms[0]
    state.bind("L", Formula(expr, to_text(expr), frozenset(names), serial, 1), None)
    state.cache.pop("L", None)  # computed when the quiz asks for its plan
    return "L"
