"""Items as plain text: for pipes and files, with no ANSI codes and no rich import.

Lines are never wrapped (a value prints whole); tables are aligned columns under a rule;
trees use the same guides as rich's Tree (box drawing, or ASCII when unicode can't show).
Every piece of text is made visible (render/safe.py) before it is measured or written, so
no control character reaches the terminal and columns still line up.
"""

from __future__ import annotations

import re

from bpshell.render.doc import DERIV, Item, Line, Table, TreeNode, cell_text
from bpshell.render.safe import visible

UNICODE_GUIDES = ("├── ", "└── ", "│   ", "    ", "─")
ASCII_GUIDES = ("|-- ", "`-- ", "|   ", "    ", "-")


def to_text(items: list[Item], unicode: bool = True) -> str:
    """All items, each ending in a newline."""
    out: list[str] = []
    for item in items:
        out.extend(item_lines(item, unicode))
    return "".join(s.rstrip() + "\n" for s in out)


def item_lines(item: Item, unicode: bool = True) -> list[str]:
    if isinstance(item, Line):
        return _indented(item.plain, item.indent)
    if isinstance(item, Table):
        return table_lines(item, unicode)
    if isinstance(item, TreeNode):
        return tree_lines(item, unicode)
    raise TypeError(f"cannot draw {type(item).__name__}")


def _indented(text: str, indent: int) -> list[str]:
    pad = " " * indent
    return [pad + s for s in visible(text).split("\n")]


def table_lines(t: Table, unicode: bool = True) -> list[str]:
    rule = (UNICODE_GUIDES if unicode else ASCII_GUIDES)[4]
    grid = [[visible(cell_text(c)).split("\n") for c in row] for row in t.rows]
    columns = [visible(c) for c in t.columns]
    ncols = max([len(columns)] + [len(r) for r in grid])
    widths = [0] * ncols
    for k, name in enumerate(columns):
        widths[k] = len(name)
    for row in grid:
        for k, cell in enumerate(row):
            widths[k] = max(widths[k], max(len(s) for s in cell))
    pad = " " * t.indent
    out: list[str] = []
    if t.title is not None:
        out.extend(_indented(t.title.plain, t.title.indent))
    if columns:
        out.append(pad + _join([[c] for c in columns], widths)[0])
        out.append(pad + _join([[rule * w] for w in widths], widths)[0])
    for row in grid:
        out.extend(pad + s for s in _join(row, widths))
    return out


def _join(cells: list[list[str]], widths: list[int]) -> list[str]:
    height = max((len(c) for c in cells), default=1)
    lines = []
    for i in range(height):
        parts = [(c[i] if i < len(c) else "").ljust(widths[k]) for k, c in enumerate(cells)]
        lines.append("  ".join(parts).rstrip())
    return lines


def tree_lines(root: TreeNode, unicode: bool = True) -> list[str]:
    """Iteratively: a long chain of nodes must not hit the recursion limit."""
    tee, last, bar, space, _ = UNICODE_GUIDES if unicode else ASCII_GUIDES
    out: list[str] = []
    stack: list[tuple[TreeNode, str, str]] = [(root, "", "")]  # node, first prefix, rest
    while stack:
        node, first, rest = stack.pop()
        texts = [s for ln in node.label for s in _indented(ln.plain, ln.indent)]
        out.append(first + texts[0])
        out.extend(rest + s for s in texts[1:])
        n = len(node.children)
        for k in range(n - 1, -1, -1):
            is_last = k == n - 1
            stack.append((node.children[k], rest + (last if is_last else tee),
                          rest + (space if is_last else bar)))
    return out


def natural_width(item: Item, unicode: bool = True) -> int:
    """The columns an item takes when drawn whole, without wrapping."""
    return max((len(s.rstrip()) for s in item_lines(item, unicode)), default=0)


_PIECE = re.compile(r"\S+\s*|\s+")


def wrap_line(ln: Line, width: int, hang: int = 4) -> list[Line]:
    """ln in lines of at most width columns, broken only at spaces, never inside a token.

    Continuation lines are indented by `hang` more columns; a single token wider than the
    line is kept whole on a line of its own (breaking it would change what it says).
    """
    if width <= 0 or len(ln.plain) + ln.indent <= width:
        return [ln]
    out = [Line(indent=ln.indent)]
    used = ln.indent
    room = width - ln.indent - hang
    for text, style in ln.segs:
        # a formula is broken only if it cannot fit a line of its own: `1 if x > 0 else 0`
        whole = style == DERIV and len(text) <= room
        for piece in ([text] if whole else _PIECE.findall(text)):
            word = piece.rstrip()
            if word and used + len(word) > width and out[-1].plain.strip():
                _strip_end(out[-1])
                out.append(Line(indent=ln.indent + hang))
                used = ln.indent + hang
            if not out[-1].segs and not word:
                continue  # no line starts with the spaces that ended the one before
            out[-1].add(piece, style)
            used += len(piece)
    _strip_end(out[-1])
    return out


def _strip_end(ln: Line) -> None:
    while ln.segs and not ln.segs[-1][0].rstrip():
        ln.segs.pop()
    if ln.segs:
        text, style = ln.segs[-1]
        ln.segs[-1] = (text.rstrip(), style)
