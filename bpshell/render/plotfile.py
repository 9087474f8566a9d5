"""Plots of a function and its derivative: text for the terminal, PNG/SVG files, and
SVG for a notebook (with a fit's loss curve).

plotext draws in the terminal (pure Python, small); matplotlib writes image files and is
an optional extra (`pip install 'bpshell[plot]'`), imported only when a picture is asked for.
"""

from __future__ import annotations

import os
import re

import numpy as np

from bpshell.errors import FileError

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def terminal_plot(result: dict, width: int = 78, height: int = 20) -> str:
    """The plot as plain text (braille dots, no colour codes), ready to print anywhere."""
    import plotext as plt

    plt.clear_figure()
    plt.plotsize(width, height)
    plt.theme("clear")
    x = np.asarray(result["x"], dtype=float)
    ok = np.isfinite(result["y"])
    plt.plot(x[ok].tolist(), np.asarray(result["y"])[ok].tolist(), label=result["expr"],
             marker="braille")
    if result.get("dy") is not None:
        dy = np.asarray(result["dy"])
        okd = np.isfinite(dy)
        plt.plot(x[okd].tolist(), dy[okd].tolist(), label=f"d/d{result['wrt']}",
                 marker="braille")
    for name, values in (result.get("data") or {}).items():
        v = np.asarray(values, dtype=float).reshape(-1)
        xd = np.asarray(result["data_x"], dtype=float).reshape(-1)
        plt.scatter(xd.tolist(), v.tolist(), label=name, marker="*")
    plt.xlabel(result["wrt"])
    return _ANSI.sub("", plt.build())


def save_plot(result: dict, path: str) -> None:
    """Write the plot to a .png or .svg file (atomically: a temporary file, then a rename)."""
    if not path.lower().endswith((".png", ".svg")):
        raise FileError("plot writes .png or .svg files")
    figure = _figure_class()
    if figure is None:
        raise FileError("saving a plot needs matplotlib: pip install 'bpshell[plot]'")
    fig = plot_figure(result, figure)
    tmp = f"{path}.tmp{os.getpid()}{os.path.splitext(path)[1]}"
    try:
        fig.savefig(tmp, bbox_inches="tight")
        os.replace(tmp, path)
    except OSError as e:
        raise FileError(f"cannot write {path}: {e.strerror}") from None
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


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
    """The plot of a function, its derivative and any data points, as a Figure."""
    fig = figure(figsize=(6.4, 4.2), dpi=100)
    ax = fig.subplots()
    ax.plot(result["x"], result["y"], label=result["expr"], gid="function")
    if result.get("dy") is not None:
        ax.plot(result["x"], result["dy"], label=f"d/d{result['wrt']}", linestyle="--",
                gid="derivative")
    for name, values in (result.get("data") or {}).items():
        ax.scatter(np.asarray(result["data_x"]).reshape(-1), np.asarray(values).reshape(-1),
                   label=name, s=12, color="black")
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
    pts = [(float(s), float(v)) for s, v in points if np.isfinite(v)]
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
