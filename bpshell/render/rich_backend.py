"""Items as rich renderables: colours, boxed tables and trees for a terminal and `export`.

Imported only when rich output is wanted (a terminal, `--color always`, `export`), which
keeps a piped run free of rich's import time. Text is made visible (render/safe.py) first:
rich strips a few control codes but passes ESC and the rest through.
"""

from __future__ import annotations

from rich import box
from rich.console import RenderableType
from rich.padding import Padding
from rich.table import Table as RichTable
from rich.text import Text
from rich.tree import Tree

from bpshell.render.doc import Item, Line, Table, TreeNode
from bpshell.render.safe import visible

STYLES = {
    "name": "bold cyan",
    "op": "magenta",
    "num": "",
    "grad": "green",
    "deriv": "yellow",
    "dim": "dim",
    "ok": "bold green",
    "bad": "bold red",
    "err": "bold red",
    "head": "bold",
    "warn": "bold yellow",
    "sym": "blue",
    "current": "reverse bold",  # the node a step-through is at
    "": "",
}


def text(ln: Line, indent: bool = False) -> Text:
    out = Text(" " * ln.indent if indent else "")
    for s, style in ln.segs:
        out.append(visible(s), STYLES.get(style, style))
    return out


def renderable(item: Item, unicode: bool = True) -> RenderableType:
    if isinstance(item, Line):
        t = text(item)
        return Padding(t, (0, 0, 0, item.indent), expand=False) if item.indent else t
    if isinstance(item, Table):
        return _table(item, unicode)
    if isinstance(item, TreeNode):
        return _tree(item)
    raise TypeError(f"cannot draw {type(item).__name__}")


def _cell(cell, style: str) -> Text:
    if isinstance(cell, Line):
        return text(cell)
    return Text(visible(cell), STYLES.get(style, style))


def _table(t: Table, unicode: bool) -> RenderableType:
    table = RichTable(box=box.SIMPLE_HEAD if unicode else box.ASCII, show_header=bool(t.columns),
                      show_edge=False, pad_edge=False, padding=(0, 1, 0, 0))
    ncols = max([len(t.columns)] + [len(r) for r in t.rows])
    while ncols > len(t.columns) and all(len(r) < ncols or not _filled(r[ncols - 1])
                                         for r in t.rows):
        ncols -= 1  # rich folds the column before a trailing column that is all empty
    for k in range(ncols):
        table.add_column(visible(t.columns[k]) if k < len(t.columns) else "", style=None,
                         header_style="bold", overflow="fold")
    styles = t.styles + [""] * ncols
    for row in t.rows:
        table.add_row(*[_cell(c, styles[k]) for k, c in enumerate(row[:ncols])])
    parts: list[RenderableType] = []
    if t.title is not None:
        parts.append(text(t.title))
    parts.append(Padding(table, (0, 0, 0, t.indent), expand=False))
    from rich.console import Group

    return Group(*parts)


def _filled(cell) -> bool:
    return bool(cell.plain if isinstance(cell, Line) else cell)


def _tree(root: TreeNode) -> Tree:
    top = Tree(_label(root), guide_style="dim")
    stack = [(root, top)]
    while stack:
        node, drawn = stack.pop()
        for child in node.children:
            sub = drawn.add(_label(child))
            stack.append((child, sub))
    return top


def _label(node: TreeNode) -> Text:
    return Text("\n").join(text(ln, indent=True) for ln in node.label)
