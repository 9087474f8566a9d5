"""Items as HTML, for Jupyter: the same lines, tables and trees that text.py and
rich_backend.py draw, so a notebook shows what the shell shows.

Every style is written inline (`style="..."`), not in a <style> sheet: a notebook that is
not trusted has its sheets stripped, and inline styles also override the notebook's own
table CSS (right-aligned cells, striped rows). Trees are nested lists drawn with an
explicit stack, so a chain of thousands of nodes cannot exhaust the recursion limit.
"""

from __future__ import annotations

import base64
import os
import re
from html import escape

from bpshell.render.doc import DIM, NAME, OP, Item, Line, Table, TreeNode, line
from bpshell.render.format import Style
from bpshell.render.items import items_for
from bpshell.render.text import to_text
from bpshell.results.result import present_with

# the style names of doc.py as CSS, the colours of rich_backend.STYLES on a white page
CSS = {
    "name": "font-weight:bold;color:#0a7e8c",
    "op": "color:#a626a4",
    "grad": "color:#1a7f37",
    "deriv": "color:#9a6700",
    "dim": "color:#6e7781",
    "ok": "font-weight:bold;color:#1a7f37",
    "bad": "font-weight:bold;color:#cf222e",
    "err": "font-weight:bold;color:#cf222e",
    "head": "font-weight:bold",
    "warn": "font-weight:bold;color:#bf8700",
    "sym": "color:#0550ae",
}
MONO = "font-family:var(--jp-code-font-family,monospace);font-size:var(--jp-code-font-size,13px)"
_BOX = f"{MONO};line-height:1.35;text-align:left"
_PRE = "white-space:pre;margin:0"
_CELL = "text-align:left;vertical-align:top;white-space:pre;padding:0 2ch 0 0;border:none;" \
        "background:none"
_TABLE = "border-collapse:collapse;table-layout:auto;margin:0.2em auto 0.2em {indent}ch;" \
         "font-family:inherit;font-size:inherit"
_UL = "list-style:none;margin:0;padding-left:{pad};{border}"

# how results are written in a notebook: big arrays summarized, lines broken near 100
NOTEBOOK = Style(unicode=True, whole=False, width=100)


def items_html(items: list[Item]) -> str:
    """All items in one <div>."""
    return f'<div class="bpshell" style="{_BOX}">' + "".join(map(item_html, items)) + "</div>"


def item_html(item: Item) -> str:
    if isinstance(item, Line):
        return _line(item)
    if isinstance(item, Table):
        return _table(item)
    if isinstance(item, TreeNode):
        return _tree(item)
    raise TypeError(f"cannot draw {type(item).__name__}")


def spans(ln: Line) -> str:
    """A line's segments, each in a <span> with its style's CSS."""
    out = []
    for text, style in ln.segs:
        css = CSS.get(style, "")
        out.append(f'<span style="{css}">{escape(text)}</span>' if css else escape(text))
    return "".join(out)


def _line(ln: Line) -> str:
    pad = f";padding-left:{ln.indent}ch" if ln.indent else ""
    return f'<div style="{_PRE}{pad}">{spans(ln)}</div>'


def _cell(cell, style: str) -> str:
    if isinstance(cell, Line):
        return spans(cell)
    css = CSS.get(style, "")
    return f'<span style="{css}">{escape(cell)}</span>' if css and cell else escape(cell)


def _table(t: Table) -> str:
    out = [] if t.title is None else [_line(t.title)]
    out.append(f'<table style="{_TABLE.format(indent=t.indent)}">')
    ncols = max([len(t.columns)] + [len(r) for r in t.rows])
    if t.columns:
        head = "".join(f'<th style="{_CELL};font-weight:bold;border-bottom:1px solid #999">'
                       f"{escape(c)}</th>" for c in t.columns)
        out.append(f"<thead><tr>{head}</tr></thead>")
    styles = t.styles + [""] * ncols
    out.append("<tbody>")
    for row in t.rows:
        cells = "".join(f'<td style="{_CELL}">{_cell(c, styles[k])}</td>'
                        for k, c in enumerate(row))
        out.append(f'<tr style="background:none">{cells}</tr>')
    out.append("</tbody></table>")
    return "".join(out)


def _tree(root: TreeNode) -> str:
    """Nested <ul>s with a guide line on the left of each level, built with a stack."""
    top = _UL.format(pad="0", border="")
    inner = _UL.format(pad="1.4em", border="border-left:1px solid #bbb;margin-left:0.4em")
    out = [f'<ul style="{top}">']
    stack: list[TreeNode | str] = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            out.append(node)
            continue
        label = "".join(_line(ln) for ln in node.label)
        out.append(f'<li style="margin:0">{label}')
        if node.children:
            out.append(f'<ul style="{inner}">')
            stack.append("</ul></li>")
            stack.extend(reversed(node.children))
        else:
            out.append("</li>")
    out.append("</ul>")
    return "".join(out)


# ---------------------------------------------------------------- whole results


def result_items(r: dict, style: Style = NOTEBOOK, figure: bool = False) -> list[Item]:
    """The items of a result; a plot that has a figure beside it leaves out its text plot."""
    if figure and r.get("ok", True) and r.get("kind") == "plot":
        out: list[Item] = [line("plot ", (r["expr"], OP), " wrt ", (r["wrt"], NAME))]
        if r.get("file"):
            out.append(line((f"saved to {r['file']}", DIM)))
        return out
    return items_for(r, style)


def picture(r: dict, curve: list | None = None) -> tuple[str, str | bytes] | None:
    """The picture shown under a result, as (MIME type, data), or None.

    A drawing is read back from the file `draw` wrote (SVG or PNG); a plot and a fit's loss
    curve are drawn by matplotlib when the plot extra is installed. curve: the (step, loss)
    points a notebook collected while the fit ran; without it, the fit's trace.
    """
    if not r.get("ok", True):
        return None
    kind = r.get("kind")
    if kind == "draw":
        return drawing_file(r["path"])
    from bpshell.render.plotfile import loss_curve_svg, plot_svg

    if kind == "plot":
        svg = plot_svg(r)
    elif kind == "fit":
        svg = loss_curve_svg(curve or r["trace"], r["of"])
    else:
        return None
    return None if svg is None else ("image/svg+xml", svg)


def drawing_file(path: str) -> tuple[str, str | bytes] | None:
    """What `draw` wrote, for showing inline: an SVG's text or a PNG's bytes."""
    ext = os.path.splitext(path)[1].lower()
    mime = {".svg": "image/svg+xml", ".png": "image/png"}.get(ext)
    if mime is None:
        return None
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    return (mime, data.decode("utf-8")) if ext == ".svg" else (mime, data)


_PROLOG = re.compile(r"^\s*<\?xml[^>]*\?>\s*(<!DOCTYPE[^>]*>\s*)?")


def inline_picture(pic: tuple[str, str | bytes]) -> str:
    """A picture inside HTML: an SVG as its own element, a PNG as a data URL."""
    mime, data = pic
    if mime == "image/svg+xml":
        return f"<div>{_PROLOG.sub('', data)}</div>"
    encoded = base64.b64encode(data).decode("ascii")
    return f'<div><img src="data:{mime};base64,{encoded}"/></div>'


def result_html(r: dict, style: Style = NOTEBOOK) -> str:
    """A result as one piece of HTML, its picture inline (a Result's `_repr_html_`)."""
    pic = picture(r)
    html = items_html(result_items(r, style, figure=pic is not None))
    return html + inline_picture(pic) if pic is not None else html


def result_text(r: dict, style: Style = NOTEBOOK) -> str:
    """A result as the shell writes it (the plain-text fallback)."""
    return to_text(items_for(r, style))


def _drawing_svg(r: dict) -> str | None:
    pic = drawing_file(r["path"]) if r.get("ok", True) and "path" in r else None
    return pic[1] if pic is not None and pic[0] == "image/svg+xml" else None


present_with("html", result_html)
present_with("text", result_text)
present_with("svg", _drawing_svg)

__all__ = ["NOTEBOOK", "items_html", "item_html", "picture", "inline_picture", "result_html",
           "result_text", "result_items"]
