"""Pictures of the chapter 6 lab: optimizer paths over contour lines (Figure 6-8), loss
curves, and activation histograms (Figures 6-10 to 6-14), as text and as image files.

The text pictures are character grids drawn here cell by cell, so that a test can read
every mark back to the number it stands for: in a contour panel, column c of W stands for
x = x0 + c*(x1 - x0)/(W - 1) and row r of H for y = y1 - r*(y1 - y0)/(H - 1). The loss
curves are drawn with plotext, as `plot` draws. Image files need matplotlib (the `plot`
extra), imported only when one is asked for.
"""

from __future__ import annotations

import os
import re

import numpy as np

from bpshell.errors import FileError

CONTOUR, SEGMENT, POINT, START, MINIMUM = "·", "*", "o", "S", "+"
_ASCII = {"·": "."}
_BLOCKS = " ▁▂▃▄▅▆▇█"
_ASCII_BLOCKS = " ..::==##"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
NAMES = {"sgd": "SGD", "momentum": "Momentum", "nesterov": "Nesterov", "adagrad": "AdaGrad",
         "rmsprop": "RMSprop", "adam": "Adam"}


# ---------------------------------------------------------------- contour panels


def levels(z: np.ndarray, top: float | None = None, k: int = 4) -> np.ndarray:
    """k contour levels from the lowest loss up to top (the loss at the start, so the lines
    are those the paths cross), spaced as squares: around a quadratic bowl the lines are
    then evenly spaced, as in the book's figure."""
    lo = float(np.nanmin(z))
    hi = float(np.nanmax(z)) if top is None or not top > lo else float(top)
    return lo + (hi - lo) * (np.arange(1, k + 1) / k) ** 2


def cell(v: float, lo: float, hi: float, n: int) -> int:
    """The column (or row, counted from the bottom) that value v falls in of n."""
    return int(round((v - lo) / (hi - lo) * (n - 1)))


def _sample(grid: dict, width: int, height: int) -> np.ndarray:
    """The loss at each cell's centre, read from the nearest grid point (row 0 at the top)."""
    xs, ys, z = (np.asarray(grid[k], dtype=np.float64) for k in ("x", "y", "z"))
    cx = np.linspace(xs[0], xs[-1], width)
    cy = np.linspace(ys[-1], ys[0], height)
    ix = np.clip(np.searchsorted(xs, cx), 0, len(xs) - 1)
    iy = np.clip(np.searchsorted(ys, cy), 0, len(ys) - 1)
    return z[np.ix_(iy, ix)]


def _line(canvas: list[list[str]], a: tuple[int, int], b: tuple[int, int]) -> None:
    """Cells between two points (Bresenham), marked where nothing stronger is drawn."""
    (r0, c0), (r1, c1) = a, b
    n = max(abs(r1 - r0), abs(c1 - c0))
    for k in range(1, n):
        r = round(r0 + (r1 - r0) * k / n)
        c = round(c0 + (c1 - c0) * k / n)
        if 0 <= r < len(canvas) and 0 <= c < len(canvas[0]) and canvas[r][c] in (" ",
                                                                                 CONTOUR):
            canvas[r][c] = SEGMENT


def contour_panel(run: dict, grid: dict, width: int, height: int) -> list[str]:
    """One optimizer's path over the loss's contour lines, with its axes, as lines."""
    xs, ys = grid["x"], grid["y"]
    x0, x1, y0, y1 = float(xs[0]), float(xs[-1]), float(ys[0]), float(ys[-1])
    z = _sample(grid, width, height)
    band = np.searchsorted(levels(np.asarray(grid["z"]), run["loss"][0]), z)
    canvas = [[" "] * width for _ in range(height)]
    for r in range(height):  # a line is the cells just inside a level: one cell thick
        for c in range(width):
            near = [band[r2, c2] for r2, c2 in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1))
                    if 0 <= r2 < height and 0 <= c2 < width]
            if any(b > band[r, c] for b in near):
                canvas[r][c] = CONTOUR
    zmin = np.unravel_index(int(np.nanargmin(z)), z.shape)
    canvas[zmin[0]][zmin[1]] = MINIMUM
    cells = []
    for x, y in run["path"]:
        if not (np.isfinite(x) and np.isfinite(y)):
            break
        c, r = cell(x, x0, x1, width), height - 1 - cell(y, y0, y1, height)
        if 0 <= r < height and 0 <= c < width:
            cells.append((r, c))
    for a, b in zip(cells, cells[1:]):
        _line(canvas, a, b)
    for k, (r, c) in enumerate(cells):
        canvas[r][c] = START if k == 0 else POINT
    return _framed(canvas, run, (x0, x1, y0, y1))


def _framed(canvas: list[list[str]], run: dict, box: tuple) -> list[str]:
    x0, x1, y0, y1 = box
    width = len(canvas[0])
    top, bottom = f"{y1:.3g}", f"{y0:.3g}"
    pad = max(len(top), len(bottom))
    loss = run["loss"]
    title = f"{NAMES.get(run['optimizer'], run['optimizer'])} (lr {run['lr']:g}): " \
            f"loss {loss[0]:.4g} -> {loss[-1]:.4g}"
    out = [" " * (pad + 1) + title[: width + 1]]
    for r, row in enumerate(canvas):
        label = top if r == 0 else bottom if r == len(canvas) - 1 else ""
        out.append(f"{label:>{pad}}|" + "".join(row))
    left, right = f"{x0:.3g}", f"{x1:.3g}"
    out.append(" " * pad + "+" + "-" * width)
    out.append(" " * (pad + 1) + left + " " * max(1, width - len(left) - len(right)) + right)
    return out


def side_by_side(panels: list[list[str]], total: int, gap: int = 3) -> list[str]:
    """Panels in rows as many as fit in total columns, each row's panels side by side."""
    if not panels:
        return []
    w = max(len(line) for p in panels for line in p)
    per_row = max(1, (total + gap) // (w + gap))
    out: list[str] = []
    for k in range(0, len(panels), per_row):
        row = panels[k:k + per_row]
        h = max(len(p) for p in row)
        for i in range(h):
            parts = [(p[i] if i < len(p) else "").ljust(w) for p in row]
            out.append((" " * gap).join(parts).rstrip())
        out.append("")
    return out[:-1]


def ascii_only(lines: list[str], unicode: bool) -> list[str]:
    if unicode:
        return lines
    table = str.maketrans({**_ASCII, **dict(zip(_BLOCKS, _ASCII_BLOCKS))})
    return [line.translate(table) for line in lines]


def loss_curves(result: dict, width: int, height: int = 14) -> str:
    """Every run's loss against the step, on a log scale when every loss is positive."""
    import plotext as plt

    plt.clear_figure()
    plt.plotsize(width, height)
    plt.theme("clear")
    positive = all(v > 0 for r in result["runs"] for v in r["loss"] if np.isfinite(v))
    for r in result["runs"]:
        steps = list(range(len(r["loss"])))
        ok = [(s, v) for s, v in zip(steps, r["loss"]) if np.isfinite(v)]
        plt.plot([s for s, _ in ok], [v for _, v in ok],
                 label=NAMES.get(r["optimizer"], r["optimizer"]), marker="braille")
    if positive:
        plt.yscale("log")
    plt.xlabel("step")
    plt.ylabel("loss")
    return _ANSI.sub("", plt.build())


# ---------------------------------------------------------------- histograms


def hist_panel(name: str, counts: list[int], edges, height: int = 8,
               outside: int = 0) -> list[str]:
    """Bars one column per bin, in eighths of a row: a bin's count is its height."""
    top = max(max(counts), 1)
    eighths = [round(c / top * height * 8) for c in counts]
    rows = []
    for r in range(height):
        floor = (height - 1 - r) * 8
        rows.append("|" + "".join(_BLOCKS[min(8, max(0, e - floor))] for e in eighths))
    left, right = f"{edges[0]:.3g}", f"{edges[-1]:.3g}"
    width = len(counts)
    note = f", {outside} outside" if outside else ""
    title = f"{name} (max {top}{note})"
    axis = "+" + "-" * width
    labels = " " + left + " " * max(1, width - len(left) - len(right)) + right
    return [title, *rows, axis, labels]


# ---------------------------------------------------------------- files


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise FileError("saving a picture needs matplotlib: pip install 'bpshell[plot]'") \
            from None
    return plt


def _save(fig, plt, path: str) -> None:
    """Written to a temporary file, then renamed: a failed save leaves no half file."""
    if not path.lower().endswith((".png", ".svg")):
        plt.close(fig)
        raise FileError("pictures are written as .png or .svg files")
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


def save_compare(result: dict, path: str) -> None:
    """Figure 6-8: a panel per optimizer, its path over the contour lines, and the losses."""
    if not path.lower().endswith((".png", ".svg")):
        raise FileError("pictures are written as .png or .svg files")
    plt = _pyplot()
    runs, grid = result["runs"], result["grid"]
    n = len(runs)
    fig = plt.figure(figsize=(3.2 * max(n, 2), 6.4 if grid is not None else 3.4), dpi=100)
    spec = fig.add_gridspec(2 if grid is not None else 1, n)
    if grid is not None:
        z = np.asarray(grid["z"])
        for k, r in enumerate(runs):
            ax = fig.add_subplot(spec[0, k])
            ax.contour(grid["x"], grid["y"], z, levels=levels(z, r["loss"][0]),
                       linewidths=0.6)
            pts = np.asarray(r["path"], dtype=np.float64)
            ax.plot(pts[:, 0], pts[:, 1], "o-", color="red", markersize=3, linewidth=0.8)
            low = np.unravel_index(int(np.nanargmin(z)), z.shape)
            ax.plot(grid["x"][low[1]], grid["y"][low[0]], "+", color="black")
            ax.set_title(NAMES.get(r["optimizer"], r["optimizer"]))
            ax.set_xlabel(result["names"][0])
            if k == 0:
                ax.set_ylabel(result["names"][1])
    ax = fig.add_subplot(spec[-1, :])
    for r in runs:
        ax.plot(r["loss"], label=f"{NAMES.get(r['optimizer'], r['optimizer'])} "
                                 f"(lr {r['lr']:g})")
    if all(v > 0 for r in runs for v in r["loss"] if np.isfinite(v)):
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel(result["of"])
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    _save(fig, plt, path)


def save_hist(result: dict, path: str) -> None:
    """Figures 6-10 to 6-14: one histogram per name, side by side."""
    if not path.lower().endswith((".png", ".svg")):
        raise FileError("pictures are written as .png or .svg files")
    plt = _pyplot()
    n = len(result["names"])
    fig, axes = plt.subplots(1, n, figsize=(2.6 * n, 2.6), dpi=100, squeeze=False)
    edges = np.asarray(result["edges"])
    for ax, name, counts in zip(axes[0], result["names"], result["counts"]):
        ax.stairs(counts, edges, fill=True)
        ax.set_title(name)
    for ax in axes[0][1:]:
        ax.set_yticks([])
    fig.tight_layout()
    _save(fig, plt, path)
