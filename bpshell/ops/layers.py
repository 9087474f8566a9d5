"""The book's chapter 6 layers that keep state between passes: Dropout and BatchNorm.

Their kernels are pure functions of their inputs and of a `Slot`, a parameter the graph
builder adds to each call: the session's layer context and a key naming that call. Through
it a dropout node finds the mask its last forward pass drew (and its backward pass reuses
it), and a batchnorm node its running mean and variance. The context is the session's
state: it journals every write, so a statement that fails leaves masks and averages as they
were. This module imports nothing above the op table; the context is duck-typed.

Masks are drawn from the session's random stream, once when a call is first evaluated and
again on every forward pass of a training step (`step`, `fit`), as the book's layer draws
one per forward pass in training. Evaluating, `grad`, `explain` and `check` reuse the
mask in place, so what they show agrees with one another and a gradient check passes.
Running averages move on the same training-step forward passes only.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from bpshell.ops.structural import unbroadcast
from bpshell.records import Frozen

BN_EPS = 10e-7  # the book's epsilon inside the square root of BatchNormalization (1e-6)


class LayerContext(Protocol):
    """What a stateful layer reads and writes (the session's State provides it)."""

    mode: str  # "train" or "eval"
    advancing: bool  # a training step's forward pass: draw new masks, move the averages

    @property
    def rng(self) -> np.random.Generator: ...

    def layer_value(self, key: tuple): ...

    def set_layer_value(self, key: tuple, value) -> None: ...


class Slot(Frozen):
    """Where one call of a stateful layer keeps its state: the context and its key.

    The key is (statement serial, line, column, occurrence): a redefined name is a new
    layer with fresh state; the same definition evaluated again is the same layer. Two
    slots are equal only when they are the same object.
    """

    __slots__ = ("ctx", "key")

    ctx: LayerContext
    key: tuple

    def __init__(self, ctx: LayerContext, key: tuple):
        object.__setattr__(self, "ctx", ctx)
        object.__setattr__(self, "key", key)

    def __repr__(self) -> str:
        return f"<layer {self.key}>"


# ---------------------------------------------------------------- Dropout


def _ratio(ratio) -> float:
    r = float(ratio)
    if not 0.0 <= r < 1.0:
        raise ValueError(f"the dropout ratio must be at least 0 and below 1, not {r:g}")
    return r


def _mask(slot: Slot, shape: tuple, ratio: float) -> np.ndarray:
    """The book's mask, rand(*shape) > ratio as 0/1: drawn anew on a training step's forward
    pass or when the input's shape changed, kept otherwise."""
    ctx = slot.ctx
    mask = ctx.layer_value(slot.key)
    if mask is None or ctx.advancing or np.shape(mask) != shape:
        mask = (ctx.rng.random(shape) > ratio).astype(np.float64)
        ctx.set_layer_value(slot.key, mask)
    return mask


def dropout(x, slot: Slot, ratio=0.5):
    """Training: x * mask, each element kept with probability 1 - ratio. Evaluation:
    x * (1 - ratio), the book's scaling (it does not divide by 1 - ratio in training)."""
    ratio = _ratio(ratio)
    if slot.ctx.mode == "eval":
        return np.multiply(x, 1.0 - ratio)[()]
    return np.multiply(x, _mask(slot, np.shape(x), ratio))[()]


def dropout_vjp(g, out, x, slot: Slot, ratio=0.5):
    """dX = dY * mask, the very mask of the forward pass; (1 - ratio) * dY in evaluation."""
    ratio = _ratio(ratio)
    if slot.ctx.mode == "eval":
        return np.multiply(g, 1.0 - ratio)
    mask = slot.ctx.layer_value(slot.key)
    if mask is None or np.shape(mask) != np.shape(x):
        mask = _mask(slot, np.shape(x), ratio)
    return np.multiply(g, mask)


# ---------------------------------------------------------------- BatchNormalization


def _batch(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError("batchnorm normalises each column of a batch: x must be a matrix "
                         "with one row per sample")
    return x


def running(slot: Slot, d: int) -> tuple[np.ndarray, np.ndarray]:
    """The running mean and variance; zeros until a training step moves them (the book's
    start: PyTorch starts the variance at 1)."""
    held = slot.ctx.layer_value(slot.key)
    if held is None or np.shape(held[0]) != (d,):
        return np.zeros(d), np.zeros(d)
    return held


def _normalised(x: np.ndarray, slot: Slot):
    """(xc, std, xn): the centred batch, its standard deviation and x normalised."""
    if slot.ctx.mode == "eval":
        mean, variance = running(slot, x.shape[1])
        xc = x - mean
        std = np.sqrt(variance + BN_EPS)
        return xc, std, xc / std
    mu = x.mean(axis=0)
    xc = x - mu
    std = np.sqrt(np.mean(xc**2, axis=0) + BN_EPS)
    return xc, std, xc / std


def batchnorm(x, gamma, beta, slot: Slot, momentum=0.9):
    """The book's BatchNormalization forward: gamma * (x - mean) / sqrt(var + 10e-7) + beta
    with the batch's mean and variance in training, the running ones in evaluation."""
    x = _batch(x)
    xc, std, xn = _normalised(x, slot)
    ctx = slot.ctx
    if ctx.mode != "eval" and ctx.advancing:
        mean, variance = running(slot, x.shape[1])
        ctx.set_layer_value(slot.key, (momentum * mean + (1 - momentum) * x.mean(axis=0),
                                       momentum * variance + (1 - momentum) *
                                       np.mean(xc**2, axis=0)))
    return np.add(np.multiply(gamma, xn), beta)


def batchnorm_dx(g, out, x, gamma, beta, slot: Slot, momentum=0.9):
    """The book's backward, step for step (Figure 6-17 read right to left)."""
    x = _batch(x)
    xc, std, xn = _normalised(x, slot)
    dxn = np.multiply(gamma, g)
    if slot.ctx.mode == "eval":  # the running statistics are constants
        return dxn / std
    n = x.shape[0]
    dxc = dxn / std
    dstd = -np.sum((dxn * xc) / (std * std), axis=0)
    dvar = 0.5 * dstd / std
    dxc = dxc + (2.0 / n) * xc * dvar
    dmu = np.sum(dxc, axis=0)
    return dxc - dmu / n


def batchnorm_dgamma(g, out, x, gamma, beta, slot: Slot, momentum=0.9):
    """dgamma = sum(xn * dY, axis=0)."""
    _, _, xn = _normalised(_batch(x), slot)
    return unbroadcast(np.multiply(xn, g), np.shape(gamma))


def batchnorm_dbeta(g, out, x, gamma, beta, slot: Slot, momentum=0.9):
    """dbeta = sum(dY, axis=0)."""
    return unbroadcast(np.broadcast_to(g, np.shape(out)), np.shape(beta))


# Figure 6-17: batchnorm's training forward pass as the elementary ops it is made of, one
# (name, op, inputs, params) per node; an input is another step's name, x, gamma or beta,
# or a number. `explain` runs these as a graph of their own and shows their backward pass
# beside the fused rule's.
BATCHNORM_STEPS: tuple[tuple[str, str, tuple, tuple], ...] = (
    ("mu", "mean", ("x",), (0,)),
    ("xc", "sub", ("x", "mu"), ()),
    ("sq", "pow", ("xc", 2.0), ()),
    ("var", "mean", ("sq",), (0,)),
    ("ve", "add", ("var", BN_EPS), ()),
    ("std", "sqrt", ("ve",), ()),
    ("xn", "div", ("xc", "std"), ()),
    ("s", "mul", ("gamma", "xn"), ()),
    ("out", "add", ("s", "beta"), ()),
)
