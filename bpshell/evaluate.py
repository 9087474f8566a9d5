"""From a session's state to values and gradients: graphs, plans, folding, the backward pass.

Commands ask the Evaluator; it reads the State and writes to it only through the State's
journaled methods (cached formula values, the last gradient), so a statement that fails
after evaluating something still changes nothing.
"""

from __future__ import annotations

import difflib
import math

import numpy as np

from bpshell.errors import BpError, LimitError, ShapeError, UnknownName
from bpshell.graph.build import Builder, Formula, Leaf, array_literal, refs_of
from bpshell.language import ast as A
from bpshell.language.printer import to_text
from bpshell.limits import Limits
from bpshell.numeric.check import differentiable
from bpshell.numeric.passes import Plan, to_plain
from bpshell.ops.table import CONSTRUCTORS, element_count
from bpshell.plans import PlanCache, keepable
from bpshell.state import State


class Evaluator:
    """Values and gradients of the names and expressions of one State."""

    def __init__(self, state: State, limits: Limits):
        self.state = state
        self.limits = limits
        self.plans = PlanCache()

    # ------------------------------------------------------------ values
    def builder(self, frozen: bool) -> Builder:
        s = self.state
        return Builder(s.bindings, s.funcs, s.cache if frozen else None,
                       self.limits.max_nodes, s.last, s)

    def evaluate(self, ast, stmt: int = 0) -> tuple[Plan, object]:
        """Value of an expression from current values (cached names are not recomputed)."""
        b = self.builder(frozen=True)
        b.graph.root = b.expr(ast, {}, stmt)
        plan = Plan(b.graph, self.limits.max_elements, self.limits.max_statement_elements)
        value = plan.forward()
        self._remember(plan)
        return plan, value

    def _remember(self, plan: Plan) -> None:
        s = self.state
        for name, i in plan.graph.named.items():
            if isinstance(s.bindings.get(name), Formula) and name not in s.cache:
                s.cache_value(name, plan.values[i])

    def value_of(self, name: str):
        b = self.state.bindings.get(name)
        if b is None:
            return None
        if isinstance(b, Leaf):
            return b.value
        if name not in self.state.cache:
            self.evaluate(A.Name(name, (None, None)))
        return self.state.cache[name]

    def full_plan(self, name: str) -> Plan:
        """The whole graph behind a name, every node recomputed: for grad, check, tree."""
        if name not in self.state.bindings:
            raise UnknownName(self.unknown(name))
        lim = self.limits
        key = (lim.max_nodes, lim.max_elements, lim.max_statement_elements)
        plan = self.plans.get(name, self.state, key)
        if plan is None:
            b = self.builder(frozen=False)
            b.graph.root = b.name_node(name)
            plan = Plan(b.graph, lim.max_elements, lim.max_statement_elements)
            if keepable(b):
                self.plans.put(name, plan, self.state, key)
        plan.forward()
        return plan

    def unknown(self, name: str) -> str:
        close = difflib.get_close_matches(name, list(self.state.bindings), n=1)
        return f"'{name}' is not defined" + (f"; did you mean {close[0]}?" if close else "")

    def symbols_of(self, plan: Plan) -> set[str]:
        """Names without a value that a plan's graph depends on, also through cached names."""
        out = set()
        stack = [n.name for n in plan.graph.nodes if n.name is not None and n.kind != "op"]
        seen: set[str] = set()
        while stack:
            name = stack.pop()
            if name in seen:
                continue
            seen.add(name)
            b = self.state.bindings.get(name)
            if b is None:
                out.add(name)
            elif isinstance(b, Formula):
                stack.extend(b.refs)
        return out

    # ------------------------------------------------------------ folding
    def fold(self, ast, stmt: int, params: frozenset = frozenset()):
        """Constructor calls, `grad(L, W)` and array literals replaced by their values,
        computed now."""
        funcs = self.state.funcs
        spent = [0]  # elements of the values made so far: they live as long as the statement
        grads, foldable = self._grad_values(ast, stmt, params)
        if not foldable:  # most lines: nothing to replace, and the tree is kept as it is
            return ast

        def replace(node):
            t = type(node)
            if t is A.Call and node.func == "grad":
                return grads[id(node)]
            if t is A.Call and node.func in CONSTRUCTORS and node.func not in funcs:
                return self._construct(node, stmt, params, spent)
            if t is A.ArrayLit:
                value = array_literal(node)
                self.check_elements(value.size, node.pos, spent)
                return A.Const(value, node.pos, to_text(node) if value.size <= 16 else "")
            if t is A.Name and node.id == "_" and "_" not in params:
                if self.state.last is None:
                    raise UnknownName("'_' is the last value, and there is none yet",
                                      *node.pos)
                return A.Const(self.state.last, node.pos, "_")
            return None

        return A.transform(ast, replace)

    def _grad_values(self, ast, stmt: int, params: frozenset
                     ) -> tuple[dict[int, A.Const], bool]:
        """The value of every `grad(L, W)` in ast (not inside another), by id of the call,
        and whether fold has anything to replace (a call, an array literal or `_`).

        Calls with the same L share one backward pass, whose targets are all their W.
        """
        calls, stack = [], [ast]
        foldable = False
        while stack:
            node = stack.pop()
            t = type(node)
            if t is A.Call and node.func == "grad":
                calls.append(node)
                continue
            if t is A.Call and node.func in CONSTRUCTORS or t is A.ArrayLit or \
                    t is A.Name and node.id == "_":
                foldable = True
            stack.extend(A.children(node))
        groups: dict[str, list[A.Call]] = {}
        for call in calls:
            if len(call.args) != 2 or type(call.args[1]) is not A.Name:
                raise BpError("grad takes a loss and one name: grad(loss, W); for the "
                              "backward pass of a name, write 'grad NAME'" +
                              (f" ('grad {call.args[0].id}')" if call.args and
                               isinstance(call.args[0], A.Name) else ""), *call.pos)
            if refs_of(call.args[0], self.state.funcs) & params or call.args[1].id in params:
                raise BpError("grad(...) needs values when the line is entered, not a "
                              "function's parameters", *call.pos)
            groups.setdefault(to_text(call.args[0]), []).append(call)
        out: dict[int, A.Const] = {}
        for group in groups.values():
            out.update(self._one_backward(group, stmt))
        return out, foldable or bool(calls)

    def _one_backward(self, calls: list[A.Call], stmt: int) -> dict[int, A.Const]:
        """One backward pass of the loss the calls share, for every W they name."""
        first = calls[0]
        b = self.builder(frozen=False)
        b.graph.root = b.expr(self.fold(first.args[0], stmt), {}, stmt)
        plan = Plan(b.graph, self.limits.max_elements)
        loss = plan.forward()
        text = to_text(first.args[0])
        if loss is None:
            raise BpError(f"grad({text}, ...) needs values for "
                          f"{', '.join(sorted(self.symbols_of(plan)))}", *first.pos)
        if np.ndim(loss) != 0:
            raise ShapeError(f"grad(L, W) needs a scalar L, and {text} has shape "
                             f"{shape_text(loss)}: sum or mean it", *first.pos)
        g = plan.graph
        wanted = {c.args[1].id for c in calls}
        for w in wanted:
            if w not in self.state.bindings:
                raise UnknownName(self.unknown(w), *first.pos)
        grads = plan.backward(1.0, {g.named[w] for w in wanted if w in g.named})
        out = {}
        for c in calls:
            w = c.args[1].id
            value = self.value_of(w) if w not in g.named else plan.values[g.named[w]]
            if value is None:
                raise BpError(f"grad({text}, {w}) needs a value for {w}", *c.pos)
            gi = grads[g.named[w]] if w in g.named else None
            gi = np.zeros(np.shape(value)) if gi is None else gi
            gi = np.array(np.broadcast_to(gi, np.shape(value)), dtype=np.float64)
            out[id(c)] = A.Const(to_plain(gi), c.pos, to_text(c))
        return out

    def _construct(self, ast: A.Call, stmt: int, params: frozenset,
                   spent: list[int]) -> A.Const:
        c = CONSTRUCTORS[ast.func]
        if ast.keywords:
            raise BpError(f"{c.name} takes no keyword arguments", *ast.keywords[0].pos)
        lo, hi = c.arity
        if not lo <= len(ast.args) <= hi:
            raise BpError(f"{c.name} takes {lo}" + (f" to {hi}" if hi != lo else "") +
                          f" arguments: {c.example}", *ast.pos)
        args = []
        for a in ast.args:
            if refs_of(a, self.state.funcs) & params:
                raise BpError(f"{c.name}(...) needs values when the line is entered, not "
                              "a function's parameters", *a.pos)
            _, v = self.evaluate(self.fold(a, stmt, params), stmt)
            if v is None:
                raise BpError(f"{c.name}(...) needs values; this argument is symbolic", *a.pos)
            args.append(v)
        try:
            count = element_count(c.name, args)
        except (TypeError, ValueError, OverflowError):
            count = 0
        self.check_elements(count, ast.pos, spent)
        try:
            value = c.make(self.state.rng, *args)
        except (ValueError, TypeError, IndexError) as e:
            raise BpError(f"{c.name}: {e}", *ast.pos) from None
        return A.Const(np.asarray(value, dtype=np.float64), ast.pos, to_text(ast))

    def check_elements(self, count: int, pos, spent: list[int] | None = None) -> None:
        """Refuse a value of `count` elements before it is made: over the limit for one
        array, or (spent: what the statement made so far) for the statement's values."""
        if count > self.limits.max_elements:
            raise LimitError(f"{count:,} elements is over the limit of "
                             f"{self.limits.max_elements:,} (BPSHELL_MAX_ELEMENTS raises it)",
                             *pos)
        if spent is None:
            return
        spent[0] += count
        if spent[0] > self.limits.max_statement_elements:
            raise LimitError(f"this statement's values would hold {spent[0]:,} elements "
                             f"together, over the limit of "
                             f"{self.limits.max_statement_elements:,} "
                             "(BPSHELL_MAX_STATEMENT_ELEMENTS raises it)", *pos)

    # ------------------------------------------------------------ gradients
    def upstream(self, plan: Plan, with_ast, name: str, pos):
        """The upstream gradient: `with EXPR`, or 1 (ones for an array)."""
        root_value = plan.values[plan.graph.root]
        if with_ast is not None:
            _, seed = self.evaluate(self.fold(with_ast, self.state.serial), self.state.serial)
            if seed is None:
                raise BpError("the upstream gradient after 'with' needs a value", *pos)
            if np.shape(seed) != np.shape(root_value):
                raise ShapeError(f"the upstream gradient has shape {shape_text(seed)}, but "
                                 f"{name} has shape {shape_text(root_value)}", *pos)
            return seed
        if np.ndim(root_value) == 0:
            return 1.0
        return np.ones(np.shape(root_value))

    def gradients(self, name: str, wrt: list[str] | None = None, with_ast=None,
                  pos=(None, None)) -> tuple[Plan, list, dict]:
        """The plan of name, every node's gradient, and the named gradients to show."""
        plan = self.full_plan(name)
        g = plan.graph
        if plan.values[g.root] is None:
            return plan, [], {}
        targets = None
        if wrt:
            for w in wrt:
                if w not in self.state.bindings and w not in g.named:
                    raise UnknownName(self.unknown(w), *pos)
            targets = {g.named[w] for w in wrt if w in g.named}
        grads = plan.backward(self.upstream(plan, with_ast, name, pos), targets)
        self.state.last_grad = (name, self.state.version, plan, grads)
        return plan, grads, self._named_gradients(plan, grads, name, wrt)

    def _named_gradients(self, plan: Plan, grads: list, name: str, wrt) -> dict:
        """In the order the names were defined, then symbols in the order they were met."""
        g, bindings = plan.graph, self.state.bindings
        names = wrt if wrt else [n for n in bindings if n in g.named and n != name] + [
            n for n in g.named if n not in bindings]
        out = {}
        for n in names:
            i = g.named.get(n)
            if i is None:
                v = self.value_of(n)
                out[n] = 0.0 if np.ndim(v) == 0 else np.zeros(np.shape(v))
                continue
            if g.nodes[i].kind == "symbol":
                continue
            gi = grads[i]
            if gi is None:
                if not differentiable(plan, i):
                    continue
                gi = np.zeros(np.shape(plan.values[i]))
            out[n] = to_plain(gi)
        return out

    def plan_with_grads(self, name: str) -> tuple[Plan, list | None]:
        """The plan of the last grad if it covers name and nothing changed since."""
        last = self.state.last_grad
        if last is not None:
            root, version, plan, grads = last
            if version == self.state.version and name in plan.graph.named:
                return plan, grads
        if name not in self.state.bindings:
            raise UnknownName(self.unknown(name))
        return self.full_plan(name), None

    def diagnose(self, plan: Plan, grads: list) -> dict:
        """Findings for a graph; inf/nan held by a leaf is traced into its definition."""
        from bpshell.numeric.diagnose import diagnose, first_nonfinite_value

        found = diagnose(plan.graph, plan.values, grads)
        bad = found["nonfinite_value"]
        if bad is not None and bad["op"] == "leaf":
            leaf = self.state.bindings.get(plan.graph.nodes[bad["id"]].name)
            if isinstance(leaf, Leaf) and leaf.expr is not None:
                inner, _ = self.evaluate(leaf.expr)
                cause = first_nonfinite_value(inner.graph, inner.values)
                if cause is not None and cause["op"] != "const":
                    cause["reason"] += f" (in the value of {bad['node']} = {leaf.text})"
                    cause["id"] = None
                    found["nonfinite_value"] = cause
        return found


def shape_of(v) -> list[int]:
    return [] if v is None else list(np.shape(v))


def shape_text(v) -> str:
    s = np.shape(v)
    return "x".join(map(str, s)) if s else "scalar"


def nonfinite(grads: dict) -> list[str]:
    """Names whose gradient holds inf or nan (math.isfinite for scalars: 20x np.isfinite)."""
    return [n for n, g in grads.items()
            if (not math.isfinite(g) if isinstance(g, float) else
                isinstance(g, np.ndarray) and not np.all(np.isfinite(g)))]
