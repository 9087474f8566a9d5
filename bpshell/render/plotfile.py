"""Plots of a function and its derivative: text for the terminal, PNG/SVG files.

plotext draws in the terminal (pure Python, small); matplotlib writes image files and is
an optional extra (`pip install 'bpshell[plot]'`), imported only when a file is asked for.
"""

from __future__ import annotations

import os
import re

import numpy as np

from bpshell.errors import FileError
from bpshell.results.curve import drawable, runs

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


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
        for n, (a, b) in enumerate(runs(drawable(v))):
            plt.plot(x[a:b].tolist(), v[a:b].tolist(), label=label if n == 0 else None,
                     marker="braille", color=color)
    for name, values in data.items():
        v = np.asarray(values, dtype=float).reshape(-1)
        xd = np.asarray(result["data_x"], dtype=float).reshape(-1)
        ok = drawable(v) & drawable(xd)
        plt.scatter(xd[ok].tolist(), v[ok].tolist(), label=name, marker="*")
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
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=100)
    ax.plot(result["x"], _gaps(result["y"]), label=result["expr"])
    if result.get("dy") is not None:
        ax.plot(result["x"], _gaps(result["dy"]), label=f"d/d{result['wrt']}",
                linestyle="--")
    for name, values in (result.get("data") or {}).items():
        ax.scatter(np.asarray(result["data_x"]).reshape(-1), np.asarray(values).reshape(-1),
                   label=name, s=12, color="black")
    ax.set_xlabel(result["wrt"])
    ax.grid(alpha=0.3)
    ax.legend()
    tmp = f"{path}.tmp{os.getpid()}{os.path.splitext(path)[1]}"
    try:
        fig.savefig(tmp, bbox_inches="tight")
        os.replace(tmp, path)
    except OSError as e:
        raise FileError(f"cannot write {path}: {e.strerror}") from None
    finally:
        plt.close(fig)
        if os.path.exists(tmp):
            os.remove(tmp)


def _gaps(v) -> np.ndarray:
    """The curve with the points it cannot draw as nan: matplotlib leaves a gap there."""
    v = np.asarray(v, dtype=float)
    return np.where(drawable(v), v, np.nan)
