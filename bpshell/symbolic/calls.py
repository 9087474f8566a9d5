"""Each op of the table as SymPy: its definition applied to SymPy arguments.

The op table holds plain functions of the sympy module, so it never imports SymPy. An op
that keeps its name in formulas (sigmoid, relu, a user function) becomes a Function class
here, made once per op and cached here keyed by the op: nothing is stored on the op.
"""

from __future__ import annotations

from weakref import WeakKeyDictionary

import sympy as sp

from bpshell.ops.table import Op
from bpshell.symbolic.derive import defined_function

# weak: a user function's op and its class go when the session drops the function
_CLASSES: WeakKeyDictionary[Op, type] = WeakKeyDictionary()


def sympy_function(op: Op) -> type | None:
    """The Function class of a named op (None for ops SymPy writes out, like exp or a + b)."""
    if not op.named or op.define is None:
        return None
    cls = _CLASSES.get(op)
    if cls is None:
        define = op.define  # not op itself: the class must not keep the op alive

        def definition(*args):
            return define(sp, *args)

        cls = _CLASSES[op] = defined_function(op.name, op.arity, definition, op.forward)
    return cls


def sympy_call(op: Op, *args) -> sp.Expr:
    """The op applied to SymPy arguments: sigmoid(x) for a named op, exp(x) or x + y else."""
    if op.define is None:
        raise ValueError(f"{op.name} has no scalar definition")
    cls = sympy_function(op)
    return cls(*args) if cls is not None else op.define(sp, *args)


def written_out(op: Op, *args) -> sp.Expr:
    """The op's definition itself, named ops expanded one level: 1/(1 + exp(-x))."""
    if op.define is None:
        raise ValueError(f"{op.name} has no scalar definition")
    return op.define(sp, *args)
