"""The graph of a name as nested data: what the shell draws as a tree."""

from __future__ import annotations

import numpy as np

from bpshell.numeric.passes import Plan, to_plain
from bpshell.symbolic.ledger import Formulas


def _clean(v):
    v = to_plain(v)
    return v + 0.0 if v is not None and not isinstance(v, str) else v


def _local(f: Formulas, i: int) -> list[dict]:
    """The node's local derivative for each input: to whom, and the formula."""
    return [{"to": f.name(e["to"]), "id": e["to"], "form": e["local"],
             "rule": e["rule"], "mask": e["mask"]} for e in f.locals.get(i, [])]


def build_tree(plan: Plan, grads: list | None, root: int, max_nodes: int,
               taken: set[str] = frozenset(), symbolic: dict | None = None) -> dict:
    """Nested dicts from root; a node met again becomes {"ref": id}. Built iteratively.

    symbolic, for a graph with unbound symbols, holds each node's gradient as an
    expression (from the symbolic ledger), shown where a numeric tree shows numbers.
    """
    nodes = plan.graph.nodes
    f = Formulas(plan.graph, root, taken)
    seen: set[int] = set()
    count = 0

    def make(i: int) -> dict:
        node = nodes[i]
        constant = i in f.const and node.kind == "op"
        grad = None
        if symbolic is not None:
            grad = symbolic.get(i)
        elif grads is not None:
            grad = _clean(grads[i])
        return {
            "id": i,
            "name": node.name,
            "op": "const" if constant else (node.op.name if node.op else node.kind),
            # how the drawing shows the op (×, ReLU), and its ASCII spelling (*) if it has one
            "label": node.op.label if node.op and not constant else None,
            "symbol": node.op.symbol if node.op and not constant else None,
            "expr": f.name(i),
            "definition": f.definition(i),
            "local": _local(f, i),
            "value": _clean(plan.values[i]),
            "grad": grad,
            "shape": list(np.shape(plan.values[i])) if plan.values[i] is not None else [],
            "children": [],
        }

    def children(i: int) -> list[int]:
        # a default argument (leaky_relu's slope) is not drawn, nor what a constant is made of
        if i in f.const:
            return []
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
                                       nodes[a].kind, "expr": f.name(a)})
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
