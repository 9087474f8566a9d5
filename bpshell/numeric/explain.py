"""`explain NAME`: the backward pass as a ledger, one row per node, with the numbers.

Each row reads: local derivative x upstream = downstream, for each input. Tensor rows show
the rule with shapes (dW = X.T @ dY: (4x2).T @ (4x3) -> (2x3)); a node that feeds several
consumers shows its gradient as the sum of named contributions.
"""

from __future__ import annotations

import re

import numpy as np

from bpshell.language.printer import to_text
from bpshell.numeric.diagnose import diagnose
from bpshell.numeric.passes import Plan, local_gradient, to_plain
from bpshell.numeric.tree import local_text


def _shape(v) -> str:
    s = np.shape(v)
    return "x".join(map(str, s)) if s else "scalar"


def edge(node, k: int, g, xs: list, out):
    """The gradient node sends to input k, and the numeric local derivative (elementwise)."""
    op = node.op
    if op.vjps is not None:
        rule = op.vjps[k]
        return (None if rule is None else rule(g, out, *xs, *node.params)), None
    return local_gradient(op, k, g, xs, out)  # as the backward pass has it


def _shape_rule(node, k: int, labels: list[str], g, xs: list, down) -> str:
    """The rule for input k written with the shapes it is applied to."""
    op = node.op
    dy, dx = _shape(g), _shape(down)
    if op.rule_shapes:
        # the rule in the node's own names, then each operand replaced by its shape:
        # dW = X.T @ dY: (4x2).T @ (4x3) -> (2x3)
        names = dict(zip(op.inputs, labels))
        shapes = {**{n: _shape(x) for n, x in zip(op.inputs, xs)}, "dY": dy}
        operands = "|".join(map(re.escape, op.inputs))
        rule = re.sub(rf"\b(d?)({operands})\b", lambda m: m[1] + names[m[2]], op.rule_text[k])
        applied = re.sub(rf"\b(dY|{operands})\b", lambda m: f"({shapes[m[1]]})",
                         op.rule_text[k].split(" = ", 1)[1])
        return f"{rule}: {applied} -> ({dx})"
    if op.vjps is not None:
        return f"{op.rule_text[k]}: ({dy}) -> ({dx})"
    if np.shape(down) != np.shape(g):
        return f"d{labels[k]} = local * dY, summed over broadcast axes: ({dy}) -> ({dx})"
    return ""


def explain(plan: Plan, grads: list) -> dict:
    graph = plan.graph
    nodes, vals = graph.nodes, plan.values
    received: dict[int, list[dict]] = {}
    rows = []
    for i in range(len(nodes) - 1, -1, -1):
        node, g = nodes[i], grads[i]
        if node.kind != "op" or g is None:
            continue
        xs = [vals[a] for a in node.args]
        labels = [nodes[a].label for a in node.args]
        symbolic = local_text(node, labels, node.name or "y")
        downstream = []
        for k, a in enumerate(node.args):
            if nodes[a].kind == "const" or grads[a] is None:
                continue
            down, d = edge(node, k, g, xs, vals[i])
            if down is None:
                continue
            entry = {"to": labels[k], "id": a, "local": symbolic[k] if k < len(symbolic)
                     else None, "local_value": None if d is None else to_plain(d),
                     "value": to_plain(down), "shape": list(np.shape(down)),
                     "rule": _shape_rule(node, k, labels, g, xs, down)}
            downstream.append(entry)
            received.setdefault(a, []).append({"from": node.label, "id": i,
                                               "via": _via(node), "value": to_plain(down)})
        rows.append({"id": i, "node": node.label, "name": node.name, "op": node.op.name,
                     "value": to_plain(vals[i]), "shape": list(np.shape(vals[i])),
                     "upstream": to_plain(g), "downstream": downstream,
                     "sum_of": received.get(i, []) if len(received.get(i, [])) > 1 else []})
    leaves = [{"id": i, "name": n.name or n.label, "value": to_plain(vals[i]),
               "grad": to_plain(grads[i]), "sum_of": received.get(i, [])
               if len(received.get(i, [])) > 1 else []}
              for i, n in enumerate(nodes) if n.kind in ("leaf", "symbol") and
              grads[i] is not None]
    return {"rows": rows, "leaves": leaves, **diagnose(graph, vals, grads)}


def _via(node) -> str:
    """How a consumer reads: `b = a*a + a` for a named node, the expression otherwise."""
    text = to_text(node.ast) if node.ast is not None else node.label
    return f"{node.name} = {text}" if node.name else text
