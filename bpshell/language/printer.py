"""Expressions back to text: for labels, saved scripts and messages.

The text reads as a person would write it, with only the parentheses it needs, and
parses back to the same tree.
"""

from __future__ import annotations

from collections.abc import Callable

from bpshell.language.ast import (
    ArrayLit,
    Binary,
    Call,
    Const,
    Expr,
    Index,
    Name,
    Num,
    Transpose,
    Unary,
    Visitor,
    spine,
)

_PREC = {"+": 10, "-": 10, "*": 20, "/": 20, "@": 20, "**": 40,
         **dict.fromkeys(("<", "<=", ">", ">=", "==", "!="), 5)}
_UNARY, _POSTFIX, _COMPARE = 30, 50, 5


def to_text(node: Expr, parent: int = 0, literal: Callable[[object], str] | None = None) -> str:
    """The expression as a person would write it; parent is the precedence around it.

    literal, if given, writes the values computed when the line was entered (randn(3))
    as literals, so that a saved script replays to the same numbers.
    """
    return _Printer(literal).visit(node, parent)


class _Printer(Visitor):
    """Each visit_ method returns the text of its node, bracketed if parent binds tighter."""

    def __init__(self, literal: Callable[[object], str] | None):
        self.literal = literal

    def visit_Num(self, node: Num, parent: int) -> str:
        return node.text or _num_text(node.value)

    def visit_Name(self, node: Name, parent: int) -> str:
        return node.id

    def visit_Const(self, node: Const, parent: int) -> str:
        if self.literal is not None:
            return self.literal(node.value)
        return node.text or value_text(node.value)

    def visit_ArrayLit(self, node: ArrayLit, parent: int) -> str:
        return "[" + ", ".join(self.visit(i, 0) for i in node.items) + "]"

    def visit_Call(self, node: Call, parent: int) -> str:
        args = [self.visit(a, 0) for a in node.args]
        args += [f"{k.name}={k.text}" for k in node.keywords]
        return f"{node.func}(" + ", ".join(args) + ")"

    def visit_Index(self, node: Index, parent: int) -> str:
        return self.visit(node.operand, _POSTFIX) + "[" + key_text(node.key) + "]"

    def visit_Transpose(self, node: Transpose, parent: int) -> str:
        return self.visit(node.operand, _POSTFIX) + ".T"

    def visit_Unary(self, node: Unary, parent: int) -> str:
        text = ("-" if node.op == "neg" else "+") + self.visit(node.operand, _UNARY)
        return f"({text})" if parent > _UNARY else text

    def visit_Binary(self, node: Binary, parent: int) -> str:
        if node.op == "**":
            p = _PREC["**"]
            text = f"{self.visit(node.left, p + 1)}**{self.visit(node.right, p)}"
            return f"({text})" if p < parent else text
        base, chain = spine(node)  # a loop over the chain: sums of any length
        p = _PREC[chain[0].op]
        text = self.visit(base, p)
        for k, b in enumerate(chain):
            q = _PREC[b.op]
            if p < q or k and q == p == _COMPARE:  # comparisons do not chain
                text = f"({text})"
            sep = b.op if b.op in ("*", "/") else f" {b.op} "
            text = f"{text}{sep}{self.visit(b.right, q + 1)}"
            p = q
        return f"({text})" if p < parent else text


def key_text(key: tuple) -> str:
    """An index key as written: `1:3, 0`, `::-1`, `:`."""

    def one(k) -> str:
        if not isinstance(k, slice):
            return str(k)
        parts = ["" if v is None else str(v) for v in (k.start, k.stop, k.step)]
        return ":".join(parts[:2] if k.step is None else parts)

    return ", ".join(one(k) for k in key)


def _num_text(v: float) -> str:
    """A float as typed: 3 for 3.0, repr otherwise (round-trips exactly)."""
    return str(int(v)) if v.is_integer() and abs(v) < 1e16 else repr(v)


def value_text(v: object) -> str:
    """A computed value: its number if scalar, its shape if an array."""
    import numpy as np

    if np.ndim(v) == 0:
        return _num_text(float(v))
    return f"<array {'x'.join(map(str, np.shape(v)))}>"
