"""The `rules` table: every op with its definition, derivative and output form."""

from __future__ import annotations

import sympy as sp

from bpshell.ops.table import OPS, Op
from bpshell.symbolic.calls import written_out
from bpshell.symbolic.derive import X, Y
from bpshell.symbolic.local import local


def _call(op: Op) -> str:
    """How the op is written, with its own input names: a + b, -x, x.T, sigmoid(x)."""
    names = op.inputs
    if op.symbol == ".T":
        return f"{names[0]}.T"
    if op.symbol and op.arity == 2:
        return f"{names[0]} {op.symbol} {names[1]}"
    if op.symbol and op.arity == 1:
        return f"{op.symbol}{names[0]}"
    return f"{op.name}(" + ", ".join(names) + ")"


def rule_row(op: Op) -> dict:
    names = op.inputs
    syms = {X[k]: sp.Symbol(nm) for k, nm in enumerate(names)}
    syms[Y] = sp.Symbol("y" if "y" not in names else "out")  # the op's output
    row = {"op": op.name, "kind": "user" if op.user else
           ("elementwise" if op.elementwise else "structural"),
           "arity": op.arity, "call": _call(op), "doc": op.doc, "example": op.example,
           "inputs": list(names), "kink": op.kink}
    if op.elementwise:
        loc = local(op)
        row["definition"] = str(written_out(op, *X[: op.arity]).xreplace(syms))
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
