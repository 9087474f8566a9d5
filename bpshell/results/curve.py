"""Which points of a plotted curve can be drawn: shared by `plot` and the renderers.

The command says what a plot leaves out; the terminal and file renderers draw exactly the
other points. This module depends on nothing in bpshell.
"""

from __future__ import annotations

import numpy as np

DRAWABLE = 1e300  # past this a value is left out: a plot's scale cannot hold it


def drawable(v) -> np.ndarray:
    """The points of a curve that can be drawn: finite, and within +-1e300."""
    v = np.asarray(v, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return np.isfinite(v) & (np.abs(v) <= DRAWABLE)


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of each run of True in mask: a curve is drawn run by run, so a line
    never bridges a gap where points were left out (1/x across 0)."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], mask.astype(np.int8), [0]))))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))
