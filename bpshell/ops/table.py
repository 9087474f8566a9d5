"""The op table: every op declared once, with everything the other stages need to know.

An op declares its inputs by name, its integer parameters, its NumPy forward, how its
output's size follows from its inputs' (which the element limit reads), its spelling, and
its SymPy definition as a plain function of the sympy module, so this package never imports
SymPy: a numeric one-liner never pays for it. Elementwise ops carry no derivative:
bpshell.symbolic derives it from the definition. Structural ops (matmul, reductions,
softmax, losses) carry vector-Jacobian rules, which the tests check against SymPy's
jacobian on small matrices of symbols. Other stages keep what they derive from an op in
their own caches, keyed by the op: nothing is written onto an op after it is made.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np

from bpshell.ops import kernels, layers
from bpshell.ops import structural as st
from bpshell.records import Frozen, FrozenValue, Record, Value

Growth = Literal["broadcast", "matmul", "concat", "none"]
GROWTHS = ("broadcast", "matmul", "concat", "none")


class Param(FrozenValue):
    """Trailing values of a call that are not inputs: sum's axis, reshape's shape.

    A parameter that takes one value may also be given by its name (`axis=1`,
    `keepdims=True`); that is the only place keyword arguments are accepted.
    """

    __slots__ = ("name", "least", "most", "doc", "kind", "default")

    name: str
    least: int  # how many values the call must give
    most: int | None  # how many it may give; None: any number
    doc: str  # what the values are, for messages ("the new shape")
    kind: Literal["int", "bool", "float"]
    default: object  # the value when a later parameter is given and this one not

    def __init__(self, name: str, least: int = 0, most: int | None = 1, doc: str = "",
                 kind: Literal["int", "bool", "float"] = "int", default: object = None):
        put = object.__setattr__
        put(self, "name", name)
        put(self, "least", least)
        put(self, "most", most)
        put(self, "doc", doc)
        put(self, "kind", kind)
        put(self, "default", default)


class Op(Frozen, Record):
    """One operation of the language (frozen: other stages cache what they derive elsewhere).

    grows: how the output's size follows from the inputs': "broadcast" (elementwise ops,
    losses, user functions: the inputs' broadcast shape), "matmul", or "none" (never more
    elements than an input: reductions, reshape, transpose).
    define: the op on SymPy scalars, called as define(sympy, *inputs); `named` ops keep
    their name in formulas (sigmoid(x), not its exponentials).
    Two ops are equal only when they are the same object.
    """

    FIELDS = ("name", "inputs", "forward", "doc", "example", "label", "grows", "define",
              "named", "vjps", "rule_text", "rule_shapes", "defaults", "params", "symbol",
              "label_inputs", "mismatch", "kink", "zero_where", "user", "body_text",
              "stateful")
    __slots__ = (*FIELDS, "__weakref__")  # the symbolic caches hold ops weakly

    name: str
    inputs: tuple[str, ...]  # input names, as `rules` and the tables write them
    forward: Callable
    doc: str
    example: str
    label: str  # how drawings and tables show the op: "×", "exp", "ReLU"
    grows: Growth
    define: Callable | None
    named: bool
    vjps: tuple | None  # structural ops: one rule per input (None: no gradient)
    rule_text: tuple[str, ...]  # structural ops: the rules as a learner writes them
    rule_shapes: bool  # every operand of the rules is an input or dY (explain)
    defaults: tuple  # values of trailing optional inputs
    params: tuple[Param, ...]
    symbol: str | None  # operator spelling; such ops are not called by name
    label_inputs: tuple[str, ...]  # inputs that may be integer class labels
    mismatch: str  # what to say when the inputs' shapes do not fit
    kink: str | None  # where the derivative takes a convention
    # per input, where its derivative is taken as 0 whatever the derived formula gives
    # there (0 * inf): PyTorch's conventions for pow at base 0 and exponent 0, as a SymPy
    # condition on the inputs, called as zero_where[k](sympy, *inputs)
    zero_where: tuple
    user: bool
    body_text: str  # user functions: the definition as written
    stateful: bool  # its kernels take a layers.Slot after the inputs (dropout)

    def __init__(self, name: str, inputs: tuple[str, ...], forward: Callable, doc: str,
                 example: str, label: str, grows: Growth, define: Callable | None = None,
                 named: bool = False, vjps: tuple | None = None,
                 rule_text: tuple[str, ...] = (), rule_shapes: bool = False,
                 defaults: tuple = (), params: tuple[Param, ...] = (),
                 symbol: str | None = None, label_inputs: tuple[str, ...] = (),
                 mismatch: str = "", kink: str | None = None, zero_where: tuple = (),
                 user: bool = False, body_text: str = "", stateful: bool = False):
        put = object.__setattr__
        put(self, "name", name)
        put(self, "inputs", inputs)
        put(self, "forward", forward)
        put(self, "doc", doc)
        put(self, "example", example)
        put(self, "label", label)
        put(self, "grows", grows)
        put(self, "define", define)
        put(self, "named", named)
        put(self, "vjps", vjps)
        put(self, "rule_text", rule_text)
        put(self, "rule_shapes", rule_shapes)
        put(self, "defaults", defaults)
        put(self, "params", params)
        put(self, "symbol", symbol)
        put(self, "label_inputs", label_inputs)
        put(self, "mismatch", mismatch)
        put(self, "kink", kink)
        put(self, "zero_where", zero_where)
        put(self, "user", user)
        put(self, "body_text", body_text)
        put(self, "stateful", stateful)
        self._check()

    def _check(self) -> None:
        """A missing declaration fails here, when the op is made, not in a later stage."""
        problems = []
        if not self.inputs or not self.label:
            problems.append("inputs and a label")
        if self.grows not in GROWTHS:
            problems.append(f"growth, one of {GROWTHS}")
        if self.vjps is not None and not len(self.vjps) == len(self.rule_text) == self.arity:
            problems.append("one VJP rule and one rule text per input")
        if self.vjps is None and self.define is None:
            problems.append("a SymPy definition (an elementwise op's derivative comes from it)")
        if not set(self.label_inputs) <= set(self.inputs[1:]):
            problems.append("label inputs among its inputs after the first")
        if self.zero_where and len(self.zero_where) != self.arity:
            problems.append("one zero_where condition per input, or none")
        if len(self.defaults) >= self.arity:
            problems.append("a required input (defaults fill only trailing inputs)")
        if problems:
            raise ValueError(f"op {self.name} must declare " + "; ".join(problems))

    @property
    def arity(self) -> int:
        return len(self.inputs)

    @property
    def elementwise(self) -> bool:
        return self.vjps is None


OPS: dict[str, Op] = {}


def op(*args, **kwargs) -> Op:
    o = Op(*args, **kwargs)
    OPS[o.name] = o
    return o


def _same(sp, a):
    """A shape op on one scalar is that scalar (what `diff` sees of sum(x) for scalar x)."""
    return a


_AXIS = (Param("axis", 0, 1, "one axis"),)
_REDUCE = (Param("axis", 0, 1, "one axis"),
           Param("keepdims", 0, 1, "keepdims=True or False", "bool", False))
_JOIN = (Param("axis", 0, 1, "one axis", default=0),)
_UNARY, _BINARY = ("x",), ("a", "b")
_CE_DELTA = "1e-7"  # kernels.CE_DELTA, as SymPy reads it exactly

# -- arithmetic (operators)
op("add", _BINARY, np.add, "sum of two values (broadcasts)", "a + b", "+", "broadcast",
   lambda sp, a, b: a + b, symbol="+")
op("sub", _BINARY, np.subtract, "difference (broadcasts)", "a - b", "-", "broadcast",
   lambda sp, a, b: a - b, symbol="-")
op("mul", _BINARY, np.multiply, "elementwise product (broadcasts)", "a * b", "×", "broadcast",
   lambda sp, a, b: a * b, symbol="*")
op("div", _BINARY, np.divide, "elementwise quotient", "a / b", "/", "broadcast",
   lambda sp, a, b: a / b, symbol="/")
op("pow", _BINARY, np.power, "power; ^ is the same", "x ** 2", "**", "broadcast",
   lambda sp, a, b: a**b, symbol="**",
   # PyTorch's pow_backward: d/da is 0 where b = 0 (x**0 at 0, not 0 * 0**-1 = nan), and
   # d/db is 0 where a = 0 and b >= 0 (not 0**b * log(0) = nan)
   zero_where=(lambda sp, a, b: sp.Eq(b, 0), lambda sp, a, b: sp.And(sp.Eq(a, 0), b >= 0)))
op("neg", _UNARY, np.negative, "negation", "-x", "-", "broadcast", lambda sp, a: -a,
   symbol="-")

# -- elementwise functions
op("exp", _UNARY, np.exp, "e to the x", "exp(x)", "exp", "broadcast", lambda sp, x: sp.exp(x))
op("log", _UNARY, np.log, "natural logarithm", "log(x)", "log", "broadcast",
   lambda sp, x: sp.log(x))
op("sqrt", _UNARY, np.sqrt, "square root", "sqrt(x)", "sqrt", "broadcast",
   lambda sp, x: sp.sqrt(x))
op("abs", _UNARY, np.abs, "absolute value; abs'(0) = 0 as in PyTorch", "abs(x)", "abs",
   "broadcast", lambda sp, x: sp.Abs(x), kink="abs'(0) = 0 (PyTorch's convention)")
op("sin", _UNARY, np.sin, "sine", "sin(x)", "sin", "broadcast", lambda sp, x: sp.sin(x))
op("cos", _UNARY, np.cos, "cosine", "cos(x)", "cos", "broadcast", lambda sp, x: sp.cos(x))
op("tanh", _UNARY, np.tanh, "hyperbolic tangent", "tanh(x)", "tanh", "broadcast",
   lambda sp, x: sp.tanh(x))
op("sigmoid", _UNARY, kernels.sigmoid, "logistic 1/(1 + exp(-x)), stable at any x",
   "sigmoid(x)", "sigmoid", "broadcast", lambda sp, x: 1 / (1 + sp.exp(-x)), named=True)
op("relu", _UNARY, kernels.relu, "max(x, 0); relu'(0) = 0 as in PyTorch", "relu(x)", "ReLU",
   "broadcast", lambda sp, x: sp.Piecewise((x, x > 0), (0, True)), named=True,
   kink="relu'(0) = 0 (PyTorch's convention)")
op("leaky_relu", ("x", "slope"), kernels.leaky_relu,
   "x if x > 0 else slope*x (slope 0.01 unless given)", "leaky_relu(x, 0.1)", "LeakyReLU",
   "broadcast", lambda sp, x, s: sp.Piecewise((x, x > 0), (s * x, True)), named=True,
   defaults=(0.01,), kink="leaky_relu'(0) = slope (PyTorch's convention)")
op("softplus", _UNARY, kernels.softplus, "log(1 + exp(x)), stable at any x", "softplus(x)",
   "softplus", "broadcast", lambda sp, x: sp.log(1 + sp.exp(x)), named=True)

# -- comparisons: 0/1 values whose derivative is 0, so no gradient flows through them
for _name, _sym, _np, _rel in (
        ("lt", "<", np.less, lambda sp, a, b: a < b),
        ("le", "<=", np.less_equal, lambda sp, a, b: a <= b),
        ("gt", ">", np.greater, lambda sp, a, b: a > b),
        ("ge", ">=", np.greater_equal, lambda sp, a, b: a >= b),
        ("eq", "==", np.equal, lambda sp, a, b: sp.Eq(a, b)),
        ("ne", "!=", np.not_equal, lambda sp, a, b: sp.Ne(a, b))):
    op(_name, _BINARY, kernels.comparison(_np), f"1 where a {_sym} b, else 0; no gradient",
       f"x {_sym} 0", _sym, "broadcast",
       lambda sp, a, b, rel=_rel: sp.Piecewise((1, rel(sp, a, b)), (0, True)), symbol=_sym)
op("where", ("c", "a", "b"), kernels.where, "a where c is not 0, else b (c gets no gradient)",
   "where(x > 0, x, 0)", "where", "broadcast",
   lambda sp, c, a, b: sp.Piecewise((a, sp.Ne(c, 0)), (b, True)))
op("maximum", _BINARY, np.maximum, "elementwise larger of a and b (ReLU is maximum(x, 0)); "
   "at a tie each gets half the gradient, as in PyTorch", "maximum(x, 0)", "maximum",
   "broadcast", lambda sp, a, b: sp.Max(a, b), kink="maximum at a = b: half to each")
op("minimum", _BINARY, np.minimum, "elementwise smaller of a and b; half the gradient each "
   "at a tie", "minimum(x, 1)", "minimum", "broadcast", lambda sp, a, b: sp.Min(a, b),
   kink="minimum at a = b: half to each")

# -- the book's chapter 6 layers, which keep state in the session (ops/layers.py)
op("dropout", _UNARY, layers.dropout, "the book's Dropout: x * mask (mask = rand > ratio, "
   "drawn from the session's seed) in training, x * (1 - ratio) in evaluation",
   "dropout(x, 0.5)", "Dropout", "none", vjps=(layers.dropout_vjp,),
   rule_text=("dX = dY * mask (the forward pass's), or dY * (1 - ratio) in eval mode",),
   params=(Param("ratio", 0, 1, "the ratio dropped", "float", 0.5),), stateful=True)
op("batchnorm", ("x", "gamma", "beta"), layers.batchnorm,
   "the book's BatchNormalization over the batch (axis 0), eps 10e-7; running mean and "
   "variance in eval mode", "batchnorm(x, gamma, beta)", "BatchNorm", "none",
   vjps=(layers.batchnorm_dx, layers.batchnorm_dgamma, layers.batchnorm_dbeta),
   rule_text=("dX = the book's backward: (dxc - sum(dxc, 0) / N), Figure 6-17",
              "dgamma = sum(xn * dY, axis=0)", "dbeta = sum(dY, axis=0)"),
   params=(Param("momentum", 0, 1, "the running averages' momentum", "float", 0.9),),
   stateful=True)

# -- structural ops
op("matmul", ("A", "B"), st.matmul, "matrix product", "X @ W", "dot", "matmul", symbol="@",
   vjps=(st.matmul_da, st.matmul_db), rule_text=("dA = dY @ B.T", "dB = A.T @ dY"),
   rule_shapes=True, mismatch="the inner dimensions must agree")
op("T", _UNARY, st.transpose, "transpose (reverses the axes)", "W.T", "T", "none", _same,
   symbol=".T", vjps=(st.transpose_vjp,), rule_text=("dX = dY.T",))
op("sum", _UNARY, st.total_keep, "sum of all elements, or along an axis: "
   "sum(x, axis=1, keepdims=True)", "sum(x, axis=0)", "sum", "none", _same,
   vjps=(st.total_keep_vjp,), rule_text=("dX = dY broadcast back to X's shape",),
   params=_REDUCE)
op("mean", _UNARY, st.mean_keep, "mean of all elements, or along an axis: mean(x, axis=0)",
   "mean(x)", "mean", "none", _same, vjps=(st.mean_keep_vjp,),
   rule_text=("dX = dY / n broadcast back to X's shape",), params=_REDUCE)
op("max", _UNARY, st.amax, "largest element, or along an axis (NumPy's max: max(x, 0) is "
   "axis 0; ReLU's elementwise max is maximum(x, 0), or relu(x)); ties share the gradient "
   "evenly",
   "max(x, axis=1)", "max", "none", _same, vjps=(st.extreme_vjp,),
   rule_text=("dX = dY where X equals the max, split evenly among ties, else 0",),
   params=_REDUCE)
op("min", _UNARY, st.amin, "smallest element, or along an axis; ties share the gradient",
   "min(x, axis=0)", "min", "none", _same, vjps=(st.extreme_vjp,),
   rule_text=("dX = dY where X equals the min, split evenly among ties, else 0",),
   params=_REDUCE)
op("var", _UNARY, st.var, "variance, divided by n as NumPy's (ddof 0; torch.var divides "
   "by n - 1 unless correction=0)", "var(x, axis=0)", "var", "none", vjps=(st.var_vjp,),
   rule_text=("dX = dY * 2 * (X - mean(X)) / n",), params=_REDUCE)
op("std", _UNARY, st.std, "standard deviation, sqrt(var(x)); its gradient is 0 where it is 0, "
   "as in PyTorch", "std(x, axis=0)", "std", "none", vjps=(st.std_vjp,),
   rule_text=("dX = dY * (X - mean(X)) / (n * std)",), params=_REDUCE)
op("logsumexp", _UNARY, st.logsumexp, "log(sum(exp(x))), stable at any x",
   "logsumexp(x, axis=1)", "logsumexp", "none", vjps=(st.logsumexp_vjp,),
   rule_text=("dX = dY * softmax(X) along the axis",), params=_REDUCE)
op("argmax", _UNARY, st.argmax, "index of the largest element (the first on ties), as "
   "np.argmax; no gradient", "argmax(y, axis=1)", "argmax", "none",
   vjps=(st.no_gradient,), rule_text=("no gradient (an index)",), params=_REDUCE)
op("argmin", _UNARY, st.argmin, "index of the smallest element; no gradient",
   "argmin(y, axis=1)", "argmin", "none", vjps=(st.no_gradient,),
   rule_text=("no gradient (an index)",), params=_REDUCE)
op("concat", _BINARY, st.concat, "a and b joined along an existing axis (0 unless given)",
   "concat(a, b, axis=0)", "concat", "concat", vjps=(st.concat_da, st.concat_db),
   rule_text=("dA = dY's first part along the axis", "dB = dY's second part along the axis"),
   params=_JOIN, mismatch="they must agree on every axis but the one joined")
op("stack", _BINARY, st.stack, "a and b stacked along a new axis (0 unless given)",
   "stack(a, b, axis=0)", "stack", "concat", vjps=(st.stack_da, st.stack_db),
   rule_text=("dA = dY's slice 0 along the new axis", "dB = dY's slice 1 along the new axis"),
   params=_JOIN, mismatch="they must have the same shape")
op("index", _UNARY, st.index, "x[0], x[1, 2], x[:, 0], x[1:3], x[-1]: NumPy's indexing",
   "x[:, 0]", "[ ]", "none", symbol="[ ]", vjps=(st.index_vjp,),
   rule_text=("dX = zeros shaped like X, with dY put back where X was read",))
op("reshape", _UNARY, st.reshape, "new shape, same elements: reshape(x, 50, 1)",
   "reshape(x, 50, 1)", "reshape", "none", _same, vjps=(st.reshape_vjp,),
   rule_text=("dX = reshape(dY, shape of X)",),
   params=(Param("shape", 1, None, "the new shape"),))
op("softmax", _UNARY, kernels.softmax, "exp(x) / sum(exp(x)) along the last axis",
   "softmax(x)", "softmax", "none", vjps=(st.softmax_vjp,),
   rule_text=("dX = y * (dY - sum(dY * y, last axis))",))
op("log_softmax", _UNARY, kernels.log_softmax, "x - log(sum(exp(x))) along the last axis",
   "log_softmax(x)", "log_softmax", "none", vjps=(st.log_softmax_vjp,),
   rule_text=("dX = dY - softmax(X) * sum(dY, last axis)",))
op("cross_entropy", ("y", "t"), kernels.cross_entropy,
   "the book's cross_entropy_error on probabilities: -sum(t*log(y + 1e-7)) / N",
   "cross_entropy(y, t)", "cross_entropy", "broadcast",
   lambda sp, y, t: -t * sp.log(y + sp.Float(_CE_DELTA)),
   vjps=(st.cross_entropy_dy, st.cross_entropy_dt),
   rule_text=("dY = -t / (y + 1e-7) / N", "dT = -log(y + 1e-7) / N"), label_inputs=("t",))
op("softmax_cross_entropy", ("x", "t"), kernels.softmax_cross_entropy,
   "the book's SoftmaxWithLoss on logits (t one-hot or labels), via log-softmax",
   "softmax_cross_entropy(x, t)", "Softmax-with-Loss", "broadcast",
   vjps=(st.softmax_cross_entropy_dx, st.softmax_cross_entropy_dt),
   rule_text=("dX = (softmax(X) - t) / N", "dT = -log_softmax(X) / N"), label_inputs=("t",))
op("mse", ("y", "t"), kernels.mse, "the book's mean_squared_error: 0.5 * sum((y - t)**2)",
   "mse(y, t)", "mse", "broadcast", lambda sp, y, t: sp.Rational(1, 2) * (y - t) ** 2,
   vjps=(st.mse_dy, st.mse_dt), rule_text=("dY = y - t", "dT = t - y"))
op("accuracy", ("y", "t"), kernels.accuracy,
   "the fraction of rows whose arg-max is the label (t labels or one-hot); no gradient",
   "accuracy(y, t)", "accuracy", "broadcast", vjps=(None, None),
   rule_text=("no gradient: a count of right answers", "no gradient"), label_inputs=("t",))
op("id", _UNARY, st.identity, "the same value under another name", "y = x", "=", "none",
   _same, symbol="=", vjps=(st.identity_vjp,), rule_text=("dX = dY",))

# ops reached through operators (and `=`) rather than by name
OPERATOR_ONLY = frozenset(name for name, o in OPS.items() if o.symbol)
BINARY = {o.symbol: o for o in OPS.values() if o.symbol and o.arity == 2}


# Calls that are neither ops nor constructors: computed from the session's values when the
# statement is entered (bpshell.evaluate folds them), so what they bind is a value.
FOLDED = {
    "grad": ("the gradient of L with respect to W at the current values, shaped like W; "
             "a value, not a live formula", "dW = grad(loss, W)"),
}


def function_names() -> list[str]:
    """Everything a call may name: ops written as functions, constructors, folded calls."""
    return [n for n in OPS if n not in OPERATOR_ONLY] + list(CONSTRUCTORS) + list(FOLDED)


def param_at(o: Op, j: int) -> Param | None:
    """The parameter the j-th value after a call's inputs gives (None: one too many)."""
    for p in o.params:
        if p.most is None or j < p.most:
            return p
        j -= p.most
    return None


def params_problem(o: Op, given: int) -> tuple[str, int | None] | None:
    """What is wrong with a call that gives `given` values after its inputs, and the index
    of the first value too many (None when values are missing); None when nothing is."""
    if not given and not o.params:  # most calls: an op's inputs and nothing after them
        return None
    if given < sum(p.least for p in o.params):
        missing = next(p for p in o.params if p.least)
        return f"{o.name} needs {missing.doc or missing.name}: {o.example}", None
    if any(p.most is None for p in o.params):
        return None
    cap = sum(p.most for p in o.params)
    if given <= cap:
        return None
    if not o.params:
        plural = "s" if o.arity != 1 else ""
        return f"{o.name} takes at most {o.arity} argument{plural}: {o.example}", 0
    takes = " and ".join(p.doc or p.name for p in o.params)
    return f"{o.name} takes {takes}: {o.example}", cap


def holds_labels(o: Op, k: int, xs: Sequence) -> bool:
    """Input k holds integer class labels, one per row of the first input (a loss's t)."""
    return o.inputs[k] in o.label_inputs and kernels.is_labels(xs[0], xs[k])


def output_size(o: Op, xs: Sequence) -> int | None:
    """Elements the op will allocate for inputs xs, known from their shapes before it runs.

    For a loss, that is its elementwise work before it reduces (t * log(y) over the
    broadcast shape); labels index rows rather than broadcast. None for an op whose output
    never holds more elements than an input. Raises ValueError when the shapes do not fit.
    """
    if o.grows == "none":
        return None
    if o.grows == "concat":  # joined: as many elements as the inputs together
        return sum(math.prod(np.shape(x)) for x in xs)
    shapes = [np.shape(x) for k, x in enumerate(xs) if not holds_labels(o, k, xs)]
    if o.grows == "matmul":
        return math.prod(st.matmul_shape(*shapes))
    if len(shapes) == 1:  # the common unary case, without broadcast_shapes' few microseconds
        return math.prod(shapes[0])
    return math.prod(np.broadcast_shapes(*shapes))


# ---------------------------------------------------------------- constructors


class Constructor(Value):
    """Makes a value when the statement is entered (random draws happen once)."""

    __slots__ = ("name", "make", "doc", "example", "arity")

    name: str
    make: Callable  # (rng, *args) -> ndarray
    doc: str
    example: str
    arity: tuple[int, int]

    def __init__(self, name: str, make: Callable, doc: str, example: str,
                 arity: tuple[int, int]):
        self.name = name
        self.make = make
        self.doc = doc
        self.example = example
        self.arity = arity


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
    # one row per label, not np.eye(k)[labels]: that makes a k-by-k matrix first, 80 GB
    # for onehot([0], 100000) when the answer has 100,000 elements
    out = np.zeros(labels.shape + (k,))
    np.put_along_axis(out, labels.astype(np.int64)[..., None], 1.0, axis=-1)
    return out


def _scaled_normal(gain: float):
    """randn(n_in, n_out) * sqrt(gain / n_in): the book's Xavier (gain 1) and He (gain 2)."""

    def make(rng, n_in, n_out):
        n, m = _dims([n_in, n_out])
        if n == 0:
            raise ValueError("n_in must be at least 1")
        return rng.standard_normal((n, m)) * np.sqrt(gain / n)

    return make


def _arange(rng, *args):
    for a in args:
        if not np.isfinite(a):
            raise ValueError("arange needs finite numbers")
    if len(args) == 3 and float(args[2]) == 0:
        raise ValueError("arange's step cannot be 0")
    return np.arange(*(float(a) for a in args))


def _eye(rng, n, m=None):
    return np.eye(*_dims([n] if m is None else [n, m]))


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
    Constructor("rand", lambda rng, *a: rng.random(_dims(a)),
                "uniform random values in [0, 1) of the given shape", "rand(2, 3)", (0, 8)),
    Constructor("eye", _eye, "the identity matrix (n x n, or n x m)", "eye(3)", (1, 2)),
    Constructor("arange", _arange, "start, start + step, ... below stop, as np.arange",
                "arange(0, 10, 2)", (1, 3)),
    Constructor("xavier", _scaled_normal(1.0), "weights randn(n_in, n_out) * sqrt(1/n_in): "
                "the book's Xavier initial value (for sigmoid and tanh)", "xavier(100, 100)",
                (2, 2)),
    Constructor("he", _scaled_normal(2.0), "weights randn(n_in, n_out) * sqrt(2/n_in): He's "
                "initial value (for ReLU)", "he(100, 100)", (2, 2)),
)}


def element_count(name: str, args) -> int:
    """Elements a constructor would allocate, known before anything is allocated."""
    if name in ("randn", "zeros", "ones", "rand", "xavier", "he"):
        n = 1
        for a in args:
            n *= max(int(a), 0)
        return n
    if name == "eye":
        return max(int(args[0]), 0) * max(int(args[-1]), 0)
    if name == "arange":
        start, stop, step = (0.0, *args, 1.0)[-3:] if len(args) == 1 else \
            ((*args, 1.0) if len(args) == 2 else args)
        if float(step) == 0:
            return 0  # refused by arange itself, with its reason
        return max(int(np.ceil((float(stop) - float(start)) / float(step))), 0)
    if name == "linspace":
        return int(args[2]) if len(args) > 2 else 50
    if name == "onehot":
        return int(np.size(args[0])) * max(int(args[1]), 1)
    return 0
