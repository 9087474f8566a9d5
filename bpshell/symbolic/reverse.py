"""Symbolic gradients by reverse mode over local derivatives, named nodes kept as symbols.

Each node's local derivative comes from the op table (in terms of its output where one
exists). Adjoints are sums of products of those; a named node's adjoint that is read more
than once (by its inputs, directly or through the unnamed operations of its definition, or
as a gradient asked for) becomes a step of its own (d_h = ...), so shared work is written
once and the result grows linearly with depth, where `sympy.diff` of the expanded
expression grows exponentially.
"""

from __future__ import annotations

from weakref import WeakKeyDictionary

import sympy as sp

from bpshell.errors import BpError
from bpshell.graph.build import Graph
from bpshell.ops.table import Op
from bpshell.symbolic.calls import sympy_call
from bpshell.symbolic.derive import X, Y
from bpshell.symbolic.expr import number, symbol
from bpshell.symbolic.local import local
from bpshell.symbolic.shown import text


def expressions(graph: Graph) -> list:
    """Each node's SymPy expression as other nodes read it: a named node is its symbol."""
    nodes = graph.nodes
    value: list = [None] * len(nodes)
    for i, node in enumerate(nodes):
        if node.kind in ("symbol", "leaf"):
            if node.kind == "leaf" and getattr(node.value, "ndim", 0):
                raise BpError(f"{node.name} is an array; symbolic gradients work on scalars")
            value[i] = symbol(node.name)
        elif node.kind == "const":
            value[i] = number(float(node.value)) if not getattr(node.value, "ndim", 0) else None
            if value[i] is None:
                raise BpError("symbolic gradients work on scalar expressions")
        else:
            if node.op.define is None or not node.op.elementwise and node.op.name != "id":
                raise BpError(f"{node.op.name} works on arrays; symbolic gradients work on "
                              "scalar expressions")
            args = [value[a] for a in node.args]
            value[i] = symbol(node.name) if node.name else sympy_call(node.op, *args)
    return value


def local_derivatives(node, value: list, i: int) -> list:
    """The node's local derivative for each input, in the expressions of its inputs."""
    if node.op.name == "id":
        return [sp.Integer(1)]
    args = [value[a] for a in node.args]
    loc = local(node.op)
    subs = {X[k]: args[k] for k in range(len(args))}
    subs[Y] = value[i] if node.name else sympy_call(node.op, *args)
    return [form.xreplace(subs) for form in _local_forms(node.op, loc)]


def symbolic_gradients(graph: Graph, wrt: list[str] | None) -> dict:
    nodes = graph.nodes
    n = len(nodes)
    value = expressions(graph)
    defs = {}
    for name, i in graph.named.items():
        node = nodes[i]
        if node.kind == "op":
            defs[name] = sympy_call(node.op, *[value[a] for a in node.args])

    adj: list = [sp.Integer(0)] * n
    adj[graph.root] = sp.Integer(1)
    steps = []
    uses = [0] * n
    for node in nodes:
        for a in node.args:
            uses[a] += 1
    names = wrt or [nm for nm in graph.named if graph.named[nm] != graph.root]
    # readers[i]: inputs an adjoint of node i reaches through the unnamed operations of its
    # own definition (h = sigmoid(w*x + b) passes d_h on to w, x and b), plus one when the
    # gradient of i itself is asked for
    readers = [0] * n
    for i, node in enumerate(nodes):
        if node.kind == "op":
            readers[i] = sum(readers[a] if nodes[a].kind == "op" and not nodes[a].name else 1
                             for a in node.args if nodes[a].kind != "const")
    for nm in names:
        if nm in graph.named:
            readers[graph.named[nm]] += 1
    for i in range(n - 1, -1, -1):
        node = nodes[i]
        if node.kind != "op" or adj[i] == 0:
            continue
        g = adj[i]
        if node.name and i != graph.root and not g.is_Atom and \
                (uses[i] > 1 or readers[i] > 1):
            d = sp.Symbol(f"d_{node.name}")
            steps.append({"name": str(d), "expr": text(g)})
            g = d
        locals_ = local_derivatives(node, value, i)
        for k, a in enumerate(node.args):
            if nodes[a].kind == "const":
                continue
            adj[a] = adj[a] + g * locals_[k]
    # a name that exists but is not an input of this graph has gradient 0, as in numeric grad
    grads = {nm: text(adj[graph.named[nm]]) if nm in graph.named else "0" for nm in names}
    return {"grads": grads, "steps": steps,
            "definitions": {k: text(v) for k, v in defs.items()}}


_FORMS: WeakKeyDictionary[Op, list] = WeakKeyDictionary()


def _local_forms(op: Op, loc) -> list:
    """Each input's local derivative: in terms of the output y when it needs nothing else.

    Derived once per op and kept here by op: `sympy.diff` per node would cost more than the
    rest of the reverse pass.
    """
    forms = _FORMS.get(op)
    if forms is None:
        xs = set(X[: op.arity])
        forms = [form if form is not None and not form.free_symbols & xs
                 else sp.diff(loc.call, X[k]) for k, form in enumerate(loc.output)]
        _FORMS[op] = forms
    return forms


def has_named_steps(graph: Graph) -> bool:
    """Whether the graph holds named intermediates (h1 = ..., h2 = ...) below its root."""
    return any(graph.nodes[i].kind == "op" and i != graph.root for i in graph.named.values())


def chain_derivative(graph: Graph, of: str, wrt: str) -> dict:
    """d of/d wrt in chain form: reverse mode over the named nodes, in linear time.

    Each d_h is the gradient of `of` with respect to the named node h, written once; the
    result is a product of local derivatives in terms of the named outputs, as symbolic
    grad builds it, where sympy.diff of the written-out expression grows without bound.
    """
    result = symbolic_gradients(graph, [wrt])
    names = [nm for nm in graph.named if graph.nodes[graph.named[nm]].kind == "op"]
    defs = result["definitions"]
    return {"of": of, "steps": result["steps"], "result": result["grads"][wrt],
            "definitions": {nm: defs[nm] for nm in names if nm in defs}}
