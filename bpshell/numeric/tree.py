"""The graph of a name as nested data: what the shell draws as a tree."""

from __future__ import annotations

import numpy as np
import sympy as sp

from bpshell.graph.build import Node
from bpshell.numeric.passes import Plan, to_plain
from bpshell.symbolic.derive import X, Y


def local_text(node: Node, labels: list[str], out_label: str) -> list[str]:
    """The node's local derivative for each input, in terms of its output where possible."""
    op = node.op
    if op is None:
        return []
    if op.vjps is not None:
        return list(op.rule_text)
    from bpshell.symbolic.local import local

    loc = local(op)
    # a label that is an expression (1 + exp(-x)) is a symbol printed in parentheses, so
    # that -y/(1 + exp(-x)) reads right; a form that is the label alone is left bare
    subs = {X[k]: sp.Symbol(lbl if lbl.isidentifier() else f"({lbl})")
            for k, lbl in enumerate(labels)}
    subs[Y] = sp.Symbol(out_label)
    bare = {str(s): lbl for s, lbl in zip(subs.values(), labels)}
    out = []
    for k in range(op.arity):
        form = loc.output[k] if loc.output[k] is not None else loc.raw[k]
        if loc.output[k] is None and hasattr(loc.call, "func"):
            form = sp.diff(loc.call, X[k])
        text = str(form.xreplace(subs))
        out.append(bare.get(text, text))
    return out


def output_label(graph, node: Node) -> str:
    """How a node's local derivative names its output: its name, else y, unless the graph
    has a y of its own (then the node's expression, so that y means one thing)."""
    if node.name:
        return node.name
    return node.label if "y" in graph.named else "y"


def build_tree(plan: Plan, grads: list | None, root: int, max_nodes: int) -> dict:
    """Nested dicts from root; a node met again becomes {"ref": id}. Built iteratively."""
    nodes = plan.graph.nodes
    seen: set[int] = set()
    count = 0

    def make(i: int) -> dict:
        node = nodes[i]
        labels = [nodes[a].label for a in node.args]
        out_label = node.name or "y"
        d = {
            "id": i,
            "name": node.name,
            "op": node.op.name if node.op else node.kind,
            # how the drawing shows the op (×, ReLU), and its ASCII spelling (*) if it has one
            "label": node.op.label if node.op else None,
            "symbol": node.op.symbol if node.op else None,
            "expr": node.label,
            "local": local_text(node, labels, out_label),
            "value": to_plain(plan.values[i]),
            "grad": None if grads is None else to_plain(grads[i]),
            "shape": list(np.shape(plan.values[i])) if plan.values[i] is not None else [],
            "children": [],
        }
        return d

    def children(i: int) -> list[int]:
        # a default argument (leaky_relu's slope) is not drawn
        return [a for a in nodes[i].args if not (nodes[a].kind == "const" and
                                                 nodes[a].ast is None)]

    top = make(root)
    seen.add(root)
    # pre-order: a node is drawn in full where it is first met reading top-down
    stack = [(top, a) for a in reversed(children(root))]
    while stack:
        parent, a = stack.pop()
        if a in seen:
            parent["children"].append({"ref": a, "name": nodes[a].name,
                                       "op": nodes[a].op.name if nodes[a].op else
                                       nodes[a].kind, "expr": nodes[a].label})
            continue
        count += 1
        if count > max_nodes:
            parent["children"].append({"truncated": True})
            break
        seen.add(a)
        child = make(a)
        parent["children"].append(child)
        stack.extend((child, c) for c in reversed(children(a)))
    return top
