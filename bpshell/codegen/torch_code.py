"""`codegen NAME torch`: the same graph as a PyTorch function, for a learner moving on.

forward(**leaves) builds the graph from leaf tensors with torch ops, one statement per
named value, so `loss.backward()` gives the gradients by PyTorch's own autograd. A user
function becomes the torch expression of its body; losses become PyTorch's own where they
agree with bpshell's (softmax_cross_entropy is F.cross_entropy).
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from bpshell.codegen.common import (
    WIDTH,
    ExprPrinter,
    GraphView,
    Item,
    Namer,
    definition,
    number,
    read_plan,
    short,
    spaced,
    value_lines,
)
from bpshell.errors import BpError

_ATOM, _POSTFIX, _POW, _UNARY, _MUL, _ADD = 100, 90, 80, 70, 60, 50
_INLINE = 60  # an unnamed value read once is written inside its reader up to this length

_FUNCTIONS = {"exp": "torch.exp", "log": "torch.log", "sqrt": "torch.sqrt",
              "abs": "torch.abs", "sin": "torch.sin", "cos": "torch.cos",
              "tanh": "torch.tanh", "sigmoid": "torch.sigmoid", "relu": "torch.relu",
              "softplus": "F.softplus"}
_OPERATORS = {"add": ("+", _ADD), "sub": ("-", _ADD), "mul": ("*", _MUL),
              "div": ("/", _MUL), "matmul": ("@", _MUL)}


class _TorchPrinter(ExprPrinter):
    """SymPy to torch: named ops as torch calls, user functions written out inline."""

    def __init__(self, names: dict):
        super().__init__("torch", names, lambda cls: None)

    def _print_Function(self, expr):
        name = type(expr).__name__
        args = [self._print(a) for a in expr.args]
        if name in _FUNCTIONS:
            return f"{_FUNCTIONS[name]}({', '.join(args)})"
        if name == "leaky_relu":
            x, s = args
            return f"torch.where({x} > 0, {x}, {s} * {x})"
        if name in ("expm1", "log1p"):
            return f"torch.{name}({', '.join(args)})"
        body = getattr(type(expr), "definition", None)
        if body is not None:
            return f"({self._print(body(*expr.args))})"
        return super()._print_Function(expr)


def _paren(arg: tuple[str, int], need: int) -> str:
    text, prec = arg
    return text if prec >= need else f"({text})"


def _spell(view: GraphView, it: Item, args: list[tuple[str, int]]) -> tuple[str, int]:
    """torch source for one op node from its inputs' source, with its precedence."""
    name = it.op.name
    if name in _OPERATORS:
        sym, prec = _OPERATORS[name]
        return f"{_paren(args[0], prec)} {sym} {_paren(args[1], prec + 1)}", prec
    if name == "pow":
        return f"{_paren(args[0], _POSTFIX)} ** {_paren(args[1], _UNARY)}", _POW
    if name == "neg":
        return f"-{_paren(args[0], _UNARY + 1)}", _UNARY
    if name == "id":
        return args[0]
    a = args[0][0]
    if name in _FUNCTIONS:
        return f"{_FUNCTIONS[name]}({a})", _ATOM
    if name in ("sum", "mean"):
        dim = f", dim={it.params[0]}" if it.params else ""
        return f"torch.{name}({a}{dim})", _ATOM
    if name in ("softmax", "log_softmax"):
        return f"torch.{name}({a}, dim=-1)", _ATOM
    if name == "reshape":
        return f"torch.reshape({a}, {tuple(it.params)!r})", _ATOM
    if name == "T":
        return _transpose(view, it, args[0])
    return _spell_more(view, it, args)


def _spell_more(view: GraphView, it: Item, args: list[tuple[str, int]]) -> tuple[str, int]:
    name = it.op.name
    a = args[0][0]
    if name == "leaky_relu":
        slope = view.items[it.args[1]]
        if slope.folded and np.ndim(slope.value) == 0:
            return f"F.leaky_relu({a}, {number(slope.value)})", _ATOM
        return f"torch.where({a} > 0, {a}, {_paren(args[1], _MUL)} * {a})", _ATOM
    if name == "mse":
        return f"0.5 * torch.sum(({a} - {_paren(args[1], _ADD + 1)}) ** 2)", _MUL
    labels = name in ("softmax_cross_entropy", "cross_entropy") and _labels(view, it)
    if name == "softmax_cross_entropy":
        if view.shape(it.args[0]) is not None and len(view.shape(it.args[0])) > 2:
            n = _batch(view, it.args[0], a)
            return f"-torch.sum({_paren(args[1], _MUL)} * torch.log_softmax({a}, dim=-1))" \
                   f"{n}", _MUL
        t = f"{_paren(args[1], _POSTFIX)}.long()" if labels else args[1][0]
        return f"F.cross_entropy({a}, {t})", _ATOM
    if name == "cross_entropy":
        n = _batch(view, it.args[0], a)
        if labels:
            picked = f"torch.gather({a}, -1, {_paren(args[1], _POSTFIX)}.long().unsqueeze(-1))"
            return f"-torch.sum(torch.log({picked} + 1e-7)){n}", _UNARY if not n else _MUL
        return f"-torch.sum({_paren(args[1], _MUL)} * torch.log({a} + 1e-7)){n}", \
            _UNARY if not n else _MUL
    if it.op.user:
        return _user(it, args)
    raise BpError(f"codegen has no PyTorch spelling for the op '{name}'")


def _transpose(view: GraphView, it: Item, arg: tuple[str, int]) -> tuple[str, int]:
    """bpshell's transpose reverses the axes: .T for a matrix, nothing for a vector."""
    shape = view.shape(it.args[0])
    if shape is not None and len(shape) < 2:
        return arg
    if shape is not None and len(shape) > 2:
        axes = ", ".join(str(k) for k in reversed(range(len(shape))))
        return f"{_paren(arg, _POSTFIX)}.permute({axes})", _POSTFIX
    return f"{_paren(arg, _POSTFIX)}.T", _POSTFIX


def _batch(view: GraphView, i: int, text: str) -> str:
    """ / N, the book's batch size: the rows of a matrix, 1 for one sample."""
    shape = view.shape(i)
    if shape is None:
        return f" / {text}.shape[0]"
    return f" / {shape[0]}" if len(shape) >= 2 and shape[0] != 1 else ""


def _labels(view: GraphView, it: Item) -> bool:
    """t holds one class number per row (unknown shapes are taken as one-hot rows)."""
    x, t = (view.items[a].value for a in it.args[:2])
    return x is not None and t is not None and np.ndim(t) == np.ndim(x) - 1


def _user(it: Item, args: list[tuple[str, int]]) -> tuple[str, int]:
    """A user function as the torch expression of its body, with its arguments put in."""
    from bpshell.symbolic.derive import X

    n = it.op.arity
    names = {X[k]: args[k][0] for k in range(n)}
    body = definition(it.op, X[:n])
    try:
        text = _TorchPrinter(names)._print(body)
    except BpError:
        raise
    except Exception as e:
        raise BpError(f"codegen has no PyTorch spelling for {it.op.name}: {e}") from None
    atom = isinstance(body, sp.Function | sp.Symbol)
    return spaced(text), _ATOM if atom else 0


# ---------------------------------------------------------------- the function


def _needs_atoms(view: GraphView, it: Item) -> bool:
    """A reader that writes an input more than once, or inside an expression it builds."""
    if it.op.user:
        return True
    if it.op.name == "leaky_relu":
        slope = view.items[it.args[1]]
        return not (slope.folded and np.ndim(slope.value) == 0)
    return False


def _body(view: GraphView) -> list[str]:
    """forward's statements: a value gets a line of its own when it has a name, is read
    more than once, or would make its reader's line long."""
    pad = " " * 4
    namer = Namer({"leaves", "torch", "F", "NAMES", "VALUES", "make_leaves", "forward"})
    readers: list[list[Item]] = [[] for _ in view.items]
    for it in view.items:
        for a in it.args:
            readers[a].append(it)
    source: dict[int, tuple[str, int]] = {}
    lines = []
    for i in view.leaves:
        name = namer.take(view.items[i].name)
        lines.append(f'{pad}{name} = leaves["{view.items[i].name}"]')
        source[i] = (name, _ATOM)
    consts = 0
    for it in view.items:
        if it.id in source or not (it.folded or it.kind == "op"):
            continue
        if it.folded:
            if np.ndim(it.value) == 0:
                text = number(it.value, 'float("inf")', 'float("nan")')
                source[it.id] = (text, _ATOM if not text.startswith("-") else _UNARY)
                if any(r.op.user for r in readers[it.id]):
                    source[it.id] = (f"torch.tensor({text}, dtype=torch.float64)", _ATOM)
                continue
            consts += 1
            name = namer.take(f"const{consts}")
            lines += value_lines(it.value, f"{name} = torch.tensor(", ", dtype=torch.float64)",
                                 4, "", 'float("inf")', 'float("nan")')
            source[it.id] = (name, _ATOM)
            continue
        text, prec = _spell(view, it, [source[a] for a in it.args])
        while len(text) > WIDTH - 16 and _inlined(it, source):
            # too long for one line: the longest input written inside it gets its own
            a = max(_inlined(it, source), key=lambda k: len(source[k][0]))
            name = namer.take(f"out{a}")
            lines.append(f"{pad}{name} = {source[a][0]}")
            source[a] = (name, _ATOM)
            text, prec = _spell(view, it, [source[a] for a in it.args])
        alone = it.name or it.id == view.root or len(readers[it.id]) != 1 or \
            len(text) > _INLINE or (prec < _POSTFIX and _needs_atoms(view, readers[it.id][0]))
        if alone:
            name = namer.take(it.name or f"out{it.id}")
            lines.append(f"{pad}{name} = {text}")
            source[it.id] = (name, _ATOM)
        else:
            source[it.id] = (text, prec)
    lines.append(f"{pad}return {source[view.root][0]}")
    return lines


def _inlined(it: Item, source: dict) -> list[int]:
    """The inputs of it written out inside its expression (not names or numbers)."""
    return [a for a in it.args if not source[a][0].replace("_", "a").isalnum()
            and len(source[a][0]) > 12]


def torch_module(plan, root_name: str) -> str:
    """A PyTorch module whose forward(**leaves) builds root_name's graph with torch ops."""
    view = read_plan(plan, root_name)
    body = _body(view)
    uses_f = any("F." in line for line in body)
    names = [view.items[i].name for i in view.leaves]
    quoted = [f'"{n}"' for n in names]
    symbols = [view.items[i].name for i in view.leaves if view.items[i].kind == "symbol"]
    head = [
        f'"""{short(view.text, WIDTH - 6)}',
        "",
        "The same graph in PyTorch, written by bpshell's codegen: forward(**leaves) builds it",
        "from leaf tensors with torch ops, and .backward() on its result fills each leaf's",
        ".grad. make_leaves() gives the session's values as float64 tensors that require",
        "gradients.",
        '"""',
        "",
        "import torch",
        *(["import torch.nn.functional as F"] if uses_f else []),
        "",
        short("# The graph's leaves, and the values the session gives them" +
              (f" ({', '.join(symbols)} must be given)" if symbols else ""), WIDTH),
        f"NAMES = ({', '.join(quoted)}{',' if len(quoted) == 1 else ''})",
        "VALUES = {",
    ]
    for i in view.leaves:
        it = view.items[i]
        if it.kind == "leaf" and it.value is not None:
            head += value_lines(it.value, f'"{it.name}": ', ",", 4, "", 'float("inf")',
                                'float("nan")')
    head.append("}")
    make = ["def make_leaves():",
            '    """The session\'s values as float64 tensors that require gradients."""',
            "    return {",
            "        name: torch.tensor(value, dtype=torch.float64, requires_grad=True)",
            "        for name, value in VALUES.items()",
            "    }"]
    forward = ["def forward(**leaves):",
               f'    """{short(root_name, 30)} from leaf tensors, one for each name in NAMES."""',
               *body]
    return "\n".join(head) + "\n\n\n" + "\n".join(make) + "\n\n\n" + "\n".join(forward) + "\n"
