"""The formulas of one graph, as `tree` and `explain` print them, and the symbolic ledger.

Every node is named by what it is: a leaf or a named node by its name, a constant by its
number, and an unnamed intermediate that a formula mentions by a short name (u1, u2, ...)
defined once as the expression it stands for. Each node's local derivative is the
learner's form of its op applied to those inputs (`forms`), so `1/u1` reads `-y**2`.
With symbols unbound, `symbolic_ledger` runs the backward pass on expressions: the
upstream gradient is a symbol (the book's dout) and each downstream gradient a product.
"""

from __future__ import annotations

import re

import sympy as sp

from bpshell.errors import BpError
from bpshell.graph.build import Graph
from bpshell.language.printer import value_text
from bpshell.symbolic.calls import sympy_call
from bpshell.symbolic.derive import Y, fit_output_form, substitute_output
from bpshell.symbolic.expr import number, symbol
from bpshell.symbolic.shown import V, cheap_simplify, forms, simplest, text

_PREC = {"add": 10, "sub": 10, "mul": 20, "div": 20, "matmul": 20, "pow": 40}
_ATOM, _NEG, _POSTFIX = 100, 30, 50


def preorder(graph: Graph, root: int) -> list[int]:
    """The nodes reachable from root, in the order a reader meets them (left to right)."""
    nodes = graph.nodes
    seen, order, stack = set(), [], [root]
    while stack:
        i = stack.pop()
        if i in seen:
            continue
        seen.add(i)
        order.append(i)
        stack.extend(reversed(nodes[i].args))
    return order


class Formulas:
    """Names, constants, labels and local derivative formulas of a graph's nodes."""

    def __init__(self, graph: Graph, root: int, taken: set[str] = frozenset()):
        self.graph = graph
        self.order = preorder(graph, root)
        reach = set(self.order)
        self.ids = [i for i in range(len(graph.nodes)) if i in reach]  # topological
        self.const: dict[int, sp.Expr] = {}
        self.text: dict[int, tuple[str, int]] = {}
        for i in self.ids:
            self._constant(i)
            self.text[i] = self._text(i)
        holders = {i: sp.Dummy(f"n{i}", real=True) for i in self.ids}
        raw_locals = {i: self._locals(i, holders) for i in self.ids}
        mentioned = set()
        for entries in raw_locals.values():
            for e in entries:
                if e.get("expr") is not None:
                    mentioned |= e["expr"].free_symbols
        self.short = self._short_names(holders, mentioned, taken)
        self.sym = {i: symbol(self.name(i)) for i in self.ids if i not in self.const}
        final = {holders[i]: self.const.get(i, self.sym.get(i)) for i in self.ids}
        self.locals: dict[int, list[dict]] = {i: [self._finish(i, e, final) for e in entries]
                                              for i, entries in raw_locals.items()}

    def _short_names(self, holders: dict, mentioned: set, taken) -> dict[int, str]:
        """u1, u2, ... in reading order, for the unnamed nodes a formula mentions."""
        graph = self.graph
        used = set(taken) | set(graph.named) | {n.name for n in graph.nodes if n.name}
        short, k = {}, 0
        for i in self.order:
            if holders[i] in mentioned and not graph.nodes[i].name and i not in self.const:
                k += 1
                while f"u{k}" in used:
                    k += 1
                short[i] = f"u{k}"
        return short

    def _finish(self, i: int, e: dict, final: dict) -> dict:
        """An entry with its placeholders replaced by the names chosen, as text."""
        if e["rule"]:
            e["local"] = self._rule(i, e["local"])
        if e.get("expr") is not None:
            e["expr"] = e["expr"].xreplace(final)
            e["local"] = text(e["expr"])
        if e.get("mask") is not None:
            e["mask"] = text(e["mask"].xreplace(final))
        return e

    # -- names and labels
    def name(self, i: int) -> str:
        """What node i is called: its name, its short name, or its expression."""
        node = self.graph.nodes[i]
        return node.name or self.short.get(i) or self.text[i][0]

    def definition(self, i: int) -> str | None:
        """`u1`'s expression, for a node that has a short name."""
        return self.text[i][0] if i in self.short else None

    def _rule(self, i: int, rule: str) -> str:
        """A structural rule in the node's own input names: dW = X.T @ dY, not dB = A.T @ dY."""
        node = self.graph.nodes[i]
        names = [self.name(a) for a in node.args]
        if not node.op.rule_shapes or not all(n.isidentifier() for n in names):
            return rule
        table = dict(zip(node.op.inputs, names))
        operands = "|".join(map(re.escape, node.op.inputs))
        return re.sub(rf"\b(d?)({operands})\b", lambda m: m[1] + table[m[2]], rule)

    def is_constant(self, i: int) -> bool:
        return i in self.const or self.graph.nodes[i].kind == "const"

    def _constant(self, i: int) -> None:
        node = self.graph.nodes[i]
        if node.kind == "const":
            if node.value is not None and getattr(node.value, "ndim", 0) == 0:
                self.const[i] = number(float(node.value), getattr(node.ast, "text", "") or "")
            return
        if node.kind != "op" or not node.args or node.op.define is None or \
                not node.op.elementwise:
            return
        if all(a in self.const for a in node.args):
            v = sympy_call(node.op, *[self.const[a] for a in node.args])
            if v.is_number and v.is_finite:
                self.const[i] = v

    def _text(self, i: int) -> tuple[str, int]:
        """The node's expression written from the graph, with its binding power."""
        node, nodes = self.graph.nodes[i], self.graph.nodes
        if node.name:
            return node.name, _ATOM
        if node.kind == "const":
            t = value_text(node.value) if getattr(node.value, "ndim", 0) == 0 else node.label
            return t, (_NEG if t.startswith("-") else _ATOM)
        if i in self.const and self.const[i].is_Integer:
            t = str(self.const[i])
            return t, (_NEG if t.startswith("-") else _ATOM)
        op = node.op
        shown = [a for a in node.args if not (nodes[a].kind == "const" and nodes[a].ast is None)]
        parts = [self.text[a] for a in shown]
        if op.name in _PREC:
            p = _PREC[op.name]
            (lt, lp), (rt, rp) = parts
            if op.name == "pow":
                return f"{_wrap(lt, lp, p + 1)}**{_wrap(rt, rp, p)}", p
            sep = {"add": " + ", "sub": " - ", "mul": "*", "div": "/", "matmul": " @ "}[op.name]
            return f"{_wrap(lt, lp, p)}{sep}{_wrap(rt, rp, p + 1)}", p
        if op.name == "neg":
            return f"-{_wrap(parts[0][0], parts[0][1], _NEG + 1)}", _NEG
        if op.name == "T":
            return f"{_wrap(parts[0][0], parts[0][1], _ATOM)}.T", _POSTFIX
        if op.name == "id":
            return parts[0]
        args = [t for t, _ in parts] + [str(p) for p in node.params]
        return f"{op.name}({', '.join(args)})", _ATOM

    # -- local derivatives
    def _locals(self, i: int, holders: dict) -> list[dict]:
        """One entry per distinct input that is not a constant."""
        node, nodes = self.graph.nodes[i], self.graph.nodes
        if node.kind != "op":
            return []
        if node.op.vjps is not None:
            return [{"to": a, "local": node.op.rule_text[k], "expr": None, "rule": True,
                     "mask": None, "edges": [k]}
                    for k, a in enumerate(node.args)
                    if not self.is_constant(a) and node.op.vjps[k] is not None]
        distinct: list[int] = []
        pattern = []
        for a in node.args:
            if a in self.const:
                pattern.append(self.const[a])
            else:
                if a not in distinct:
                    distinct.append(a)
                pattern.append(distinct.index(a))
        found = forms(node.op, tuple(pattern))
        subs = {V[j]: holders[a] for j, a in enumerate(distinct)}
        subs[Y] = holders[i]
        out = []
        for j, a in enumerate(distinct):
            if nodes[a].kind == "const":  # an array constant: no gradient flows to it
                continue
            f = found[j]
            out.append({"to": a, "expr": f.shown.xreplace(subs),
                        "mask": None if f.mask is None else f.mask.xreplace(subs),
                        "edges": [k for k, b in enumerate(node.args) if b == a],
                        "rule": False})
        return out


def _wrap(t: str, have: int, need: int) -> str:
    return f"({t})" if have < need else t


# ---------------------------------------------------------------- symbolic ledger


def free_upstream(taken: set[str]) -> sp.Symbol:
    """The upstream gradient's symbol: dout, as the book writes it, unless that is a name."""
    for candidate in ("dout", "d_out", "dL_dy"):
        if candidate not in taken:
            return symbol(candidate)
    k = 1
    while f"dout{k}" in taken:
        k += 1
    return symbol(f"dout{k}")


def _values(f: Formulas) -> dict[int, sp.Expr]:
    """Each node as an expression in leaves, symbols and named nodes."""
    nodes = f.graph.nodes
    values: dict[int, sp.Expr] = {}
    for i in f.ids:
        node = nodes[i]
        if i in f.const:
            values[i] = f.const[i]
        elif node.kind != "op" or node.name:
            if node.kind == "const":
                raise BpError("symbolic explain works on scalar expressions")
            values[i] = f.sym[i]
        elif node.op.vjps is not None:
            if node.op.name != "id":
                raise BpError(f"{node.op.name} works on arrays; a symbolic explain works on "
                              "scalar expressions")
            values[i] = values[node.args[0]]
        else:
            values[i] = sympy_call(node.op, *[values[a] for a in node.args])
    return values


def _definitions(f: Formulas, values: dict) -> dict[int, sp.Expr]:
    """Each named op node as an expression of the nodes under it (one level)."""
    nodes, defs = f.graph.nodes, {}
    for i in f.ids:
        node = nodes[i]
        if node.kind == "op" and node.name and i not in f.const:
            args = [values[a] for a in node.args]
            defs[i] = args[0] if node.op.name == "id" else sympy_call(node.op, *args)
    return defs


def symbolic_ledger(f: Formulas, upstream: sp.Expr) -> dict:
    """The backward pass on expressions, node by node from the output down."""
    nodes = f.graph.nodes
    values = _values(f)
    expand = {f.sym[i]: values[i] for i in f.short}  # u1 stands for 1 + exp(-x)
    root = f.order[0]
    adj: dict[int, sp.Expr] = {root: upstream}
    received: dict[int, list[dict]] = {}
    rows = []
    edges = []  # (row, local, downstream) as SymPy, for quiz to check answers against
    for i in reversed(f.ids):
        node = nodes[i]
        if node.kind != "op" or adj.get(i, 0) == 0 or i in f.const:
            continue
        g = adj[i]
        downstream = []
        for e in f.locals[i]:
            a = e["to"]
            local = sp.Integer(1) if e["rule"] else e["expr"].xreplace(expand)
            down = g * local
            adj[a] = adj.get(a, sp.Integer(0)) + down
            edges.append((len(rows), local, down))
            downstream.append({"to": f.name(a), "id": a, "local": e["local"],
                               "value": text(down)})
            received.setdefault(a, []).append({"from": f.name(i), "id": i,
                                               "value": text(down)})
        rows.append({"id": i, "node": f.name(i), "name": node.name, "op": node.op.name,
                     "definition": f.definition(i), "upstream": text(g),
                     "downstream": downstream, "sum_of": _sums(received, i)})
    defs = _definitions(f, values)
    leaves = []
    for i in f.order:
        if nodes[i].kind in ("leaf", "symbol") and i in adj:
            g = adj[i]
            leaves.append({"id": i, "name": f.name(i), "grad": text(g),
                           "result": text(_result(f, g, i, root, upstream, defs)),
                           "sum_of": _sums(received, i)})
    grads = {i: text(g) for i, g in adj.items()}
    return {"rows": rows, "leaves": leaves, "upstream_symbol": text(upstream),
            "grads": grads, "values": values, "edges": edges}


def _sums(received: dict, i: int) -> list[dict]:
    got = received.get(i, [])
    return got if len(got) > 1 else []


def _result(f: Formulas, g, leaf: int, root: int, upstream, defs: dict) -> sp.Expr:
    """The leaf's gradient in its simplest form, in terms of the output where that exists.

    For the sigmoid built from nodes, dout*y**2*exp(-x) becomes dout*y*(1 - y).
    """
    x = f.sym[leaf]
    full = _expand(g, defs, f)
    top = _expand(f.sym.get(root, sp.Integer(0)), defs, f)
    candidates = [g, cheap_simplify(g)]
    ratio = full / upstream if upstream != 0 else full
    if top.free_symbols == {x} and ratio.free_symbols <= {x} and not ratio.is_number \
            and f.graph.nodes[root].name:
        form = substitute_output(ratio, top) or fit_output_form(top, ratio, x)
        if form is not None:
            candidates.insert(0, upstream * form.xreplace({Y: f.sym[root]}))
    return simplest(candidates)


def _expand(expr, defs: dict, f: Formulas) -> sp.Expr:
    """Named nodes replaced by their definitions, innermost last, until only leaves remain."""
    for i in reversed(f.ids):
        if i in defs and f.sym[i] in expr.free_symbols:
            expr = expr.xreplace({f.sym[i]: defs[i]})
    return expr
