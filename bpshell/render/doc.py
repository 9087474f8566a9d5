"""What is shown, apart from how: lines, tables and trees of styled text.

render.py turns each result dict into these items; render_text.py draws them as plain
text (for pipes, without importing rich) and render_rich.py as rich renderables (for a
terminal and for `export`). Both draw the same items, so a pipe and a terminal show the
same content and only the drawing differs.
"""

from __future__ import annotations

from bpshell.records import Value

# style names, mapped to colours by render_rich.STYLES
NAME, OP, NUM, GRAD, DERIV, DIM, OK, BAD, ERR, HEAD, WARN, SYM, CURRENT = (
    "name", "op", "num", "grad", "deriv", "dim", "ok", "bad", "err", "head", "warn", "sym",
    "current")

Seg = tuple[str, str]  # (text, style name or "")


class Line(Value):
    """One line (or a few, when a segment holds newlines) of styled segments."""

    __slots__ = ("segs", "indent")

    segs: list[Seg]
    indent: int

    def __init__(self, segs: list[Seg] | None = None, indent: int = 0):
        self.segs = [] if segs is None else segs
        self.indent = indent

    def add(self, text: str, style: str = "") -> Line:
        if text:
            self.segs.append((text, style))
        return self

    @property
    def plain(self) -> str:
        return "".join(t for t, _ in self.segs)


def line(*parts: str | Seg, indent: int = 0) -> Line:
    """A Line from plain strings and (text, style) pairs."""
    out = Line(indent=indent)
    for p in parts:
        if isinstance(p, tuple):
            out.add(*p)
        else:
            out.add(p)
    return out


Cell = str | Line


class Table(Value):
    """Columns and rows; cells may span several lines."""

    __slots__ = ("columns", "rows", "title", "styles", "indent")

    columns: list[str]
    rows: list[list[Cell]]
    title: Line | None
    styles: list[str]  # one per column
    indent: int

    def __init__(self, columns: list[str], rows: list[list[Cell]], title: Line | None = None,
                 styles: list[str] | None = None, indent: int = 2):
        self.columns = columns
        self.rows = rows
        self.title = title
        self.styles = [] if styles is None else styles
        self.indent = indent


class TreeNode(Value):
    """A node of a drawn tree: a label of one or more lines, and children."""

    __slots__ = ("label", "children")

    label: list[Line]
    children: list[TreeNode]

    def __init__(self, label: list[Line], children: list[TreeNode] | None = None):
        self.label = label
        self.children = [] if children is None else children


Item = Line | Table | TreeNode


def cell_text(cell: Cell) -> str:
    return cell.plain if isinstance(cell, Line) else cell
