"""Forward and backward passes over a graph, planned once and run as flat loops.

A Plan turns the graph into lists (function, input slots) so that a training loop can
set new leaf values and run forward + backward with no per-pass graph walking. Gradients
accumulate with `+` (never in place), so a value used twice gets the sum of its paths.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..errors import BpError, LimitError, MathError, ShapeError
from ..graph import Graph
from ..symbolic.local import local
from .structural import unbroadcast

_GROWING = {"add", "sub", "mul", "div", "pow", "matmul", "leaky_relu"}


class Plan:
    """A graph's evaluation order as flat lists, reusable across passes."""

    def __init__(self, graph: Graph, max_elements: int = 10_000_000):
        self.graph = graph
        nodes = graph.nodes
        self.values: list = [n.value for n in nodes]
        self.steps: list[tuple[int, Callable, tuple, tuple]] = [
            (i, n.op.forward, n.args, n.params) for i, n in enumerate(nodes) if n.kind == "op"
        ]
        self.max_elements = max_elements
        self._checked_shapes: tuple | None = None
        self._vjps: dict[int, list] = {}

    # -- forward
    def set(self, name: str, value) -> None:
        """Give a leaf a new value (a training loop's next batch or updated weights)."""
        self.values[self.graph.named[name]] = value

    def leaf_shapes(self) -> tuple:
        return tuple(np.shape(self.values[i]) for i, n in enumerate(self.graph.nodes)
                     if n.kind in ("leaf", "const"))

    def forward(self):
        """Compute every op node; None (a symbol) flows through as None."""
        vals = self.values
        check = self._checked_shapes != self.leaf_shapes()
        with np.errstate(all="ignore"):
            for i, fn, args, params in self.steps:
                xs = [vals[a] for a in args]
                if any(x is None for x in xs):
                    vals[i] = None
                    continue
                if check:
                    self._check_size(i, xs)
                try:
                    vals[i] = fn(*xs, *params)
                except BpError:
                    raise
                except (ValueError, TypeError, IndexError, ZeroDivisionError) as e:
                    raise self._error(i, xs, e) from None
                except MemoryError:
                    raise LimitError("out of memory computing this value") from None
        if check:
            self._checked_shapes = self.leaf_shapes()
        return vals[self.graph.root] if self.graph.root >= 0 else None

    def _check_size(self, i: int, xs: list) -> None:
        node = self.graph.nodes[i]
        if node.op.name not in _GROWING or all(np.ndim(x) == 0 for x in xs):
            return
        try:
            if node.op.name == "matmul":
                shape = _matmul_shape(*xs)
            else:
                shape = np.broadcast_shapes(*(np.shape(x) for x in xs))
        except ValueError as e:
            raise self._error(i, xs, e) from None
        size = int(np.prod(shape, dtype=np.float64))
        if size > self.max_elements:
            raise LimitError(f"{node.label} would have {size:,} elements, over the limit of "
                             f"{self.max_elements:,} (BPSHELL_MAX_ELEMENTS raises it)",
                             *(node.pos or (None, None)))

    def _error(self, i: int, xs: list, e: Exception) -> BpError:
        node = self.graph.nodes[i]
        shapes = " and ".join("x".join(map(str, np.shape(x))) or "scalar" for x in xs)
        if node.op.name == "matmul" or "broadcast" in str(e) or "shape" in str(e) \
                or "align" in str(e) or "dimension" in str(e):
            msg = f"shapes {shapes} do not fit for {_spelling(node)}"
            if node.op.name == "matmul":
                msg += ": the inner dimensions must agree"
            err: BpError = ShapeError(msg)
        else:
            err = MathError(f"{node.op.name}: {e}")
        where = self.graph.defs.get(node.stmt)
        if where is not None:
            err.message = f"in {where[0]} = {where[1]} (line {where[2]}): {err.message}"
        elif node.pos is not None:
            err.line, err.column = node.pos
        return err

    # -- backward
    def backward(self, seed, targets: set[int] | None = None) -> list:
        """Gradients of the root (weighted by seed) for every node that leads to a target.

        targets: node ids whose gradient is wanted; None means every non-constant node.
        """
        nodes = self.graph.nodes
        vals = self.values
        n = len(nodes)
        need = [False] * n
        for i, node in enumerate(nodes):
            if targets is None:
                need[i] = node.kind != "const" and (node.kind != "op" or
                                                     any(need[a] for a in node.args))
            else:
                need[i] = i in targets or (node.kind == "op" and any(need[a] for a in node.args))
        grads: list = [None] * n
        grads[self.graph.root] = seed
        with np.errstate(all="ignore"):
            for i in range(n - 1, -1, -1):
                g = grads[i]
                node = nodes[i]
                if g is None or node.kind != "op":
                    continue
                args = node.args
                xs = [vals[a] for a in args]
                out = vals[i]
                for k, a in enumerate(args):
                    if not need[a]:
                        continue
                    ga = self._vjp(node, k, g, xs, out)
                    if ga is None:
                        continue
                    grads[a] = ga if grads[a] is None else grads[a] + ga
        return grads

    def _vjp(self, node, k: int, g, xs: list, out):
        op = node.op
        if op.vjps is not None:
            rule = op.vjps[k]
            return None if rule is None else rule(g, out, *xs, *node.params)
        loc = local(op)
        d = loc.numeric[k]
        if loc.constant[k]:
            ga = g if d == 1.0 else (-g if d == -1.0 else g * d)
        else:
            ga = g * d(*xs, out)
        shape = np.shape(xs[k])
        if np.shape(ga) != shape:
            ga = unbroadcast(ga, shape)
        return ga


def _matmul_shape(a, b) -> tuple:
    sa, sb = np.shape(a), np.shape(b)
    if len(sa) == 0 or len(sb) == 0:
        raise ValueError("matmul: scalar operand")
    ka = sa[-1]
    kb = sb[0] if len(sb) == 1 else sb[-2]
    if ka != kb:
        raise ValueError("matmul: inner dimensions do not align")
    a2 = sa if len(sa) > 1 else (1,) + sa
    b2 = sb if len(sb) > 1 else sb + (1,)
    batch = np.broadcast_shapes(a2[:-2], b2[:-2])
    out = batch + (a2[-2], b2[-1])
    if len(sa) == 1:
        out = out[:-2] + out[-1:]
    if len(sb) == 1:
        out = out[:-1]
    return out


def _spelling(node) -> str:
    op = node.op
    return f"'{op.symbol}'" if op.symbol else op.name


def to_plain(v):
    """Scalars as Python floats, arrays as float64 arrays: the form results carry."""
    if v is None:
        return None
    if np.ndim(v) == 0:
        return float(v)
    return np.asarray(v, dtype=np.float64)
