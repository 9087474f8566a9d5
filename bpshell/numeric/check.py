"""Gradient check: central finite differences against backprop, leaf by leaf.

Tolerances follow torch.autograd.gradcheck: eps = 1e-6, atol = 1e-5, rtol = 1e-3; an
element passes when |backprop - numeric| <= atol + rtol * |numeric|.
"""

from __future__ import annotations

import numpy as np

from bpshell.numeric.passes import Plan
from bpshell.ops.table import holds_labels


def differentiable(plan: Plan, i: int) -> bool:
    """Whether node i can have a gradient: False when every op that reads it reads it as
    integer class labels (a loss's t) or through an input with no gradient rule."""
    vals = plan.values
    for node in plan.graph.nodes:
        if node.kind != "op" or i not in node.args:
            continue
        op = node.op
        for k, a in enumerate(node.args):
            if a != i:
                continue
            if op.vjps is None:
                return True
            if op.vjps[k] is not None and not holds_labels(op, k, [vals[b] for b in node.args]):
                return True
    return False


def _objective(plan: Plan, seed) -> float:
    out = plan.forward()
    return float(np.sum(np.multiply(out, seed)))


def gradient_check(plan: Plan, grads: list, eps: float, atol: float, rtol: float,
                   max_elements: int, names: list[str] | None = None,
                   differentiable=differentiable) -> dict:
    """Backprop against central differences for each leaf in names (every leaf that can
    have a gradient when None): per leaf, the largest difference and where it is."""
    g = plan.graph
    root_value = plan.values[g.root]
    seed = 1.0 if np.ndim(root_value) == 0 else np.ones(np.shape(root_value))
    if names is None:
        names = [n for n, i in g.named.items()
                 if g.nodes[i].kind == "leaf" and differentiable(plan, i)]
    results = {}
    for name in names:
        i = g.named[name]
        base = np.array(plan.values[i], dtype=np.float64)
        analytic = np.broadcast_to(np.asarray(0.0 if grads[i] is None else grads[i],
                                              dtype=np.float64), base.shape)
        flat_idx = np.arange(base.size)
        if base.size > max_elements:
            flat_idx = np.linspace(0, base.size - 1, max_elements).astype(np.int64)
        numeric = _numeric_gradient(plan, i, base, flat_idx, eps, seed)
        a = analytic.reshape(-1)[flat_idx]
        results[name] = _compare(a, numeric, flat_idx, base.shape, atol, rtol)
    return results


def _numeric_gradient(plan: Plan, i: int, base: np.ndarray, flat_idx, eps: float, seed):
    """The book's numerical_gradient: (f(x + h) - f(x - h)) / 2h, one element at a time."""
    original = plan.values[i]
    numeric = np.empty(len(flat_idx))
    try:
        for k, j in enumerate(flat_idx):
            x = base.copy()
            x.flat[j] += eps
            plan.values[i] = x if base.ndim else float(x)
            fp = _objective(plan, seed)
            x.flat[j] -= 2 * eps
            plan.values[i] = x if base.ndim else float(x)
            fm = _objective(plan, seed)
            numeric[k] = (fp - fm) / (2 * eps)
    finally:
        plan.values[i] = original
        plan.forward()
    return numeric


def _compare(a, numeric, flat_idx, shape: tuple, atol: float, rtol: float) -> dict:
    """The largest |backprop - numeric|, its index and both values there; the book's
    figure (the mean |difference|); and whether every element is within tolerance."""
    err = np.abs(a - numeric)
    with np.errstate(all="ignore"):
        scale = np.maximum(np.abs(a), np.abs(numeric))
        rel = np.where(scale > 0, err / scale, 0.0)
    finite = np.isfinite(err)
    passed = bool(np.all(finite) and np.all(err <= atol + rtol * np.abs(numeric)))
    worst = int(np.argmax(np.where(finite, err, np.inf))) if err.size else 0
    where = [int(v) for v in np.unravel_index(int(flat_idx[worst]), shape)] if shape else []
    return {
        "max_abs_error": float(err[worst]) if err.size else 0.0,
        "max_rel_error": float(np.max(rel)) if rel.size else 0.0,
        "mean_abs_error": float(np.mean(err)) if err.size else 0.0,
        "at": where,
        "backprop": float(a[worst]) if err.size else 0.0,
        "numeric": float(numeric[worst]) if err.size else 0.0,
        "passed": passed,
        "elements": int(len(flat_idx)),
    }
