"""The expression tree, and the one walker that every pass over it is written on.

Nodes carry their 1-based (line, column). `children` is the one place that knows which
fields hold subtrees. `walk` and `transform` use explicit stacks: the parser builds a sum
of n terms as a left chain n deep, and a 10,000-term sum must not hit the recursion
limit. `Visitor` gives each node kind its own method and refuses, when the subclass is
defined, to run without one, so a new node kind names every pass that must learn it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, ClassVar

from bpshell.language.split import Pos
from bpshell.records import FrozenValue, Value


class Num(Value):
    __slots__ = ("value", "pos", "text")

    value: float
    pos: Pos
    text: str  # as written, so 1.0 and 1 print back the way they were typed

    def __init__(self, value: float, pos: Pos, text: str = ""):
        self.value = value
        self.pos = pos
        self.text = text


class Name(Value):
    __slots__ = ("id", "pos")

    id: str
    pos: Pos

    def __init__(self, id: str, pos: Pos):
        self.id = id
        self.pos = pos


class Const(Value):
    """A value computed when the statement was entered (random and constructor calls)."""

    __slots__ = ("value", "pos", "text")

    value: object
    pos: Pos
    text: str

    def __init__(self, value: object, pos: Pos, text: str = ""):
        self.value = value
        self.pos = pos
        self.text = text


class ArrayLit(Value):
    __slots__ = ("items", "pos")

    items: list[Expr]
    pos: Pos

    def __init__(self, items: list[Expr], pos: Pos):
        self.items = items
        self.pos = pos


class Keyword(FrozenValue):
    """`axis=1` in a call: a declared option of the op, given as a number, True, False or
    None. Not a subtree: its value is read when the call is built, never evaluated."""

    __slots__ = ("name", "value", "pos", "text")

    name: str
    value: float | bool | None
    pos: Pos
    text: str  # the value as written

    def __init__(self, name: str, value: float | bool | None, pos: Pos, text: str):
        put = object.__setattr__
        put(self, "name", name)
        put(self, "value", value)
        put(self, "pos", pos)
        put(self, "text", text)


class Call(Value):
    __slots__ = ("func", "args", "pos", "keywords")

    func: str
    args: list[Expr]
    pos: Pos
    keywords: tuple[Keyword, ...]

    def __init__(self, func: str, args: list[Expr], pos: Pos,
                 keywords: tuple[Keyword, ...] = ()):
        self.func = func
        self.args = args
        self.pos = pos
        self.keywords = keywords


class Unary(Value):
    __slots__ = ("op", "operand", "pos")

    op: str  # "neg" or "pos"
    operand: Expr
    pos: Pos

    def __init__(self, op: str, operand: Expr, pos: Pos):
        self.op = op
        self.operand = operand
        self.pos = pos


class Binary(Value):
    __slots__ = ("op", "left", "right", "pos")

    op: str  # "+", "-", "*", "/", "**", "@", and the comparisons "<", "<=", "==", ...
    left: Expr
    right: Expr
    pos: Pos

    def __init__(self, op: str, left: Expr, right: Expr, pos: Pos):
        self.op = op
        self.left = left
        self.right = right
        self.pos = pos


class Transpose(Value):
    __slots__ = ("operand", "pos")

    operand: Expr
    pos: Pos

    def __init__(self, operand: Expr, pos: Pos):
        self.operand = operand
        self.pos = pos


class Index(Value):
    """`x[1:3, 0]`: NumPy's basic indexing with whole numbers and slices written in the
    brackets (a key of ints and slice objects, known when the statement is parsed)."""

    __slots__ = ("operand", "key", "pos")

    operand: Expr
    key: tuple
    pos: Pos  # the '['

    def __init__(self, operand: Expr, key: tuple, pos: Pos):
        self.operand = operand
        self.key = key
        self.pos = pos


Expr = Num | Name | Const | ArrayLit | Call | Unary | Binary | Transpose | Index
NODE_TYPES: tuple[type, ...] = (Num, Name, Const, ArrayLit, Call, Unary, Binary, Transpose,
                                Index)

_NONE: tuple = ()

# which fields hold subtrees, in source order, and how to rebuild a node around new ones
_CHILDREN: dict[type, Callable[[Any], Sequence[Expr]]] = {
    Num: lambda n: _NONE,
    Name: lambda n: _NONE,
    Const: lambda n: _NONE,
    ArrayLit: lambda n: n.items,
    Call: lambda n: n.args,
    Unary: lambda n: (n.operand,),
    Binary: lambda n: (n.left, n.right),
    Transpose: lambda n: (n.operand,),
    Index: lambda n: (n.operand,),
}
_REBUILD: dict[type, Callable[[Any, list[Expr]], Expr]] = {
    ArrayLit: lambda n, k: ArrayLit(k, n.pos),
    Call: lambda n, k: Call(n.func, k, n.pos, n.keywords),
    Unary: lambda n, k: Unary(n.op, k[0], n.pos),
    Binary: lambda n, k: Binary(n.op, k[0], k[1], n.pos),
    Transpose: lambda n, k: Transpose(k[0], n.pos),
    Index: lambda n, k: Index(k[0], n.key, n.pos),
}


def children(node: Expr) -> Sequence[Expr]:
    """The direct subtrees of node, in the order they are written."""
    try:
        return _CHILDREN[type(node)](node)
    except KeyError:
        raise TypeError(f"not a syntax node: {type(node).__name__}") from None


def walk(node: Expr) -> Iterator[Expr]:
    """node and everything under it, parents first and in source order, without recursion."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        kids = children(n)
        if kids:
            stack.extend(reversed(kids))


def transform(node: Expr, fn: Callable[[Expr], Expr | None], *,
              bottom_up: bool = False) -> Expr:
    """The tree with fn's replacements; a node with nothing changed under it is shared.

    fn(n) returns a replacement, or None to keep n. Top-down (the default), fn sees a
    node before its children, and a replacement is final: its inside is not visited (so
    `randn(3)` becomes its value without its arguments being looked at twice). Bottom-up,
    fn sees each node after its children, rebuilt around their replacements. Either way
    fn is called in source order, so side effects such as drawing random numbers happen
    in the order the expression is written. Rebuilt nodes keep their positions. Explicit
    stacks, so chains of any length are fine.
    """
    done: list[Expr] = []  # results of finished subtrees, in source order
    stack: list[tuple[Expr, Sequence[Expr] | None]] = [(node, None)]
    while stack:
        n, kids = stack.pop()
        if kids is None:
            if not bottom_up and (r := fn(n)) is not None:
                done.append(r)
                continue
            kids = children(n)
            if kids:
                stack.append((n, kids))
                stack.extend((k, None) for k in reversed(kids))
                continue
        else:
            new = done[-len(kids):]
            del done[-len(kids):]
            if any(a is not b for a, b in zip(new, kids)):
                n = _REBUILD[type(n)](n, new)
        if bottom_up and (r := fn(n)) is not None:
            n = r
        done.append(n)
    return done[0]


def spine(node: Expr) -> tuple[Expr, list[Binary]]:
    """A left-leaning chain `a + b - c * d ...` as (leftmost operand, [binaries, innermost first]).

    The parser builds long sums as deep left trees (its depth bound counts brackets and
    right-nested powers, not chain length), so a recursive pass takes chains with a loop.
    """
    chain = []
    while type(node) is Binary and node.op != "**":
        chain.append(node)
        node = node.left
    chain.reverse()
    return node, chain


class Visitor:
    """A pass that gives every node kind its own meaning: printing, graph building, SymPy.

    A subclass defines visit_Num, visit_Name, ... for every kind in NODE_TYPES, taking
    (node, *args) as passed to `visit`. One missing is a TypeError when the class is
    defined, not a silent fallthrough the first time a user meets it. The methods are
    looked up once per class, in a dict keyed by node type.
    """

    _methods: ClassVar[dict[type, Callable[..., Any]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        names = {t: "visit_" + t.__name__ for t in NODE_TYPES}
        missing = [m for m in names.values() if not callable(getattr(cls, m, None))]
        if missing:
            raise TypeError(f"{cls.__name__} does not handle every node kind: "
                            f"{', '.join(missing)} missing")
        cls._methods = {t: getattr(cls, m) for t, m in names.items()}

    def visit(self, node: Expr, *args: Any) -> Any:
        try:
            method = self._methods[type(node)]
        except KeyError:
            raise TypeError(f"{type(self).__name__} cannot visit "
                            f"{type(node).__name__}: not a syntax node") from None
        return method(self, node, *args)
