"""Local derivatives of elementwise ops: derived once per op, kept as SymPy and as NumPy code."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sympy as sp

from ..ops import Op
from .derive import X, Y, output_form, to_numpy


@dataclass
class Local:
    """d(out)/d(input i) for one op, raw and in terms of the output y where that exists."""

    call: sp.Expr  # the op applied to x0, x1, ...
    raw: list[sp.Expr]  # in terms of the inputs
    output: list[sp.Expr | None]  # in terms of y (and maybe other inputs)
    numeric: list[Callable | float]  # f(*inputs, y) -> derivative, or a constant
    constant: list[bool]


def local(op: Op) -> Local:
    """The derived local derivatives of an elementwise op (cached on the op)."""
    hit = op.meta.get("local")
    if hit is not None:
        return hit
    args = X[: op.arity]
    call = op.sympy(*args)
    raw, output, numeric, constant = [], [], [], []
    for x in args:
        d = sp.powsimp(sp.diff(call, x))  # x**(n-1)*n, not x**n*n/x (nan at 0)
        definition = getattr(type(call), "definition", None)
        shown = sp.diff(definition(*args), x) if definition is not None else d
        raw.append(shown)
        form = output_form(call, d, args)
        output.append(form)
        if d.is_number:
            numeric.append(float(d))
            constant.append(True)
            continue
        constant.append(False)
        # NumPy uses the output form when it needs nothing but y: reusing the forward
        # value is what makes sigmoid' = y*(1 - y) cheap and stable at +-1000
        if form is not None and not (form.free_symbols & set(args)):
            numeric.append(to_numpy([*args, Y], form, op.meta.get("namespace")))
        else:
            numeric.append(to_numpy([*args, Y], d, op.meta.get("namespace")))
    result = Local(call, raw, output, numeric, constant)
    op.meta["local"] = result
    return result
