"""The `rules` table: every op with its definition, derivative and output form."""

from __future__ import annotations

import sympy as sp

from bpshell.ops.table import OPS, Op
from bpshell.symbolic.calls import written_out
from bpshell.symbolic.derive import X, Y
from bpshell.symbolic.shown import V, forms, text


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
        found = forms(op, tuple(range(op.arity)))
        syms = {V[k]: s for k, s in enumerate(syms.values()) if k < op.arity} | {Y: syms[Y]}
        row["definition"] = text(written_out(op, *V[: op.arity]).xreplace(syms))
        row["derivative"] = [text(f.inputs.xreplace(syms)) for f in found]
        row["output_form"] = [None if f.output is None else text(f.output.xreplace(syms))
                              for f in found]
    else:
        row["definition"] = op.doc
        row["derivative"] = list(op.rule_text)
        row["output_form"] = [None] * len(op.rule_text)
    return row


def rules_table(funcs: dict) -> list[dict]:
    rows = [rule_row(op) for op in OPS.values() if op.name != "id"]
    rows += [rule_row(f.op) for f in funcs.values() if f.op is not None]
    return rows
