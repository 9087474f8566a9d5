"""The syntax tree's one walker: children, walk, transform, Visitor, and the passes on them.

Expected children, orders, texts and SymPy forms are written out here by hand; long
chains are built directly so that the depth is known (10,000 levels, ten times the
default recursion limit).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import sympy as sp

from bpshell.errors import BpError
from bpshell.graph.build import Builder, UserFunction, array_literal, calls_of, refs_of
from bpshell.language import ast as A
from bpshell.language.parser import Parser
from bpshell.language.printer import to_text
from bpshell.language.split import Chunk
from bpshell.language.tokens import tokenize
from bpshell.symbolic.expr import SympyBuilder
from bpshell.symbolic.userfuncs import _elementwise

P = (1, 1)


def parse(text: str) -> A.Expr:
    p = Parser(tokenize(Chunk(text, 1, 1)))
    tree = p.expr()
    p.end()
    return tree


def shape(node) -> tuple:
    """A tree without positions, to compare trees parsed from different texts."""
    t = type(node)
    if t is A.Num:
        return ("Num", node.value)
    if t is A.Name:
        return ("Name", node.id)
    if t is A.Const:
        return ("Const", float(node.value))
    label = {A.Call: lambda: node.func, A.Unary: lambda: node.op, A.Binary: lambda: node.op,
             A.ArrayLit: lambda: "", A.Transpose: lambda: "",
             A.Index: lambda: str(node.key)}[t]()
    return (t.__name__, label, tuple(shape(c) for c in A.children(node)))


def a(pos=(1, 1)):
    return A.Name("a", pos)


def b(pos=(1, 5)):
    return A.Name("b", pos)


def one_of_each() -> dict[type, A.Expr]:
    return {
        A.Num: A.Num(2.0, P, "2"),
        A.Name: a(),
        A.Const: A.Const(np.float64(3.0), P),
        A.ArrayLit: A.ArrayLit([A.Num(1.0, P, "1"), A.Num(2.0, P, "2")], P),
        A.Call: A.Call("sin", [a()], P),
        A.Unary: A.Unary("neg", a(), P),
        A.Binary: A.Binary("+", a(), b(), P),
        A.Transpose: A.Transpose(a(), P),
        A.Index: A.Index(a(), (0, slice(1, None)), P),
    }


def test_the_examples_cover_every_node_kind() -> None:
    assert set(one_of_each()) == set(A.NODE_TYPES)
    assert all(type(n) is t for t, n in one_of_each().items())


# ---------------------------------------------------------------- children and walk


def test_children_of_each_kind_in_source_order() -> None:
    nodes = one_of_each()
    got = {t.__name__: [shape(c) for c in A.children(n)] for t, n in nodes.items()}
    name_a, name_b = ("Name", "a"), ("Name", "b")
    assert got == {
        "Num": [], "Name": [], "Const": [],
        "ArrayLit": [("Num", 1.0), ("Num", 2.0)],
        "Call": [name_a],
        "Unary": [name_a],
        "Binary": [name_a, name_b],
        "Transpose": [name_a],
        "Index": [name_a],
    }


def test_children_of_something_else_is_an_error() -> None:
    with pytest.raises(TypeError, match="not a syntax node: int"):
        A.children(3)


def test_walk_is_preorder_in_source_order() -> None:
    tree = parse("f(a, [1, -b]) * c.T + d**e")
    labels = [getattr(n, "id", None) or getattr(n, "func", None) or getattr(n, "op", None)
              or (n.text if type(n) is A.Num else type(n).__name__) for n in A.walk(tree)]
    assert labels == ["+", "*", "f", "a", "ArrayLit", "1", "neg", "b", "Transpose", "c",
                      "**", "d", "e"]


def long_sum(n: int) -> A.Binary:
    """x0 + x1 - x2 + x3 - ... built directly: a left chain n - 1 deep."""
    acc = A.Name("x0", (1, 1))
    for i in range(1, n):
        acc = A.Binary("+-"[i % 2 == 0], acc, A.Name(f"x{i}", (1, 6 * i)), (1, 6 * i - 2))
    return acc


def long_sum_text(n: int) -> str:
    return "x0" + "".join(f" {'+-'[i % 2 == 0]} x{i}" for i in range(1, n))


def test_a_10000_term_sum_is_walked_without_recursion() -> None:
    tree = long_sum(10_000)
    kinds = [type(n) for n in A.walk(tree)]
    assert kinds.count(A.Name) == 10_000 and kinds.count(A.Binary) == 9_999
    names = [n.id for n in A.walk(tree) if type(n) is A.Name]
    assert names == [f"x{i}" for i in range(10_000)]
    assert refs_of(tree, {}) == {f"x{i}" for i in range(10_000)}
    assert calls_of(A.Call("f", [tree], P)) == {"f"}


def test_a_10000_term_sum_through_the_passes() -> None:
    tree = long_sum(10_000)
    assert to_text(tree) == long_sum_text(10_000)
    swapped = A.transform(tree, lambda n: A.Num(1.0, n.pos, "1") if type(n) is A.Name else None,
                          bottom_up=True)
    assert to_text(swapped) == "1" + "".join(f" {'+-'[i % 2 == 0]} 1" for i in range(1, 10_000))
    assert swapped.pos == tree.pos and swapped.left.pos == tree.left.pos
    b = Builder({}, {})
    root = b.expr(long_sum(10_000), {}, 0)
    ops = [n.op.name for n in b.graph.nodes if n.kind == "op"]
    assert root == len(b.graph.nodes) - 1
    assert ops == ["sub" if i % 2 == 0 else "add" for i in range(1, 10_000)]


# ---------------------------------------------------------------- transform


def test_transform_bottom_up_keeps_positions_and_shares_what_did_not_change() -> None:
    left = A.Binary("*", A.Name("x", (1, 1)), A.Name("a", (1, 3)), (1, 2))
    right = A.Call("g", [A.Name("y", (1, 9))], (1, 7))
    tree = A.Binary("+", left, right, (1, 5))
    seen = []

    def to_two(n):
        seen.append(type(n).__name__ + ":" + str(n.pos))
        return A.Num(2.0, n.pos, "2") if type(n) is A.Name and n.id == "a" else None

    out = A.transform(tree, to_two, bottom_up=True)
    assert to_text(out) == "x*2 + g(y)"
    assert out.pos == (1, 5) and out.left.pos == (1, 2) and out.left.right.pos == (1, 3)
    assert out is not tree and out.left is not left
    assert out.right is right  # nothing under g(y) changed: the subtree is shared
    assert to_text(tree) == "x*a + g(y)"  # the input is untouched
    # children before their parent, left before right
    assert seen == ["Name:(1, 1)", "Name:(1, 3)", "Binary:(1, 2)", "Name:(1, 9)",
                    "Call:(1, 7)", "Binary:(1, 5)"]


def test_transform_top_down_replacement_is_final_and_in_source_order() -> None:
    tree = parse("f(g(a)) + g(b) * [c, d]")
    seen = []

    def fold_g(n):
        seen.append(to_text(n))
        if type(n) is A.Call and n.func == "g":
            return A.Const(np.float64(len(seen)), n.pos, f"G{len(seen)}")
        return None

    out = A.transform(tree, fold_g)
    assert to_text(out) == "f(G3) + G5*[c, d]"
    # a(...) inside g(a) is never seen: the replacement is final
    assert seen == ["f(g(a)) + g(b)*[c, d]", "f(g(a))", "g(a)", "g(b)*[c, d]", "g(b)",
                    "[c, d]", "c", "d"]
    assert out.right.left.pos == (1, 11)  # the Const sits where g(b) was written


def test_transform_that_changes_nothing_returns_the_same_tree() -> None:
    tree = parse("a*b + sin(c).T - [1, 2]")
    assert A.transform(tree, lambda n: None) is tree
    assert A.transform(tree, lambda n: None, bottom_up=True) is tree


def test_transform_replaces_the_root() -> None:
    out = A.transform(a(), lambda n: A.Num(5.0, n.pos, "5"))
    assert type(out) is A.Num and out.value == 5.0 and out.pos == (1, 1)


# ---------------------------------------------------------------- Visitor


class Kinds(A.Visitor):
    def visit_Num(self, n, tag):
        return "Num" + tag

    def visit_Name(self, n, tag):
        return "Name" + tag

    def visit_Const(self, n, tag):
        return "Const" + tag

    def visit_ArrayLit(self, n, tag):
        return "ArrayLit" + tag

    def visit_Call(self, n, tag):
        return "Call" + tag

    def visit_Unary(self, n, tag):
        return "Unary" + tag

    def visit_Binary(self, n, tag):
        return "Binary" + tag

    def visit_Transpose(self, n, tag):
        return "Transpose" + tag

    def visit_Index(self, n, tag):
        return "Index" + tag


def test_visitor_dispatches_on_the_node_type_and_passes_arguments() -> None:
    v = Kinds()
    for t, node in one_of_each().items():
        assert v.visit(node, "!") == t.__name__ + "!"


def test_visitor_missing_a_method_fails_when_defined() -> None:
    with pytest.raises(TypeError, match="visit_Transpose missing"):
        class Partial(A.Visitor):
            def visit_Num(self, n):
                return 0

            visit_Name = visit_Const = visit_ArrayLit = visit_Call = visit_Num
            visit_Unary = visit_Binary = visit_Index = visit_Num


@dataclass(slots=True)
class Lambda:
    """A node kind the language does not have (and should never get)."""

    operand: A.Expr
    index: int
    pos: A.Pos


def visitor_classes() -> list[type]:
    out, todo = [], [A.Visitor]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            out.append(sub)
            todo.append(sub)
    return out


def test_every_visitor_in_bpshell_handles_every_node_kind() -> None:
    ours = [c for c in visitor_classes() if c.__module__.startswith("bpshell")]
    assert {"_Printer", "Builder", "SympyBuilder", "_ArrayItems"} <= {c.__name__ for c in ours}
    for cls in ours:
        assert set(cls._methods) == set(A.NODE_TYPES), cls


def test_a_new_node_kind_fails_loudly_everywhere(monkeypatch) -> None:
    node = Lambda(a(), 0, (1, 1))
    with pytest.raises(TypeError, match="not a syntax node"):
        A.children(node)
    with pytest.raises(TypeError, match="not a syntax node"):
        list(A.walk(A.Unary("neg", node, P)))
    with pytest.raises(TypeError, match="not a syntax node"):
        A.transform(A.Unary("neg", node, P), lambda n: None)
    with pytest.raises(TypeError, match="cannot visit Lambda"):
        to_text(node)
    with pytest.raises(TypeError, match="cannot visit Lambda"):
        Builder({}, {}).expr(node, {}, 0)
    with pytest.raises(TypeError, match="cannot visit Lambda"):
        SympyBuilder({}, {}, set(), 1e4).expr(node, {})
    with pytest.raises(TypeError, match="not a syntax node"):
        refs_of(node, {})
    with pytest.raises(TypeError, match="not a syntax node"):
        calls_of(node)
    # once the kind is declared, a pass that does not handle it cannot even be defined
    monkeypatch.setattr(A, "NODE_TYPES", A.NODE_TYPES + (Lambda,))
    for base in [c for c in visitor_classes() if c.__module__.startswith("bpshell")]:
        with pytest.raises(TypeError, match="visit_Lambda missing"):
            type("Extended" + base.__name__, (base,), {})


# ---------------------------------------------------------------- each pass, each kind


def test_printer_handles_every_kind() -> None:
    texts = {t.__name__: to_text(n) for t, n in one_of_each().items()}
    assert texts == {"Num": "2", "Name": "a", "Const": "3", "ArrayLit": "[1, 2]",
                     "Call": "sin(a)", "Unary": "-a", "Binary": "a + b", "Transpose": "a.T",
                     "Index": "a[0, 1:]"}
    const = A.Const(np.zeros((2, 3)), P)
    assert to_text(const) == "<array 2x3>"
    assert to_text(A.Const(np.zeros(2), P, "zeros(2)")) == "zeros(2)"
    assert to_text(const, literal=lambda v: "LIT") == "LIT"


def test_graph_builder_handles_every_kind() -> None:
    got = {}
    for t, node in one_of_each().items():
        b = Builder({}, {})
        root = b.graph.nodes[b.expr(node, {}, 0)]
        got[t.__name__] = (root.kind, root.op.name if root.op else None,
                           None if root.value is None else np.asarray(root.value).tolist())
    assert got == {
        "Num": ("const", None, 2.0), "Name": ("symbol", None, None),
        "Const": ("const", None, 3.0), "ArrayLit": ("const", None, [1.0, 2.0]),
        "Call": ("op", "sin", None), "Unary": ("op", "neg", None),
        "Binary": ("op", "add", None), "Transpose": ("op", "T", None),
        "Index": ("op", "index", None),
    }


def test_sympy_builder_handles_every_kind() -> None:
    sa, sb = sp.Symbol("a", real=True), sp.Symbol("b", real=True)
    want = {A.Num: sp.Integer(2), A.Name: sa, A.Const: sp.Float(3.0), A.Call: sp.sin(sa),
            A.Unary: -sa, A.Binary: sa + sb, A.Transpose: sa}
    for t, node in one_of_each().items():
        builder = SympyBuilder({}, {}, set(), 1e4)
        if t in (A.ArrayLit, A.Index):
            with pytest.raises(BpError, match="scalar expressions"):
                builder.expr(node, {})
        else:
            assert sp.simplify(builder.expr(node, {}) - want[t]) == 0, t


def test_reference_and_call_collection_see_every_kind() -> None:
    tree = A.Call("g", [A.ArrayLit([A.Transpose(A.Name("t", P), P),
                                    A.Unary("neg", A.Call("h", [A.Name("u", P)], P), P),
                                    A.Binary("*", A.Name("v", P), A.Num(1.0, P), P),
                                    A.Const(np.float64(1.0), P), A.Name("_", P)], P)], P)
    assert refs_of(tree, {}) == {"t", "u", "v"}
    assert calls_of(tree) == {"g", "h"}
    # an inlined function's body is read with its parameters bound
    inlined = UserFunction("g", ["p"], A.Binary("+", A.Name("p", P), A.Name("w", P), P), "p + w")
    assert refs_of(tree, {"g": inlined}) == {"t", "u", "v", "w"}


def test_elementwise_check_over_every_kind() -> None:
    p = A.Name("p", P)
    elementwise = {A.Num: True, A.Name: True, A.Const: False, A.ArrayLit: False,
                   A.Call: True, A.Unary: True, A.Binary: True, A.Transpose: False,
                   A.Index: False}
    bodies = {A.Num: A.Binary("*", p, A.Num(2.0, P), P), A.Name: p,
              A.Const: A.Binary("*", p, A.Const(np.float64(2.0), P), P),
              A.ArrayLit: A.Binary("*", p, A.ArrayLit([A.Num(1.0, P)], P), P),
              A.Call: A.Call("tanh", [p], P), A.Unary: A.Unary("neg", p, P),
              A.Binary: A.Binary("/", p, A.Num(3.0, P), P), A.Transpose: A.Transpose(p, P),
              A.Index: A.Index(p, (0,), P)}
    assert {t: _elementwise(body, ["p"], {}) for t, body in bodies.items()} == elementwise
    assert _elementwise(A.Binary("@", p, p, P), ["p"], {}) is False
    assert _elementwise(A.Binary("+", p, A.Name("q", P), P), ["p"], {}) is False


def test_array_literal_over_every_kind() -> None:
    lit = A.ArrayLit([A.ArrayLit([A.Num(1.0, P), A.Unary("neg", A.Num(2.0, P), P)], P),
                      A.ArrayLit([A.Const(np.float64(3.0), P),
                                  A.Unary("pos", A.Num(4.0, P), P)], P)], P)
    assert array_literal(lit).tolist() == [[1.0, -2.0], [3.0, 4.0]]
    for bad in (a((2, 7)), A.Call("sin", [A.Num(1.0, P)], (2, 7)),
                A.Binary("+", A.Num(1.0, P), A.Num(1.0, P), (2, 7)), A.Transpose(a(), (2, 7)),
                A.Unary("neg", a(), (2, 7)), A.Const(np.zeros(2), (2, 7)),
                A.Index(a(), (0,), (2, 7))):
        with pytest.raises(BpError, match="numbers only") as e:
            array_literal(A.ArrayLit([A.Num(1.0, P), bad], P))
        assert (e.value.line, e.value.column) == (2, 7)


# ---------------------------------------------------------------- printing round trip


ROUND_TRIP = [
    ("a+b*c", "a + b*c"),
    ("(a+b)*c", "(a + b)*c"),
    ("a*(b+c)*d", "a*(b + c)*d"),
    ("(a*b)+c", "a*b + c"),
    ("(a+b)*(c-d)", "(a + b)*(c - d)"),
    ("a-(b-c)", "a - (b - c)"),
    ("a-b+c", "a - b + c"),
    ("a/(b*c)", "a/(b*c)"),
    ("a*b/c", "a*b/c"),
    ("a@b.T", "a @ b.T"),
    ("-a**2", "-a**2"),
    ("(-a)**2", "(-a)**2"),
    ("2**-1", "2**(-1)"),
    ("a**b**c", "a**b**c"),
    ("(a**b)**c", "(a**b)**c"),
    ("x^2", "x**2"),
    ("--a", "--a"),
    ("+a", "+a"),
    ("a*-b", "a*-b"),
    ("-(a+b)", "-(a + b)"),
    ("(a+b).T", "(a + b).T"),
    ("f(a, b+1).T", "f(a, b + 1).T"),
    ("[[1,2],[3,4]]", "[[1, 2], [3, 4]]"),
    ("[1,2,]", "[1, 2]"),
    ("1.50 + 2e3", "1.50 + 2e3"),
    ("sum(W @ x, 0) / 4", "sum(W @ x, 0)/4"),
]


@pytest.mark.parametrize("source, expected", ROUND_TRIP)
def test_to_text_round_trip(source: str, expected: str) -> None:
    tree = parse(source)
    assert to_text(tree) == expected
    assert shape(parse(expected)) == shape(tree)
