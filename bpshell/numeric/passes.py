"""Forward and backward passes over a graph, planned once and run as flat loops.

A Plan turns the graph into flat lists once: the forward steps (function, input slots) and,
per set of targets, the backward steps (input slot, rule). A training loop then sets new
leaf values and runs forward + backward with no graph walking and no per-node lookups, which
is what keeps a 100,000-node chain near a microsecond per node. Gradients accumulate with
`+` (never in place), so a value used twice gets the sum of its paths.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from weakref import WeakKeyDictionary

import numpy as np

from bpshell.errors import BpError, LimitError, MathError, ShapeError
from bpshell.graph.build import Graph
from bpshell.ops.structural import unbroadcast
from bpshell.ops.table import Op, output_size

# backward edge kinds: how an input's gradient comes from its consumer's gradient g
_PASS, _NEG, _SCALE, _LOCAL, _VJP = range(5)


def _add(x, y):
    r = x + y
    return np.float64(r) if type(r) is float else r


def _subtract(x, y):
    r = x - y
    return np.float64(r) if type(r) is float else r


def _multiply(x, y):
    r = x * y
    return np.float64(r) if type(r) is float else r


def _negative(x):
    r = -x
    return np.float64(r) if type(r) is float else r


def _divide(x, y):
    try:
        r = x / y
    except ZeroDivisionError:  # Python floats: NumPy gives inf or nan
        return np.divide(x, y)
    return np.float64(r) if type(r) is float else r


# A ufunc call on scalars costs ~0.4 us; the Python operator gives the same IEEE result in
# ~0.03 us and, for arrays, dispatches to the very same ufunc. Results stay NumPy scalars as
# the ufunc's would, so derivatives see NumPy semantics (0.0**-1 is inf, not an exception).
_OPERATORS: dict[Callable, Callable] = {
    np.add: _add, np.subtract: _subtract, np.multiply: _multiply, np.negative: _negative,
    np.divide: _divide,
}


_F64 = np.float64


def _shape(v) -> tuple:
    """np.shape without its dispatch cost for arrays, NumPy scalars and Python floats."""
    if type(v) is float:
        return ()
    s = getattr(v, "shape", None)
    return np.shape(v) if s is None else s


def _bind_params(fn: Callable, params: tuple) -> Callable:
    """fn with its trailing integer parameters (axis, shape) fixed."""
    if not params:
        return fn
    return lambda *xs: fn(*xs, *params)


def _without_gc(fn: Callable, *args):
    """fn(*args) with the cyclic collector paused.

    Planning allocates a few small objects per node and frees none; with the collector on,
    its passes over a large session's objects cost more than the planning itself (half of
    planning an 80,000-node graph). Plans hold no reference cycles, so nothing is missed.
    """
    if not gc.isenabled():
        return fn(*args)
    gc.disable()
    try:
        return fn(*args)
    finally:
        gc.enable()


class Plan:
    """A graph's evaluation order as flat lists, reusable across passes."""

    def __init__(self, graph: Graph, max_elements: int = 10_000_000,
                 max_total: int | None = None):
        self.graph = graph
        self.max_elements = max_elements
        # elements of every value one pass computes together (None: no bound of its own):
        # all are kept for the backward pass, so a long sum of large arrays adds up
        self.max_total = max_total
        self._spent = 0
        nodes = graph.nodes
        self.values: list = [n.value for n in nodes]
        self._steps, self._functions = _without_gc(_forward_steps, nodes)
        self._inputs = [i for i, n in enumerate(nodes) if n.kind != "op"]
        self._checked_shapes: tuple | None = None
        self._programs: dict[frozenset | None, list] = {}

    # -- forward
    def set(self, name: str, value) -> None:
        """Give a leaf a new value (a training loop's next batch or updated weights)."""
        self.values[self.graph.named[name]] = value

    def leaf_shapes(self) -> tuple:
        vals = self.values
        return tuple(_shape(vals[i]) for i in self._inputs)

    def forward(self):
        """Compute every op node; None (a symbol) flows through as None.

        Sizes are checked against the limit only when an input's shape changed since the
        last pass, so a training loop pays for the check once.
        """
        vals = self.values
        shapes = self.leaf_shapes()
        # nothing grows from scalars alone: only arrays need the size check
        check = self._checked_shapes != shapes and any(shapes)
        self._spent = 0
        done = [-1]  # the node being computed, for the error message
        try:
            with np.errstate(all="ignore"):
                self._run_forward(vals, check, done)
        except BpError:
            raise
        except (ValueError, TypeError, IndexError, ZeroDivisionError) as e:
            i = done[0]
            raise self._error(i, [vals[k] for k in self.graph.nodes[i].args], e) from None
        except MemoryError:
            raise LimitError("out of memory computing this value") from None
        self._checked_shapes = shapes
        return vals[self.graph.root] if self.graph.root >= 0 else None

    def _run_forward(self, vals: list, check: bool, done: list[int]) -> None:
        """The forward steps as one flat loop (the arities unpacked when planned)."""
        functions = self._functions
        for i, f, a, b, args in self._steps:
            done[0] = i
            fn = functions[f]
            if b >= 0:
                x, y = vals[a], vals[b]
                if x is None or y is None:
                    vals[i] = None
                    continue
                if check:
                    self._check_size(i, [x, y])
                vals[i] = fn(x, y)
            elif a >= 0:
                x = vals[a]
                if x is None:
                    vals[i] = None
                    continue
                if check:
                    self._check_size(i, [x])
                vals[i] = fn(x)
            else:
                xs = [vals[k] for k in args]
                if any(x is None for x in xs):
                    vals[i] = None
                    continue
                if check:
                    self._check_size(i, xs)
                vals[i] = fn(*xs)

    def _check_size(self, i: int, xs: list) -> None:
        """Refuse an op whose output would pass the element limit, or take the pass's
        values together past theirs, before it allocates."""
        node = self.graph.nodes[i]
        if all(np.ndim(x) == 0 for x in xs):
            return
        try:
            size = output_size(node.op, xs)
        except ValueError:
            return  # shapes that do not fit: the op itself says why, allocating nothing
        if size is not None and size > self.max_elements:
            raise LimitError(f"{node.label} would have {size:,} elements, over the limit of "
                             f"{self.max_elements:,} (BPSHELL_MAX_ELEMENTS raises it)",
                             *(node.pos or (None, None)))
        if self.max_total is None:
            return
        # an op that never grows (sum, softmax, reshape) is counted at its input's size
        self._spent += size if size is not None else int(np.size(xs[0]))
        if self._spent > self.max_total:
            raise LimitError(f"this statement's values would hold {self._spent:,} elements "
                             f"together, over the limit of {self.max_total:,} "
                             "(BPSHELL_MAX_STATEMENT_ELEMENTS raises it)",
                             *(node.pos or (None, None)))

    def _error(self, i: int, xs: list, e: Exception) -> BpError:
        node = self.graph.nodes[i]
        shapes = " and ".join("x".join(map(str, np.shape(x))) or "scalar" for x in xs)
        if node.op.mismatch or "broadcast" in str(e) or "shape" in str(e) \
                or "align" in str(e) or "dimension" in str(e):
            msg = f"shapes {shapes} do not fit for {_spelling(node)}"
            if node.op.mismatch:
                msg += f": {node.op.mismatch}"
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
        The steps for a set of targets are planned on first use and reused after.
        """
        key = None if targets is None else frozenset(targets)
        planned = self._programs.get(key)
        if planned is None:
            planned = self._programs[key] = _without_gc(self._backward_program, key)
        program, rules = planned
        vals = list(self.values)
        for i in self._inputs:  # derivatives of Python scalars would follow Python's rules
            if type(vals[i]) in (float, int):
                vals[i] = np.float64(vals[i])
        grads: list = [None] * len(vals)
        grads[self.graph.root] = seed
        with np.errstate(all="ignore"):
            _run_backward(program, rules, vals, grads)
        return grads

    def _backward_program(self, targets: frozenset | None) -> tuple[list, list]:
        """The op nodes the root's gradient flows through to a target, latest first, and the
        rules their edges name by index (numbers only, as in the forward steps).

        Each entry is (node, inputs, params, whether a rule reads the inputs, edges), with
        one edge (input, kind, rule) per input that leads to a target.
        """
        nodes = self.graph.nodes
        n = len(nodes)
        need = [False] * n
        for i, node in enumerate(nodes):
            if node.kind == "op":
                for a in node.args:
                    if need[a]:
                        need[i] = True
                        break
                else:
                    need[i] = targets is not None and i in targets
            else:
                need[i] = node.kind != "const" if targets is None else i in targets
        live = [False] * n  # nodes the root reads, directly or not
        root = self.graph.root
        if root >= 0:
            live[root] = True
        program = []
        rules: list = []
        index: dict[Op, tuple] = {}  # op -> its edge rules, index of its first rule
        for i in range(n - 1, -1, -1):
            node = nodes[i]
            if not live[i] or node.kind != "op":
                continue
            args = node.args
            known = index.get(node.op)
            if known is None:
                op_rules = edge_rules(node.op)
                known = index[node.op] = (op_rules, len(rules))
                # a negation is the constant factor -1 to the backward loop
                rules.extend(-1.0 if kind == _NEG else rule for kind, rule in op_rules)
            op_rules, first = known
            edges = []
            with_inputs = False
            for k, a in enumerate(args):
                live[a] = True
                kind, rule = op_rules[k]
                if need[a] and not (kind == _VJP and rule is None):
                    edges.append((a, kind, first + k))
                    with_inputs = with_inputs or kind in (_LOCAL, _VJP)
            if edges:
                program.append((i, args, node.params, with_inputs, tuple(edges)))
        return program, rules


def _run_backward(program: list, rules: list, vals: list, grads: list) -> None:
    """The backward steps as one flat loop: each edge's gradient is added (never in place)
    to what its input has received so far."""
    for i, args, params, with_inputs, edges in program:
        g = grads[i]
        if g is None:
            continue
        out = vals[i]
        xs = [vals[a] for a in args] if with_inputs else ()
        for a, kind, r in edges:
            fn = rules[r]
            if kind == _VJP:
                ga = fn(g, out, *xs, *params)
                if ga is None:
                    continue
            else:
                if kind == _LOCAL:
                    ga = g * fn(*xs, out)
                elif kind == _PASS:
                    ga = g
                else:  # _NEG and _SCALE: a constant factor
                    ga = g * fn
                va = vals[a]
                if type(va) is not _F64 or type(ga) is not _F64:  # two scalars: no shapes
                    shape = _shape(va)
                    if _shape(ga) != shape:
                        ga = unbroadcast(ga, shape)
            prev = grads[a]
            grads[a] = ga if prev is None else prev + ga


def _forward_steps(nodes: list) -> tuple[list[tuple[int, int, int, int, tuple]], list]:
    """(node, function, first input, second input or -1, all inputs) for each op node,
    and the functions, which the steps name by their index.

    The common arities are unpacked here once instead of on every pass. Steps hold only
    numbers, so the cyclic collector stops tracking them: in a session of a million objects,
    steps that held functions made full collections run while a large graph was planned.
    """
    steps = []
    functions: list[Callable] = []
    index: dict[Callable, int] = {}
    for i, n in enumerate(nodes):
        if n.kind != "op":
            continue
        fn = _bind_params(_OPERATORS.get(n.op.forward, n.op.forward), n.params)
        f = index.get(fn)
        if f is None:
            f = index[fn] = len(functions)
            functions.append(fn)
        args = n.args
        if len(args) == 1:
            steps.append((i, f, args[0], -1, args))
        elif len(args) == 2:
            steps.append((i, f, args[0], args[1], args))
        else:
            steps.append((i, f, -1, -1, args))
    return steps, functions


# each op's edge rules, made on first use and kept here by op (weakly: user functions go)
_EDGE_RULES: WeakKeyDictionary[Op, list] = WeakKeyDictionary()


_KINDS = {"none": _VJP, "pass": _PASS, "neg": _NEG, "scale": _SCALE, "local": _LOCAL}


def _generated(op: Op, k: int) -> tuple[int, object] | None:
    """Input k's rule from ops/derived.py, for a built-in op (None for any other)."""
    from bpshell.ops.derived import RULES

    found = RULES.get(op.name)
    if found is None:
        return None
    kind, *payload = found[k]
    if kind == "gate":
        flat, slope = payload
        return _VJP, _gated(flat, slope, k)
    return _KINDS[kind], payload[0]


def _edge_rule(op: Op, k: int) -> tuple[int, object]:
    """How input k of op gets its gradient: a kind and the function or constant it uses.

    A built-in op's rules come from the generated module ops/derived.py (made from the op
    table through SymPy, and checked against it by a test), so a numeric statement never
    loads SymPy; a user function's are derived here, the first time it is differentiated.
    """
    if op.vjps is not None:
        return _VJP, op.vjps[k]
    found = None if op.user else _generated(op, k)
    return found if found is not None else derived_rule(op, k)


def derived_rule(op: Op, k: int) -> tuple[int, object]:
    """The rule SymPy derives for input k of an elementwise op (what ops/derived.py holds
    for the built-in ones): a kind, and a constant or a NumPy function of (*inputs, y)."""
    from bpshell.symbolic.local import local

    loc = local(op)
    d = loc.numeric[k]
    if not loc.constant[k]:
        gate = _gate(op, loc, k)
        return (_VJP, gate) if gate is not None else (_LOCAL, d)
    if d == 0.0:  # a comparison, where's mask: no gradient flows (None, as in PyTorch)
        return _VJP, None
    if d == 1.0:
        return _PASS, None
    if d == -1.0:
        return _NEG, None
    return _SCALE, d


def edge_rules(op: Op) -> list[tuple[int, object]]:
    """Every input's edge rule, made on first use and kept by op."""
    rules = _EDGE_RULES.get(op)
    if rules is None:
        rules = _EDGE_RULES[op] = [_edge_rule(op, k) for k in range(op.arity)]
    return rules


def local_gradient(op: Op, k: int, g, xs: list, out) -> tuple[object, object]:
    """What input k of an elementwise op receives from g, as the backward pass computes
    it (a flat branch gives 0, even for an infinite g), and the local derivative's value,
    for a ledger to show."""
    from bpshell.symbolic.local import local

    loc = local(op)
    # NumPy's rules, not Python's, as in the backward pass: 0.0**-1 is inf, not an error
    xs = [np.float64(x) if type(x) in (float, int) else x for x in xs]
    out = np.float64(out) if type(out) in (float, int) else out
    d = loc.numeric[k] if loc.constant[k] else loc.numeric[k](*xs, out)
    kind, rule = edge_rules(op)[k]
    with np.errstate(all="ignore"):
        if kind == _VJP:  # a gate: where it holds, the derivative taken is 0
            return rule(g, out, *xs), to_plain(np.where(rule.flat(*xs, out), 0.0, d))
        return unbroadcast(np.multiply(g, d), np.shape(xs[k])), d


def _gate(op: Op, loc, k: int) -> Callable | None:
    """The gated rule of input k where its derivative is 0 by a branch of its definition
    or by the op's declared convention (symbolic.local.zero_condition says where and why)."""
    from bpshell.symbolic.derive import X, Y, to_numpy
    from bpshell.symbolic.local import zero_condition

    found = zero_condition(op, loc, k)
    if found is None:
        return None
    zero, step = found
    return _gated(to_numpy([*X[: op.arity], Y], zero), None if step else loc.numeric[k], k)


def _gated(flat: Callable, slope: Callable | None, k: int) -> Callable:
    """The VJP-shaped rule of `_gate`: 0 where `flat` holds, g (or g * slope) elsewhere."""

    def rule(g, out, *xs):
        z = flat(*xs, out)
        ga = g if slope is None else g * slope(*xs, out)
        if (type(z) is np.bool_ or type(z) is bool) and type(ga) is not np.ndarray:
            return np.float64(0.0) if z else ga  # scalars: no shapes to match
        ga = np.where(z, 0.0, ga)
        shape = _shape(xs[k])
        return ga if _shape(ga) == shape else unbroadcast(ga, shape)

    rule.flat = flat
    return rule


def _spelling(node) -> str:
    op = node.op
    return f"'{op.symbol}'" if op.symbol else op.name


def to_plain(v):
    """Scalars as Python floats, arrays as float64 arrays: the form results carry."""
    if v is None or type(v) is float:
        return v
    if type(v) is np.float64 or np.ndim(v) == 0:
        return float(v)
    return np.asarray(v, dtype=np.float64)
