"""Plots of a function and its derivative: text for the terminal, PNG/SVG files.

plotext draws in the terminal (pure Python, small); matplotlib writes image files and is
an optional extra (`pip install 'bpshell[plot]'`), imported only when a file is asked for.
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
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise FileError("saving a plot needs matplotlib: pip install 'bpshell[plot]'") from None
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=100)
    ax.plot(result["x"], result["y"], label=result["expr"])
    if result.get("dy") is not None:
        ax.plot(result["x"], result["dy"], label=f"d/d{result['wrt']}", linestyle="--")
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
