"""Vector-Jacobian rules of the structural ops: one function per differentiable input.

Each rule takes (g, out, *args, *params) and returns the gradient for its input, shaped
like that input. These are the book's layer backward passes: dX = dY @ W.T,
dW = X.T @ dY, db = dY summed over the batch, softmax-with-loss (y - t) / N.
"""

from __future__ import annotations

import numpy as np

from bpshell.ops import kernels

_sum = np.add.reduce  # np.sum less its dispatch: the same sums, microseconds sooner


def _ndim(x) -> int:
    n = getattr(x, "ndim", None)
    return np.ndim(x) if n is None else n


def unbroadcast(g, shape: tuple):
    """Sum a gradient over the axes that broadcasting added or stretched."""
    gs = np.shape(g)
    if gs == shape:
        return g
    if len(gs) > len(shape):
        g = _sum(g, axis=tuple(range(len(gs) - len(shape))))
    axes = tuple(i for i, s in enumerate(shape) if s == 1 and np.shape(g)[i] != 1)
    if axes:
        g = _sum(g, axis=axes, keepdims=True)
    if np.shape(g) != shape:
        g = np.broadcast_to(g, shape)
    return g


# ---------------------------------------------------------------- matmul


def _matmul_general(g, a, b, which: int):
    a, b, g = np.asarray(a), np.asarray(b), np.asarray(g)
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    g2 = g
    if a.ndim == 1:
        g2 = np.expand_dims(g2, -2)
    if b.ndim == 1:
        g2 = np.expand_dims(g2, -1)
    if which == 0:
        d = unbroadcast(np.matmul(g2, np.swapaxes(b2, -1, -2)), a2.shape)
        return d[0] if a.ndim == 1 else d
    d = unbroadcast(np.matmul(np.swapaxes(a2, -1, -2), g2), b2.shape)
    return d[:, 0] if b.ndim == 1 else d


def matmul_da(g, out, a, b):
    """dA = dY @ B.T"""
    na, nb = _ndim(a), _ndim(b)
    if na == 2 and nb == 2:
        return np.matmul(g, b.T)
    if na == 1 and nb == 1:
        return np.multiply(g, b)
    return _matmul_general(g, a, b, 0)


def matmul_db(g, out, a, b):
    """dB = A.T @ dY"""
    na, nb = _ndim(a), _ndim(b)
    if na == 2 and nb == 2:
        return np.matmul(a.T, g)
    if na == 1 and nb == 1:
        return np.multiply(g, a)
    return _matmul_general(g, a, b, 1)


def matmul(a, b):
    if _ndim(a) == 0 or _ndim(b) == 0:
        raise ValueError("@ needs vectors or matrices on both sides; use * to scale")
    return np.matmul(a, b)[()]


# ---------------------------------------------------------------- shape ops


def transpose(x):
    return np.transpose(x)


def transpose_vjp(g, out, x):
    return np.transpose(g)


def reshape(x, *shape):
    return np.reshape(x, shape)


def reshape_vjp(g, out, x, *shape):
    return np.reshape(g, np.shape(x))


def _axis(x, axis):
    if axis is None:
        return None
    nd = np.ndim(x)
    if not -nd <= axis < nd:
        raise ValueError(f"axis {axis} is out of range for an array with {nd} "
                         f"ax{'is' if nd == 1 else 'es'}")
    return axis % nd


def total(x, axis=None):
    return np.sum(x, axis=_axis(x, axis))[()]


def total_vjp(g, out, x, axis=None):
    axis = _axis(x, axis)
    if axis is not None:
        g = np.expand_dims(g, axis)
    return np.broadcast_to(g, np.shape(x))


def mean(x, axis=None):
    """The sum over the count, as np.mean computes it, without np.mean's warning for an
    empty slice (which np.errstate cannot silence): mean(zeros(0)) is nan, quietly."""
    axis = _axis(x, axis)
    count = np.size(x) if axis is None else np.shape(x)[axis]
    return np.true_divide(_sum(x, axis=axis), count)[()]


def mean_vjp(g, out, x, axis=None):
    axis = _axis(x, axis)
    count = np.size(x) if axis is None else np.shape(x)[axis]
    return total_vjp(np.divide(g, count), out, x, axis)


# ---------------------------------------------------------------- softmax family


def softmax_vjp(g, out, x):
    """J^T g for J = diag(s) - s s^T, row by row."""
    return out * (g - _sum(g * out, axis=-1, keepdims=True))


def log_softmax_vjp(g, out, x):
    return g - np.exp(out) * _sum(g, axis=-1, keepdims=True)


def _targets(x, t):
    return kernels.onehot_of(x, t) if kernels.is_labels(x, t) else np.asarray(t, np.float64)


def cross_entropy_dy(g, out, y, t):
    t = _targets(y, t)
    d = g * -t / (np.asarray(y, np.float64) + kernels.CE_DELTA) / kernels.batch_size(y)
    return unbroadcast(d, np.shape(y))


def cross_entropy_dt(g, out, y, t):
    if kernels.is_labels(y, t):
        return None
    d = g * -np.log(np.asarray(y, np.float64) + kernels.CE_DELTA) / kernels.batch_size(y)
    return unbroadcast(np.broadcast_to(d, np.broadcast_shapes(np.shape(d), np.shape(t))),
                       np.shape(t))


def softmax_cross_entropy_dx(g, out, x, t):
    """(softmax(x) - t) / N; with soft targets, softmax(x) * sum(t) - t."""
    t = _targets(x, t)
    mass = _sum(t, axis=-1, keepdims=True) if np.ndim(t) else t
    return unbroadcast(g * (kernels.softmax(x) * mass - t) / kernels.batch_size(x), np.shape(x))


def softmax_cross_entropy_dt(g, out, x, t):
    if kernels.is_labels(x, t):
        return None
    d = g * -kernels.log_softmax(x) / kernels.batch_size(x)
    return unbroadcast(np.broadcast_to(d, np.broadcast_shapes(np.shape(d), np.shape(t))),
                       np.shape(t))


def mse_dy(g, out, y, t):
    return unbroadcast(g * np.subtract(y, t), np.shape(y))


def mse_dt(g, out, y, t):
    return unbroadcast(-g * np.subtract(y, t), np.shape(t))


def identity(x):
    return x


def identity_vjp(g, out, x):
    return g


def matmul_shape(sa: tuple, sb: tuple) -> tuple:
    """The shape np.matmul gives for operands of shapes sa and sb, computed without them."""
    if len(sa) == 0 or len(sb) == 0:
        raise ValueError("matmul: scalar operand")
    ka = sa[-1]
    kb = sb[0] if len(sb) == 1 else sb[-2]
    if ka != kb:
        raise ValueError("matmul: inner dimensions do not align")
    a2 = sa if len(sa) > 1 else (1,) + sa
    b2 = sb if len(sb) > 1 else sb + (1,)
    out = np.broadcast_shapes(a2[:-2], b2[:-2]) + (a2[-2], b2[-1])
    if len(sa) == 1:
        out = out[:-2] + out[-1:]
    if len(sb) == 1:
        out = out[:-1]
    return out


# ---------------------------------------------------------------- reductions with options
#
# Every reduction takes NumPy's (axis=None, keepdims=False). Its rule first puts the reduced
# axis back into the upstream gradient (`_restore`), so one rule serves both spellings.


def no_gradient(g, out, *args):
    """Inputs that take no gradient: comparisons' operands, argmax's input, where's mask."""
    return None


def _restore(g, x, axis, keepdims: bool):
    """The upstream gradient with the reduced axis put back, so it broadcasts against x."""
    axis = _axis(x, axis)
    if axis is not None and not keepdims:
        g = np.expand_dims(g, axis)
    return g


def total_keep(x, axis=None, keepdims=False):
    return np.sum(x, axis=_axis(x, axis), keepdims=keepdims)[()]


def total_keep_vjp(g, out, x, axis=None, keepdims=False):
    return np.broadcast_to(_restore(g, x, axis, keepdims), np.shape(x))


def _count(x, axis) -> int:
    axis = _axis(x, axis)
    return np.size(x) if axis is None else np.shape(x)[axis]


def mean_keep(x, axis=None, keepdims=False):
    """The sum over the count (np.mean without its warning for an empty slice)."""
    return np.true_divide(np.sum(x, axis=_axis(x, axis), keepdims=keepdims),
                          _count(x, axis))[()]


def mean_keep_vjp(g, out, x, axis=None, keepdims=False):
    return np.broadcast_to(_restore(g, x, axis, keepdims) / _count(x, axis), np.shape(x))


def _extreme(reduce, x, axis, keepdims):
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 0 and axis is not None:  # max(x, 0) typed for ReLU
        raise ValueError(f"a scalar has no axis {axis}; max(x, 0) is NumPy's max along axis "
                         "0, and the elementwise larger of x and 0 is maximum(x, 0); did you "
                         "mean relu(x)?")
    if x.size == 0:
        raise ValueError("the max or min of an empty array is undefined")
    return reduce(x, axis=_axis(x, axis), keepdims=keepdims)[()]


def amax(x, axis=None, keepdims=False):
    return _extreme(np.max, x, axis, keepdims)


def amin(x, axis=None, keepdims=False):
    return _extreme(np.min, x, axis, keepdims)


def extreme_vjp(g, out, x, axis=None, keepdims=False):
    """The gradient goes to the elements equal to the max (min); ties share it evenly.

    This is PyTorch's rule for torch.amax / torch.amin and for torch.max(x) without a dim
    (`evenly_distribute_backward`); torch.max(x, dim) instead gives it all to the index
    it returns.
    """
    x = np.asarray(x, dtype=np.float64)
    hit = np.equal(x, _restore(out, x, axis, keepdims))
    count = np.sum(hit, axis=_axis(x, axis), keepdims=True)
    return np.where(hit, _restore(g, x, axis, keepdims) / count, 0.0)


def var(x, axis=None, keepdims=False):
    """NumPy's variance (ddof 0: divided by n, as the book's batch norm computes it)."""
    x = np.asarray(x, dtype=np.float64)
    mu = mean_keep(x, axis, True)
    return mean_keep(np.square(x - mu), axis, keepdims)


def var_vjp(g, out, x, axis=None, keepdims=False):
    x = np.asarray(x, dtype=np.float64)
    mu = mean_keep(x, axis, True)
    return _restore(g, x, axis, keepdims) * 2.0 * (x - mu) / _count(x, axis)


def std(x, axis=None, keepdims=False):
    return np.sqrt(var(x, axis, keepdims))


def std_vjp(g, out, x, axis=None, keepdims=False):
    """d std = d var / (2 std); 0 where std is 0, as PyTorch's std_backward masks it."""
    with np.errstate(all="ignore"):
        gv = np.where(np.equal(out, 0), 0.0, np.divide(g, np.multiply(2.0, out)))
    return var_vjp(gv, out, x, axis, keepdims)


def logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) with the max taken out first: finite for logits of any size."""
    x = np.asarray(x, dtype=np.float64)
    ax = _axis(x, axis)
    if x.size == 0:
        return np.log(np.sum(np.exp(x), axis=ax, keepdims=keepdims))[()]
    m = np.max(x, axis=ax, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    s = np.log(np.sum(np.exp(x - m), axis=ax, keepdims=True)) + m
    if not keepdims:
        s = s.reshape(()) if ax is None else np.squeeze(s, axis=ax)
    return s[()]


def logsumexp_vjp(g, out, x, axis=None, keepdims=False):
    """softmax(x) along the axis, times the upstream gradient."""
    x = np.asarray(x, dtype=np.float64)
    return _restore(g, x, axis, keepdims) * np.exp(x - _restore(out, x, axis, keepdims))


def _arg(reduce, x, axis, keepdims):
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        raise ValueError("argmax and argmin need at least one element")
    return reduce(x, axis=_axis(x, axis), keepdims=keepdims).astype(np.float64)[()]


def argmax(x, axis=None, keepdims=False):
    """The index of the largest element (the first one on ties), as a float."""
    return _arg(np.argmax, x, axis, keepdims)


def argmin(x, axis=None, keepdims=False):
    return _arg(np.argmin, x, axis, keepdims)


# ---------------------------------------------------------------- joining and indexing


def concat(a, b, axis=0):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError("concat joins arrays; a scalar has no axis to join along")
    return np.concatenate((a, b), axis=_axis(a, axis))


def concat_da(g, out, a, b, axis=0):
    ax = _axis(a, axis)
    return np.take(g, np.arange(np.shape(a)[ax]), axis=ax)


def concat_db(g, out, a, b, axis=0):
    ax = _axis(a, axis)
    n = np.shape(a)[ax]
    return np.take(g, np.arange(n, np.shape(g)[ax]), axis=ax)


def stack(a, b, axis=0):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    nd = a.ndim + 1
    if not -nd <= axis < nd:
        raise ValueError(f"axis {axis} is out of range for stacking arrays with {a.ndim} "
                         "axes")
    return np.stack((a, b), axis=axis)


def stack_da(g, out, a, b, axis=0):
    return np.take(g, 0, axis=axis)


def stack_db(g, out, a, b, axis=0):
    return np.take(g, 1, axis=axis)


def _check_key(x, key: tuple) -> None:
    """Index errors in words a learner reads (NumPy's mention dimensions and bounds)."""
    nd = np.ndim(x)
    if nd == 0:
        raise IndexError("a scalar has no entries to index")
    if len(key) > nd:
        raise IndexError(f"{len(key)} indices for an array with {nd} "
                         f"ax{'is' if nd == 1 else 'es'}")
    for axis, k in enumerate(key):
        n = np.shape(x)[axis]
        if not isinstance(k, slice) and not -n <= k < n:
            raise IndexError(f"index {k} is out of range for axis {axis}, which has {n} "
                             f"entr{'y' if n == 1 else 'ies'}")


def index(x, key):
    """x[key], NumPy's basic indexing (whole numbers and slices): a copy, never a view."""
    _check_key(x, key)
    return np.array(np.asarray(x, dtype=np.float64)[key])[()]


def index_vjp(g, out, x, key):
    """The upstream gradient scattered back into zeros shaped like x."""
    d = np.zeros(np.shape(x))
    d[key] = g
    return d
