"""Derivatives found by SymPy, never typed: output forms, defined functions, NumPy code.

An op is declared by its definition only. Its derivative comes from `sympy.diff`; the
derivative in terms of the op's output (sigmoid' = y*(1 - y)) comes from substitution
or, failing that, from a sparse fit over a small basis in y, verified at 40 digits.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from fractions import Fraction

import numpy as np
import sympy as sp
from sympy.printing.numpy import NumPyPrinter

X = tuple(sp.Symbol(f"x{i}", real=True) for i in range(6))
Y = sp.Symbol("y", real=True)

# what generated code may call: NumPy's ufuncs and a few helpers (not `from numpy import *`,
# which costs 40 ms of lazy submodule imports); the kernels of named ops (sigmoid, user
# functions) travel with their Function classes and are added per expression by to_numpy,
# under names that start with an underscore: no name a user can write (user names never
# do), so `def greater(u) = ...` or `def x0(u) = ...` cannot replace what relu' calls or
# shadow the generated function's own parameters
NAMESPACE: dict[str, object] = {k: v for k, v in vars(np).items() if isinstance(v, np.ufunc)}
NAMESPACE.update(numpy=np, where=np.where, select=np.select, nan=np.nan, inf=np.inf,
                 pi=np.pi, e=np.e, amax=np.amax, amin=np.amin)
KERNEL_PREFIX = "_k"


class _Printer(NumPyPrinter):
    """NumPy printer that writes Piecewise as nested numpy.where (3x faster than select),
    and each named op by the private name its kernel has in this expression's namespace."""

    def __init__(self, settings, kernel_names: dict[type, str]):
        super().__init__(settings)
        self._kernel_names = kernel_names

    def _print_Piecewise(self, expr):
        *pieces, last = expr.args
        out = self._print(last.expr) if last.cond == sp.true else "numpy.nan"
        for e, c in reversed(pieces):
            out = f"numpy.where({self._print(c)}, {self._print(e)}, {out})"
        return out

    def _print_Relational(self, expr):
        # Python's operator, not numpy.less_equal(...): the same ufunc for an array, and
        # for a float64 scalar (a scalar graph's every gated edge) ten times cheaper
        return f"({self._print(expr.lhs)} {expr.rel_op} {self._print(expr.rhs)})"

    def _print_And(self, expr):
        # binary and nested, not logical_and.reduce((a, b)): that needs a and b of one
        # shape, and a condition on a scalar base and an array exponent has two
        return self._fold("logical_and", expr.args)

    def _print_Or(self, expr):
        return self._fold("logical_or", expr.args)

    def _fold(self, ufunc: str, args) -> str:
        out = self._print(args[0])
        for a in args[1:]:
            out = f"{ufunc}({out}, {self._print(a)})"
        return out

    def _print_sign(self, expr):
        # PyTorch's sign, 0 at nan where NumPy's is nan: abs'(nan) = 0, as in PyTorch
        a = self._print(expr.args[0])
        return f"(greater({a}, 0) * 1.0 - less({a}, 0))"

    def _print(self, expr, **kwargs):
        # before SymPy's own dispatch, which goes by class name: a user function named
        # expm1 or amax would otherwise be printed as NumPy's expm1 or amax
        name = self._kernel_names.get(type(expr))
        if name is None:
            return super()._print(expr, **kwargs)
        return f"{name}({', '.join(self._print(a) for a in expr.args)})"


def to_numpy(args, expr) -> Callable:
    """A NumPy function of args for a SymPy expression built by bpshell (never from text).

    Symbols are our own (x0, x1, y) and function names are validated identifiers, so the
    code SymPy generates holds nothing a user typed except numbers. Every name it calls
    resolves in a namespace built here: NumPy's, and the kernels under private names.
    """
    classes = _kernel_classes(expr)
    # one private name per class, not per name: an old `f` kept inside g's derivative and
    # a redefined `f` may meet in one expression
    names = {cls: f"{KERNEL_PREFIX}{i}_{cls.__name__}" for i, cls in enumerate(classes)}
    namespace = dict(NAMESPACE)
    namespace.update({names[cls]: cls.numpy_forward for cls in classes})
    printer = _Printer({"fully_qualified_modules": False, "inline": True,
                        "allow_unknown_functions": True}, names)
    return sp.lambdify(list(args), expr, modules=[namespace], printer=printer,
                       docstring_limit=0)


def _kernel_classes(expr) -> list[type]:
    """Each named op applied in expr that carries a NumPy forward (sigmoid, a user
    function): the op table's kernel, carried by its Function class. In a fixed order."""
    atoms = getattr(expr, "atoms", None)
    if atoms is None:
        return []
    found = {type(f) for f in atoms(sp.Function)
             if getattr(type(f), "numpy_forward", None) is not None}
    return sorted(found, key=lambda cls: (cls.__name__, id(cls)))


# ---------------------------------------------------------------- output forms

_BASIS = (sp.Integer(1), Y, Y**2, Y**3, 1 / Y, sp.exp(Y), sp.exp(-Y))
# the same basis evaluated by NumPy (seven lambdify calls would cost 10 ms of start-up)
_BASIS_NP = (np.ones_like, lambda y: y, np.square, lambda y: y**3, np.reciprocal, np.exp,
             lambda y: np.exp(-y))
_SAMPLES = np.array([-2.3, -1.6, -1.1, -0.7, -0.35, 0.2, 0.45, 0.8, 1.25, 1.7, 2.4, 3.1])
_CHECK_POINTS = ("0.37", "1.21", "-0.83")


def substitute_output(d, call):
    """d with the op's own output replaced by y, or None if the inputs still show."""
    out = d.subs(call, Y)
    inputs = call.free_symbols
    if out.has(Y) and len(out.free_symbols & inputs) < len(d.free_symbols & inputs):
        return out
    return None


def fit_output_form(f, d, x) -> sp.Expr | None:
    """Find g with d == g(f) over the basis (1, y, y^2, y^3, 1/y, exp(y), exp(-y)).

    Tries the sparsest combinations first, rationalizes the coefficients and accepts a
    form only when it holds to 30 digits at points the fit never saw.
    """
    try:
        fn, dn = to_numpy([x], f), to_numpy([x], d)
        with np.errstate(all="ignore"):
            ys = np.broadcast_to(np.asarray(fn(_SAMPLES), dtype=np.float64), _SAMPLES.shape)
            ds = np.broadcast_to(np.asarray(dn(_SAMPLES), dtype=np.float64), _SAMPLES.shape)
            cols = [f(ys) for f in _BASIS_NP]
    except Exception:  # a definition NumPy cannot evaluate has no output form
        return None
    good = np.isfinite(ys) & np.isfinite(ds)
    for c in cols:
        good &= np.isfinite(c)
    if good.sum() < 6 or np.ptp(ys[good]) < 1e-6:
        return None
    A = np.stack([c[good] for c in cols], axis=1)
    b = ds[good]
    scale = max(1.0, float(np.max(np.abs(b))))
    for size in (1, 2, 3):
        for combo in itertools.combinations(range(len(_BASIS)), size):
            sub = A[:, combo]
            coef, *_ = np.linalg.lstsq(sub, b, rcond=None)
            if np.max(np.abs(sub @ coef - b)) > 1e-8 * scale:
                continue
            fracs = [Fraction(float(c)).limit_denominator(24) for c in coef]
            if any(fr == 0 or abs(float(fr) - c) > 1e-8 for fr, c in zip(fracs, coef)):
                continue
            g = sum(sp.Rational(fr.numerator, fr.denominator) * _BASIS[k]
                    for fr, k in zip(fracs, combo))
            if _holds(f, d, g, x):
                return sp.factor_terms(g)
    return None


def _holds(f, d, g, x) -> bool:
    for point in _CHECK_POINTS:
        try:
            p = sp.Float(point, 40)
            fv = f.subs(x, p).evalf(40)
            lhs = d.subs(x, p).evalf(40)
            rhs = g.subs(Y, fv).evalf(40)
            if not (lhs.is_number and rhs.is_number) or abs(lhs - rhs) > sp.Float("1e-30"):
                return False
        except (TypeError, ValueError, ZeroDivisionError):
            return False
        except RecursionError:
            # evalf of f60(0.37) evaluates f59(0.37) inside its own evalf, and so on down:
            # a long chain of functions gets no output form rather than an error
            return False
    return True


def output_form(call, d, args) -> sp.Expr | None:
    """The derivative d of `call` (an op applied to args) in terms of the output y."""
    found = substitute_output(d, call)
    if found is not None:
        return found
    if len(args) == 1 and not d.is_number:
        return fit_output_form(call, d, args[0])
    return None


# ---------------------------------------------------------------- defined functions


def defined_function(name: str, nargs: int, definition: Callable[..., sp.Expr],
                     forward: Callable | None = None):
    """A SymPy Function whose derivative is derived from its definition.

    `fdiff` differentiates the definition and, where the result is a function of the
    output alone, returns it in that form (sigmoid -> sigmoid*(1 - sigmoid)). Printing
    keeps the name, so a learner reads sigmoid(w*x + b), not its exponentials; `forward`
    is the kernel that code generated for an expression holding the function calls.
    """
    cache: dict[int, sp.Expr] = {}
    bodies: list[sp.Expr] = []

    def body_expr() -> sp.Expr:
        if not bodies:
            bodies.append(definition(*X[:nargs]))
        return bodies[0]

    def derivative(i: int) -> sp.Expr:
        if i not in cache:
            body = body_expr()
            _derive_callees(body)
            d = sp.diff(body, X[i])
            form = None
            if nargs == 1:
                form = substitute_output(d, body) or fit_output_form(body, d, X[0])
            if form is not None:
                cache[i] = form.subs(Y, cls(*X[:nargs]))
            else:
                cache[i] = _refold(d, body, cls(*X[:nargs]))
        return cache[i]

    def fdiff(self, argindex=1):
        return derivative(argindex - 1).subs(dict(zip(X[:nargs], self.args)),
                                             simultaneous=True)

    def _eval_evalf(self, prec):
        return definition(*self.args)._eval_evalf(prec)

    def _eval_rewrite_as_definition(self, *args, **kwargs):
        return definition(*args)

    def derive_all() -> None:
        for i in range(nargs):
            derivative(i)

    cls = type(name, (sp.Function,), {
        **_PRINTED_BY_NAME,
        "nargs": nargs, "fdiff": fdiff, "_eval_evalf": _eval_evalf,
        "body_expr": staticmethod(body_expr), "derive_all": staticmethod(derive_all),
        "derived": staticmethod(lambda: len(cache) == nargs),
        "definition": staticmethod(definition),
        "numpy_forward": None if forward is None else staticmethod(forward),
        "_eval_rewrite_as_definition": _eval_rewrite_as_definition,
        "is_real": True,
    })
    return cls


def _as_function(self, printer, *args, **kwargs):
    return printer._print_Function(self, *args, **kwargs)


# SymPy's printers find a method by class name (_print_tuple, _print_amax, _print_expm1)
# unless the class has a method of its own for that printer: these make a function named
# `tuple` or `amax` print as any function does, name(args)
_PRINTED_BY_NAME = {hook: _as_function for hook in (
    "_sympystr", "_sympyrepr", "_pretty", "_latex", "_numpycode", "_pythoncode",
    "_mpmathcode")}


def _defined_in(expr) -> set[type]:
    """The defined functions (named ops, user functions) applied in expr."""
    return {type(f) for f in expr.atoms(sp.Function) if hasattr(type(f), "derive_all")}


def _derive_callees(body) -> None:
    """Derive the derivatives of every defined function body calls, innermost first.

    SymPy differentiates f60(x) by asking f59 for its derivative inside its own diff, and so
    on down: some twenty Python frames a level, so a chain of 60 functions defined one on
    the next passed Python's recursion limit. Derived innermost first, each level finds the
    one below it cached and goes one level deep. The walk uses an explicit stack.
    """
    order: list[type] = []
    seen: set[type] = set()
    stack: list[tuple[type, bool]] = [(c, False) for c in _defined_in(body)]
    while stack:
        cls, expanded = stack.pop()
        if expanded:
            order.append(cls)
            continue
        if cls in seen or cls.derived():
            continue
        seen.add(cls)
        stack.append((cls, True))
        stack.extend((c, False) for c in _defined_in(cls.body_expr()))
    for cls in order:
        cls.derive_all()


def _refold(d, body, call):
    """Where the definition reappears inside its own derivative, show the call instead."""
    return d.subs(body, call)
