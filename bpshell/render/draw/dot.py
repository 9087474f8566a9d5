"""A drawing as Graphviz DOT source: always available, for whoever has `dot` or an editor.

The forward value is the edge's label in black and the gradient a second line in red, in
an HTML-like label, the closest DOT has to "above the arrow" and "below the arrow".
"""

from __future__ import annotations

from html import escape

from bpshell.render.draw.layout import sum_text, value_text
from bpshell.results.picture import PicEdge, PicNode, Picture


def dot_text(pic: Picture) -> str:
    """DOT source for a picture: one statement per node and per edge."""
    lines = [f"// computation graph of {pic.title}", "digraph bpshell {",
             "  rankdir=LR;", '  node [fontname="monospace"];',
             '  edge [fontname="monospace", fontsize=11];']
    if pic.note:
        lines.append(f"  label={_quote(pic.note)};")
    lines += [f"  {_node(n)}" for n in pic.nodes]
    lines += [f"  {_edge(e)}" for e in pic.edges]
    lines.append("}")
    return "\n".join(lines) + "\n"


def _node(n: PicNode) -> str:
    if n.kind in ("leaf", "const", "output"):
        text = n.label
        if n.grad is not None:
            text += "\n" + sum_text(n.grad)
        return f"n{n.id} [shape=plaintext, label={_quote(text)}];"
    shape = "box, style=rounded" if n.kind == "layer" or len(n.symbol or "") > 7 else "circle"
    attrs = f"shape={shape}, label={_quote(n.symbol or '')}"
    extra = [t for t in (n.name, sum_text(n.grad) if n.grad is not None else None) if t]
    if extra:
        attrs += f", xlabel={_quote(chr(10).join(extra))}"
    return f"n{n.id} [{attrs}];"


def _edge(e: PicEdge) -> str:
    rows = [escape(value_text(e.value))]
    if e.grad is not None:
        rows.append(f'<font color="red">{escape(value_text(e.grad))}</font>')
    label = "<" + "<br/>".join(rows) + ">"
    return f'n{e.source} -> n{e.target} [label={label}, id="{e.key}"];'


def _quote(text: str) -> str:
    body = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{body}"'
