"""`def name(params) = body`: a new elementwise op whose derivative SymPy derives.

When the body is elementwise in its parameters alone, the function becomes one node in
graphs (with its own local derivative, shown by `rules` and `tree`). Otherwise (it reads
session names, or uses @, sums, losses) it is inlined where it is called.
"""

from __future__ import annotations

import sympy as sp

from bpshell.graph.build import UserFunction, refs_of
from bpshell.language import ast as sx
from bpshell.ops.table import OPS, Op
from bpshell.symbolic.calls import sympy_function
from bpshell.symbolic.derive import X, to_numpy

RESERVED = {"numpy", "math", "mpmath", "builtins", "range", "Piecewise", "where", "select"}


def _elementwise(body, params: list[str], funcs: dict) -> bool:
    """True when the body reads only its parameters, through elementwise ops only."""
    if refs_of(body, funcs) - set(params):
        return False
    for node in sx.walk(body):
        t = type(node)
        if t is sx.Transpose or t is sx.ArrayLit or t is sx.Const or t is sx.Index:
            return False
        if t is sx.Binary and node.op == "@":
            return False
        if t is sx.Call and not _elementwise_call(node, funcs):
            return False
    return True


def _elementwise_call(node: sx.Call, funcs: dict) -> bool:
    user = funcs.get(node.func)
    if user is not None:
        return user.op is not None
    op = OPS.get(node.func)
    return op is not None and op.elementwise and len(node.args) <= op.arity


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

    def define(sympy, *args):
        """The body on SymPy arguments (the builder makes SymPy itself: `sympy` is unused)."""
        return builder.expr(body, dict(zip(params, args)))

    example = f"{name}(" + ", ".join(params) + ")"
    try:
        sym_body = define(sp, *X[:n])
        if sym_body.has(sp.zoo, sp.nan, sp.oo, -sp.oo, sp.AccumBounds):
            return fn  # no finite closed form (u/0): inlined, NumPy gives inf/nan per node
        # the functions it calls bring their own kernels to the generated code
        forward = to_numpy(X[:n], sym_body)
        # elementwise by construction, so its output has its inputs' broadcast shape
        op = Op(name, tuple(params), forward, f"defined: {example} = {text}", example,
                label=name, grows="broadcast", define=define, named=True, user=True,
                body_text=text)
        sympy_function(op)  # made now, so a name SymPy cannot take is inlined instead
    except (BpError, ArithmeticError, TypeError, ValueError, KeyError, NotImplementedError):
        return fn  # SymPy or its printer cannot take it as one op: inline it instead
    fn.op = op
    return fn
