"""`explain NAME` when NAME has symbols without values: the same ledger, in expressions.

Each row is a node from the output down: its upstream gradient (the adjoint reverse mode
has summed for it), and for each input the local derivative and the product sent down.
The rows have the shape of the numeric ledger (numeric/explain.py), with expressions as
text where that has numbers, so that `explain`, its step-through and `quiz` read either.
"""

from __future__ import annotations

import sympy as sp

from bpshell.graph.build import Graph
from bpshell.numeric.tree import local_text, output_label
from bpshell.symbolic.reverse import expressions, local_derivatives


def symbolic_ledger(graph: Graph) -> dict:
    """Rows and leaves like numeric.explain's, every value an expression (str)."""
    nodes = graph.nodes
    value = expressions(graph)
    adj: list = [sp.Integer(0)] * len(nodes)
    adj[graph.root] = sp.Integer(1)
    received: dict[int, list[dict]] = {}
    rows = []
    edges = []  # (row, local, downstream) as SymPy, for quiz to check answers against
    for i in range(len(nodes) - 1, -1, -1):
        node, g = nodes[i], adj[i]
        if node.kind != "op" or g == 0:
            continue
        labels = [nodes[a].label for a in node.args]
        texts = local_text(node, labels, output_label(graph, node))
        locals_ = local_derivatives(node, value, i)
        downstream = []
        for k, a in enumerate(node.args):
            if nodes[a].kind == "const":
                continue
            down = g * locals_[k]
            adj[a] = adj[a] + down
            edges.append((len(rows), locals_[k], down))
            downstream.append({"to": labels[k], "id": a, "local": texts[k],
                               "local_value": str(locals_[k]), "value": str(down),
                               "shape": [], "rule": ""})
            received.setdefault(a, []).append({"from": node.label, "id": i,
                                               "via": node.label, "value": str(down)})
        rows.append({"id": i, "node": node.label, "name": node.name, "op": node.op.name,
                     "value": str(value[i]), "shape": [], "upstream": str(g),
                     "downstream": downstream, "sum_of": _sum_of(received, i)})
    leaves = [{"id": i, "name": n.name or n.label, "value": str(value[i]),
               "grad": str(adj[i]), "sum_of": _sum_of(received, i)}
              for i, n in enumerate(nodes) if n.kind in ("leaf", "symbol") and adj[i] != 0]
    root = nodes[graph.root]
    written = value[graph.root]
    if root.kind == "op" and root.name:  # its definition, not its own name
        from bpshell.symbolic.calls import sympy_call

        written = sympy_call(root.op, *[value[a] for a in root.args])
    return {"rows": rows, "leaves": leaves, "value": str(written), "expressions": value,
            "adjoints": adj, "edges": edges}


def _sum_of(received: dict, i: int) -> list:
    parts = received.get(i, [])
    return parts if len(parts) > 1 else []
