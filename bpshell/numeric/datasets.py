"""Data sets to train on: the 8x8 digits shipped with bpshell, and the usual 2-D toys.

The digits are the book's MNIST in small: images as rows of pixels scaled to [0, 1] and
integer labels, split once and for all into a training and a test set. The toy sets
(moons, circles, xor, spiral) are drawn from the session's random stream, so `seed N`
makes them reproducible; each returns points x of shape N x 2 and labels t, shuffled.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DIGITS_FILE = Path(__file__).resolve().parents[1] / "data" / "digits.csv.gz"
DIGITS_NAMES = ("x_train", "t_train", "x_test", "t_test")  # the book's names
DIGITS_NOTE = ("8x8 handwritten digits (UCI ML repository, E. Alpaydin and C. Kaynak, "
               "CC BY 4.0): 64 pixels per row scaled to [0, 1], integer labels 0..9; "
               "every fifth image of each digit is in the test set")


def digits_split(t: np.ndarray) -> np.ndarray:
    """Which rows are test rows: the 5th, 10th, 15th, ... image of each digit, in file
    order. Fixed, the same for every session, and no random numbers are drawn for it;
    every digit is a fifth of the test set's share, as in the training set. (The file's
    last rows come from other writers than its first: a split by position tests on
    handwriting the net never saw, and tops out near 91%.)"""
    test = np.zeros(len(t), dtype=bool)
    for c in np.unique(t):
        rows = np.flatnonzero(t == c)
        test[rows[4::5]] = True
    return test


def load_digits() -> dict[str, np.ndarray]:
    """x_train 1442x64, t_train 1442, x_test 355x64, t_test 355, as float64.

    The pixel counts 0..16 are divided by 16, as the book scales MNIST's 0..255 to [0, 1].
    """
    with gzip.open(DIGITS_FILE, "rt", encoding="ascii") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.float64)
    x, t = table[:, :64] / 16.0, table[:, 64]
    test = digits_split(t)
    return dict(zip(DIGITS_NAMES, (x[~test], t[~test], x[test], t[test])))


# ---------------------------------------------------------------- 2-D toys


def _moons(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (scikit-learn's make_moons)."""
    n_out = n // 2
    n_in = n - n_out
    a = np.linspace(0, np.pi, n_out)
    b = np.linspace(0, np.pi, n_in)
    x = np.concatenate([np.stack([np.cos(a), np.sin(a)], 1),
                        np.stack([1 - np.cos(b), 1 - np.sin(b) - 0.5], 1)])
    return x, np.concatenate([np.zeros(n_out), np.ones(n_in)])


def _circles(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """A circle of radius 1 around one of radius 0.5 (make_circles, factor 0.5)."""
    n_out = n // 2
    n_in = n - n_out
    a = np.linspace(0, 2 * np.pi, n_out, endpoint=False)
    b = np.linspace(0, 2 * np.pi, n_in, endpoint=False)
    x = np.concatenate([np.stack([np.cos(a), np.sin(a)], 1),
                        0.5 * np.stack([np.cos(b), np.sin(b)], 1)])
    return x, np.concatenate([np.zeros(n_out), np.ones(n_in)])


def _xor(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Points uniform in the square [-1, 1]^2; label 1 where the two signs differ."""
    x = rng.uniform(-1.0, 1.0, size=(n, 2))
    return x, (x[:, 0] * x[:, 1] < 0).astype(np.float64)


def _spiral(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Three spiral arms, one per class (the CS231n spiral); the noise turns the angle."""
    xs, ts = [], []
    for k, m in enumerate(np.array_split(np.arange(n), 3)):
        r = np.linspace(0.0, 1.0, len(m))
        theta = np.linspace(4.0 * k, 4.0 * (k + 1), len(m))
        xs.append(np.stack([r * np.sin(theta), r * np.cos(theta)], 1))
        ts.append(np.full(len(m), float(k)))
    return np.concatenate(xs), np.concatenate(ts)


@dataclass(frozen=True)
class Toy:
    """A 2-D toy set: how to draw it, and its default noise (a normal's scale)."""

    make: Callable[[np.random.Generator, int], tuple[np.ndarray, np.ndarray]]
    noise: float
    doc: str


TOYS: dict[str, Toy] = {
    "moons": Toy(_moons, 0.1, "two interleaving half moons, 2 classes"),
    "circles": Toy(_circles, 0.05, "a circle around a smaller one, 2 classes"),
    "xor": Toy(_xor, 0.0, "the four quadrants of a square, 2 classes (signs differ: 1)"),
    "spiral": Toy(_spiral, 0.2, "three spiral arms, 3 classes"),
}


def make_toy(name: str, n: int, noise: float | None, rng: np.random.Generator
             ) -> tuple[np.ndarray, np.ndarray]:
    """x (n x 2) and t (n labels) of a toy set, with normal noise, in shuffled order.

    The spiral's noise turns each point's angle (noise * a standard normal, in radians),
    as CS231n draws it; the other sets move each point by noise * a standard normal.
    """
    toy = TOYS[name]
    scale = toy.noise if noise is None else noise
    if name == "spiral":
        x, t = _spiral_noisy(rng, n, scale)
    else:
        x, t = toy.make(rng, n)
        if scale:
            x = x + scale * rng.standard_normal(x.shape)
    order = rng.permutation(n)
    return x[order], t[order]


def _spiral_noisy(rng: np.random.Generator, n: int, scale: float):
    x, t = _spiral(rng, n)
    r = np.hypot(x[:, 0], x[:, 1])
    theta = np.arctan2(x[:, 0], x[:, 1]) + scale * rng.standard_normal(n)
    return np.stack([r * np.sin(theta), r * np.cos(theta)], 1), t
