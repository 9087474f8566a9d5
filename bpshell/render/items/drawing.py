"""A Picture as lines of styled text: the book's figure in a terminal (render/draw/text.py).

The grid is plain characters; here each of its texts gets the style the tree view gives
the same thing (names, ops, numbers, gradients), and the node the walk is at is drawn
highlighted, so the two views of `explain NAME step` read alike.
"""

from __future__ import annotations

from bpshell.render.doc import CURRENT, DIM, GRAD, NAME, NUM, OP, Item, Line
from bpshell.render.draw.text import Grid, text_picture
from bpshell.render.format import Style
from bpshell.results.picture import Picture

INDENT = 2
STYLES = {"leaf": NAME, "op": OP, "name": NAME, "value": NUM, "grad": GRAD, "pending": DIM,
          "current": CURRENT}


def drawing_items(pic: Picture, style: Style, room: int, current: int | None = None,
                  measure: Picture | None = None,
                  names: dict[int, str] | None = None) -> list[Item] | None:
    """pic as lines within the terminal's width and `room` lines, or None if it does not
    fit there (the caller shows the tree instead); the rest as text_picture's."""
    if room <= 0:
        return None
    grid = text_picture(pic, style.width - INDENT, room, style.unicode, current, measure,
                        names)
    if grid is None:
        return None
    return grid_lines(grid)


def grid_lines(grid: Grid) -> list[Item]:
    """One Line per row of the grid, its texts styled and the lines between them plain."""
    spans: dict[int, list[tuple[int, int, str]]] = {}
    for row, start, stop, what in grid.spans:
        spans.setdefault(row, []).append((start, stop, STYLES.get(what, "")))
    out: list[Item] = []
    for y, text in enumerate(grid.lines):
        ln, at = Line(indent=INDENT), 0
        for start, stop, name in sorted(spans.get(y, [])):
            ln.add(text[at:start])
            ln.add(text[start:stop], name)
            at = stop
        ln.add(text[at:])
        out.append(ln)
    return out
