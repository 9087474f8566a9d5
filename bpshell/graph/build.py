"""Computation graphs: named definitions expanded into one node per operation.

Definitions stay a graph of named nodes: `h2 = h1 + tanh(h1)` refers to the node h1, it
never copies h1's expression. Names are expanded with an explicit stack, so a chain of
100,000 definitions builds with no recursion; only a single statement's expression tree
(bounded by the parser's nesting limit; long sums are taken with `spine`) is walked
recursively.
"""

from __future__ import annotations

import difflib

import numpy as np

from bpshell.errors import BpError, LimitError, UnknownName
from bpshell.language import ast as sx
from bpshell.language.printer import to_text, value_text
from bpshell.ops.table import (
    BINARY,
    CONSTRUCTORS,
    OPERATOR_ONLY,
    OPS,
    Op,
    function_names,
    param_at,
    params_problem,
)
from bpshell.records import Value

# ---------------------------------------------------------------- bindings


class Leaf(Value):
    """A name holding a value: a number, an array, the result of an update."""

    __slots__ = ("value", "text", "stmt", "line", "expr")

    value: object
    text: str  # the right-hand side as written
    stmt: int  # serial number of the defining statement
    line: int
    expr: object  # the expression it was computed from, kept to trace inf/nan

    def __init__(self, value: object, text: str, stmt: int = 0, line: int = 0,
                 expr: object = None):
        self.value = value
        self.text = text
        self.stmt = stmt
        self.line = line
        self.expr = expr


class Formula(Value):
    """A live definition: recomputed from its inputs whenever they change."""

    __slots__ = ("expr", "text", "refs", "stmt", "line")

    expr: object
    text: str
    refs: frozenset[str]
    stmt: int
    line: int

    def __init__(self, expr: object, text: str, refs: frozenset[str], stmt: int = 0,
                 line: int = 0):
        self.expr = expr
        self.text = text
        self.refs = refs
        self.stmt = stmt
        self.line = line


class UserFunction(Value):
    """`def name(params) = body`: an elementwise op of its own, or inlined where used."""

    __slots__ = ("name", "params", "body", "text", "op", "calls", "depth")

    name: str
    params: list[str]
    body: object
    text: str
    op: Op | None  # set when the body is elementwise in its parameters only
    calls: frozenset[str]
    depth: int  # nesting depth of the body with the functions it calls written out

    def __init__(self, name: str, params: list[str], body: object, text: str,
                 op: Op | None = None, calls: frozenset[str] = frozenset(), depth: int = 1):
        self.name = name
        self.params = params
        self.body = body
        self.text = text
        self.op = op
        self.calls = calls
        self.depth = depth


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
            return to_text(self.ast)
        if self.kind == "const":
            return value_text(self.value)
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


class Builder(sx.Visitor):
    """Builds a Graph from the session's bindings.

    With `frozen`, a named formula whose value is cached becomes a leaf holding that value:
    evaluating a new statement then touches only what changed.
    """

    def __init__(self, bindings: dict, funcs: dict, cache: dict | None = None,
                 max_nodes: int = 1_000_000, last=None, layers=None):
        self.bindings = bindings
        self.funcs = funcs
        self.cache = cache
        self.max_nodes = max_nodes
        self.last = last
        self.layers = layers  # the session's layer context, for dropout and batchnorm
        self.slots: dict[tuple, int] = {}  # calls of stateful layers met so far, by place
        self.read_last = False  # whether a node holds `_`, the last value
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
            if isinstance(b, Formula) and not (self.cache is not None and n in self.cache):
                missing = [r for r in sorted(b.refs) if r not in g.named]
                if missing:  # its inputs first; n is built when the stack comes back to it
                    _expand(n, missing, expanding, stack)
                    continue
                g.named[n] = self._formula_node(n, b)
                expanding.discard(n)
            else:
                g.named[n] = self._add(self._input_node(n, b))
            stack.pop()
        return g.named[name]

    def _input_node(self, n: str, b) -> Node:
        """A name with no formula to expand: a symbol, a leaf, or a cached formula's value."""
        if b is None:
            if n in self.funcs or n in CONSTRUCTORS or (n in OPS and n not in OPERATOR_ONLY):
                example = self.funcs[n].name + "(...)" if n in self.funcs else \
                    (OPS[n].example if n in OPS else CONSTRUCTORS[n].example)
                raise BpError(f"'{n}' is a function; call it, as in {example}")
            return Node("symbol", name=n)
        value = b.value if isinstance(b, Leaf) else self.cache[n]
        return Node("leaf", name=n, value=value, stmt=b.stmt)

    def _formula_node(self, n: str, b: Formula) -> int:
        """The node of a formula whose inputs are built: its top op, named n."""
        g = self.graph
        try:
            nid = self.expr(b.expr, {}, b.stmt)
        except BpError as e:
            raise type(e)(f"in {n} = {b.text} (line {b.line}): {e.message}") from None
        g.defs[b.stmt] = (n, b.text, b.line)
        node = g.nodes[nid]
        if node.kind == "op" and node.name is None:
            node.name = n
            return nid
        return self._add(Node("op", OPS["id"], (nid,), name=n, stmt=b.stmt, ast=b.expr))

    # -- expressions
    # `expr(ast, env, stmt)`: the nodes of one expression tree, returning the root's id;
    # env maps an inlined function's parameters to their nodes. It is `visit` itself, not
    # a wrapper, so each level of a deeply nested expression costs two Python frames.
    expr = sx.Visitor.visit

    def visit_Name(self, ast: sx.Name, env: dict[str, int], stmt: int) -> int:
        if ast.id in env:
            return env[ast.id]
        if ast.id == "_":
            if self.last is None:
                raise UnknownName("'_' is the last value, and there is none yet", *ast.pos)
            self.read_last = True
            return self._add(Node("const", value=self.last, pos=ast.pos, stmt=stmt, ast=ast))
        named = self.graph.named.get(ast.id)
        if named is not None:
            return named
        try:
            return self.name_node(ast.id)
        except BpError as e:
            raise e.at(*ast.pos) from None

    def visit_Binary(self, ast: sx.Binary, env: dict[str, int], stmt: int) -> int:
        if ast.op == "**":
            left = self.visit(ast.left, env, stmt)
            right = self.visit(ast.right, env, stmt)
            return self._op(BINARY["**"], (left, right), (), ast, stmt)
        base, chain = sx.spine(ast)
        acc = self.visit(base, env, stmt)
        for b in chain:
            acc = self._op(BINARY[b.op], (acc, self.visit(b.right, env, stmt)), (), b, stmt)
        return acc

    def visit_Num(self, ast: sx.Num | sx.Const, env: dict[str, int], stmt: int) -> int:
        return self._add(Node("const", value=ast.value, pos=ast.pos, stmt=stmt, ast=ast))

    visit_Const = visit_Num

    def visit_Call(self, ast: sx.Call, env: dict[str, int], stmt: int) -> int:
        return self.call(ast, env, stmt)

    def visit_Unary(self, ast: sx.Unary, env: dict[str, int], stmt: int) -> int:
        inner = self.visit(ast.operand, env, stmt)
        if ast.op == "pos":
            return inner
        return self._op(OPS["neg"], (inner,), (), ast, stmt)

    def visit_Transpose(self, ast: sx.Transpose, env: dict[str, int], stmt: int) -> int:
        return self._op(OPS["T"], (self.visit(ast.operand, env, stmt),), (), ast, stmt)

    def visit_Index(self, ast: sx.Index, env: dict[str, int], stmt: int) -> int:
        return self._op(OPS["index"], (self.visit(ast.operand, env, stmt),), (ast.key,), ast,
                        stmt)

    def visit_ArrayLit(self, ast: sx.ArrayLit, env: dict[str, int], stmt: int) -> int:
        return self._add(Node("const", value=array_literal(ast), pos=ast.pos, stmt=stmt,
                              ast=ast))

    def _op(self, op: Op, args: tuple, params: tuple, ast, stmt: int) -> int:
        return self._add(Node("op", op, args, params, pos=ast.pos, stmt=stmt, ast=ast))

    def call(self, ast: sx.Call, env: dict[str, int], stmt: int) -> int:
        fname = ast.func
        user = self.funcs.get(fname)
        if user is not None:
            return self._user_call(user, ast, env, stmt)
        op = OPS.get(fname)
        if op is None or fname in OPERATOR_ONLY:
            if fname in CONSTRUCTORS:
                raise BpError(f"{fname}(...) takes numbers or names that have values",
                              *ast.pos)
            raise UnknownName(unknown_function(fname), *ast.pos)
        _check_keywords(op, ast)
        n_in, n_opt = op.arity, len(op.defaults)
        tensor_args = ast.args[:n_in]
        extra = ast.args[n_in:]
        if len(tensor_args) < n_in - n_opt:
            raise BpError(f"{fname} takes {n_in - n_opt} argument"
                          f"{'s' if n_in - n_opt != 1 else ''}: {op.example}", *ast.pos)
        problem = params_problem(op, len(extra))  # the op says how many values it takes
        if problem is not None:
            message, first_extra = problem
            raise BpError(message, *(ast.pos if first_extra is None else
                                     extra[first_extra].pos))
        params = call_params(op, extra, ast)
        args = [self.expr(a, env, stmt) for a in tensor_args]
        for default in op.defaults[len(tensor_args) - (n_in - n_opt):]:
            args.append(self._add(Node("const", value=default, pos=ast.pos, stmt=stmt)))
        if op.stateful:
            params = (self._slot(op, ast, stmt), *params)
        return self._op(op, tuple(args), params, ast, stmt)

    def _user_call(self, user, ast: sx.Call, env: dict[str, int], stmt: int) -> int:
        """A user function: one op of its own, or its body inlined with its arguments."""
        fname = ast.func
        _no_keywords(fname, ast)
        if len(ast.args) != len(user.params):
            raise BpError(f"{fname} takes {len(user.params)} argument"
                          f"{'s' if len(user.params) != 1 else ''}, "
                          f"not {len(ast.args)}", *ast.pos)
        args = [self.expr(a, env, stmt) for a in ast.args]
        if user.op is not None:
            return self._op(user.op, tuple(args), (), ast, stmt)
        return self.expr(user.body, dict(zip(user.params, args)), stmt)

    def _slot(self, op: Op, ast: sx.Call, stmt: int):
        """Where this call of a stateful layer keeps its mask or running averages."""
        from bpshell.ops.layers import Slot

        if self.layers is None:
            raise BpError(f"{op.name} keeps state in the session and cannot be used here",
                          *ast.pos)
        place = (stmt, *ast.pos)
        seen = self.slots.get(place, 0)
        self.slots[place] = seen + 1
        return Slot(self.layers, (*place, seen))


def _check_keywords(op: Op, ast: sx.Call) -> None:
    """Keywords only for the options the op declares (axis=, keepdims=), never an input."""
    if ast.keywords and (not op.params or any(p.most != 1 for p in op.params)):
        _no_keywords(ast.func, ast)
    for kw in ast.keywords:
        if kw.name in op.inputs:
            raise BpError(f"{kw.name} is an input of {ast.func}; write it without its name: "
                          f"{op.example}", *kw.pos)


def _no_keywords(fname: str, ast: sx.Call) -> None:
    if ast.keywords:
        raise BpError(f"{fname} takes no keyword arguments", *ast.keywords[0].pos)


def call_params(op: Op, extra: list, ast: sx.Call) -> tuple:
    """The values of an op's parameters in a call: positional ones, then those given by
    name, which only a declared parameter taking one value accepts (`axis=1`)."""
    if not extra and not ast.keywords:
        return ()
    values = [param_value(a, op, j) for j, a in enumerate(extra)]
    if not ast.keywords:
        return tuple(values)
    names = [p.name for p in op.params]
    if not names or any(p.most != 1 for p in op.params):
        _no_keywords(op.name, ast)
    given: dict[int, object] = dict(enumerate(values))
    for kw in ast.keywords:
        if kw.name not in names:
            options = ", ".join(f"{n}=" for n in names)
            raise BpError(f"{op.name} has no option '{kw.name}'; it takes {options}", *kw.pos)
        j = names.index(kw.name)
        if j in given:
            raise BpError(f"{kw.name} is given twice", *kw.pos)
        given[j] = _checked(op.params[j], op, kw.value, kw.pos)
    return tuple(given[j] if j in given else op.params[j].default
                 for j in range(max(given) + 1))


def _checked(param, op: Op, v, pos):
    """A keyword's value, if it is of the parameter's kind."""
    if param.kind == "bool":
        if not isinstance(v, bool):
            raise BpError(f"{op.name}'s {param.name} is True or False", *pos)
        return v
    if v is None and param.default is None:
        return None
    if isinstance(v, bool) or v is None:
        raise BpError(f"{op.name}'s {param.name} must be a number", *pos)
    if param.kind == "int" and (not abs(v) < 2**63 or v != int(v)):
        raise BpError(f"{op.name}'s {param.name} must be a whole number", *pos)
    return int(v) if param.kind == "int" else float(v)


def param_value(ast, op: Op, j: int = 0):
    """The j-th value after a call's inputs, written as a number in the call: a whole
    number for axes and shapes, any number for a float parameter (dropout's ratio)."""
    param = param_at(op, j)
    v = _number(ast)
    if param is not None and param.kind == "float":
        if v is None:
            raise BpError(f"{op.name}'s {param.name} must be a number written in the call",
                          *ast.pos)
        return float(v)
    if param is not None and param.kind == "bool":
        raise BpError(f"write {op.name}'s {param.name} by name: {param.name}=True", *ast.pos)
    if v is None or not abs(v) < 2**63 or v != int(v):
        what = param.name if param is not None else "parameter"
        raise BpError(f"{op.name}'s {what} must be a whole number", *ast.pos)
    return int(v)


def _number(ast) -> float | None:
    if isinstance(ast, sx.Num):
        return ast.value
    if isinstance(ast, sx.Unary) and isinstance(ast.operand, sx.Num):
        return -ast.operand.value if ast.op == "neg" else ast.operand.value
    return None


def array_literal(ast: sx.ArrayLit) -> np.ndarray:
    """Nested lists of numbers; rows must agree in length."""
    items = _ArrayItems().visit(ast)
    try:
        return np.array(items, dtype=np.float64)
    except ValueError:
        raise ShapeErrorAt("the rows of this array have different lengths", ast.pos) from None


class _ArrayItems(sx.Visitor):
    """An array literal as nested lists: what each node kind means inside `[...]`."""

    def visit_ArrayLit(self, node: sx.ArrayLit) -> list:
        return [self.visit(i) for i in node.items]

    def visit_Num(self, node: sx.Num) -> float:
        return node.value

    def visit_Unary(self, node: sx.Unary) -> float:
        v = _number(node)  # -3 and +3; anything else under the sign is not a number
        return self.not_a_number(node) if v is None else v

    def visit_Const(self, node: sx.Const) -> float:
        if np.ndim(node.value) == 0:  # a scalar computed when the line was entered
            return float(node.value)
        return self.not_a_number(node)

    def not_a_number(self, node) -> float:
        raise BpError("array literals hold numbers only, like [[1, 2], [3, 4]]", *node.pos)

    visit_Name = visit_Call = visit_Binary = visit_Transpose = visit_Index = not_a_number


def ShapeErrorAt(message: str, pos) -> BpError:
    from bpshell.errors import ShapeError

    return ShapeError(message, *pos)


def unknown_function(name: str) -> str:
    from bpshell.language.habits import function_hint

    habit = function_hint(name)
    if habit is not None:
        return f"unknown function '{name}'; did you mean {habit}?"
    close = difflib.get_close_matches(name, function_names(), n=1)
    hint = f"; did you mean {close[0]}?" if close else "; 'help functions' lists them"
    return f"unknown function '{name}'{hint}"


def refs_of(ast, funcs: dict, bound: frozenset = frozenset()) -> set[str]:
    """Names an expression reads, including those read inside inlined functions."""
    out: set[str] = set()
    todo = [(ast, bound)]  # each inlined function's body once, with its parameters bound
    seen_funcs: set[str] = set()
    while todo:
        tree, b = todo.pop()
        for node in sx.walk(tree):
            t = type(node)
            if t is sx.Name:
                if node.id not in b and node.id != "_":
                    out.add(node.id)
            elif t is sx.Call:
                f = funcs.get(node.func)
                if f is not None and f.op is None and node.func not in seen_funcs:
                    seen_funcs.add(node.func)
                    todo.append((f.body, frozenset(f.params)))
    return out


def calls_of(ast) -> set[str]:
    """Function names an expression calls."""
    return {node.func for node in sx.walk(ast) if type(node) is sx.Call}


def _expand(n: str, missing: list[str], expanding: set[str], stack: list[str]) -> None:
    """Push a formula's unbuilt inputs; meeting a name again on its own path is a cycle."""
    if n in expanding:
        raise BpError(f"'{n}' and '{missing[0]}' are defined in terms of each other")
    expanding.add(n)
    for r in missing:
        if r in expanding:
            raise BpError(f"'{n}' and '{r}' are defined in terms of each other")
        stack.append(r)
