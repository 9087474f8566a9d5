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
        raise ValueError(f"axis {axis} is out of range for an array of {nd} dimensions")
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
