"""What a learner should be told about a graph: where inf/nan began, kinks, unstable patterns.

Each finding names a node and says why, instead of a nan printed at the end.
"""

from __future__ import annotations

import math
from weakref import WeakKeyDictionary

import numpy as np

from bpshell.graph.build import Graph
from bpshell.numeric.passes import to_plain

EXP_OVERFLOW = 709.78  # log of the largest float64


def _finite(v) -> bool:
    if v is None:
        return True
    if isinstance(v, float):  # np.float64 too: math is 20x cheaper than a ufunc here
        return math.isfinite(v)
    if type(v) is np.ndarray and v.dtype.kind == "f":
        # a finite sum means every element is finite (an inf or a nan would carry into
        # it), at the cost of one reduction and no boolean array; a sum that overflows
        # is checked element by element
        return math.isfinite(v.sum()) or bool(np.isfinite(v).all())
    return bool(np.all(np.isfinite(v)))


def _reason(op: str, xs: list, out) -> str:
    """Why an op turned finite inputs into inf or nan."""
    with np.errstate(all="ignore"):
        if op == "exp" and np.any(np.asarray(xs[0]) > EXP_OVERFLOW):
            return f"exp overflow: an input is above {EXP_OVERFLOW} (exp(710) > 1.8e308)"
        if op == "log":
            if np.any(np.asarray(xs[0]) == 0):
                return "log of 0 is -inf"
            if np.any(np.asarray(xs[0]) < 0):
                return "log of a negative number is nan"
        if op == "sqrt" and np.any(np.asarray(xs[0]) < 0):
            return "sqrt of a negative number is nan"
        if op == "div" and np.any(np.asarray(xs[1]) == 0):
            both = np.any((np.asarray(xs[1]) == 0) & (np.asarray(xs[0]) == 0))
            return "0 / 0 is nan" if both else "division by zero"
        if op == "pow":
            return "power overflows float64" if np.any(np.isinf(out)) else \
                "power of a negative base to a fractional exponent is nan"
    if np.any(np.isnan(out)):
        return f"{op} gives nan for these inputs"
    return f"{op} overflows float64 (above 1.8e308)"


def _summary(v):
    return to_plain(v) if np.size(v) <= 8 else {"shape": list(np.shape(v)),
                                                 "nonfinite": int(np.sum(~np.isfinite(v)))}


def _scalars_finite(values: list) -> bool:
    """True when every value is a finite number, by one exact sum over them all.

    An inf or a nan carries into the sum; arrays, symbols (None) or a sum that overflows
    answer False, and the caller looks node by node. On a large scalar graph this is most
    of the diagnosis saved.
    """
    try:
        # filter(None, ...) drops symbols' None (and zeros, which change no sum)
        return math.isfinite(math.fsum(filter(None, values)))
    except (TypeError, ValueError, OverflowError):
        return False


def first_nonfinite_value(graph: Graph, values: list) -> dict | None:
    """The first node, in forward order, whose value is inf or nan."""
    if _scalars_finite(values):
        return None
    for i, node in enumerate(graph.nodes):
        v = values[i]
        if _finite(v):
            continue
        if node.kind != "op":
            return {"node": node.label, "id": i, "op": node.kind, "inputs": [],
                    "reason": f"{node.label} holds inf or nan"}
        xs = [values[a] for a in node.args]
        if not all(_finite(x) for x in xs):
            continue  # a later node only inherits it; the first cause is earlier
        return {"node": node.label, "id": i, "op": node.op.name,
                "inputs": [{"name": graph.nodes[a].label, "value": _summary(values[a])}
                           for a in node.args],
                "value": _summary(v), "reason": _reason(node.op.name, xs, v)}
    return None


def first_nonfinite_grad(graph: Graph, values: list, grads: list) -> dict | None:
    """The first node, in backward order, whose gradient became inf or nan."""
    if _scalars_finite(grads):
        return None
    nodes = graph.nodes
    for i in range(len(nodes) - 1, -1, -1):
        g = grads[i]
        if g is None or _finite(g):
            continue
        consumers = [j for j in range(i + 1, len(nodes)) if i in nodes[j].args
                     and grads[j] is not None]
        if any(not _finite(grads[j]) for j in consumers):
            continue
        node = nodes[i]
        via = [nodes[j] for j in consumers]
        reason = "the local derivative is inf or nan here"
        for j in consumers:
            c = nodes[j]
            if not _finite(values[j]):
                reason = f"{c.label} is not finite, so its local derivative is not either"
            elif c.op is not None and c.op.name in ("log", "sqrt", "div", "pow"):
                reason = (f"the derivative of {c.op.name} at these inputs is not finite "
                          f"({c.label})")
        return {"node": node.label, "id": i, "grad": _summary(g),
                "via": [c.label for c in via], "reason": reason}
    return None


def _candidates(graph: Graph) -> tuple[list[int], list[int]]:
    """The op nodes that may have a kink, and those a hint may start from.

    A graph never changes once built, and a repeated grad reuses its graph, so these are
    found once per graph rather than by looking at every node on every grad.
    """
    found = _CANDIDATES.get(graph)
    if found is None:
        nodes = graph.nodes
        found = _CANDIDATES[graph] = (
            [i for i, n in enumerate(nodes) if n.kind == "op" and n.op.kink is not None],
            [i for i, n in enumerate(nodes) if n.kind == "op" and n.op.name in _OUTER
             and n.args])
    return found


def kinks(graph: Graph, values: list) -> list[dict]:
    """Nodes evaluated exactly at a point where their op is not differentiable."""
    out = []
    nodes = graph.nodes
    for i in _candidates(graph)[0]:
        node = nodes[i]
        x = values[node.args[0]]
        if x is None:
            continue
        # a scalar is compared as it is: a ufunc per node was most of a large graph's check
        at_zero = int(x == 0) if isinstance(x, float) else int(np.count_nonzero(
            np.asarray(x) == 0))
        if at_zero:
            out.append({"node": node.label, "id": i, "op": node.op.name, "count": at_zero,
                        "convention": node.op.kink})
    return out


_PATTERNS = {
    ("log", "softmax"): ("log of softmax", "log_softmax(x)"),
    ("log", "sigmoid"): ("log of sigmoid", "-softplus(-x)"),
    ("cross_entropy", "softmax"): ("cross_entropy on a softmax output",
                                   "softmax_cross_entropy(x, t) on the logits"),
}


_OUTER = {outer for outer, _ in _PATTERNS} | {"exp"}  # the ops a hint can start from
_CANDIDATES: WeakKeyDictionary[Graph, tuple[list[int], list[int]]] = WeakKeyDictionary()


def hints(graph: Graph, values: list) -> list[dict]:
    """Known unstable patterns, each named once with the stable op to use instead."""
    found: dict[str, dict] = {}
    for i in _candidates(graph)[1]:
        node = graph.nodes[i]
        inner = graph.nodes[node.args[0]]
        if inner.kind == "op":
            key = (node.op.name, inner.op.name)
            if key in _PATTERNS and _PATTERNS[key][0] not in found:
                pattern, stable = _PATTERNS[key]
                found[pattern] = {"pattern": pattern, "node": node.label, "id": i,
                                  "suggest": stable}
        if node.op.name == "exp" and values[node.args[0]] is not None:
            big = np.max(np.asarray(values[node.args[0]])) if np.size(values[node.args[0]]) \
                else 0
            if big > 50 and "exp of a large input" not in found:
                found["exp of a large input"] = {
                    "pattern": "exp of a large input", "node": node.label, "id": i,
                    "suggest": "subtract the max first (as softmax does) or use softplus/"
                               "log_softmax"}
    return list(found.values())


def diagnose(graph: Graph, values: list, grads: list | None) -> dict:
    return {
        "nonfinite_value": first_nonfinite_value(graph, values),
        "nonfinite_grad": None if grads is None else first_nonfinite_grad(graph, values,
                                                                           grads),
        "kinks": kinks(graph, values),
        "hints": hints(graph, values),
    }
