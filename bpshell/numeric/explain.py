"""`explain NAME`: the backward pass as a ledger, one row per node, with the numbers.

Each row reads: local derivative x upstream = downstream, for each input. Tensor rows show
the rule with shapes (dW = X.T @ dY: (4x2).T @ (4x3) -> (2x3)); relu on arrays shows the
book's mask; a node that feeds several consumers shows its gradient as the sum of named
contributions. The formulas come from `Formulas`: real expressions with named inputs.
"""

from __future__ import annotations

import re

import numpy as np

from bpshell.language.printer import to_text
from bpshell.numeric.diagnose import diagnose
from bpshell.numeric.passes import Plan, to_plain
from bpshell.ops.structural import unbroadcast
from bpshell.symbolic.ledger import Formulas
from bpshell.symbolic.local import local


def _shape(v) -> str:
    s = np.shape(v)
    return "x".join(map(str, s)) if s else "scalar"


def clean(v):
    """A value as results carry it, with -0 as 0 (a gradient of -0. reads as a sign)."""
    v = to_plain(v)
    return v if v is None else v + 0.0


def edge(node, k: int, g, xs: list, out):
    """The gradient node sends to input k, and the numeric local derivative (elementwise)."""
    op = node.op
    if op.vjps is not None:
        rule = op.vjps[k]
        return (None if rule is None else rule(g, out, *xs, *node.params)), None
    loc = local(op)
    if loc.constant[k] and loc.numeric[k] == 0.0:  # no gradient flows (a comparison)
        return None, None
    d = loc.numeric[k] if loc.constant[k] else loc.numeric[k](*xs, out)
    with np.errstate(all="ignore"):
        ga = np.multiply(g, d)
    return unbroadcast(ga, np.shape(xs[k])), d


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


def _entry(f: Formulas, node, e: dict, g, xs: list, out) -> dict | None:
    """What one input receives: its local derivative, the product, the rule or mask."""
    labels = [f.name(a) for a in node.args]
    down, d = None, None
    for k in e["edges"]:  # x*x: both edges go to x, and the entry is their sum
        dk, lk = edge(node, k, g, xs, out)
        if dk is None:
            return None
        down = dk if down is None else down + dk
        d = lk if d is None else d + lk
    k = e["edges"][0]
    entry = {"to": f.name(e["to"]), "id": e["to"], "expr": f.text[e["to"]][0],
             "local": e["local"],
             "local_value": None if d is None else clean(d), "value": clean(down),
             "shape": list(np.shape(down)), "rule": _shape_rule(node, k, labels, g, xs, down),
             "mask": None}
    if e["mask"] is not None and np.ndim(d) > 0:
        zero = np.broadcast_to(np.asarray(d) == 0, np.shape(xs[k]))
        entry["mask"] = {"text": e["mask"], "value": zero.tolist(),
                         "zeroed": int(zero.sum()), "of": int(zero.size)}
    return entry


def explain(plan: Plan, grads: list, taken: set[str] = frozenset()) -> dict:
    graph = plan.graph
    nodes, vals = graph.nodes, plan.values
    f = Formulas(graph, graph.root, taken)
    received: dict[int, list[dict]] = {}
    rows = []
    for i in reversed(f.ids):
        node, g = nodes[i], grads[i]
        if node.kind != "op" or g is None or i in f.const:
            continue
        xs = [vals[a] for a in node.args]
        downstream = []
        for e in f.locals[i]:
            if grads[e["to"]] is None:
                continue
            entry = _entry(f, node, e, g, xs, vals[i])
            if entry is None:
                continue
            downstream.append(entry)
            received.setdefault(e["to"], []).append(
                {"from": f.name(i), "id": i, "via": _via(f, i), "value": entry["value"]})
        rows.append({"id": i, "node": f.name(i), "name": node.name, "op": node.op.name,
                     "definition": f.definition(i), "expr": f.text[i][0],
                     "value": clean(vals[i]), "shape": list(np.shape(vals[i])),
                     "upstream": clean(g), "downstream": downstream,
                     "sum_of": _sums(received, i), "composed": composed(node, g, xs, vals[i])})
    leaves = [{"id": i, "name": f.name(i), "value": clean(vals[i]), "grad": clean(grads[i]),
               "sum_of": _sums(received, i)}
              for i in f.order if nodes[i].kind in ("leaf", "symbol") and grads[i] is not None]
    return {"rows": rows, "leaves": leaves, **diagnose(graph, vals, grads)}


def _sums(received: dict, i: int) -> list[dict]:
    got = received.get(i, [])
    return got if len(got) > 1 else []


def _via(f: Formulas, i: int) -> str:
    """How a consumer reads: `b = a*a + a` for a named node, the expression otherwise."""
    node = f.graph.nodes[i]
    if node.name and node.ast is not None:
        return f"{node.name} = {to_text(node.ast)}"
    return f.name(i)


def composed(node, g, xs: list, out) -> dict | None:
    """A batchnorm node in training as the book's Figure 6-17: the elementary ops it is made
    of (mean, subtract, square, mean, + eps, sqrt, divide, scale, shift) as a graph of their
    own, run forward and backward with the node's upstream gradient, and how far the
    gradient they give x is from the fused rule's."""
    from bpshell.graph.build import Graph, Node
    from bpshell.ops.layers import BATCHNORM_STEPS
    from bpshell.ops.table import OPS

    if node.op.name != "batchnorm" or node.params[0].ctx.mode != "train":
        return None
    sub = Graph()
    ids = {name: sub.add(Node("leaf", name=name, value=np.asarray(v, dtype=np.float64)))
           for name, v in zip(node.op.inputs, xs)}
    for name, op, inputs, params in BATCHNORM_STEPS:
        args = tuple(ids[a] if isinstance(a, str) else
                     sub.add(Node("const", value=a, ast=None)) for a in inputs)
        ids[name] = sub.add(Node("op", OPS[op], args, params, name=name))
    sub.named = {n: i for n, i in ids.items()}
    sub.root = ids["out"]
    plan = Plan(sub)
    plan.forward()
    grads = plan.backward(np.asarray(g, dtype=np.float64))
    ledger = explain(plan, grads)
    gap = 0.0
    for k, name in enumerate(node.op.inputs):
        fused = node.op.vjps[k](g, out, *xs, *node.params)
        gap = max(gap, float(np.max(np.abs(np.subtract(fused, grads[ids[name]])))))
    return {"rows": ledger["rows"], "leaves": ledger["leaves"], "gap": gap}
