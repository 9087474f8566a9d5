"""`draw NAME`: a planned graph and its gradients as a Picture the renderers can draw.

The picture is the book's (chapter 5): values flow left to right along the edges and each
edge carries back the gradient it gives its source. An edge's gradient is its own share,
so a node used twice shows two gradients and, beside the node, their sum. `steps=K` keeps
the gradients known after the backward pass has visited K op nodes (the output's first),
which is how the book walks a figure one node at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bpshell.errors import LimitError
from bpshell.language.printer import to_text
from bpshell.numeric.passes import Plan, to_plain
from bpshell.results.picture import PENDING, PicEdge, PicNode, Picture

# what the book writes in an op's circle; other ops show their name
SYMBOLS = {"add": "+", "sub": "-", "mul": "×", "div": "/", "pow": "**", "neg": "-",
           "matmul": "dot", "T": "T", "id": "=", "relu": "ReLU",
           "softmax_cross_entropy": "Softmax-with-Loss"}
# one-node layers of the book's chapter 5; matmul followed by a bias add is Affine
LAYERS = {"relu": "ReLU", "sigmoid": "Sigmoid", "softmax_cross_entropy": "Softmax-with-Loss"}
SYMBOLIC_BACKWARD = ("a symbolic graph, as the book's Figure 5-20: forward expressions above "
                     "the arrows, and below each the gradient it carries back, in terms of "
                     "the upstream gradient dout")
SYMBOLIC_NOTE = ("a symbolic graph: the edges show forward expressions only; "
                 "diff gives its derivatives symbolically")


@dataclass
class _Graph:
    """The part of the plan that is drawn: node ids reachable from the root, their users."""

    plan: Plan
    ids: list[int]
    users: dict[int, list[tuple[int, int]]]  # node -> (consumer, slot)


def picture(plan: Plan, grads: list | None, root: int, *, layers: bool = False,
            forward_only: bool = False, steps: int | None = None,
            max_nodes: int = 400, order: list[int] | None = None,
            ledger: dict | None = None) -> Picture:
    """The drawing of root's graph.

    grads: per-node gradients from Plan.backward (None or empty when no backward pass ran:
    every gradient is then drawn as not known yet). forward_only: no gradients at all.
    order: the op nodes in the order the backward pass visits them, as the rows of
    `explain` list them (step K has done the first K); by default every op node with a
    gradient, latest first. ledger: a symbolic `explain`'s result, whose gradients the
    edges of a symbolic graph then show (else they are derived here).
    """
    g = _reachable(plan, root, max_nodes)
    groups = _layer_groups(g, root) if layers else {}
    members: dict[int, list[int]] = {}
    for m, gid in groups.items():
        members.setdefault(gid, []).append(m)
    count = sum(1 for i in g.ids if groups.get(i, i) == i) + 1  # and the output
    if count > max_nodes:
        raise _too_many(count, max_nodes, layers)
    symbolic = plan.values[root] is None
    with_grads = not forward_only and not symbolic
    if not grads:
        grads = None
    known, total_steps = _known_steps(g, grads, steps, order)
    pic = Picture(title=plan.graph.nodes[root].label, forward_only=not with_grads,
                  steps_total=total_steps)
    pic.nodes = [_node(plan, i, tuple(members.get(i, ()))) for i in g.ids
                 if groups.get(i, i) == i]
    out_id = len(plan.graph.nodes)
    pic.nodes.append(PicNode(out_id, "output", plan.graph.nodes[root].name or "out"))
    pic.root = out_id
    pic.edges = _edges(g, grads, known, groups, with_grads)
    seed = _grad_or(grads, root, with_grads)
    pic.edges.append(PicEdge(groups.get(root, root), out_id, _value(plan, root), seed,
                             _shape(plan.values[root])))
    _keys(pic.edges)
    _sums(pic, with_grads)
    if symbolic:
        _symbolic_notes(pic, plan, root, groups, forward_only, (steps, order, ledger))
    elif with_grads and steps is not None:
        pic.note = f"the backward pass after {min(steps, total_steps)} of {total_steps} steps"
    return pic


def _symbolic_notes(pic: Picture, plan: Plan, root: int, groups: dict, forward_only: bool,
                    walk: tuple) -> None:
    """A symbolic graph's gradients as expressions, and `?` for those past step K."""
    steps, order, ledger = walk
    visited = None if forward_only else _symbolic_gradients(pic, plan, root, groups, ledger)
    if visited is None:
        pic.note = SYMBOLIC_NOTE
        return
    pic.forward_only = False
    pic.note = SYMBOLIC_BACKWARD
    order = visited if order is None else order
    pic.steps_total = len(order)
    if steps is not None:
        done = set(order[:max(steps, 0)])
        for e in pic.edges:
            if e.grad is not None and e.target != pic.root and e.target not in done:
                e.grad = PENDING


def _too_many(count: int | str, max_nodes: int, layers: bool) -> LimitError:
    hint = "" if layers else "; 'layers' draws it collapsed"
    return LimitError(f"the drawing would have {count} nodes, over the limit of {max_nodes} "
                      f"(the max_nodes setting){hint}")


def _reachable(plan: Plan, root: int, max_nodes: int) -> _Graph:
    """Nodes the root reads, in topological order, without default arguments (a slope).

    A layer stands for two nodes at most, so the walk stops past twice the limit: a graph
    of a million nodes is refused at once, collapsed or not.
    """
    bound = 2 * max_nodes + 2
    nodes = plan.graph.nodes
    seen = {root}
    stack = [root]
    users: dict[int, list[tuple[int, int]]] = {}
    while stack:
        i = stack.pop()
        for k, a in enumerate(nodes[i].args):
            if nodes[a].kind == "const" and nodes[a].ast is None:
                continue
            users.setdefault(a, []).append((i, k))
            if a not in seen:
                seen.add(a)
                stack.append(a)
        if len(seen) > bound:
            raise _too_many(f"more than {bound}", max_nodes, True)
    return _Graph(plan, sorted(seen), users)


def _node(plan: Plan, i: int, members: tuple[int, ...]) -> PicNode:
    node = plan.graph.nodes[i]
    if node.kind in ("leaf", "symbol"):
        return PicNode(i, "leaf", node.label, name=node.name)
    if node.kind == "const":
        return PicNode(i, "const", node.label)
    if members:
        symbol = "Affine" if node.op.name == "add" else LAYERS[node.op.name]
        return PicNode(i, "layer", node.label, symbol, node.name, members=members)
    symbol = SYMBOLS.get(node.op.name, node.op.symbol or node.op.name)
    return PicNode(i, "op", node.label, symbol, node.name)


def _layer_groups(g: _Graph, root: int) -> dict[int, int]:
    """Op node -> the node standing for its layer (the bias add of an Affine)."""
    nodes = g.plan.graph.nodes
    groups: dict[int, int] = {}
    for i in g.ids:
        node = nodes[i]
        if node.kind != "op":
            continue
        if node.op.name in LAYERS:
            groups[i] = i
        elif node.op.name == "add":
            for a in node.args:
                inner = nodes[a]
                if inner.kind == "op" and inner.op.name == "matmul" and a != root \
                        and len(g.users.get(a, ())) == 1 and a not in groups:
                    groups[a] = groups[i] = i
                    break
    return groups


def _known_steps(g: _Graph, grads: list | None, steps: int | None,
                 order: list[int] | None) -> tuple[set[int], int]:
    """Op nodes whose backward step has run after `steps` steps, and how many steps there
    are: op nodes with a gradient, latest first, as the backward pass visits them."""
    if order is None:
        nodes = g.plan.graph.nodes
        order = [i for i in reversed(g.ids) if nodes[i].kind == "op"
                 and (grads is None or grads[i] is not None)]
    if grads is None:
        return set(), len(order)
    if steps is None:
        return set(order), len(order)
    return set(order[:max(steps, 0)]), len(order)


def _edges(g: _Graph, grads: list | None, known: set[int], groups: dict[int, int],
           with_grads: bool) -> list[PicEdge]:
    """One edge per input of each drawn op node; edges inside a layer are left out."""
    plan, nodes = g.plan, g.plan.graph.nodes
    edges = []
    for c in g.ids:
        for k, a in enumerate(nodes[c].args):
            if a not in g.users or (c, k) not in g.users[a]:
                continue  # a default argument
            src, dst = groups.get(a, a), groups.get(c, c)
            if src == dst:
                continue
            grad = _edge_grad(g, grads, known, c, k) if with_grads else None
            edges.append(PicEdge(src, dst, _value(plan, a), grad, _shape(plan.values[a]),
                                 slot=k))
    return edges


def _edge_grad(g: _Graph, grads: list | None, known: set[int], c: int, k: int):
    """What edge k of op node c shows: its gradient, PENDING, or None (no gradient)."""
    a = g.plan.graph.nodes[c].args[k]
    if g.plan.graph.nodes[a].kind == "const":
        return None
    if grads is None:
        return PENDING
    if grads[a] is None or grads[c] is None:
        return None
    if c not in known:
        return PENDING
    if len(g.users[a]) > 1:
        return edge_gradient(g.plan, grads, c, k)
    return to_plain(grads[a])


def edge_gradient(plan: Plan, grads: list, c: int, k: int):
    """The gradient op node c sends back to its input k: one term of that input's sum.

    The backward pass adds the terms straight into the input's total, so a term is
    computed again here from the same rules: the op's VJP for a structural op, else the
    upstream gradient times the derived local derivative, summed back to the input's shape.
    """
    from bpshell.ops.structural import unbroadcast
    from bpshell.symbolic.local import local

    node = plan.graph.nodes[c]
    g, out = grads[c], plan.values[c]
    xs = [np.float64(plan.values[a]) if type(plan.values[a]) in (float, int)
          else plan.values[a] for a in node.args]
    with np.errstate(all="ignore"):
        if node.op.vjps is not None:
            rule = node.op.vjps[k]
            return None if rule is None else to_plain(rule(g, out, *xs, *node.params))
        loc = local(node.op)
        d = loc.numeric[k]
        if loc.constant[k] and d == 0.0:  # no gradient flows (a comparison)
            return None
        ga = g * (d if loc.constant[k] else d(*xs, out))
    shape = np.shape(xs[k])
    if np.shape(ga) != shape:
        ga = unbroadcast(ga, shape)
    return to_plain(ga)


def _sums(pic: Picture, with_grads: bool) -> None:
    """A node feeding several edges shows the sum of their gradients."""
    out: dict[int, list[PicEdge]] = {}
    for e in pic.edges:
        out.setdefault(e.source, []).append(e)
    for n in pic.nodes:
        edges = out.get(n.id, [])
        if len(edges) < 2 or not with_grads:
            continue
        terms = [e.grad for e in edges if e.grad is not None]
        if not terms:
            continue
        n.grad = PENDING if any(t is PENDING for t in terms) else to_plain(sum(terms))


def _keys(edges: list[PicEdge]) -> None:
    count: dict[tuple[int, int], int] = {}
    for e in edges:
        count[(e.source, e.target)] = count.get((e.source, e.target), 0) + 1
    for e in edges:
        e.key = f"{e.source}-{e.target}"
        if count[(e.source, e.target)] > 1:
            e.key += f":{e.slot}"


def _value(plan: Plan, i: int):
    """The forward value, or for a symbolic node the expression it stands for."""
    v = plan.values[i]
    if v is not None:
        return to_plain(v)
    node = plan.graph.nodes[i]
    return to_text(node.ast) if node.ast is not None else node.label


def _grad_or(grads: list | None, i: int, with_grads: bool):
    if not with_grads:
        return None
    return PENDING if grads is None or grads[i] is None else to_plain(grads[i])


def _shape(v) -> tuple[int, ...]:
    return tuple(np.shape(v)) if v is not None else ()


def _symbolic_gradients(pic: Picture, plan: Plan, root: int, groups: dict,
                        ledger: dict | None = None) -> list[int] | None:
    """Each edge's gradient as an expression in the upstream gradient (the symbolic
    ledger's), for a graph with unbound symbols; returns the op nodes in the order the
    ledger visits them, or None where there are no such expressions (arrays, layers)."""
    from bpshell.errors import BpError
    from bpshell.symbolic.ledger import Formulas, free_upstream, symbolic_ledger

    if groups:
        return None  # a layer box has no one expression to show
    graph = plan.graph
    found = ledger
    if found is None:
        try:
            found = symbolic_ledger(Formulas(graph, root, set()),
                                    free_upstream(set(graph.named)))
        except BpError:
            return None
    sent = {(row["id"], d["id"]): d["value"] for row in found["rows"]
            for d in row["downstream"]}
    for e in pic.edges:
        e.grad = found["upstream_symbol"] if e.target == pic.root else sent.get(
            (e.target, e.source))
    return [row["id"] for row in found["rows"]]
