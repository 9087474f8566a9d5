"""A drawing as PNG: matplotlib (the `plot` extra) draws the same layout as the SVG; without
it, Graphviz's `dot -Tpng` draws the DOT source when `dot` is on PATH.

matplotlib is used through its object API (Figure and the Agg canvas), never pyplot, so
drawing a PNG changes no global state of a session that also plots.
"""

from __future__ import annotations

import io
import shutil
import subprocess

from bpshell.errors import FileError
from bpshell.render.draw.dot import dot_text
from bpshell.render.draw.layout import Layout, layout
from bpshell.results.picture import Picture

DPI = 100
MAX_PIXELS = 30_000  # per side; Agg refuses images past 2**16 pixels
NO_PNG = ("a PNG needs matplotlib (pip install -e '.[plot]') or Graphviz's dot program on "
          "PATH; .svg and .dot need neither")


def png_bytes(pic: Picture) -> bytes:
    """The PNG image of a picture, by matplotlib if importable, else by `dot`."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return _with_dot(pic)
    return _with_matplotlib(layout(pic))


def _with_dot(pic: Picture) -> bytes:
    dot = shutil.which("dot")
    if dot is None:
        raise FileError(NO_PNG)
    try:
        done = subprocess.run([dot, "-Tpng"], input=dot_text(pic).encode(), capture_output=True,
                              timeout=60, check=True)
    except (OSError, subprocess.SubprocessError) as e:
        raise FileError(f"dot could not draw the PNG: {e}") from None
    return done.stdout


def _with_matplotlib(lay: Layout) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch
    from matplotlib.path import Path

    dpi = min(DPI, DPI * MAX_PIXELS / max(lay.width, lay.height))
    fig = Figure(figsize=(lay.width / DPI, lay.height / DPI), dpi=dpi)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, lay.width)
    ax.set_ylim(lay.height, 0)  # y grows downward, as in the SVG
    ax.set_axis_off()
    for line in lay.lines:
        path = Path(line.points, [Path.MOVETO] + [Path.LINETO] * (len(line.points) - 1))
        ax.add_patch(FancyArrowPatch(path=path, arrowstyle="-|>", mutation_scale=9,
                                     color=line.color, linewidth=1.2, shrinkA=0, shrinkB=0))
    for s in lay.shapes:
        if s.kind == "circle":
            patch = Circle((s.x, s.y), s.w / 2)
        else:
            patch = FancyBboxPatch((s.x, s.y), s.w, s.h, boxstyle="round,pad=0,rounding_size=6")
        patch.set(facecolor="white", edgecolor="black", linewidth=1.2, zorder=2)
        ax.add_patch(patch)
    points = 72 / DPI  # pixel sizes to matplotlib's points
    for t in lay.texts:
        ax.text(t.x, t.y, t.text, ha={"middle": "center", "end": "right"}.get(t.anchor, "left"),
                va="baseline", fontsize=t.size * points, family="monospace", color=t.color,
                zorder=3)
    buf = io.BytesIO()
    FigureCanvasAgg(fig).print_png(buf)
    return buf.getvalue()
