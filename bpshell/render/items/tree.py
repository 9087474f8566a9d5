"""`tree NAME`: the computation graph drawn as the book draws it, one node per operation.

Each node shows its name (or its expression), its value and, after a `grad`, its
gradient; under it, its local derivative for each input (`∂/∂x: y*(1 - y)`), which is
what the backward pass multiplies the upstream gradient by. A node reached a second time
is drawn once and referred to after (`↑ see b`).
"""

from __future__ import annotations

from bpshell.render.doc import (
    CURRENT,
    DERIV,
    DIM,
    GRAD,
    NAME,
    NUM,
    OP,
    SYM,
    Item,
    Line,
    TreeNode,
    line,
)
from bpshell.render.format import Style, is_array
from bpshell.render.items.arrays import brief
from bpshell.render.registry import renders


@renders("tree")
def tree_items(r: dict, style: Style) -> list[Item]:
    root = _build(r["root"], r.get("has_grads", False), style)
    out: list[Item] = [root]
    if r.get("upstream_symbol"):
        out.append(line((f"(gradients for an upstream gradient {r['upstream_symbol']})",
                         DIM)))
    elif not r.get("has_grads"):
        out.append(line((f"(after 'grad {r['of']}' the tree shows gradients too)", DIM)))
    return out


def _build(top: dict, has_grads: bool, style: Style) -> TreeNode:
    """Iteratively, so a deep graph cannot exhaust Python's recursion limit."""
    root = TreeNode(_label(top, has_grads, style))
    stack = [(top, root)]
    while stack:
        data, node = stack.pop()
        for child in data.get("children", []):
            if child.get("truncated"):
                node.children.append(TreeNode([line((style.sym("…", "...") +
                                                     " more nodes not shown", DIM))]))
                continue
            if "ref" in child:
                label = child.get("name") or child.get("expr") or "?"
                node.children.append(TreeNode([line((style.sym("↑", "^") + " see ", DIM),
                                                     (label, NAME))]))
                continue
            sub = TreeNode(_label(child, has_grads, style))
            node.children.append(sub)
            stack.append((child, sub))
    return root


def op_text(n: dict, style: Style) -> str:
    """The op as the result labels it (×, ReLU); in ASCII, its operator spelling (*)."""
    label = n.get("label") or n.get("op", "")
    if style.unicode or label.isascii():
        return label
    return n.get("symbol") or n.get("op", "")


def _label(n: dict, has_grads: bool, style: Style) -> list[Line]:
    op = n.get("op", "")
    head = Line()
    head.add(style.sym("▶ ", "> ") if n.get("current") else "", CURRENT)
    value = n.get("value")
    if op == "const":
        head.add(n.get("expr") or brief(value, style), NUM)
    elif op in ("leaf", "symbol"):
        head.add(n.get("name") or n.get("expr") or "?", NAME)
        if op == "symbol":
            head.add("  symbol", DIM)
    elif n.get("name"):
        head.add(n["name"], NAME).add(f" [{op_text(n, style)}]", OP)
    elif n.get("definition"):
        head.add(n.get("expr") or op, NAME).add(" = ").add(n["definition"], SYM)
        head.add(f" [{op_text(n, style)}]", OP)
    else:
        head.add(n.get("expr") or op, SYM)
    if value is not None and op != "const":
        head.add(" = ").add(brief(value, style), NUM)
    elif value is None and op not in ("symbol", "const"):
        head.add("  symbolic", DIM)
    lines = [head]
    if has_grads and op != "const":
        grad = n.get("grad")
        if grad is None:
            # in `explain NAME step`, a gradient the backward pass has not reached yet
            text = "?" if n.get("pending") else "no gradient"
        else:
            text = brief(grad, style)
        if is_array(value) or is_array(grad):
            lines.append(line(("grad ", DIM), (text, GRAD)))
        else:
            head.add("   grad ", DIM).add(text, GRAD)
    local = _local_line(n, style)
    if local is not None:
        lines.append(local)
    return _marked(lines, n)


def _marked(lines: list[Line], n: dict) -> list[Line]:
    """The node a step-through is at, drawn highlighted."""
    if n.get("current"):
        lines[0].segs = [(text, CURRENT) for text, _ in lines[0].segs]
    return lines


def _local_line(n: dict, style: Style) -> Line | None:
    """The node's local derivatives, one per input that is not a constant."""
    out = Line(indent=2)
    for entry in n.get("local") or []:
        if out.segs:
            out.add("   ")
        if entry.get("rule"):  # a structural op's rule, as the book writes it (dX = dY @ W.T)
            out.add(entry["form"], DERIV)
            continue
        out.add(style.d("", entry.get("to") or "?") + ": ", DIM).add(entry["form"], DERIV)
    return out if out.segs else None
