"""SymPy expressions built from our own tree (never from text), and the `diff` command."""

from __future__ import annotations

import sys

import numpy as np
import sympy as sp

from bpshell.errors import BpError, LimitError, TimeLimitError, UnknownName
from bpshell.graph.build import Formula, Leaf, unknown_function
from bpshell.language import ast as sx
from bpshell.ops.table import BINARY, CONSTRUCTORS, OPERATOR_ONLY, OPS
from bpshell.symbolic.calls import sympy_call
from bpshell.symbolic.derive import Y, fit_output_form
from bpshell.symbolic.shown import cheap_simplify, named_form, simplest, size, text
from bpshell.timeout import deadline

_SMALL_INT = 10**6


def symbol(name: str) -> sp.Symbol:
    return sp.Symbol(name, real=True)


def number(value: float, text: str = "") -> sp.Expr:
    if value.is_integer() and abs(value) <= _SMALL_INT and "." not in text and "e" not in \
            text.lower():
        return sp.Integer(int(value))
    return sp.Float(value)


_EXACT_BITS = 3322  # a thousand decimal digits


def tame(e: sp.Expr) -> sp.Expr:
    """An exact number past a thousand digits as a float, as `power` takes huge powers.

    Products of exact numbers each within bounds (7**1100 six times over) make integers
    that Python refuses to print past 4300 digits; the float form prints and is as exact
    as anything a learner reads.
    """
    if e.is_Rational and not e.is_Integer:
        if e.p.bit_length() > _EXACT_BITS or e.q.bit_length() > _EXACT_BITS:
            return sp.Float(e, 15)
    elif e.is_Integer and int(e).bit_length() > _EXACT_BITS:
        return sp.Float(e, 15)
    return e


def power(a, b, max_exponent: float, pos=(None, None)) -> sp.Expr:
    """a**b, refusing exponents past the limit; huge exact powers are taken as floats.

    SymPy evaluates Integer powers exactly and at once: (10**9999)**9999 would build a
    hundred-million-digit integer. Past a thousand digits the float form is used.
    """
    if a.is_number and b.is_number:
        if abs(float(b)) > max_exponent and abs(float(a)) != 1:
            raise LimitError(f"exponent {b} is over the limit of {max_exponent:g} "
                             "(BPSHELL_MAX_EXPONENT raises it)", *pos)
        if a.is_Rational and b.is_Integer and a != 0:
            digits = abs(float(b)) * abs(float(sp.log(abs(a), 10).evalf(15)))
            if digits > 1000:
                return sp.Float(a) ** b
    return a**b


class SympyBuilder(sx.Visitor):
    """SymPy for an expression, expanding named definitions except the ones kept as symbols."""

    def __init__(self, bindings: dict, funcs: dict, keep: set[str], max_exponent: float):
        self.bindings = bindings
        self.funcs = funcs
        self.keep = keep
        self.max_exponent = max_exponent
        self.memo: dict[str, sp.Expr] = {}

    def name(self, name: str) -> sp.Expr:
        """Expand a name and everything it depends on, with an explicit stack."""
        stack = [name]
        while stack:
            n = stack[-1]
            if n in self.memo:
                stack.pop()
                continue
            b = self.bindings.get(n)
            if n in self.keep or b is None or isinstance(b, Leaf):
                if isinstance(b, Leaf) and np.ndim(b.value) != 0 and n not in self.keep:
                    raise BpError(f"{n} is an array; diff works on scalar expressions "
                                  "(grad handles arrays)")
                self.memo[n] = symbol(n)
                stack.pop()
                continue
            assert isinstance(b, Formula)
            missing = [r for r in b.refs if r not in self.memo]
            if missing:
                stack.extend(missing)
                continue
            self.memo[n] = self.expr(b.expr, {})
            stack.pop()
        return self.memo[name]

    # `expr(ast, env)`: SymPy for one expression tree; env maps an inlined function's
    # parameters to their SymPy arguments. It is `visit` itself, not a wrapper, so each
    # level of a deeply nested expression costs two Python frames.
    expr = sx.Visitor.visit

    def visit_Num(self, ast: sx.Num, env: dict) -> sp.Expr:
        return number(ast.value, ast.text)

    def visit_Const(self, ast: sx.Const, env: dict) -> sp.Expr:
        if np.ndim(ast.value) != 0:
            raise BpError("diff works on scalar expressions (grad handles arrays)", *ast.pos)
        return sp.Float(float(ast.value))

    def visit_ArrayLit(self, ast: sx.ArrayLit, env: dict) -> sp.Expr:
        raise BpError("diff works on scalar expressions (grad handles arrays)", *ast.pos)

    def visit_Name(self, ast: sx.Name, env: dict) -> sp.Expr:
        if ast.id in env:
            return env[ast.id]
        if ast.id == "_":
            raise BpError("'_' cannot be differentiated; give the value a name", *ast.pos)
        return self.name(ast.id)

    def visit_Unary(self, ast: sx.Unary, env: dict) -> sp.Expr:
        inner = self.visit(ast.operand, env)
        return -inner if ast.op == "neg" else inner

    def visit_Binary(self, ast: sx.Binary, env: dict) -> sp.Expr:
        if ast.op == "**":
            a, b = self.visit(ast.left, env), self.visit(ast.right, env)
            return self._power(a, b, ast.pos)
        return self._chain(ast, env)

    def visit_Transpose(self, ast: sx.Transpose, env: dict) -> sp.Expr:
        return self.visit(ast.operand, env)  # a scalar is its own transpose

    def visit_Call(self, ast: sx.Call, env: dict) -> sp.Expr:
        return self.call(ast, env)

    def visit_Index(self, ast: sx.Index, env: dict) -> sp.Expr:
        raise BpError("indexing works on arrays; diff works on scalar expressions "
                      "(grad handles arrays)", *ast.pos)

    def _chain(self, ast: sx.Binary, env: dict) -> sp.Expr:
        """A left chain in one pass; runs of + and - become one n-ary Add (no O(n^2) flattening)."""
        base, chain = sx.spine(ast)
        acc = self.expr(base, env)
        terms: list = [acc]
        for b in chain:
            right = self.expr(b.right, env)
            if b.op in "+-":
                terms.append(right if b.op == "+" else -right)
                continue
            if b.op == "@":
                raise BpError("@ needs arrays; diff works on scalar expressions", *b.pos)
            acc = sp.Add(*terms) if len(terms) > 1 else terms[0]
            terms = [tame(sympy_call(BINARY[b.op], acc, right))]
        return sp.Add(*terms) if len(terms) > 1 else terms[0]

    def _power(self, a, b, pos) -> sp.Expr:
        return power(a, b, self.max_exponent, pos)

    def call(self, ast: sx.Call, env: dict) -> sp.Expr:
        user = self.funcs.get(ast.func)
        if user is not None and ast.keywords:
            raise BpError(f"{ast.func} takes no keyword arguments", *ast.keywords[0].pos)
        args = [self.expr(a, env) for a in ast.args]
        if user is not None:
            if len(args) != len(user.params):
                raise BpError(f"{ast.func} takes {len(user.params)} arguments", *ast.pos)
            if user.op is not None:
                return sympy_call(user.op, *args)
            return self.expr(user.body, dict(zip(user.params, args)))
        op = OPS.get(ast.func)
        if op is None or ast.func in OPERATOR_ONLY:
            if ast.func in CONSTRUCTORS:
                raise BpError("diff works on scalar expressions (grad handles arrays)",
                              *ast.pos)
            raise UnknownName(unknown_function(ast.func), *ast.pos)
        if op.define is None or op.params and len(args) > op.arity or ast.keywords:
            raise BpError(f"{ast.func} works on arrays; diff works on scalar expressions "
                          "(grad handles arrays)", *ast.pos)
        full = list(args[: op.arity])
        full += [sp.Float(d) for d in op.defaults[len(full) - op.arity:]] if len(full) < \
            op.arity else []
        if len(full) != op.arity:
            raise BpError(f"{ast.func} takes {op.arity} arguments: {op.example}", *ast.pos)
        return sympy_call(op, *full)


def free_name(taken: set[str], preferred: str = "y") -> str:
    for candidate in (preferred, "out", "y_out", "f"):
        if candidate not in taken:
            return candidate
    i = 1
    while f"y{i}" in taken:
        i += 1
    return f"y{i}"


def depth(expr) -> int:
    """Levels of a SymPy expression tree, counted with an explicit stack."""
    best, stack = 0, [(expr, 1)]
    while stack:
        e, d = stack.pop()
        best = max(best, d)
        stack.extend((a, d + 1) for a in e.args)
    return best


def _diff(f, x, limits):
    """sympy.diff, which recurses about 15 Python frames per level of f: a deep expression is
    refused past the depth limit, and below it gets the frames it needs."""
    levels = depth(f)
    if levels > limits.max_depth:
        raise LimitError(f"the expression written out is {levels} levels deep, over the limit "
                         f"of {limits.max_depth} (BPSHELL_MAX_DEPTH raises it)")
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, 20 * levels + 1000))
    try:
        return sp.diff(f, x)
    finally:
        sys.setrecursionlimit(old)


def _simplified(d, limits, full: bool):
    """The cheap rewrites always; SymPy's simplify, within its time budget, when asked.

    A form that brings in functions the derivative did not use (tanh' as cosh(x)**-2) is
    not simpler for a learner, whatever its count of operations; a named op of the table
    is (softplus' is sigmoid(x)).
    """
    note, named = None, None
    candidates = [d]
    if sp.count_ops(d) <= 200:
        candidates.append(cheap_simplify(d))
        if len(d.free_symbols) == 1:
            named = named_form(d, next(iter(d.free_symbols)))
    if full:
        own = None
        try:
            with deadline(limits.simplify_seconds) as own:
                candidates.append(sp.simplify(d))
        except TimeLimitError as e:
            if own is None or getattr(e, "bound", own) is not own:
                raise  # the statement's own bound, not simplify's: the statement stops
            note = (f"simplify took longer than {limits.simplify_seconds:g} s "
                    "(BPSHELL_SIMPLIFY_SECONDS raises it)")
    known = _functions(d)
    return simplest([named] + [c for c in candidates if _functions(c) <= known]), note


def _functions(expr) -> set:
    return {type(f) for f in expr.atoms(sp.Function)}


def _output_form(f, d, x, out):
    """d in terms of the output: all of it (sigmoid' = y*(1 - y)), or where it shows (swish)."""
    if not d.has(x) or isinstance(f, sp.Symbol):
        return None
    cand = d.subs(f, out)
    if cand.has(out) and not cand.has(x):
        return cand
    if f.free_symbols == {x}:
        fitted = fit_output_form(f, d, x)
        if fitted is not None:
            return fitted.subs(Y, out)
    if cand.has(out) and size(cand) <= size(d):
        return cand
    return None


def differentiate(expr_ast, wrt: str, bindings: dict, funcs: dict, limits,
                  simplify: bool = False) -> dict:
    """The `diff` result: raw, simplified where that is simpler, and in terms of the output.

    simplify runs SymPy's simplify (time-bounded): without it, a diff never waits on it.
    """
    builder = SympyBuilder(bindings, funcs, {wrt}, limits.max_exponent)
    f = builder.expr(expr_ast, {})
    x = symbol(wrt)
    d = _diff(f, x, limits)
    simplified, note = _simplified(d, limits, simplify)
    taken = {s.name for s in f.free_symbols} | set(bindings)
    out_name = expr_ast.id if isinstance(expr_ast, sx.Name) else free_name(taken)
    in_terms = _output_form(f, d, x, symbol(out_name))
    forms = {"derivative": d, "simplified": simplified, "in_terms_of_output": in_terms}
    return {
        "wrt": wrt,
        "expr": text(f),
        "derivative": text(d),
        "simplified": text(simplified),
        "simplify_note": note,
        "output_name": out_name,
        "in_terms_of_output": None if in_terms is None else text(in_terms),
        "pretty": _pretty(forms, True),
        "ascii": _pretty(forms, False),
        "chain": None,
    }


def _pretty(forms: dict, unicode: bool) -> dict:
    """Each form drawn by SymPy's pretty printer, a form equal to another drawn once (the
    simplified form is often the derivative itself; drawing was most of a diff's time)."""
    drawn: dict = {}
    out = {}
    for k, v in forms.items():
        if v is not None and v not in drawn:
            drawn[v] = sp.pretty(v, use_unicode=unicode, num_columns=10_000)
        out[k] = None if v is None else drawn[v]
    return out
