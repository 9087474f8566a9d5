"""`codegen NAME`: a graph as NumPy layer classes, in the style of the book's chapter 5.

One class per kind of op, each with forward (keeping what backward needs) and backward.
An elementwise op's backward is the rule bpshell derived for it, in the form the engine
uses (sigmoid's from its output: `self.out`); relu keeps a mask; `X @ W + b` becomes the
book's Affine and softmax_cross_entropy its SoftmaxWithLoss. A Graph class runs the
layers in order and back, adding the gradients of a value used twice.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp

from bpshell.codegen.common import (
    WIDTH,
    ExprPrinter,
    GraphView,
    Namer,
    call_of,
    camel,
    definition,
    elementwise_rules,
    print_expr,
    read_plan,
    short,
    value_lines,
    wrap_call,
    wrap_expr,
)
from bpshell.errors import BpError

# ---------------------------------------------------------------- fixed text

_HELPERS = {
    "sigmoid": '''def sigmoid(x):
    """1 / (1 + exp(-x)), written so that no x overflows."""
    return np.exp(-np.logaddexp(0.0, -x))
''',
    "relu": '''def relu(x):
    """max(x, 0)."""
    return np.maximum(x, 0.0)
''',
    "leaky_relu": '''def leaky_relu(x, slope):
    """x where x > 0, slope * x elsewhere."""
    return np.where(x > 0, x, slope * x)
''',
    "softplus": '''def softplus(x):
    """log(1 + exp(x)), written so that no x overflows."""
    return np.logaddexp(0.0, x)
''',
    "softmax": '''def softmax(x):
    """exp(x) / sum(exp(x)) along the last axis, shifted by the maximum against overflow."""
    x = x - np.max(x, axis=-1, keepdims=True)
    return np.exp(x) / np.sum(np.exp(x), axis=-1, keepdims=True)
''',
    "log_softmax": '''def log_softmax(x):
    """x - log(sum(exp(x))) along the last axis, shifted by the maximum against overflow."""
    x = x - np.max(x, axis=-1, keepdims=True)
    return x - np.log(np.sum(np.exp(x), axis=-1, keepdims=True))
''',
    "_unbroadcast": '''def _unbroadcast(grad, shape):
    """Sum a gradient over the axes that broadcasting added or stretched, back to shape."""
    while np.ndim(grad) > len(shape):
        grad = np.sum(grad, axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and np.shape(grad)[axis] != 1:
            grad = np.sum(grad, axis=axis, keepdims=True)
    if np.shape(grad) != tuple(shape):
        grad = grad * np.ones(shape)
    return grad
''',
}

_LEAVES = '''def _leaves(given):
    """Every leaf as a float64 array: the values given, the session's for the others."""
    unknown = sorted(set(given) - set(NAMES))
    missing = sorted(set(NAMES) - set(given) - set(VALUES))
    if unknown or missing:
        raise TypeError(f"the leaves are {', '.join(NAMES)}; "
                        f"unknown: {unknown}, missing: {missing}")
    values = {**VALUES, **given}
    return {name: np.asarray(values[name], dtype=np.float64) for name in NAMES}
'''

_AFFINE = '''class {cls}:
    """out = x @ W + b for a batch of rows x: the book's Affine layer."""

    def forward(self, x, W, b):
        self.x = x
        self.W = W
        out = np.dot(x, W) + b
        return out

    def backward(self, dout):
        # dx = dout @ W.T, dW = x.T @ dout, db = dout summed over the batch
        dx = np.dot(dout, self.W.T)
        dW = np.dot(self.x.T, dout)
        db = np.sum(dout, axis=0)
        return dx, dW, db
'''

_SOFTMAX_WITH_LOSS = '''class {cls}:
    """loss = cross-entropy of softmax(x) against t (one-hot rows or integer labels)."""

    def forward(self, x, t):
        self.labels = np.ndim(t) == np.ndim(x) - 1  # one class number per row
        self.t = np.eye(np.shape(x)[-1])[t.astype(int)] if self.labels else t
        self.y = softmax(x)
        self.log_y = log_softmax(x)  # log(softmax(x)), without log(0)
        self.batch_size = np.shape(x)[0] if np.ndim(x) >= 2 else 1
        loss = -np.sum(np.where(self.t != 0, self.t * self.log_y, 0.0)) / self.batch_size
        return loss

    def backward(self, dout=1.0):
        # {rule}
        dx = {dx}
        dt = None if self.labels else dout * -self.log_y / self.batch_size
        return dx, dt
'''

_CROSS_ENTROPY = '''class {cls}:
    """loss = -sum(t * log(y + 1e-7)) / batch_size: the book's cross_entropy_error."""

    def forward(self, y, t):
        self.labels = np.ndim(t) == np.ndim(y) - 1  # one class number per row
        self.t = np.eye(np.shape(y)[-1])[t.astype(int)] if self.labels else t
        self.y = y
        self.batch_size = np.shape(y)[0] if np.ndim(y) >= 2 else 1
        loss = -np.sum(self.t * np.log(y + 1e-7)) / self.batch_size
        return loss

    def backward(self, dout=1.0):
        # dy = -t / (y + 1e-7) / batch_size, dt = -log(y + 1e-7) / batch_size
        dy = dout * -self.t / (self.y + 1e-7) / self.batch_size
        dt = None if self.labels else dout * -np.log(self.y + 1e-7) / self.batch_size
        return dy, dt
'''

_MSE = '''class {cls}:
    """loss = 0.5 * sum((y - t)**2): the book's mean_squared_error."""

    def forward(self, y, t):
        self.diff = y - t
        self.y_shape = np.shape(y)
        self.t_shape = np.shape(t)
        loss = 0.5 * np.sum(self.diff**2)
        return loss

    def backward(self, dout=1.0):
        # dy = y - t, dt = t - y
        dy = _unbroadcast(dout * self.diff, self.y_shape)
        dt = _unbroadcast(-dout * self.diff, self.t_shape)
        return dy, dt
'''

_MATMUL_BOOK = '''class {cls}:
    """out = x @ W for matrices."""

    def forward(self, x, W):
        self.x = x
        self.W = W
        out = np.dot(x, W)
        return out

    def backward(self, dout):
        # dx = dout @ W.T, dW = x.T @ dout
        dx = np.dot(dout, self.W.T)
        dW = np.dot(self.x.T, dout)
        return dx, dW
'''

_MATMUL_VECTORS = '''class {cls}:
    """out = x @ W, where x may be a vector (one row) and W a vector (one column)."""

    def forward(self, x, W):
        self.x = x
        self.W = W
        out = x @ W
        return out

    def backward(self, dout):
        # dx = dout @ W.T, dW = x.T @ dout, with vectors as one-row or one-column matrices
        x = np.reshape(self.x, (-1, np.shape(self.x)[-1]))
        W = np.reshape(self.W, (np.shape(self.W)[0], -1))
        dout = np.reshape(dout, (np.shape(x)[0], np.shape(W)[1]))
        dx = np.reshape(np.dot(dout, W.T), np.shape(self.x))
        dW = np.reshape(np.dot(x.T, dout), np.shape(self.W))
        return dx, dW
'''

_TRANSPOSE = '''class {cls}:
    """out = x.T (the axes reversed)."""

    def forward(self, x):
        out = np.transpose(x)
        return out

    def backward(self, dout):
        # dx = dout.T
        dx = np.transpose(dout)
        return dx
'''

_SUM = '''class {cls}:
    """out = the sum of x's elements, all of them or along one axis."""

    def __init__(self, axis=None):
        self.axis = axis

    def forward(self, x):
        self.x_shape = np.shape(x)
        out = np.sum(x, axis=self.axis)
        return out

    def backward(self, dout):
        # dx = dout copied back over the summed elements
        if self.axis is not None:
            dout = np.expand_dims(dout, self.axis)
        dx = dout * np.ones(self.x_shape)
        return dx
'''

_MEAN = '''class {cls}:
    """out = the mean of x's elements, all of them or along one axis."""

    def __init__(self, axis=None):
        self.axis = axis

    def forward(self, x):
        self.x_shape = np.shape(x)
        self.count = np.size(x) if self.axis is None else np.shape(x)[self.axis]
        out = np.sum(x, axis=self.axis) / self.count
        return out

    def backward(self, dout):
        # dx = dout / count, copied back over the averaged elements
        if self.axis is not None:
            dout = np.expand_dims(dout, self.axis)
        dx = dout * np.ones(self.x_shape) / self.count
        return dx
'''

_RESHAPE = '''class {cls}:
    """out = x with a new shape, the same elements."""

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        self.x_shape = np.shape(x)
        out = np.reshape(x, self.shape)
        return out

    def backward(self, dout):
        # dx = dout in x's shape
        dx = np.reshape(dout, self.x_shape)
        return dx
'''

_SOFTMAX = '''class {cls}:
    """out = softmax(x) along the last axis."""

    def forward(self, x):
        out = softmax(x)
        self.out = out
        return out

    def backward(self, dout):
        # dx = out * (dout - sum(dout * out)), row by row
        dx = self.out * (dout - np.sum(dout * self.out, axis=-1, keepdims=True))
        return dx
'''

_LOG_SOFTMAX = '''class {cls}:
    """out = log_softmax(x) along the last axis."""

    def forward(self, x):
        out = log_softmax(x)
        self.out = out
        return out

    def backward(self, dout):
        # dx = dout - softmax(x) * sum(dout), row by row; softmax(x) is exp(out)
        dx = dout - np.exp(self.out) * np.sum(dout, axis=-1, keepdims=True)
        return dx
'''

# kind -> (class name, template, helpers it calls)
_STRUCTURAL = {
    "affine": ("Affine", _AFFINE, ()),
    "softmax_cross_entropy": ("SoftmaxWithLoss", _SOFTMAX_WITH_LOSS,
                              ("softmax", "log_softmax")),
    "cross_entropy": ("CrossEntropy", _CROSS_ENTROPY, ()),
    "mse": ("MeanSquaredError", _MSE, ("_unbroadcast",)),
    "matmul": ("MatMul", _MATMUL_BOOK, ()),
    "T": ("Transpose", _TRANSPOSE, ()),
    "sum": ("Sum", _SUM, ()),
    "mean": ("Mean", _MEAN, ()),
    "reshape": ("Reshape", _RESHAPE, ()),
    "softmax": ("Softmax", _SOFTMAX, ("softmax",)),
    "log_softmax": ("LogSoftmax", _LOG_SOFTMAX, ("log_softmax",)),
}
# the book's names for the arithmetic layers, and its x, y for their inputs
_ARITHMETIC = {"add": "AddLayer", "sub": "SubLayer", "mul": "MulLayer", "div": "DivLayer",
               "pow": "PowLayer", "neg": "NegLayer"}
_MODULE_NAMES = {"np", "NAMES", "VALUES", "Graph", "_leaves", *_HELPERS}


# ---------------------------------------------------------------- the layers


@dataclass
class _Layer:
    """One layer call of Graph.forward: the node it computes and its inputs."""

    node: int
    kind: str  # an op's name, "affine", or "id" (a plain assignment)
    inputs: tuple[int, ...]
    params: tuple


def _layers(view: GraphView) -> list[_Layer]:
    """The graph's op nodes as layers, with X @ W + b joined into one Affine."""
    layers, joined = [], set()
    for it in view.items:
        if it.kind != "op" or it.folded:
            continue
        m = _affine_matmul(view, it)
        exponent = view.items[it.args[-1]]
        if it.op.name == "pow" and exponent.folded and np.ndim(exponent.value) == 0:
            # x**2: a layer of x alone, its exponent fixed (no gradient, no log of x)
            layers.append(_Layer(it.id, "power", it.args[:1], (float(exponent.value),)))
        elif m is not None:
            other = it.args[1] if it.args[0] == m else it.args[0]
            x, w = view.items[m].args
            layers.append(_Layer(it.id, "affine", (x, w, other), ()))
            joined.add(m)
        else:
            layers.append(_Layer(it.id, it.op.name, it.args, it.params))
    return [layer for layer in layers if layer.node not in joined]


def _affine_matmul(view: GraphView, it) -> int | None:
    """The matmul of X @ W + b when `it` is that add and the shapes are the book's (a batch
    of rows, a matrix, one bias per column), or unknown yet."""
    if it.op.name != "add":
        return None
    for k in (0, 1):
        m = view.items[it.args[k]]
        if m.kind != "op" or m.folded or m.op.name != "matmul" or view.uses[m.id] != 1:
            continue
        shapes = [view.shape(m.args[0]), view.shape(m.args[1]), view.shape(it.args[1 - k])]
        if None in shapes:
            return m.id
        x, w, b = shapes
        if len(x) == 2 and len(w) == 2 and b == (w[1],):
            return m.id
    return None


# ---------------------------------------------------------------- helpers and printing


class _Module:
    """Names at module level: classes, and the helper functions the layers call."""

    def __init__(self, user_ops: dict):
        self.namer = Namer(_MODULE_NAMES)
        self.user_ops = user_ops  # name -> op, for the parameter names of user functions
        self.used: dict[str, str | type] = {}  # python name -> builtin helper or a class
        self.names: dict[str, str] = {}  # function name -> python name

    def spell(self, cls: type) -> str | None:
        """The name code calls a SymPy function by, recording the helper it needs."""
        name = cls.__name__
        if name in ("expm1", "log1p"):
            return f"np.{name}"
        if getattr(cls, "definition", None) is None:
            return None
        if name in _HELPERS and name not in self.user_ops:
            self.used[name] = name
            return name
        if name not in self.names:
            self.names[name] = self.namer.take(name)
            self.used[self.names[name]] = cls
        return self.names[name]

    def need(self, *helpers: str) -> None:
        for h in helpers:
            self.used[h] = h

    def helper_texts(self) -> list[str]:
        """Helpers in a fixed order; a user function's helper may call further helpers."""
        done: dict[str, str] = {}
        while len(done) < len(self.used):
            for name, what in list(self.used.items()):
                if name not in done:
                    done[name] = _HELPERS[what] if isinstance(what, str) else \
                        self._user_helper(name, what)
        return [done[k] for k in sorted(done, key=lambda k: (k.startswith("_"), k))]

    def _user_helper(self, pyname: str, cls: type) -> str:
        from bpshell.symbolic.derive import X

        n = cls.nargs if isinstance(cls.nargs, int) else len(X)
        op = self.user_ops.get(cls.__name__)
        local = Namer({"np", *self.used})
        params = [local.take(p) for p in (op.inputs if op else _generic(n))]
        n = len(params)
        printer = ExprPrinter("np", dict(zip(X[:n], params)), self.spell)
        body = print_expr(printer, cls.definition(*X[:n]))
        text = op.body_text if op is not None and op.body_text else str(cls.definition(*X[:n]))
        doc = short(f"{cls.__name__}({', '.join(params)}) = {text}", WIDTH - 10)
        return (f"def {pyname}({', '.join(params)}):\n    \"\"\"{doc}\"\"\"\n"
                f"    return {body}\n")


def _generic(n: int) -> tuple[str, ...]:
    return ("x",) if n == 1 else ("x", "y") if n == 2 else tuple(f"x{i}" for i in range(n))


def _input_names(op) -> tuple[str, ...]:
    return ("x", "y") if op.name in _ARITHMETIC and op.arity == 2 else tuple(op.inputs)


# ---------------------------------------------------------------- elementwise layers


def _elementwise_class(cls_name: str, op, module: _Module) -> str:
    """A layer for an elementwise op, its backward from bpshell's derived rules."""
    from bpshell.symbolic.derive import X, Y

    n = op.arity
    xs = X[:n]
    local = Namer({"self", "out", "dout", "np", "mask", *module.used, *_HELPERS,
                   *module.user_ops})
    params = [local.take(p) for p in _input_names(op)]
    grads = [local.take("d" + p) for p in params]
    rules = elementwise_rules(op)
    stored = {Y} if any(r.output_form for r in rules) else set()
    call = call_of(op, xs)
    exprs = []
    for r in rules:
        # a named op's rule may read its own value (2*f(u)): that is the output, self.out
        e = r.expr.subs(call, Y) if isinstance(call, sp.Function) else r.expr
        exprs.append(e)
        if not r.constant and not (r.mask is not None and n == 1):
            stored |= e.free_symbols & {*xs, Y}
    saved = ExprPrinter("np", {**{x: f"self.{p}" for x, p in zip(xs, params)}, Y: "self.out"},
                        module.spell)
    shapes = [f"np.shape(self.{p})" if xs[k] in stored else f"self.{p}_shape"
              for k, p in enumerate(params)] if n > 1 else []
    mask = rules[0].mask if n == 1 else None
    forward = _forward_lines(op, params, stored, shapes, mask, module)
    backward = []
    for k, (r, e) in enumerate(zip(rules, exprs)):
        g = _local_grad(r, e, mask, saved)
        line = f"        {grads[k]} = " + (f"_unbroadcast({g}, {shapes[k]})" if n > 1 else g)
        if len(line) > WIDTH and not r.constant:
            # a long rule gets a line of its own: the local derivative, then dout times it
            local_name = local.take("local")
            backward += wrap_expr(f"{local_name} = ", print_expr(saved, e), 8)
            g = f"dout * {local_name}"
            line = f"        {grads[k]} = " + (f"_unbroadcast({g}, {shapes[k]})" if n > 1 else g)
        backward.append(line)
    if n > 1:
        module.need("_unbroadcast")
    comments = _rule_comments(op, params, exprs, rules, mask)
    doc = _call_text(op, params)
    lines = [f"class {cls_name}:", f'    """{short(doc, WIDTH - 11)}"""', "",
             f"    def forward(self, {', '.join(params)}):", *forward, "",
             "    def backward(self, dout):", *comments, *backward,
             f"        return {', '.join(grads)}"]
    return "\n".join(lines) + "\n"


def _forward_lines(op, params, stored, shapes, mask, module: _Module) -> list[str]:
    from bpshell.symbolic.calls import written_out
    from bpshell.symbolic.derive import X, Y

    xs = X[: op.arity]
    here = ExprPrinter("np", dict(zip(xs, params)), module.spell)
    lines = [f"        self.{p} = {p}" for x, p in zip(xs, params) if x in stored]
    lines += [f"        {s} = np.shape({p})" for s, p in zip(shapes, params)
              if s.startswith("self.") and s.endswith("_shape")]
    out = print_expr(here, definition(op, xs))
    if mask is not None:
        lines.append(f"        self.mask = {print_expr(here, mask)}")
        body = written_out(op, *xs) if op.define is not None else None
        if isinstance(body, sp.Piecewise) and len(body.args) == 2 and \
                body.args[0].expr == xs[0] and body.args[1].expr == 0 and \
                sp.Not(body.args[0].cond) == mask:
            out = f"np.where(self.mask, 0.0, {params[0]})"
    lines.append(f"        out = {out}")
    if Y in stored:
        lines.append("        self.out = out")
    lines.append("        return out")
    return lines


def _local_grad(rule, expr, mask, saved: ExprPrinter) -> str:
    """dout times the local derivative, written as simply as it allows."""
    if rule.constant:
        c = float(expr)
        return "dout" if c == 1 else "-dout" if c == -1 else f"{c!r} * dout"
    if mask is not None:
        return "np.where(self.mask, 0.0, dout)"
    num, den = sp.fraction(expr)
    if num == 1 and den != 1:  # log'(x) = 1/x: dout / self.x
        return f"dout / {print_expr(saved, den, inside='Pow')}"
    return f"dout * {print_expr(saved, expr, inside='Mul')}"


def _rule_comments(op, params, exprs, rules, mask) -> list[str]:
    """The derived rules as comments, written with the names the code uses."""
    from bpshell.symbolic.derive import X, Y

    shown = {**{x: sp.Symbol(p) for x, p in zip(X, params)}, Y: sp.Symbol("out")}
    if mask is not None:
        cond = sp.Not(mask).subs(shown)
        return [f"        # {op.name}'({params[0]}) = 1 where {cond}, else 0: "
                "the mask stops dout"]
    parts = []
    for p, e, r in zip(params, exprs, rules):
        text = str(e.subs(shown, simultaneous=True))
        head = f"{op.name}'({p})" if len(params) == 1 else f"d(out)/d{p}"
        tail = ", from the output alone" if r.output_form else ""
        parts.append(f"{head} = {text}{tail}")
    one = "        # " + ", ".join(parts)
    if len(one) <= WIDTH:
        return [one]
    return ["        # " + short(part, WIDTH - 10) for part in parts]


def _call_text(op, params) -> str:
    from bpshell.symbolic.derive import X

    names = {x: sp.Symbol(p) for x, p in zip(X, params)}
    call = str(call_of(op, X[: op.arity]).subs(names, simultaneous=True))
    if op.user:
        return f"out = {call} = {op.body_text or definition(op, X[: op.arity])}"
    return f"out = {call}"


# ---------------------------------------------------------------- the classes


def _class_texts(view: GraphView, layers: list[_Layer], module: _Module) -> tuple[dict, list]:
    """One class per kind of layer: kind -> class name, and the classes' source."""
    kinds: dict[str, object] = {}
    for layer in layers:
        if layer.kind != "id" and layer.kind not in kinds:
            kinds[layer.kind] = view.items[layer.node].op
    names = {}
    for kind in kinds:
        base = _STRUCTURAL[kind][0] if kind in _STRUCTURAL else _ARITHMETIC.get(kind) or \
            camel(kind)
        names[kind] = module.namer.take(base)
    texts = []
    for kind, op in kinds.items():
        if kind == "power":
            texts.append(_power_class(names[kind], op, module))
        elif kind in _STRUCTURAL:
            texts.append(_structural(kind, names[kind], view, layers, module))
        elif op.elementwise:
            texts.append(_elementwise_class(names[kind], op, module))
        else:
            raise BpError(f"codegen has no NumPy spelling for the op '{op.name}'")
    return names, texts


def _power_class(cls: str, op, module: _Module) -> str:
    """x**p for a fixed p, its backward the rule derived for pow with p put in."""
    from bpshell.symbolic.derive import X

    rule = elementwise_rules(op)[0].expr
    saved = ExprPrinter("np", {X[0]: "self.x", X[1]: "self.p"}, module.spell)
    shown = rule.subs({X[0]: sp.Symbol("x"), X[1]: sp.Symbol("p")}, simultaneous=True)
    return "\n".join([
        f"class {cls}:",
        '    """out = x**p for a fixed exponent p."""',
        "",
        "    def __init__(self, p):",
        "        self.p = p",
        "",
        "    def forward(self, x):",
        "        self.x = x",
        "        out = x**self.p",
        "        return out",
        "",
        "    def backward(self, dout):",
        f"        # d(x**p)/dx = {shown}",
        f"        dx = dout * {print_expr(saved, rule, inside='Mul')}",
        "        return dx",
    ]) + "\n"


def _structural(kind: str, cls: str, view: GraphView, layers, module: _Module) -> str:
    _, template, helpers = _STRUCTURAL[kind]
    module.need(*helpers)
    mine = [layer for layer in layers if layer.kind == kind]
    if kind == "matmul" and not all(_matrices(view, layer) for layer in mine):
        template = _MATMUL_VECTORS
    text = template.replace("{cls}", cls)
    if kind == "softmax_cross_entropy":
        book = all(_rows_sum_to_one(view, layer) for layer in mine)
        rule = "dx = (y - t) / batch_size, the book's rule" if book else \
            "dx = (y * sum(t) - t) / batch_size, row by row: (y - t) / batch_size for one-hot t"
        dx = "dout * (self.y - self.t) / self.batch_size" if book else \
            "dout * (self.y * np.sum(self.t, axis=-1, keepdims=True) - self.t) / self.batch_size"
        text = text.replace("{rule}", rule).replace("{dx}", dx)
    return text


def _matrices(view: GraphView, layer: _Layer) -> bool:
    shapes = [view.shape(a) for a in layer.inputs]
    return all(s is not None and len(s) == 2 for s in shapes)


def _rows_sum_to_one(view: GraphView, layer: _Layer) -> bool:
    """t is labels, or rows that each sum to 1 (one-hot): then dx is the book's (y - t) / N."""
    x, t = (view.items[a].value for a in layer.inputs)
    if x is None or t is None:
        return False
    if np.ndim(t) == np.ndim(x) - 1:
        return True
    return np.shape(t) == np.shape(x) and bool(np.all(np.sum(t, axis=-1) == 1.0))


def _is_labels(view: GraphView, layer: _Layer, k: int) -> bool:
    """Input k of a loss holds integer labels (which get no gradient)."""
    if layer.kind not in ("softmax_cross_entropy", "cross_entropy") or k != 1:
        return False
    x, t = (view.items[a].value for a in layer.inputs)
    return x is not None and t is not None and np.ndim(t) == np.ndim(x) - 1


# ---------------------------------------------------------------- the Graph class


@dataclass
class _Names:
    """Local names of Graph's methods: each node's value, gradient, and layer attribute."""

    value: dict[int, str]
    grad: dict[int, str]
    attr: dict[int, str]
    namer: Namer


def _graph_names(view: GraphView, layers: list[_Layer], classes: dict) -> _Names:
    namer = Namer({"self", "leaves", "dout", "np", "_leaves"})
    value, grad, attr = {}, {}, {}
    for i in view.leaves:
        value[i] = namer.take(view.items[i].name)
    counts: dict[str, int] = {}
    for layer in layers:
        name = view.items[layer.node].name
        if name:
            value[layer.node] = namer.take(name)
        if layer.kind != "id":
            base = _snake(classes[layer.kind])
            counts[base] = counts.get(base, 0) + 1
            attr[layer.node] = f"{base}{counts[base]}"
    k = 0
    for layer in layers:
        if layer.node not in value:
            k += 1
            value[layer.node] = namer.take(f"out{k}")
    need = view.needs_grad()
    for i in value:
        if need[i]:
            grad[i] = namer.take("d" + value[i])
    return _Names(value, grad, attr, namer)


def _snake(name: str) -> str:
    """SoftmaxWithLoss -> softmax_with_loss; MulLayer -> mul."""
    name = name.removesuffix("Layer") or name
    out = "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")
    return out.replace("__", "_")


def _arg(view: GraphView, names: _Names, i: int) -> str:
    it = view.items[i]
    if it.folded and np.ndim(it.value) == 0:
        return value_lines(it.value, "", "", 0, "np.array")[0]
    return names.value[i]


def _graph_init(view: GraphView, layers, classes: dict, names: _Names) -> list[str]:
    lines = ["    def __init__(self):"]
    for layer in layers:
        if layer.kind == "id":
            continue
        it = view.items[layer.node]
        args = ""
        if layer.kind == "power":
            args = repr(layer.params[0])
        elif layer.kind in ("sum", "mean") and layer.params:
            args = f"axis={layer.params[0]}"
        elif layer.kind == "reshape":
            args = repr(tuple(layer.params))
        code = f"        self.{names.attr[layer.node]} = {classes[layer.kind]}({args})"
        label = it.label
        room = WIDTH - len(code) - 4
        lines.append(code + (f"  # {short(label, room)}" if room > 12 else ""))
    if len(lines) == 1:
        lines.append("        pass")
    return lines


def _graph_forward(view: GraphView, layers, names: _Names, root_name: str) -> list[str]:
    pad = " " * 8
    lines = ["    def forward(self, **leaves):",
             f'        """{short(root_name, 40)} from the leaves; a leaf not given keeps '
             'its value in VALUES."""',
             "        leaves = _leaves(leaves)"]
    lines += [f'{pad}{names.value[i]} = leaves["{view.items[i].name}"]' for i in view.leaves]
    consts = [it for it in view.items if it.folded and np.ndim(it.value) != 0 and
              any(not view.items[j].folded and it.id in view.items[j].args
                  for j in range(it.id + 1, len(view.items)))]
    for k, it in enumerate(consts, 1):
        names.value[it.id] = names.namer.take(f"const{k}")
        lines += value_lines(it.value, f"{names.value[it.id]} = ", "", 8, "np.array")
    for layer in layers:
        args = [_arg(view, names, a) for a in layer.inputs]
        target = names.value[layer.node]
        if layer.kind == "id":
            lines.append(f"{pad}{target} = {args[0]}")
        else:
            lines += wrap_call(pad, f"{target} = self.{names.attr[layer.node]}.forward", args)
    root = view.root
    result = names.value.get(root) or _arg(view, names, root)
    if view.shape(root) != ():
        lines.append(f"{pad}self.out_shape = np.shape({result})")
    lines.append(f"{pad}return {result}")
    return lines


def _graph_backward(view: GraphView, layers, names: _Names, root_name: str) -> list[str]:
    pad = " " * 8
    lines = ["    def backward(self, dout=1.0):",
             f'        """The gradient of {short(root_name, 40)} for each leaf, '
             'dout being the gradient that flows into it."""']
    root = view.root
    assigned = set()
    if root in names.grad:
        seed = "dout" if view.shape(root) == () else "dout * np.ones(self.out_shape)"
        lines.append(f"{pad}{names.grad[root]} = {seed}")
        assigned.add(root)
    extra: dict[int, int] = {}
    for layer in reversed(layers):
        if layer.node not in assigned:
            continue  # no gradient reaches it (it only computes labels)
        targets, sums = [], []
        for k, a in enumerate(layer.inputs):
            if a not in names.grad or _is_labels(view, layer, k):
                targets.append("_")
            elif a in assigned:
                extra[a] = extra.get(a, 1) + 1
                more = names.namer.take(f"{names.grad[a]}_{extra[a]}")
                targets.append(more)
                sums.append(f"{pad}{names.grad[a]} = {names.grad[a]} + {more}")
            else:
                targets.append(names.grad[a])
                assigned.add(a)
        if all(t == "_" for t in targets):
            continue
        call = names.grad[layer.node] if layer.kind == "id" else \
            f"self.{names.attr[layer.node]}.backward({names.grad[layer.node]})"
        lines.append(f"{pad}{', '.join(targets)} = {call}")
        if sums:
            lines.append(f"{pad}# a value read twice gets the sum of its gradients")
            lines += sums
    entries = [f'"{view.items[i].name}": {names.grad[i]}' for i in view.leaves
               if i in assigned]
    one = f"{pad}return {{{', '.join(entries)}}}"
    if len(one) <= WIDTH:
        lines.append(one)
    else:
        lines += [f"{pad}return {{", *[f"{pad}    {e}," for e in entries], f"{pad}}}"]
    return lines


# ---------------------------------------------------------------- the module


def numpy_module(plan, root_name: str) -> str:
    """A self-contained NumPy module computing root_name's graph as the book's layers."""
    view = read_plan(plan, root_name)
    layers = _layers(view)
    user_ops = {it.op.name: it.op for it in view.items if it.kind == "op" and it.op.user}
    module = _Module(user_ops)
    classes, class_texts = _class_texts(view, layers, module)
    names = _graph_names(view, layers, classes)
    graph = ["class Graph:", f'    """{short(view.text, WIDTH - 32)}, one layer per op."""',
             "", *_graph_init(view, layers, classes, names), "",
             *_graph_forward(view, layers, names, root_name), "",
             *_graph_backward(view, layers, names, root_name)]
    parts = [_head(view, root_name) + "\n\n" + _leaves_text(view), _LEAVES,
             *module.helper_texts(),
             *class_texts, "\n".join(graph) + "\n"]
    return "\n\n\n".join(p.rstrip("\n") for p in parts) + "\n"


def _head(view: GraphView, root_name: str) -> str:
    return (f'"""{short(view.text, WIDTH - 6)}\n\n'
            "NumPy layers in the style of chapter 5 of Deep Learning from Scratch, written by\n"
            "bpshell's codegen: each forward keeps what its backward needs, and each backward\n"
            "is the rule bpshell derived for its op. Graph().forward(**leaves) gives "
            f"{short(root_name, 20)};\n"
            "Graph().backward() then gives a dict of each leaf's gradient.\n"
            '"""\n\nimport numpy as np')


def _leaves_text(view: GraphView) -> str:
    names = [view.items[i].name for i in view.leaves]
    head = "# The graph's leaves, and the values the session gives them"
    symbols = [n for i, n in zip(view.leaves, names) if view.items[i].kind == "symbol"]
    head += f" ({', '.join(symbols)} must be given)" if symbols else ""
    lines = [short(head, WIDTH)]
    quoted = [f'"{n}"' for n in names]
    listed = ", ".join(quoted) + ("," if len(names) == 1 else "")
    lines += wrap_call("", "NAMES = ", quoted) if \
        len(f"NAMES = ({listed})") > WIDTH else [f"NAMES = ({listed})"]
    lines.append("VALUES = {")
    for i in view.leaves:
        it = view.items[i]
        if it.kind == "leaf" and it.value is not None:
            lines += value_lines(it.value, f'"{it.name}": ', ",", 4, "np.array")
    lines.append("}")
    return "\n".join(lines)
