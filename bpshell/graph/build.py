"""Computation graphs: named definitions expanded into one node per operation.

Definitions stay a graph of named nodes: `h2 = h1 + tanh(h1)` refers to the node h1, it
never copies h1's expression. Names are expanded with an explicit stack, so a chain of
100,000 definitions builds with no recursion; only a single statement's expression tree
(bounded by the parser's nesting limit) is walked recursively.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

import numpy as np

from bpshell.errors import BpError, LimitError, ParseError, UnknownName
from bpshell.language import syntax as sx
from bpshell.ops.table import BINARY, CONSTRUCTORS, OPERATOR_ONLY, OPS, Op

# ---------------------------------------------------------------- bindings


@dataclass
class Leaf:
    """A name holding a value: a number, an array, the result of an update."""

    value: object
    text: str  # the right-hand side as written
    stmt: int = 0  # serial number of the defining statement
    line: int = 0
    expr: object = None  # the expression it was computed from, kept to trace inf/nan


@dataclass
class Formula:
    """A live definition: recomputed from its inputs whenever they change."""

    expr: object
    text: str
    refs: frozenset[str]
    stmt: int = 0
    line: int = 0


@dataclass
class UserFunction:
    """`def name(params) = body`: an elementwise op of its own, or inlined where used."""

    name: str
    params: list[str]
    body: object
    text: str
    op: Op | None = None  # set when the body is elementwise in its parameters only
    calls: frozenset[str] = field(default_factory=frozenset)


# ---------------------------------------------------------------- nodes


class Node:
    """One operation (or leaf, symbol, constant) of a graph."""

    __slots__ = ("kind", "op", "args", "params", "name", "pos", "stmt", "ast", "value")

    def __init__(self, kind, op=None, args=(), params=(), name=None, pos=None, stmt=0,
                 ast=None, value=None):
        self.kind = kind  # "leaf", "symbol", "const", "op"
        self.op = op
        self.args = args
        self.params = params
        self.name = name
        self.pos = pos
        self.stmt = stmt
        self.ast = ast
        self.value = value

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        if self.ast is not None:
            return sx.to_text(self.ast)
        if self.kind == "const":
            return sx._value_text(self.value)
        return self.op.name if self.op else "?"


class Graph:
    """Nodes in topological order (every node after its inputs), and the named ones."""

    def __init__(self):
        self.nodes: list[Node] = []
        self.named: dict[str, int] = {}
        self.defs: dict[int, tuple[str, str, int]] = {}  # stmt -> (name, text, line)
        self.root: int = -1

    def add(self, node: Node) -> int:
        self.nodes.append(node)
        return len(self.nodes) - 1


# ---------------------------------------------------------------- building


class Builder:
    """Builds a Graph from the session's bindings.

    With `frozen`, a named formula whose value is cached becomes a leaf holding that value:
    evaluating a new statement then touches only what changed.
    """

    def __init__(self, bindings: dict, funcs: dict, cache: dict | None = None,
                 max_nodes: int = 1_000_000, last=None):
        self.bindings = bindings
        self.funcs = funcs
        self.cache = cache
        self.max_nodes = max_nodes
        self.last = last
        self.graph = Graph()

    def _add(self, node: Node) -> int:
        if len(self.graph.nodes) >= self.max_nodes:
            raise LimitError(f"the graph would exceed {self.max_nodes} nodes "
                             "(BPSHELL_MAX_NODES or --max-nodes raises the limit)")
        return self.graph.add(node)

    # -- names
    def name_node(self, name: str) -> int:
        """The node of a name, expanding its definition and everything under it.

        An explicit stack instead of recursion; a name is "expanding" while its inputs are
        being built, so meeting it again on that path is a cycle (a sibling is not).
        """
        g = self.graph
        if name in g.named:
            return g.named[name]
        stack = [name]
        expanding: set[str] = set()
        while stack:
            n = stack[-1]
            if n in g.named:
                stack.pop()
                continue
            b = self.bindings.get(n)
            if b is None:
                if n in self.funcs or n in CONSTRUCTORS or (n in OPS and n not in
                                                            OPERATOR_ONLY):
                    example = self.funcs[n].name + "(...)" if n in self.funcs else \
                        (OPS[n].example if n in OPS else CONSTRUCTORS[n].example)
                    raise BpError(f"'{n}' is a function; call it, as in {example}")
                g.named[n] = self._add(Node("symbol", name=n))
            elif isinstance(b, Leaf):
                g.named[n] = self._add(Node("leaf", name=n, value=b.value, stmt=b.stmt))
            elif self.cache is not None and n in self.cache:
                g.named[n] = self._add(Node("leaf", name=n, value=self.cache[n], stmt=b.stmt))
            else:
                missing = [r for r in sorted(b.refs) if r not in g.named]
                if missing:
                    if n in expanding:
                        raise BpError(f"'{n}' and '{missing[0]}' are defined in terms of "
                                      "each other")
                    expanding.add(n)
                    for r in missing:
                        if r in expanding:
                            raise BpError(f"'{n}' and '{r}' are defined in terms of each other")
                        stack.append(r)
                    continue
                try:
                    nid = self.expr(b.expr, {}, b.stmt)
                except BpError as e:
                    raise type(e)(f"in {n} = {b.text} (line {b.line}): {e.message}") from None
                g.defs[b.stmt] = (n, b.text, b.line)
                node = g.nodes[nid]
                if node.kind == "op" and node.name is None:
                    node.name = n
                else:
                    nid = self._add(Node("op", OPS["id"], (nid,), name=n, stmt=b.stmt,
                                         ast=b.expr))
                g.named[n] = nid
                expanding.discard(n)
            stack.pop()
        return g.named[name]

    # -- expressions
    def expr(self, ast, env: dict[str, int], stmt: int) -> int:
        """Nodes for one expression tree; env maps an inlined function's parameters."""
        t = type(ast)
        if t is sx.Name:
            if ast.id in env:
                return env[ast.id]
            if ast.id == "_":
                if self.last is None:
                    raise UnknownName("'_' is the last value, and there is none yet", *ast.pos)
                return self._add(Node("const", value=self.last, pos=ast.pos, stmt=stmt,
                                      ast=ast))
            named = self.graph.named.get(ast.id)
            if named is not None:
                return named
            try:
                return self.name_node(ast.id)
            except BpError as e:
                raise e.at(*ast.pos) from None
        if t is sx.Binary:
            if ast.op == "**":
                left = self.expr(ast.left, env, stmt)
                right = self.expr(ast.right, env, stmt)
                return self._op(BINARY["**"], (left, right), (), ast, stmt)
            base, chain = sx.spine(ast)
            acc = self.expr(base, env, stmt)
            for b in chain:
                acc = self._op(BINARY[b.op], (acc, self.expr(b.right, env, stmt)), (), b, stmt)
            return acc
        if t is sx.Num or t is sx.Const:
            return self._add(Node("const", value=ast.value, pos=ast.pos, stmt=stmt, ast=ast))
        if t is sx.Call:
            return self.call(ast, env, stmt)
        if t is sx.Unary:
            inner = self.expr(ast.operand, env, stmt)
            if ast.op == "pos":
                return inner
            return self._op(OPS["neg"], (inner,), (), ast, stmt)
        if t is sx.Transpose:
            return self._op(OPS["T"], (self.expr(ast.operand, env, stmt),), (), ast, stmt)
        if t is sx.ArrayLit:
            return self._add(Node("const", value=array_literal(ast), pos=ast.pos, stmt=stmt,
                                  ast=ast))
        raise ParseError("unsupported expression", *getattr(ast, "pos", (None, None)))

    def _op(self, op: Op, args: tuple, params: tuple, ast, stmt: int) -> int:
        return self._add(Node("op", op, args, params, pos=ast.pos, stmt=stmt, ast=ast))

    def call(self, ast: sx.Call, env: dict[str, int], stmt: int) -> int:
        fname = ast.func
        user = self.funcs.get(fname)
        if user is not None:
            if len(ast.args) != len(user.params):
                raise BpError(f"{fname} takes {len(user.params)} argument"
                              f"{'s' if len(user.params) != 1 else ''}, "
                              f"not {len(ast.args)}", *ast.pos)
            args = [self.expr(a, env, stmt) for a in ast.args]
            if user.op is not None:
                return self._op(user.op, tuple(args), (), ast, stmt)
            return self.expr(user.body, dict(zip(user.params, args)), stmt)
        op = OPS.get(fname)
        if op is None or fname in OPERATOR_ONLY:
            if fname in CONSTRUCTORS:
                raise BpError(f"{fname}(...) takes numbers or names that have values",
                              *ast.pos)
            raise UnknownName(unknown_function(fname), *ast.pos)
        n_in, n_opt = op.arity, len(op.defaults)
        tensor_args = ast.args[:n_in]
        extra = ast.args[n_in:]
        if len(tensor_args) < n_in - n_opt:
            raise BpError(f"{fname} takes {n_in - n_opt} argument"
                          f"{'s' if n_in - n_opt != 1 else ''}: {op.example}", *ast.pos)
        if extra and not op.params:
            raise BpError(f"{fname} takes at most {n_in} argument{'s' if n_in != 1 else ''}: "
                          f"{op.example}", *extra[0].pos)
        args = [self.expr(a, env, stmt) for a in tensor_args]
        for default in op.defaults[len(tensor_args) - (n_in - n_opt):]:
            args.append(self._add(Node("const", value=default, pos=ast.pos, stmt=stmt)))
        params = tuple(integer_param(a, op) for a in extra)
        if op.name in ("sum", "mean") and len(params) > 1:
            raise BpError(f"{fname} takes one axis: {op.example}", *extra[1].pos)
        if op.name == "reshape" and not params:
            raise BpError(f"reshape needs the new shape: {op.example}", *ast.pos)
        return self._op(op, tuple(args), params, ast, stmt)


def integer_param(ast, op: Op) -> int:
    """Axes and shapes are written as whole numbers in the call."""
    v = _number(ast)
    if v is None or not abs(v) < 2**63 or v != int(v):
        raise BpError(f"{op.name}'s {op.params[0]} must be a whole number", *ast.pos)
    return int(v)


def _number(ast) -> float | None:
    if isinstance(ast, sx.Num):
        return ast.value
    if isinstance(ast, sx.Unary) and isinstance(ast.operand, sx.Num):
        return -ast.operand.value if ast.op == "neg" else ast.operand.value
    return None


def array_literal(ast: sx.ArrayLit) -> np.ndarray:
    """Nested lists of numbers; rows must agree in length."""

    def walk(node):
        if isinstance(node, sx.ArrayLit):
            return [walk(i) for i in node.items]
        v = _number(node)
        if v is None:
            if isinstance(node, sx.Const) and np.ndim(node.value) == 0:
                return float(node.value)
            raise BpError("array literals hold numbers only, like [[1, 2], [3, 4]]",
                          *node.pos)
        return v

    items = walk(ast)
    try:
        return np.array(items, dtype=np.float64)
    except ValueError:
        raise ShapeErrorAt("the rows of this array have different lengths", ast.pos) from None


def ShapeErrorAt(message: str, pos) -> BpError:
    from bpshell.errors import ShapeError

    return ShapeError(message, *pos)


def unknown_function(name: str) -> str:
    known = [n for n in OPS if n not in OPERATOR_ONLY] + list(CONSTRUCTORS)
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean {close[0]}?" if close else "; 'help functions' lists them"
    return f"unknown function '{name}'{hint}"


def refs_of(ast, funcs: dict, bound: frozenset = frozenset()) -> set[str]:
    """Names an expression reads, including those read inside inlined functions."""
    out: set[str] = set()
    stack = [(ast, bound)]
    seen_funcs: set[str] = set()
    while stack:
        node, b = stack.pop()
        if isinstance(node, sx.Name):
            if node.id not in b and node.id != "_":
                out.add(node.id)
        elif isinstance(node, sx.Unary):
            stack.append((node.operand, b))
        elif isinstance(node, sx.Binary):
            stack.append((node.left, b))
            stack.append((node.right, b))
        elif isinstance(node, sx.Transpose):
            stack.append((node.operand, b))
        elif isinstance(node, sx.ArrayLit):
            stack.extend((i, b) for i in node.items)
        elif isinstance(node, sx.Call):
            stack.extend((a, b) for a in node.args)
            f = funcs.get(node.func)
            if f is not None and f.op is None and node.func not in seen_funcs:
                seen_funcs.add(node.func)
                stack.append((f.body, frozenset(f.params)))
    return out


def calls_of(ast) -> set[str]:
    """Function names an expression calls."""
    out: set[str] = set()
    stack = [ast]
    while stack:
        node = stack.pop()
        if isinstance(node, sx.Call):
            out.add(node.func)
            stack.extend(node.args)
        elif isinstance(node, sx.Unary | sx.Transpose):
            stack.append(node.operand)
        elif isinstance(node, sx.Binary):
            stack.extend((node.left, node.right))
        elif isinstance(node, sx.ArrayLit):
            stack.extend(node.items)
    return out
