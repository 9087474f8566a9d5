"""What both code generators share: the graph as they read it, the derived rules, names,
literals, SymPy printing, and writing the file.

Everything read from the engine goes through `read_plan` and `elementwise_rules`, so a
change in the engine's internals touches these two functions only.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import sympy as sp
from sympy.printing.numpy import NumPyPrinter
from sympy.printing.precedence import precedence

from bpshell.errors import BpError, FileError
from bpshell.fileio import write_atomic

WIDTH = 99  # generated lines stay within ruff's limit of 100


# ---------------------------------------------------------------- the graph


@dataclass
class Item:
    """One node of the graph, as the generators need it."""

    id: int
    kind: str  # "leaf", "symbol", "const", "op"
    op: object  # the Op of an op node
    args: tuple[int, ...]
    params: tuple
    name: str | None  # the session's name for it
    label: str  # the expression as the session shows it ("h = sigmoid(a)" for a name)
    value: object  # None where it depends on an unbound symbol
    folded: bool  # a constant, or an op on constants only: written as its value


@dataclass
class GraphView:
    """A graph in topological order, with what generation asks of it."""

    items: list[Item]
    root: int
    uses: list[int]  # how many op inputs read each node
    leaves: list[int]  # named leaves and symbols, in the order the session defined them
    text: str  # the root's definition as written

    def shape(self, i: int) -> tuple | None:
        """The node's shape, or None when it depends on an unbound symbol."""
        v = self.items[i].value
        return None if v is None else tuple(np.shape(v))

    def needs_grad(self) -> list[bool]:
        """Whether a gradient flows into each node (leaves and what they feed)."""
        need = []
        for it in self.items:
            if it.kind == "op" and not it.folded:
                need.append(any(need[a] for a in it.args))
            else:
                need.append(it.kind in ("leaf", "symbol"))
        return need


def read_plan(plan, root_name: str) -> GraphView:
    """The generators' view of a numeric Plan (its graph and its values)."""
    graph = plan.graph
    items: list[Item] = []
    for i, node in enumerate(graph.nodes):
        folded = node.kind == "const" or (node.kind == "op" and node.op.name != "id"
                                          and all(items[a].folded for a in node.args))
        label = node.label
        where = graph.defs.get(node.stmt)
        if node.name and where and where[0] == node.name:
            label = f"{node.name} = {where[1]}"
        if node.kind == "op" and node.op.name in ("sum", "mean") and len(node.params) > 1 \
                and node.params[1]:
            raise BpError(f"codegen writes {node.op.name} without keepdims=True; "
                          "reshape its result instead")
        items.append(Item(i, node.kind, node.op, tuple(node.args), tuple(node.params),
                          node.name, label, plan.values[i], folded))
    uses = [0] * len(items)
    for it in items:
        for a in it.args:
            uses[a] += 1
    leaves = [it.id for it in items if it.kind in ("leaf", "symbol") and it.name]
    leaves.sort(key=lambda i: (graph.nodes[i].stmt, i))
    root = graph.root
    where = graph.defs.get(graph.nodes[root].stmt)
    text = f"{root_name} = {where[1]}" if where and where[0] == root_name else root_name
    return GraphView(items, root, uses, leaves, text)


# ---------------------------------------------------------------- derived rules


@dataclass
class Rule:
    """d(out)/d(input k) of an elementwise op, as derived by bpshell."""

    expr: sp.Expr  # in the symbols X[k] (inputs) and Y (the output)
    output_form: bool  # written with the output alone (sigmoid' = y*(1 - y))
    constant: bool
    mask: sp.Expr | None  # for a 1-or-0 derivative (relu'): where it is 0


def elementwise_rules(op) -> list[Rule]:
    """The local derivatives the backward pass uses, in the form the engine chose.

    The engine takes the output form where it needs nothing but y and agrees with the
    input form everywhere (log's exp(-y) does not); generated code makes the same choice.
    """
    from bpshell.symbolic.derive import X, Y, to_numpy
    from bpshell.symbolic.local import _accurate, _as_good, local

    loc = local(op)
    args = X[: op.arity]
    rules = []
    for k, x in enumerate(args):
        d = sp.powsimp(sp.diff(loc.call, x))
        if loc.constant[k]:
            rules.append(Rule(d, False, True, None))
            continue
        form = loc.output[k]
        if form is not None and not form.free_symbols & set(args) and len(args) == 1:
            raw_fn = to_numpy([*args, Y], _accurate(d))
            out_fn = to_numpy([*args, Y], _accurate(form))
            if _as_good(op, raw_fn, out_fn):
                rules.append(Rule(_accurate(form), True, False, None))
                continue
        rules.append(Rule(_accurate(d), False, False, _mask(d, set(args))))
    return rules


def _mask(d: sp.Expr, inputs: set) -> sp.Expr | None:
    """Where a derivative that is 1 or 0 is 0: relu's (x <= 0), the book's mask."""
    if not isinstance(d, sp.Piecewise) or len(d.args) != 2:
        return None
    (one, condition), (zero, otherwise) = d.args
    if one != 1 or zero != 0 or otherwise != sp.true or not condition.free_symbols <= inputs:
        return None
    return sp.Not(condition)


def call_of(op, args) -> sp.Expr:
    """The op applied to SymPy args as its derivatives name it: sigmoid(x), swish(u)."""
    from bpshell.symbolic.calls import sympy_call

    return sympy_call(op, *args)


def definition(op, args) -> sp.Expr:
    """An elementwise op applied to SymPy args: sigmoid(x), x + y, a user function's body."""
    from bpshell.symbolic.calls import sympy_call, written_out

    return written_out(op, *args) if op.user else sympy_call(op, *args)


# ---------------------------------------------------------------- names


class Namer:
    """Python names, unique in one scope, never a keyword or a name the code relies on."""

    def __init__(self, taken=()):
        self.used: set[str] = set(taken)

    def take(self, base: str) -> str:
        name = re.sub(r"\W", "_", base) or "v"
        if name[0].isdigit():
            name = "v" + name
        while name in self.used or keyword.iskeyword(name) or name in ("l", "O", "I"):
            name += "_"
        self.used.add(name)
        return name


def camel(name: str) -> str:
    """leaky_relu -> LeakyRelu: a class name from an op's or function's name."""
    return "".join(p[:1].upper() + p[1:] for p in name.split("_") if p) or "Layer"


# ---------------------------------------------------------------- literals


def number(v, inf: str = "np.inf", nan: str = "np.nan") -> str:
    """A float64 as a literal that reads back to the same bits."""
    f = float(v)
    if f != f:
        return nan
    if f in (float("inf"), float("-inf")):
        return inf if f > 0 else "-" + inf
    return repr(f)


def value_lines(value, head: str, tail: str, indent: int, array: str,
                inf: str = "np.inf", nan: str = "np.nan") -> list[str]:
    """`head` + the value as a literal + `tail`, one array row a line where it is long.

    array is the constructor ("np.array" or a list for torch: "").
    """
    pad = " " * indent
    a = np.asarray(value, dtype=np.float64)
    if a.ndim == 0:
        return [pad + head + number(a, inf, nan) + tail]
    if a.size == 0:
        empty = f"np.zeros({a.shape})" if array else "[]"
        return [pad + head + empty + tail]
    flat = _flat(a, inf, nan)
    one = f"{array}({flat})" if array else flat
    if len(pad + head + one + tail) <= WIDTH:
        return [pad + head + one + tail]
    opening, closing = (f"{array}([", "])") if array else ("[", "]")
    return [pad + head + opening, *_rows(a, indent + 4, inf, nan), pad + closing + tail]


def _flat(a: np.ndarray, inf: str, nan: str) -> str:
    if a.ndim == 0:
        return number(a, inf, nan)
    return "[" + ", ".join(_flat(r, inf, nan) for r in a) + "]"


def _rows(a: np.ndarray, indent: int, inf: str, nan: str) -> list[str]:
    pad = " " * indent
    if a.ndim == 1:
        lines, line = [], ""
        for v in a:
            word = number(v, inf, nan) + ","
            if line and len(pad + line + " " + word) > WIDTH:
                lines.append(pad + line)
                line = word
            else:
                line = f"{line} {word}" if line else word
        return [*lines, pad + line]
    out = []
    for row in a:
        flat = _flat(row, inf, nan)
        if len(pad + flat) < WIDTH:
            out.append(pad + flat + ",")
        else:
            out += [pad + "[", *_rows(row, indent + 4, inf, nan), pad + "],"]
    return out


def short(text: str, room: int) -> str:
    """Text cut to fit a comment or docstring line."""
    text = " ".join(text.split())
    return text if len(text) <= room else text[: max(room - 3, 1)] + "..."


def wrap_call(pad: str, head: str, args: list[str], tail: str = "") -> list[str]:
    """`head(args)tail` on one line, or one argument a line when that is too long."""
    line = f"{pad}{head}({', '.join(args)}){tail}"
    if len(line) <= WIDTH or not args:
        return [line]
    return [f"{pad}{head}(", *[f"{pad}    {a}," for a in args], f"{pad}){tail}"]


# ---------------------------------------------------------------- printing SymPy


class ExprPrinter(NumPyPrinter):
    """SymPy to NumPy or PyTorch source, with our names for the symbols.

    Functions it has no spelling for raise BpError instead of printing a comment.
    """

    def __init__(self, module: str, names: dict, functions: Callable[[type], str | None]):
        super().__init__({"fully_qualified_modules": True, "inline": True, "strict": True})
        self.module = module
        self.names = names
        self.functions = functions  # a function class -> the name code calls it by

    def _module_format(self, fqn, register=True):
        fqn = super()._module_format(fqn, register)
        return self.module + fqn[len("numpy"):] if fqn.startswith("numpy.") else fqn

    def _print_Symbol(self, expr):
        return self.names[expr]

    def _print_Float(self, expr):
        return number(float(expr), f"{self.module}.inf", f"{self.module}.nan")

    def _print_Pow(self, expr, rational=False):
        if expr.exp.is_Number and expr.exp < 0:  # 1/x, not x**(-1.0)
            inner = expr.base if expr.exp == -1 else sp.Pow(expr.base, -expr.exp)
            return f"1/{self.parenthesize(inner, precedence(sp.Pow(inner, 2)))}"
        return super()._print_Pow(expr, rational)

    def _print_Abs(self, expr):
        return f"{self.module}.abs({self._print(expr.args[0])})"

    def _print_Relational(self, expr):
        op = {"==": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}[expr.rel_op]
        return f"({self._print(expr.lhs)} {op} {self._print(expr.rhs)})"

    def _print_Piecewise(self, expr):
        *pieces, last = expr.args
        out = self._print(last.expr) if last.cond == sp.true else f"{self.module}.nan"
        for e, c in reversed(pieces):
            out = f"{self.module}.where({self._print(c)}, {self._print(e)}, {out})"
        return out

    def _print_Function(self, expr):
        name = self.functions(type(expr))
        if name is not None:
            return f"{name}({', '.join(self._print(a) for a in expr.args)})"
        return super()._print_Function(expr)

    def _print_not_supported(self, expr):
        raise BpError(f"codegen has no {self.module_name()} spelling for "
                      f"{type(expr).__name__} (in {expr})")

    def module_name(self) -> str:
        return {"np": "NumPy", "torch": "PyTorch"}.get(self.module, self.module)


def spaced(text: str) -> str:
    """x*y/z as x * y / z (powers stay tight, as PEP 8 writes them)."""
    return re.sub(r"(?<=[^\s*(])([*/])(?=[^\s*])", r" \1 ", text)


def print_expr(printer: ExprPrinter, expr: sp.Expr, inside: str | None = None) -> str:
    """Source for expr; with inside="Mul", parenthesized as a factor of a product."""
    try:
        text = printer._print(expr)
    except BpError:
        raise
    except Exception as e:  # SymPy's own "not supported" and printer failures
        raise BpError(f"codegen has no {printer.module_name()} spelling for {expr}: "
                      f"{e}") from None
    if inside == "Mul" and precedence(expr) < precedence(sp.Mul(2, sp.Symbol("a"))) or \
            inside == "Pow" and precedence(expr) < precedence(sp.Pow(sp.Symbol("a"), 2)):
        text = f"({text})"
    return spaced(text)


# ---------------------------------------------------------------- writing


def wrap_expr(head: str, text: str, indent: int) -> list[str]:
    """`head` + text, broken before its top-level + and - inside parentheses when long."""
    pad = " " * indent
    if len(pad + head + text) <= WIDTH:
        return [pad + head + text]
    pieces, depth, start = [], 0, 0
    for i, c in enumerate(text):
        depth += c in "([{"
        depth -= c in ")]}"
        if depth == 0 and text[i:i + 3] in (" + ", " - ") and i > start:
            pieces.append(text[start:i])
            start = i + 1
    pieces.append(text[start:])
    lines, line = [], ""
    for piece in pieces:
        piece = piece.strip()
        if line and len(pad + "    " + line + " " + piece) > WIDTH:
            lines.append(pad + "    " + line)
            line = piece
        else:
            line = f"{line} {piece}" if line else piece
    return [pad + head + "(", *lines, pad + "    " + line, pad + ")"]


def write_code(text: str, path: str) -> str:
    """Write generated code to a .py file, whole or not at all. Returns the path."""
    if not path.endswith(".py"):
        raise FileError(f"codegen writes Python files: '{path}' should end in .py")
    return write_atomic(path, text)
