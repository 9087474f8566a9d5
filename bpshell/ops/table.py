"""The op table: every op declared once, by its SymPy definition and its NumPy forward.

Elementwise ops carry no derivative: bpshell.symbolic.local derives it from the
definition. Structural ops (matmul, reductions, softmax, losses) carry vector-Jacobian
rules, which the tests check against SymPy's jacobian on small matrices of symbols.
The completer, `help`, `rules` and the renderer all read this one table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from bpshell.ops import kernels
from bpshell.ops import structural as st
from bpshell.symbolic.derive import NAMESPACE, defined_function


@dataclass(eq=False)
class Op:
    """One operation of the language."""

    name: str
    arity: int
    forward: Callable
    doc: str
    example: str
    sympy: Callable[..., sp.Expr] | None = None  # definition on SymPy scalars
    vjps: tuple | None = None  # structural ops: one rule per input (None: not differentiable)
    rule_text: tuple[str, ...] = ()  # structural ops: the rules as a learner writes them
    defaults: tuple = ()  # values of trailing optional inputs
    params: tuple[str, ...] = ()  # trailing integer parameters (axis, shape), not inputs
    symbol: str | None = None  # infix or prefix operator spelling
    user: bool = False
    body_text: str = ""  # user functions: the definition as written
    kink: str | None = None  # where the derivative takes a convention
    meta: dict = field(default_factory=dict)

    @property
    def elementwise(self) -> bool:
        return self.vjps is None


def _fn(name, nargs, definition):
    cls = defined_function(name, nargs, definition)
    return cls


sigmoid_f = _fn("sigmoid", 1, lambda x: 1 / (1 + sp.exp(-x)))
relu_f = _fn("relu", 1, lambda x: sp.Piecewise((x, x > 0), (0, True)))
leaky_relu_f = _fn("leaky_relu", 2, lambda x, s: sp.Piecewise((x, x > 0), (s * x, True)))
softplus_f = _fn("softplus", 1, lambda x: sp.log(1 + sp.exp(x)))

OPS: dict[str, Op] = {}


def op(*args, **kwargs) -> Op:
    o = Op(*args, **kwargs)
    OPS[o.name] = o
    return o


# -- arithmetic (operators)
op("add", 2, np.add, "sum of two values (broadcasts)", "a + b",
   sympy=lambda a, b: a + b, symbol="+")
op("sub", 2, np.subtract, "difference (broadcasts)", "a - b",
   sympy=lambda a, b: a - b, symbol="-")
op("mul", 2, np.multiply, "elementwise product (broadcasts)", "a * b",
   sympy=lambda a, b: a * b, symbol="*")
op("div", 2, np.divide, "elementwise quotient", "a / b",
   sympy=lambda a, b: a / b, symbol="/")
op("pow", 2, np.power, "power; ^ is the same", "x ** 2",
   sympy=lambda a, b: a**b, symbol="**")
op("neg", 1, np.negative, "negation", "-x", sympy=lambda a: -a, symbol="-")

# -- elementwise functions
op("exp", 1, np.exp, "e to the x", "exp(x)", sympy=sp.exp)
op("log", 1, np.log, "natural logarithm", "log(x)", sympy=sp.log)
op("sqrt", 1, np.sqrt, "square root", "sqrt(x)", sympy=sp.sqrt)
op("abs", 1, np.abs, "absolute value; abs'(0) = 0 as in PyTorch", "abs(x)",
   sympy=sp.Abs, kink="abs'(0) = 0 (PyTorch's convention)")
op("sin", 1, np.sin, "sine", "sin(x)", sympy=sp.sin)
op("cos", 1, np.cos, "cosine", "cos(x)", sympy=sp.cos)
op("tanh", 1, np.tanh, "hyperbolic tangent", "tanh(x)", sympy=sp.tanh)
op("sigmoid", 1, kernels.sigmoid, "logistic 1/(1 + exp(-x)), stable at any x", "sigmoid(x)",
   sympy=sigmoid_f)
op("relu", 1, kernels.relu, "max(x, 0); relu'(0) = 0 as in PyTorch", "relu(x)",
   sympy=relu_f, kink="relu'(0) = 0 (PyTorch's convention)")
op("leaky_relu", 2, kernels.leaky_relu, "x if x > 0 else slope*x (slope 0.01 unless given)",
   "leaky_relu(x, 0.1)", sympy=leaky_relu_f, defaults=(0.01,),
   kink="leaky_relu'(0) = slope (PyTorch's convention)")
op("softplus", 1, kernels.softplus, "log(1 + exp(x)), stable at any x", "softplus(x)",
   sympy=softplus_f)

# -- structural ops
op("matmul", 2, st.matmul, "matrix product", "X @ W", symbol="@",
   vjps=(st.matmul_da, st.matmul_db), rule_text=("dA = dY @ B.T", "dB = A.T @ dY"))
op("T", 1, st.transpose, "transpose (reverses the axes)", "W.T", symbol=".T",
   vjps=(st.transpose_vjp,), rule_text=("dX = dY.T",), sympy=lambda a: a)
op("sum", 1, st.total, "sum of all elements, or along an axis: sum(x, 0)", "sum(x, 0)",
   vjps=(st.total_vjp,), rule_text=("dX = dY broadcast back to X's shape",),
   params=("axis",), sympy=lambda a: a)
op("mean", 1, st.mean, "mean of all elements, or along an axis: mean(x, 0)", "mean(x)",
   vjps=(st.mean_vjp,), rule_text=("dX = dY / n broadcast back to X's shape",),
   params=("axis",), sympy=lambda a: a)
op("reshape", 1, st.reshape, "new shape, same elements: reshape(x, 50, 1)",
   "reshape(x, 50, 1)", vjps=(st.reshape_vjp,), rule_text=("dX = reshape(dY, shape of X)",),
   params=("shape",), sympy=lambda a: a)
op("softmax", 1, kernels.softmax, "exp(x) / sum(exp(x)) along the last axis", "softmax(x)",
   vjps=(st.softmax_vjp,), rule_text=("dX = y * (dY - sum(dY * y, last axis))",))
op("log_softmax", 1, kernels.log_softmax, "x - log(sum(exp(x))) along the last axis",
   "log_softmax(x)", vjps=(st.log_softmax_vjp,),
   rule_text=("dX = dY - softmax(X) * sum(dY, last axis)",))
op("cross_entropy", 2, kernels.cross_entropy,
   "the book's cross_entropy_error on probabilities: -sum(t*log(y + 1e-7)) / N",
   "cross_entropy(y, t)", vjps=(st.cross_entropy_dy, st.cross_entropy_dt),
   rule_text=("dY = -t / (y + 1e-7) / N", "dT = -log(y + 1e-7) / N"),
   sympy=lambda y, t: -t * sp.log(y + sp.Float("1e-7")))
op("softmax_cross_entropy", 2, kernels.softmax_cross_entropy,
   "the book's SoftmaxWithLoss on logits (t one-hot or labels), via log-softmax",
   "softmax_cross_entropy(x, t)",
   vjps=(st.softmax_cross_entropy_dx, st.softmax_cross_entropy_dt),
   rule_text=("dX = (softmax(X) - t) / N", "dT = -log_softmax(X) / N"))
op("mse", 2, kernels.mse, "the book's mean_squared_error: 0.5 * sum((y - t)**2)", "mse(y, t)",
   vjps=(st.mse_dy, st.mse_dt), rule_text=("dY = y - t", "dT = t - y"),
   sympy=lambda y, t: sp.Rational(1, 2) * (y - t) ** 2)
op("id", 1, st.identity, "the same value under another name", "y = x",
   vjps=(st.identity_vjp,), rule_text=("dX = dY",), sympy=lambda a: a)

# ops reached through operators rather than by name
OPERATOR_ONLY = {"add", "sub", "mul", "div", "pow", "neg", "matmul", "T", "id"}
BINARY = {"+": OPS["add"], "-": OPS["sub"], "*": OPS["mul"], "/": OPS["div"],
          "**": OPS["pow"], "@": OPS["matmul"]}

for _o in OPS.values():
    if _o.elementwise and not _o.user:
        NAMESPACE[_o.name] = _o.forward


# ---------------------------------------------------------------- constructors


@dataclass
class Constructor:
    """Makes a value when the statement is entered (random draws happen once)."""

    name: str
    make: Callable  # (rng, *args) -> ndarray
    doc: str
    example: str
    arity: tuple[int, int]


def _dims(args) -> tuple[int, ...]:
    dims = []
    for a in args:
        if np.ndim(a) != 0 or not np.isfinite(a) or float(a) != int(a) or a < 0:
            raise ValueError("sizes must be whole numbers, 0 or more")
        dims.append(int(a))
    return tuple(dims)


def _linspace(rng, a, b, n=50):
    return np.linspace(float(a), float(b), _dims([n])[0])


def _onehot(rng, labels, classes):
    labels = np.asarray(labels, dtype=np.float64)
    k = _dims([classes])[0]
    if k == 0:
        raise ValueError("onehot needs at least one class")
    if np.any(labels != np.round(labels)) or np.any(labels < 0) or np.any(labels >= k):
        raise ValueError(f"labels must be whole numbers in 0..{k - 1}")
    return np.eye(k)[labels.astype(np.int64)]


CONSTRUCTORS: dict[str, Constructor] = {c.name: c for c in (
    Constructor("randn", lambda rng, *a: rng.standard_normal(_dims(a)),
                "standard normal random values of the given shape", "randn(2, 3)", (0, 8)),
    Constructor("zeros", lambda rng, *a: np.zeros(_dims(a)), "zeros of the given shape",
                "zeros(2, 3)", (0, 8)),
    Constructor("ones", lambda rng, *a: np.ones(_dims(a)), "ones of the given shape",
                "ones(3)", (0, 8)),
    Constructor("linspace", _linspace, "n evenly spaced values from a to b",
                "linspace(0, 2, 50)", (2, 3)),
    Constructor("onehot", _onehot, "one-hot rows for integer labels", "onehot([0, 2], 3)",
                (2, 2)),
)}


def element_count(name: str, args) -> int:
    """Elements a constructor would allocate, known before anything is allocated."""
    if name in ("randn", "zeros", "ones"):
        n = 1
        for a in args:
            n *= max(int(a), 0)
        return n
    if name == "linspace":
        return int(args[2]) if len(args) > 2 else 50
    if name == "onehot":
        return int(np.size(args[0])) * max(int(args[1]), 1)
    return 0
