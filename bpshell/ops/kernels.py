"""NumPy forward kernels that need care: stable at +-1000, float64, no warnings.

The op table (bpshell/ops.py) points at these; everything simpler is a plain NumPy ufunc.
Reductions call the ufunc's reduce directly: np.sum and np.max add a few microseconds of
dispatch each, which is a tenth of a small net's step; the results are the same.
"""

from __future__ import annotations

import numpy as np

CE_DELTA = 1e-7  # the book's cross_entropy_error adds this inside the log
_sum, _max = np.add.reduce, np.maximum.reduce


def sigmoid(x):
    """1/(1+exp(-x)) computed from exp(-|x|), which never overflows."""
    z = np.exp(-np.abs(x))
    return np.where(np.greater_equal(x, 0), 1.0 / (1.0 + z), z / (1.0 + z))[()]


def softplus(x):
    """log(1+exp(x)) as max(x, 0) + log1p(exp(-|x|)): exact for large |x|."""
    return (np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x))))[()]


_ZERO = np.float64(0.0)


def relu(x):
    if type(x) is np.float64:  # a scalar graph's node: what np.maximum gives, with no ufunc
        return x if x > 0.0 or x != x else _ZERO
    return np.maximum(x, 0.0)[()]


def leaky_relu(x, slope=0.01):
    return np.where(np.greater(x, 0), x, np.multiply(slope, x))[()]


def log_softmax(x):
    """x - max - log(sum(exp(x - max))) along the last axis.

    A row holding +inf (or only -inf) is nan throughout, as in PyTorch: its max is inf,
    and inf - inf is nan.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 0:
        return np.zeros_like(x)[()]
    m = _max(x, axis=-1, keepdims=True)
    shifted = x - m
    return shifted - np.log(_sum(np.exp(shifted), axis=-1, keepdims=True))


def softmax(x):
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 0:
        return np.ones_like(x)[()]
    m = _max(x, axis=-1, keepdims=True)  # a row with +inf is nan, as in log_softmax
    e = np.exp(x - m)
    return e / _sum(e, axis=-1, keepdims=True)


def batch_size(x) -> int:
    """The book's batch size: rows of a 2-D input, 1 for a single sample."""
    return int(np.shape(x)[0]) if np.ndim(x) >= 2 else 1


def is_labels(x, t) -> bool:
    """Integer class labels (one per row) rather than one-hot or probability targets."""
    return np.ndim(t) == np.ndim(x) - 1


def _label_index(x, t):
    t = np.asarray(t)
    if not np.all(np.isfinite(t)) or np.any(t != np.round(t)):
        raise ValueError("labels must be whole numbers")
    ti = t.astype(np.int64)
    classes = np.shape(x)[-1]
    if np.any(ti < 0) or np.any(ti >= classes):
        raise ValueError(f"labels must lie in 0..{classes - 1}")
    return ti


def _gather(a, t):
    """a[i, t[i]] for each row (or a[t] for a single sample)."""
    ti = _label_index(a, t)
    if np.ndim(a) == 1:
        return a[ti]
    return np.take_along_axis(a, ti[..., None], axis=-1)[..., 0]


def check_targets(x, t) -> None:
    """t is one-hot (or probabilities) shaped like x, or one integer label per row of x."""
    if is_labels(x, t):
        if np.ndim(x) == 0 or np.shape(t) != np.shape(x)[:-1]:
            raise ValueError(f"labels of shape {np.shape(t)} do not match "
                             f"{np.shape(x)}: one label per row")
    elif np.shape(t) != np.shape(x) and (1, *np.shape(x)) != np.shape(t) and \
            np.shape(x) != (1, *np.shape(t)):
        # the book reshapes a single sample to one row, so (10,) and (1, 10) agree
        raise ValueError(f"targets must have the shape of the input {np.shape(x)} "
                         f"(one-hot or probabilities) or be one label per row; "
                         f"got {np.shape(t)}")


def cross_entropy(y, t):
    """The book's cross_entropy_error on probabilities: -sum(t*log(y + 1e-7)) / N."""
    y = np.asarray(y, dtype=np.float64)
    check_targets(y, t)
    n = batch_size(y)
    if is_labels(y, t):
        return float(-_sum(np.log(_gather(y, t) + CE_DELTA), axis=None) / n)
    return float(-_sum(np.multiply(t, np.log(y + CE_DELTA)), axis=None) / n)


def softmax_cross_entropy(x, t):
    """The book's SoftmaxWithLoss, computed through log-softmax: stable at any logit size."""
    x = np.asarray(x, dtype=np.float64)
    check_targets(x, t)
    n = batch_size(x)
    ls = log_softmax(x)
    if is_labels(x, t):
        return float(-_sum(_gather(ls, t), axis=None) / n) + 0.0  # + 0.0: never -0
    # 0 * -inf would be nan: only entries with t != 0 contribute, so a one-hot row reads
    # as its label (PyTorch's probability targets give nan there)
    return float(-_sum(np.where(np.not_equal(t, 0), np.multiply(t, ls), 0.0),
                       axis=None) / n) + 0.0


def mse(y, t):
    """The book's mean_squared_error: 0.5 * sum((y - t)**2), no batch mean."""
    return float(0.5 * np.sum(np.square(np.subtract(y, t))))


def accuracy(y, t):
    """The book's TwoLayerNet.accuracy: the fraction of rows whose arg-max is the label.

    t is one integer label per row, or one-hot (its arg-max is the label). Ties go to the
    first largest score, as np.argmax breaks them.
    """
    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 0:
        raise ValueError("accuracy needs scores with one column per class")
    check_targets(y, t)
    guess = np.argmax(y, axis=-1)
    label = _label_index(y, t) if is_labels(y, t) else \
        np.argmax(np.reshape(t, np.shape(y)), axis=-1)
    return float(np.mean(guess == label))


def onehot_of(x, t):
    """One-hot rows for integer labels t, shaped like x."""
    out = np.zeros(np.shape(x))
    ti = _label_index(x, t)
    if out.ndim == 1:
        out[ti] = 1.0
    else:
        np.put_along_axis(out, ti[..., None], 1.0, axis=-1)
    return out


def comparison(ufunc):
    """A comparison as 0/1 floats (NumPy gives booleans; the language computes in float64)."""

    def compare(a, b):
        return np.asarray(ufunc(a, b), dtype=np.float64)[()]

    compare.__name__ = ufunc.__name__
    return compare


def where(c, a, b):
    """a where c is not 0, else b: the mask of `where(x > 0, x, 0)` is a comparison's 0/1."""
    return np.where(np.not_equal(c, 0), a, b)[()]
