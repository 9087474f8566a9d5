"""Plots of a function and its derivative: text for the terminal, PNG/SVG files, and
SVG for a notebook (with a fit's loss curve).

plotext draws in the terminal (pure Python, small); matplotlib writes image files and is
an optional extra (`pip install 'bpshell[plot]'`), imported only when a picture is asked for.

A curve of a million points is thinned first to what can be seen: in each run of
consecutive samples its lowest and highest point (so no peak is lost), and for data
points one per cell of the picture. plotext takes about 10 s for a million points,
thinned it takes a fraction of a second. A picture keeps every point up to FILE_POINTS
(a notebook's SVG holds the data it shows), and is thinned past that.
"""

from __future__ import annotations

import io
import math
import re

import numpy as np

from bpshell.errors import FileError
from bpshell.results.curve import drawable, runs

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
    """One point per cell of a cells x cells grid over the points' range (a scatter), once
    there are more points than cells."""
    if len(x) <= cells * cells:
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
    ok = drawable(x) & drawable(y)
    return x[ok], y[ok]


def pieces(x: np.ndarray, v: np.ndarray, points: int):
    """Each run of drawable points of a curve, thinned: a line never bridges a gap (where
    the function is nan or overflows), and a million points draw as fast as a thousand."""
    for a, b in runs(drawable(v) & drawable(x)):
        yield thin_line(x[a:b], v[a:b], points)


def _series_of(result: dict) -> list:
    """(label, values) for the function and, where there is one, its derivative."""
    out = [(result["expr"], np.asarray(result["y"], dtype=float).reshape(-1))]
    if result.get("dy") is not None:
        out.append((f"d/d{result['wrt']}", np.asarray(result["dy"], dtype=float).reshape(-1)))
    return out


def _data(result: dict, cells: int) -> list:
    """(name, (x, values)) for each 'data' name: finite points, one per cell once there
    are more than cells x cells of them."""
    out = []
    for name, values in (result.get("data") or {}).items():
        v = np.asarray(values, dtype=float).reshape(-1)
        xd = np.asarray(result["data_x"], dtype=float).reshape(-1)
        out.append((name, thin_points(*_finite(xd, v), cells)))
    return out


def terminal_plot(result: dict, width: int = 78, height: int = 20) -> str:
    """The plot as plain text (braille dots, no colour codes), ready to print anywhere.

    Only drawable points are drawn (finite, within +-1e300; the result's `left_out` says
    what the others were), each curve run by run so that no line bridges a gap.
    """
    import plotext as plt

    x = np.asarray(result["x"], dtype=float)
    curves = [(result["expr"], np.asarray(result["y"], dtype=float), "blue")]
    if result.get("dy") is not None:
        curves.append((f"d/d{result['wrt']}", np.asarray(result["dy"], dtype=float), "red"))
    data = result.get("data") or {}
    if not any(drawable(v).any() for _, v, _ in curves) and not data:
        return "(nothing to draw: no point of the curve is a finite number within +-1e300)"
    plt.clear_figure()
    plt.plotsize(width, height)
    plt.theme("clear")
    for label, v, color in curves:
        for n, (xs, ys) in enumerate(pieces(x, v, TERMINAL_POINTS)):
            plt.plot(xs.tolist(), ys.tolist(), label=label if n == 0 else None,
                     marker="braille", color=color)
    for name, (xd, v) in _data(result, 4 * max(width, height)):
        plt.scatter(xd.tolist(), v.tolist(), label=name, marker="*")
    plt.xlabel(result["wrt"])
    return _ANSI.sub("", plt.build())


def save_plot(result: dict, path: str) -> None:
    """Write the plot to a .png or .svg file, whole or not at all."""
    if not path.lower().endswith((".png", ".svg")):
        raise FileError("plot writes .png or .svg files")
    figure = _figure_class()
    if figure is None:
        raise FileError("saving a plot needs matplotlib: pip install 'bpshell[plot]'")
    _save(plot_figure(result, figure), path)


def _save(fig, path: str) -> None:
    """Write a Figure to path as write_atomic writes: through a link, never over a device,
    and an interrupted write leaves the old file whole."""
    from bpshell.fileio import write_atomic

    buf = io.BytesIO()
    fig.savefig(buf, format=path.lower().rsplit(".", 1)[-1], bbox_inches="tight")
    write_atomic(path, buf.getvalue())


def _needs_figure(what: str):
    figure = _figure_class()
    if figure is None:
        raise FileError(f"saving {what} needs matplotlib: pip install 'bpshell[plot]'")
    return figure


def _figure_class():
    """matplotlib's Figure, or None without the plot extra.

    A Figure is drawn without pyplot, so no backend is chosen and none is switched: in a
    Jupyter kernel the learner's own `%matplotlib` setting stays as it was.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return None
    return Figure


def plot_figure(result: dict, figure):
    """The plot of a function, its derivative and any data points, as a Figure (or the
    decision regions, for points of two columns)."""
    if result.get("regions") is not None:
        return regions_figure(result, figure)
    fig = figure(figsize=(6.4, 4.2), dpi=100)
    ax = fig.subplots()
    x = np.asarray(result["x"], dtype=float).reshape(-1)
    for k, (label, v) in enumerate(_series_of(result)):
        for n, (xs, ys) in enumerate(pieces(x, v, FILE_POINTS)):
            ax.plot(xs, ys, label=label if n == 0 else None, linestyle="--" if k else "-",
                    gid="derivative" if k else "function")
    for name, (xd, v) in _data(result, 600):
        ax.scatter(xd, v, label=name, s=12, color="black")
    ax.set_xlabel(result["wrt"])
    ax.grid(alpha=0.3)
    ax.legend()
    return fig


def plot_svg(result: dict) -> str | None:
    """The plot as SVG text, or None without matplotlib (for a notebook)."""
    figure = _figure_class()
    if figure is None:
        return None
    with _svg_settings():
        return figure_svg(plot_figure(result, figure))


def loss_curve_svg(points, of: str) -> str | None:
    """The loss against the step, as SVG text (None without matplotlib or points).

    The axis is logarithmic when the losses are positive and span more than two decades,
    which is how a fit that converges reads best. The line has id `loss`.
    """
    figure = _figure_class()
    # a fit's trace rows are [step, loss, *reports]: the loss is the second column
    pts = [(float(row[0]), float(row[1])) for row in points if np.isfinite(row[1])]
    if figure is None or not pts:
        return None
    steps, losses = zip(*pts)
    with _svg_settings():
        fig = figure(figsize=(5.6, 3.2), dpi=100)
        ax = fig.subplots()
        ax.plot(steps, losses, gid="loss", marker="." if len(pts) < 30 else None)
        if min(losses) > 0 and max(losses) / min(losses) > 100:
            ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_ylabel(of)
        ax.grid(alpha=0.3)
        return figure_svg(fig)


def _svg_settings():
    """Text kept as text (small, searchable), the same ids each run, and every point drawn:
    a line is not simplified, so the picture holds the data it shows (a path is simplified
    or not when it is made, so this holds while the figure is built and saved)."""
    from matplotlib import rc_context

    return rc_context({"svg.fonttype": "none", "svg.hashsalt": "bpshell",
                       "path.simplify": False})


def figure_svg(fig) -> str:
    """A Figure as SVG text, with no date in it (the same bytes each run)."""
    import io

    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    return buf.getvalue()


# ---------------------------------------------------------------- a fit's curves


def _series(result: dict) -> tuple[str, list[float], dict[str, list[float]]]:
    """The x label and values, and each curve by name: the reports, or else the loss."""
    trace = result["trace"]
    xs = [float(row[0]) for row in trace]
    names = result.get("reports") or []
    if names:
        curves = {n: [float(row[2 + k]) for row in trace] for k, n in enumerate(names)}
    else:
        curves = {"loss": [float(row[1]) for row in trace]}
    xlabel = "epochs" if result.get("batch") is not None else "steps"
    return xlabel, xs, curves


def _unit_range(curves: dict[str, list[float]]) -> bool:
    """Whether every value lies in [0, 1] (accuracies): then the axis is drawn 0 to 1."""
    return all(0.0 <= v <= 1.0 for c in curves.values() for v in c)


def terminal_curves(result: dict, width: int = 78, height: int = 16) -> str:
    """A fit's reports per epoch (or its loss) as text, like the book's Figure 5-31."""
    import plotext as plt

    xlabel, xs, curves = _series(result)
    plt.clear_figure()
    plt.plotsize(width, height)
    plt.theme("clear")
    for name, ys in curves.items():
        plt.plot(xs, ys, label=name, marker="braille")
    if _unit_range(curves):
        plt.ylim(0, 1)
    plt.xlabel(xlabel)
    return _ANSI.sub("", plt.build())


def save_curves(result: dict, path: str) -> None:
    """A fit's curves as an image: the loss per epoch, and beside it each report (train
    and test accuracy in the book's Figure 5-31), written atomically."""
    figure = _needs_figure("the curves")
    xlabel, xs, curves = _series(result)
    reports = bool(result.get("reports"))
    fig = figure(figsize=(9.6 if reports else 6.4, 4.2), dpi=100)
    axes = fig.subplots(1, 2 if reports else 1, squeeze=False)[0]
    axes[0].plot(xs, [float(row[1]) for row in result["trace"]], marker="o", markersize=3,
                 gid="loss")
    axes[0].set_title(f"{result['of']} per {xlabel[:-1]}")
    if reports:
        for k, (name, ys) in enumerate(curves.items()):
            axes[1].plot(xs, ys, marker="os^v"[k % 4], markersize=3, label=name,
                         linestyle="-" if k == 0 else "--")
        if _unit_range(curves):
            axes[1].set_ylim(0, 1.0)
        axes[1].legend(loc="lower right")
    for ax in axes:
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
    _save(fig, path)


# ---------------------------------------------------------------- decision regions

REGION_MARKS = ".+~=-:"  # the region of class k is drawn with REGION_MARKS[k % 6]


def region_map(result: dict, width: int = 60, height: int = 24) -> list[str]:
    """The decision regions as lines of text, top row the largest y: each character is
    its cell's class mark, and a data point is drawn as its label's last digit."""
    regions = np.asarray(result["regions"])
    xs, ys = np.asarray(result["x"]), np.asarray(result["y"])
    cols = np.linspace(0, len(xs) - 1, width).round().astype(int)
    rows = np.linspace(len(ys) - 1, 0, height).round().astype(int)
    cells = [[REGION_MARKS[int(regions[r, c]) % len(REGION_MARKS)] for c in cols]
             for r in rows]
    points = np.asarray(result["data_x"]) if result.get("data_x") is not None else None
    for labels in (result.get("data") or {}).values():
        for (px, py), label in zip(points, labels):
            c = int(round((px - xs[0]) / (xs[-1] - xs[0]) * (width - 1)))
            r = int(round((ys[-1] - py) / (ys[-1] - ys[0]) * (height - 1)))
            cells[r][c] = str(int(label) % 10)
    return ["".join(row) for row in cells]


def save_regions(result: dict, path: str) -> None:
    """The decision regions as an image file."""
    if not path.lower().endswith((".png", ".svg")):
        raise FileError("plot writes .png or .svg files")
    _save(regions_figure(result, _needs_figure("a plot")), path)


def regions_figure(result: dict, figure):
    """The decision regions filled in light colours, the data points over them."""
    from matplotlib import colormaps

    regions = np.asarray(result["regions"])
    k = max(int(regions.max()) + 1 if regions.size else 1, 2)
    fig = figure(figsize=(6.4, 5.0), dpi=100)
    ax = fig.subplots()
    cmap = colormaps["tab10"]
    ax.contourf(result["x"], result["y"], regions, levels=np.arange(-0.5, k + 0.5),
                colors=[cmap(i) for i in range(k)], alpha=0.25)
    ax.contour(result["x"], result["y"], regions, levels=np.arange(0.5, k - 0.5),
               colors="black", linewidths=0.8)
    points = np.asarray(result["data_x"])
    for name, labels in (result.get("data") or {}).items():
        for c in np.unique(labels):
            at = labels == c
            ax.scatter(points[at, 0], points[at, 1], s=12, color=cmap(int(c) % 10),
                       edgecolors="black", linewidths=0.3, label=f"{name} = {int(c)}")
    ax.set_xlabel(f"{result['wrt']}[:, 0]")
    ax.set_ylabel(f"{result['wrt']}[:, 1]")
    ax.set_title(f"decision regions of {result['expr']}")
    if result.get("data"):
        ax.legend(loc="upper right", fontsize=8)
    return fig
