"""The baseline: hand-written NumPy layers as the book ("Deep Learning from Scratch") writes them.

Affine keeps x and computes dW = x.T @ dout, db = sum(dout) and dx = dout @ W.T; Relu keeps
a mask; SoftmaxWithLoss keeps softmax's output and returns (y - t) / N. The book's net also
computes the first layer's dx, which nothing reads; `backward(skip_first_dx=True)` leaves it
out, the same work the engine does.
"""

from __future__ import annotations

import numpy as np


def softmax(x):
    if x.ndim == 2:
        x = x.T
        x = x - np.max(x, axis=0)
        y = np.exp(x) / np.sum(np.exp(x), axis=0)
        return y.T
    x = x - np.max(x)
    return np.exp(x) / np.sum(np.exp(x))


def cross_entropy_error(y, t):
    if y.ndim == 1:
        t = t.reshape(1, t.size)
        y = y.reshape(1, y.size)
    if t.size == y.size:
        t = t.argmax(axis=1)
    batch_size = y.shape[0]
    return -np.sum(np.log(y[np.arange(batch_size), t] + 1e-7)) / batch_size


class Relu:
    def __init__(self):
        self.mask = None

    def forward(self, x):
        self.mask = x <= 0
        out = x.copy()
        out[self.mask] = 0
        return out

    def backward(self, dout):
        dout[self.mask] = 0
        return dout


class Affine:
    def __init__(self, W, b):
        self.W = W
        self.b = b
        self.x = None
        self.dW = None
        self.db = None

    def forward(self, x):
        self.x = x
        return np.dot(x, self.W) + self.b

    def backward(self, dout):
        dx = np.dot(dout, self.W.T)
        self.dW = np.dot(self.x.T, dout)
        self.db = np.sum(dout, axis=0)
        return dx


class SoftmaxWithLoss:
    def __init__(self):
        self.loss = None
        self.y = None
        self.t = None

    def forward(self, x, t):
        self.t = t
        self.y = softmax(x)
        self.loss = cross_entropy_error(self.y, self.t)
        return self.loss

    def backward(self, dout=1):
        batch_size = self.t.shape[0]
        if self.t.size == self.y.size:
            return (self.y - self.t) / batch_size
        dx = self.y.copy()
        dx[np.arange(batch_size), self.t] -= 1
        return dx / batch_size


class Net:
    """Affine, Relu, ..., Affine, SoftmaxWithLoss over the given weights and biases."""

    def __init__(self, weights: list, biases: list):
        self.affines = [Affine(W, b) for W, b in zip(weights, biases)]
        self.layers: list = []
        for k, affine in enumerate(self.affines):
            self.layers.append(affine)
            if k < len(self.affines) - 1:
                self.layers.append(Relu())
        self.last = SoftmaxWithLoss()

    def loss(self, x, t) -> float:
        for layer in self.layers:
            x = layer.forward(x)
        return self.last.forward(x, t)

    def backward(self, skip_first_dx: bool = False) -> None:
        dout = self.last.backward(1)
        layers = self.layers[1:] if skip_first_dx else self.layers
        for layer in reversed(layers):
            dout = layer.backward(dout)
        if skip_first_dx:
            first = self.layers[0]
            first.dW = np.dot(first.x.T, dout)
            first.db = np.sum(dout, axis=0)

    def gradient(self, x, t) -> dict:
        """The book's TwoLayerNet.gradient: forward (the loss), backward, then the grads."""
        self.loss(x, t)
        self.backward()
        grads = {}
        for k, affine in enumerate(self.affines, start=1):
            grads[f"W{k}"] = affine.dW
            grads[f"b{k}"] = affine.db
        return grads

    def step(self, x, t, skip_first_dx: bool = False) -> float:
        """Forward and backward: the gradients are left in each Affine's dW and db."""
        loss = self.loss(x, t)
        self.backward(skip_first_dx)
        return loss
