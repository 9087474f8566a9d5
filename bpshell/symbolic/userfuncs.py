"""`def name(params) = body`: a new elementwise op whose derivative SymPy derives.

When the body is elementwise in its parameters alone, the function becomes one node in
graphs (with its own local derivative, shown by `rules` and `tree`). Otherwise (it reads
session names, or uses @, sums, losses) it is inlined where it is called.
"""

from __future__ import annotations

import sympy as sp

from bpshell.graph.build import UserFunction, refs_of
from bpshell.language import syntax as sx
from bpshell.ops.table import OPS, Op
from bpshell.symbolic.derive import X, defined_function, to_numpy

RESERVED = {"numpy", "math", "mpmath", "builtins", "range", "Piecewise", "where", "select"}


def _elementwise(body, params: list[str], funcs: dict) -> bool:
    if refs_of(body, funcs) - set(params):
        return False
    stack = [body]
    while stack:
        node = stack.pop()
        if isinstance(node, sx.Transpose | sx.ArrayLit):
            return False
        if isinstance(node, sx.Const):
            return False
        if isinstance(node, sx.Binary):
            if node.op == "@":
                return False
            stack.extend((node.left, node.right))
        elif isinstance(node, sx.Unary):
            stack.append(node.operand)
        elif isinstance(node, sx.Call):
            user = funcs.get(node.func)
            if user is not None:
                if user.op is None:
                    return False
            else:
                op = OPS.get(node.func)
                if op is None or not op.elementwise:
                    return False
                if len(node.args) > op.arity:
                    return False
            stack.extend(node.args)
    return True


def make_user_function(name: str, params: list[str], body, text: str, funcs: dict,
                       calls: frozenset) -> UserFunction:
    from bpshell.errors import BpError
    from bpshell.symbolic.expr import SympyBuilder

    if name in RESERVED or callable(getattr(sp, name, None)):
        # a SymPy class or function of the same name confuses SymPy's own code paths
        raise BpError(f"'{name}' is reserved (a SymPy name); choose another name")
    fn = UserFunction(name, list(params), body, text, None, calls)
    if not params or not _elementwise(body, params, funcs):
        return fn
    n = len(params)
    builder = SympyBuilder({}, funcs, set(), 1e4)

    def definition(*args):
        return builder.expr(body, dict(zip(params, args)))

    namespace = {f.name: f.op.forward for f in funcs.values() if f.op is not None}
    try:
        sym_body = definition(*X[:n])
        if sym_body.has(sp.zoo, sp.nan, sp.oo, -sp.oo, sp.AccumBounds):
            return fn  # no finite closed form (u/0): inlined, NumPy gives inf/nan per node
        cls = defined_function(name, n, definition)
        forward = to_numpy(X[:n], sym_body, namespace)
    except (BpError, ArithmeticError, TypeError, ValueError, KeyError, NotImplementedError):
        return fn  # SymPy or its printer cannot take it as one op: inline it instead
    example = f"{name}(" + ", ".join(params) + ")"
    op = Op(name, n, forward, f"defined: {name}({', '.join(params)}) = {text}", example,
            sympy=cls, user=True, body_text=text)
    op.meta["namespace"] = {**namespace, name: forward}
    fn.op = op
    return fn
