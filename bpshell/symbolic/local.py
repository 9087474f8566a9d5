"""Local derivatives of elementwise ops: derived once per op, kept as SymPy and as NumPy code."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from weakref import WeakKeyDictionary

import numpy as np
import sympy as sp

from bpshell.ops.table import Op
from bpshell.symbolic.calls import sympy_call, written_out
from bpshell.symbolic.derive import X, Y, output_form, to_numpy


@dataclass
class Local:
    """d(out)/d(input i) for one op, raw and in terms of the output y where that exists."""

    call: sp.Expr  # the op applied to x0, x1, ...
    raw: list[sp.Expr]  # in terms of the inputs
    output: list[sp.Expr | None]  # in terms of y (and maybe other inputs)
    numeric: list[Callable | float]  # f(*inputs, y) -> derivative, or a constant
    constant: list[bool]
    runs: list[sp.Expr | None]  # what numeric[k] computes (None for a constant)


_PROBES = np.array([-1000.0, -30.0, -2.0, -1.0, -0.5, -1e-300, 0.0, 1e-300, 0.5, 1.0, 2.0,
                    30.0, 1000.0])


_expm1, _log1p = sp.Function("expm1"), sp.Function("log1p")  # NumPy ufuncs of those names


def _accurate(expr):
    """c*exp(a) - c as c*expm1(a), log(1 + a) as log1p(a): 1 - exp(-y) loses digits near 0.

    (sympy.codegen.rewriting does this too, but importing it costs 75 ms of start-up.)
    """

    def add(e):
        args = list(e.args)
        for i, k in enumerate(args):
            if not k.is_Number:
                continue
            for j, t in enumerate(args):
                c, rest = t.as_coeff_Mul()
                if isinstance(rest, sp.exp) and c == -k:
                    others = [u for n, u in enumerate(args) if n not in (i, j)]
                    return sp.Add(c * _expm1(rest.args[0]), *others)
        return e

    def log(e):
        a = e.args[0]
        return _log1p(a - 1) if a.is_Add and sp.S.One in a.args else e

    expr = expr.replace(lambda e: e.is_Add, add)
    return expr.replace(lambda e: isinstance(e, sp.log), log)


def _as_good(op: Op, raw_fn, out_fn) -> bool:
    """The output form never fails where the input form works, and agrees with it."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y = np.broadcast_to(np.asarray(op.forward(_PROBES), dtype=np.float64), _PROBES.shape)
        a = np.broadcast_to(np.asarray(raw_fn(_PROBES, y), dtype=np.float64), _PROBES.shape)
        b = np.broadcast_to(np.asarray(out_fn(_PROBES, y), dtype=np.float64), _PROBES.shape)
    if np.any(np.isfinite(a) & ~np.isfinite(b)):
        return False
    both = np.isfinite(a) & np.isfinite(b)
    return bool(np.allclose(a[both], b[both], rtol=1e-9, atol=0))


# derived once per op, kept here by op (weakly: a user function's op may be dropped)
_LOCALS: WeakKeyDictionary[Op, Local] = WeakKeyDictionary()


def local(op: Op) -> Local:
    """The derived local derivatives of an elementwise op (cached, keyed by the op)."""
    hit = _LOCALS.get(op)
    if hit is not None:
        return hit
    args = X[: op.arity]
    call = sympy_call(op, *args)
    raw, output, numeric, constant, runs = [], [], [], [], []
    for x in args:
        d = sp.powsimp(sp.diff(call, x))  # x**(n-1)*n, not x**n*n/x (nan at 0)
        # a named op's derivative is shown from its definition, as a learner derives it
        shown = sp.diff(written_out(op, *args), x) if op.named else d
        raw.append(shown)
        form = output_form(call, d, args)
        output.append(form)
        if d.is_number:
            numeric.append(float(d))
            constant.append(True)
            runs.append(None)
            continue
        constant.append(False)
        # a Piecewise inside a product or sum (relu in a user function: 3*relu'(u)/
        # (2*sqrt(relu(u))) + 1) is folded to the top, so each branch is computed alone:
        # relu's flat side then gives 1 there, not 0*inf + 1 = nan
        folded = sp.piecewise_fold(d) if d.has(sp.Piecewise) else d
        raw_fn = to_numpy([*args, Y], _accurate(folded))
        # NumPy uses the output form when it needs nothing but y and is as good as the
        # input form everywhere: reusing the forward value is what makes sigmoid' =
        # y*(1 - y) cheap and stable at +-1000 (log's exp(-y) is not: nan below 0)
        if form is not None and not (form.free_symbols & set(args)) and len(args) == 1:
            out_fn = to_numpy([*args, Y], _accurate(form))
            if _as_good(op, raw_fn, out_fn):
                numeric.append(out_fn)
                runs.append(_accurate(form))
                continue
        numeric.append(raw_fn)
        runs.append(_accurate(d))
    result = Local(call, raw, output, numeric, constant, runs)
    _LOCALS[op] = result
    return result


_PROBE = np.array([-1.0, -1e-300, -0.0, 0.0, 1e-300, 1.0, np.inf, -np.inf, np.nan])


def zero_condition(op: Op, loc: Local, k: int) -> tuple[sp.Expr, bool] | None:
    """Where input k's derivative is 0 by a branch of its definition (relu' where x <= 0)
    or by the op's declared convention (pow at base 0), and whether every other branch is
    1 (a step: the rule is then where(zero, 0, g), with no multiply at all).

    The backward pass gives 0 there whatever the upstream gradient or the formula is:
    g * 0 is nan for g = inf (sqrt(relu(x)) at x < 0) where PyTorch's threshold_backward
    gives 0, and 0 * 0**-1 is nan for d(x**0)/dx at 0 where PyTorch's pow_backward gives 0.
    At nan, where no branch's condition holds, g passes, as in PyTorch. The condition is
    checked against the derivative on probe points before it is used.
    """
    inputs = set(X[: op.arity])
    # relu(u)*2 and sqrt(relu(u)) in a user function: a product holding a Piecewise is
    # folded into a Piecewise of products, 0 on relu's flat side
    d = sp.piecewise_fold(loc.raw[k])
    zero, before = sp.false, sp.false
    if isinstance(d, sp.Piecewise):
        for value, condition in d.args:
            if value == 0:
                zero = sp.Or(zero, sp.And(condition, sp.Not(before)))
            before = sp.Or(before, condition)
    if op.zero_where:  # the op's declared conventions (pow at base 0)
        zero = sp.Or(zero, op.zero_where[k](sp, *X[: op.arity]))
    if zero == sp.false or not zero.free_symbols <= inputs:
        return None
    step = isinstance(d, sp.Piecewise) and all(value in (0, 1) for value, _ in d.args)
    flat, slope = to_numpy([*X[: op.arity], Y], zero), loc.numeric[k]
    with np.errstate(all="ignore"):  # it must agree with g * derivative wherever that is
        xs = [_PROBE] * op.arity    # a number and the input is one
        y = op.forward(*xs)
        want = np.broadcast_to(np.multiply(1.0, slope(*xs, y)), _PROBE.shape)
        got = np.where(flat(*xs, y), 0.0, 1.0 if step else want)
        known = ~np.isnan(_PROBE) & np.isfinite(want)
        if not np.array_equal(want[known], np.broadcast_to(got, _PROBE.shape)[known]):
            return None
    return zero, step
