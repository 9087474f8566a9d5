"""The `rules` table: every op with its definition, derivative and output form."""

from __future__ import annotations

import sympy as sp

from bpshell.ops.table import OPS
from bpshell.symbolic.derive import X, Y
from bpshell.symbolic.local import local

_ARG_NAMES = ("x", "s")  # how the table names an op's inputs
_BINARY_NAMES = ("a", "b")


_NAMED_INPUTS = {"cross_entropy": ("y", "t"), "mse": ("y", "t"),
                 "softmax_cross_entropy": ("x", "t"), "matmul": ("A", "B")}


def _names(op) -> tuple[str, ...]:
    if op.name in _NAMED_INPUTS:
        return _NAMED_INPUTS[op.name]
    if op.symbol and op.arity == 2:
        return _BINARY_NAMES
    return _ARG_NAMES[: op.arity] if op.arity <= 2 else tuple(f"x{i}" for i in range(op.arity))


def rule_row(op) -> dict:
    names = _names(op)
    syms = {X[k]: sp.Symbol(nm) for k, nm in enumerate(names)}
    syms[Y] = sp.Symbol("y")
    call = f"{op.name}(" + ", ".join(names) + ")"
    if op.symbol == ".T":
        call = "x.T"
    elif op.symbol and op.arity == 2:
        call = f"a {op.symbol} b"
    elif op.symbol and op.arity == 1:
        call = f"{op.symbol}x"
    row = {"op": op.name, "kind": "user" if op.user else
           ("elementwise" if op.elementwise else "structural"),
           "arity": op.arity, "call": call, "doc": op.doc, "example": op.example,
           "inputs": list(names), "kink": op.kink}
    if op.elementwise:
        loc = local(op)
        definition = getattr(type(loc.call), "definition", None)
        body = definition(*X[: op.arity]) if definition is not None else loc.call
        row["definition"] = str(body.xreplace(syms))
        row["derivative"] = [str(d.xreplace(syms)) for d in loc.raw]
        row["output_form"] = [None if f is None else str(f.xreplace(syms)) for f in loc.output]
    else:
        row["definition"] = op.doc
        row["derivative"] = list(op.rule_text)
        row["output_form"] = [None] * len(op.rule_text)
    return row


def rules_table(funcs: dict) -> list[dict]:
    rows = [rule_row(op) for op in OPS.values() if op.name != "id"]
    rows += [rule_row(f.op) for f in funcs.values() if f.op is not None]
    return rows
