"""Plots of a function and its derivative: text for the terminal, PNG/SVG files.

plotext draws in the terminal (pure Python, small); matplotlib writes image files and is
an optional extra (`pip install 'bpshell[plot]'`), imported only when a file is asked for.

A curve of a million points is thinned first to what can be seen: in each run of
consecutive samples its lowest and highest point (so no peak is lost), and for data
points one per cell of the picture. plotext takes about 10 s for a million points,
thinned it takes a fraction of a second.
"""

from __future__ import annotations

import io
import math
import re

import numpy as np

from bpshell.errors import FileError

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
TERMINAL_POINTS = 4000  # points per curve handed to plotext (a terminal is ~200 dots wide)
FILE_POINTS = 40_000  # points per curve handed to matplotlib (a picture is ~600 px wide)


def thin_line(x: np.ndarray, y: np.ndarray, points: int) -> tuple[np.ndarray, np.ndarray]:
    """At most about `points` of the samples, in order, drawing the same line: the lowest
    and the highest of each run of consecutive samples."""
    n = len(y)
    if n <= points:
        return x, y
    k = math.ceil(n / (points // 2))  # samples per run
    runs = math.ceil(n / k)
    padded = np.full(runs * k, np.nan)
    padded[:n] = y
    grid = padded.reshape(runs, k)
    start = np.arange(runs) * k
    keep = np.unique(np.concatenate([start + np.nanargmin(grid, axis=1),
                                     start + np.nanargmax(grid, axis=1)]))
    return x[keep], y[keep]


def thin_points(x: np.ndarray, y: np.ndarray, cells: int) -> tuple[np.ndarray, np.ndarray]:
    """One point per cell of a cells x cells grid over the points' range (a scatter)."""
    if len(x) <= cells:
        return x, y
    ix = _cell(x, cells)
    iy = _cell(y, cells)
    _, first = np.unique(ix * cells + iy, return_index=True)
    first.sort()
    return x[first], y[first]


def _cell(v: np.ndarray, cells: int) -> np.ndarray:
    lo, hi = float(np.min(v)), float(np.max(v))
    span = hi - lo if hi > lo else 1.0
    return np.minimum(((v - lo) / span * cells).astype(np.int64), cells - 1)


def _finite(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ok = np.isfinite(x) & np.isfinite(y)
    return x[ok], y[ok]


def terminal_plot(result: dict, width: int = 78, height: int = 20) -> str:
    """The plot as plain text (braille dots, no colour codes), ready to print anywhere."""
    import plotext as plt

    plt.clear_figure()
    plt.plotsize(width, height)
    plt.theme("clear")
    for label, (x, y) in _curves(result, TERMINAL_POINTS):
        plt.plot(x.tolist(), y.tolist(), label=label, marker="braille")
    for name, (xd, v) in _data(result, 4 * max(width, height)):
        plt.scatter(xd.tolist(), v.tolist(), label=name, marker="*")
    plt.xlabel(result["wrt"])
    return _ANSI.sub("", plt.build())


def save_plot(result: dict, path: str) -> None:
    """Write the plot to a .png or .svg file (atomically: a temporary file, then a rename)."""
    if not path.lower().endswith((".png", ".svg")):
        raise FileError("plot writes .png or .svg files")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise FileError("saving a plot needs matplotlib: pip install 'bpshell[plot]'") from None
    from bpshell.fileio import write_atomic

    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=100)
    for k, (label, (x, y)) in enumerate(_curves(result, FILE_POINTS)):
        ax.plot(x, y, label=label, linestyle="--" if k else "-")
    for name, (xd, v) in _data(result, 600):
        ax.scatter(xd, v, label=name, s=12, color="black")
    ax.set_xlabel(result["wrt"])
    ax.grid(alpha=0.3)
    ax.legend()
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format=path.lower().rsplit(".", 1)[1], bbox_inches="tight")
    finally:
        plt.close(fig)
    write_atomic(path, buf.getvalue())  # through a link, never over a device


def _curves(result: dict, points: int) -> list:
    """(label, (x, y)) for the function and its derivative: finite points only, thinned."""
    x = np.asarray(result["x"], dtype=float).reshape(-1)
    out = [(result["expr"], thin_line(*_finite(x, np.asarray(result["y"], dtype=float)),
                                      points))]
    if result.get("dy") is not None:
        dy = np.asarray(result["dy"], dtype=float).reshape(-1)
        out.append((f"d/d{result['wrt']}", thin_line(*_finite(x, dy), points)))
    return out


def _data(result: dict, cells: int) -> list:
    """(name, (x, values)) for each 'data' name: finite points, one per cell."""
    out = []
    for name, values in (result.get("data") or {}).items():
        v = np.asarray(values, dtype=float).reshape(-1)
        xd = np.asarray(result["data_x"], dtype=float).reshape(-1)
        out.append((name, thin_points(*_finite(xd, v), cells)))
    return out
