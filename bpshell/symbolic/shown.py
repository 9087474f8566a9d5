"""Derivatives as a learner reads them: real expressions, printed right, in the book's forms.

A formula is printed from a SymPy expression whose symbols are real names (a leaf, a named
node, or a short name defined once), never from a label turned into a symbol: the printer
can then bracket `x - t` and keep constants as numbers. Of the forms a derivative has (in
terms of the inputs, in terms of the output y, through a named op such as sigmoid), the
simplest is shown, and the output form wins a tie, as the book writes y*(1 - y).
"""

from __future__ import annotations

from weakref import WeakKeyDictionary

import sympy as sp
from sympy.printing.str import StrPrinter

from bpshell.ops.table import OPS, Op
from bpshell.symbolic.calls import sympy_call, written_out
from bpshell.symbolic.derive import fit_output_form, substitute_output

# the distinct inputs of one node, in the order it reads them (x*x has one: V[0])
V = tuple(sp.Symbol(f"v{i}", real=True) for i in range(6))


class _Printer(StrPrinter):
    """SymPy's str printer, with Piecewise as Python's conditional and short floats."""

    def _print_Piecewise(self, expr) -> str:
        *pieces, last = expr.args
        out = self._print(last.expr) if last.cond == sp.true else "nan"
        for e, c in reversed(pieces):
            out = f"{self._print(e)} if {self._print(c)} else {out}"
        return out

    def _print_Float(self, expr) -> str:
        v = float(expr)
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else f"{v:.10g}"

    def parenthesize(self, item, level, strict=False) -> str:
        # a conditional binds looser than any operator: (1 if x > 0 else 0)*dout
        if isinstance(item, sp.Piecewise):
            return f"({self._print(item)})"
        return super().parenthesize(item, level, strict)

    def _print_Add(self, expr, order=None) -> str:
        if any(isinstance(a, sp.Piecewise) for a in expr.args):
            return " + ".join(self.parenthesize(a, 0) for a in expr.args)
        return super()._print_Add(expr, order)


_PRINTER = _Printer({"order": None})


def text(expr) -> str:
    """A formula as text that Python would parse to the same expression."""
    return _PRINTER.doprint(expr)


def size(expr) -> tuple[int, int]:
    """How hard a form is to read: its operations, then its length."""
    return sp.count_ops(expr), len(text(expr))


def simplest(candidates: list) -> sp.Expr:
    """The simplest of the forms; the first of equals wins (list the book's first)."""
    best, best_size = None, None
    for c in candidates:
        if c is None:
            continue
        s = size(c)
        if best_size is None or s < best_size:
            best, best_size = c, s
    return best


def cheap_simplify(expr) -> sp.Expr:
    """Bounded rewrites that never blow up (simplify itself may run for minutes)."""
    try:
        return simplest([expr, sp.factor_terms(sp.together(expr)), sp.powsimp(expr)])
    except (TypeError, ValueError, RecursionError):
        return expr


# ---------------------------------------------------------------- named forms


def named_form(d, x, skip: Op | None = None) -> sp.Expr | None:
    """d as a named op of the table applied to x, if it is one (softplus' = sigmoid(x))."""
    if d.is_number or d.free_symbols != {x}:
        return None
    for op in OPS.values():
        if not (op.named and op.arity == 1 and op.define is not None) or op is skip:
            continue
        g = sympy_call(op, x)
        if _same(d, g, x):
            return g
    return None


def _same(a, b, x) -> bool:
    for point in ("0.37", "1.21", "-0.83", "2.5"):
        p = sp.Float(point, 40)
        try:
            va, vb = a.subs(x, p).evalf(40), b.subs(x, p).evalf(40)
            if not (va.is_number and vb.is_number) or abs(va - vb) > sp.Float("1e-30"):
                return False
        except (TypeError, ValueError, ZeroDivisionError):
            return False
    return True


# ---------------------------------------------------------------- one node's forms


class Form:
    """d(out)/d(input) of one op applied to given inputs: raw, and as shown."""

    __slots__ = ("raw", "inputs", "output", "shown", "mask")

    def __init__(self, raw, inputs, output, shown, mask):
        self.raw = raw  # in terms of the inputs V, from the op's definition
        self.inputs = inputs  # the simplest form in the inputs (softplus': sigmoid(v0))
        self.output = output  # in terms of the output Y (and maybe inputs), or None
        self.shown = shown  # the learner's form: the simplest of the two
        self.mask = mask  # for a 0/1 step (relu): where it is 0, in V; else None


# forms derived per op and per pattern of inputs (which are constants, which repeat)
_FORMS: WeakKeyDictionary[Op, dict] = WeakKeyDictionary()


def forms(op: Op, pattern: tuple) -> list[Form]:
    """One Form per distinct variable input of `op` applied to pattern.

    pattern holds, per input, the index of a distinct variable (x*x is (0, 0)) or a SymPy
    number for a constant input (1/u is (1, 0)): constants specialise the form.
    """
    cache = _FORMS.setdefault(op, {})
    # keyed with constants tagged: SymPy's Integer(1) == 1 would collide with variable 1
    key = tuple(p if isinstance(p, int) else ("c", p) for p in pattern)
    hit = cache.get(key)
    if hit is None:
        hit = cache[key] = _derive(op, pattern)
    return hit


def _derive(op: Op, pattern: tuple) -> list[Form]:
    args = [V[p] if isinstance(p, int) else p for p in pattern]
    call = sympy_call(op, *args)
    written = written_out(op, *args) if op.named else call
    xs = sorted({p for p in pattern if isinstance(p, int)})
    out = []
    for j in xs:
        v = V[j]
        d = sp.powsimp(sp.diff(call, v))
        raw = sp.powsimp(sp.diff(written, v)) if op.named else d
        output = substitute_output(d, call)
        if output is None and len(xs) == 1 and not d.is_number and call.has(v):
            output = fit_output_form(call, d, v)
        named = named_form(raw, v, skip=op) if len(xs) == 1 else None
        inputs = simplest([named, d, raw, cheap_simplify(raw)])
        shown = simplest([output, inputs])
        out.append(Form(raw, inputs, output, shown, _mask(raw)))
    return out


def _mask(d) -> sp.Expr | None:
    """Where a 0/1 step derivative (relu') is 0: the book's mask, `x <= 0`."""
    if not isinstance(d, sp.Piecewise) or len(d.args) != 2:
        return None
    (one, cond), (zero, rest) = d.args
    if one == 1 and zero == 0 and rest == sp.true:
        return sp.Not(cond)
    return None
