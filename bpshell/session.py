"""The Session: runs bpshell source and returns one plain dict per statement.

Both the interactive shell and the scripted runner call `Session.run` (or `iter_run`,
which yields each result as soon as it exists). A statement either completes or changes
nothing: new state is computed first and committed only at the end.
"""

from __future__ import annotations

import math
import os
import tempfile
import warnings
from collections.abc import Iterator

import numpy as np

from bpshell.errors import BpError, FileError, LimitError, MathError, ShapeError, UnknownName
from bpshell.graph.build import Builder, Formula, Graph, Leaf, UserFunction, calls_of, refs_of
from bpshell.language import syntax as sx
from bpshell.language.source import ScriptError, read_script
from bpshell.limits import Limits
from bpshell.numeric.passes import Plan, to_plain
from bpshell.ops.table import CONSTRUCTORS, OPERATOR_ONLY, OPS, element_count
from bpshell.timeout import deadline

CHECK_EPS, CHECK_ATOL, CHECK_RTOL = 1e-6, 1e-5, 1e-3  # torch.autograd.gradcheck's defaults
CHECK_MAX_ELEMENTS = 2000  # per leaf; larger leaves are checked at evenly spread elements
TREE_MAX_NODES = 400


class Session:
    """The state of one bpshell session: bindings, functions, caches, random generator."""

    # callable(step, total, loss, every) a front end sets to draw fit progress; a class
    # attribute so that `reset` (which re-runs __init__) keeps the front end's hook
    progress = None

    def __init__(self, limits: Limits | None = None, seed: int | None = None):
        self.limits = limits or Limits.from_env()
        self.bindings: dict[str, Leaf | Formula] = {}
        self.funcs: dict[str, UserFunction] = {}
        self.cache: dict[str, object] = {}  # values of formulas, dropped when an input changes
        self.users: dict[str, set[str]] = {}  # name -> formulas that read it
        self._rng: np.random.Generator | None = None  # made when first drawn from (see rng)
        self.seed = seed
        self.last = None  # the last value, read as `_`
        self.version = 0
        self.serial = 0
        self.last_grad: tuple | None = None  # (root, version, plan, grads)
        self.source_name = "<input>"
        self._running: set[str] = set()  # scripts being run by `run`, against self-runs

    @property
    def rng(self) -> np.random.Generator:
        """The random generator, made on first use: importing numpy.random costs ~9 ms of a
        ~0.4 s start-up, and most scripts draw nothing."""
        if self._rng is None:
            self._rng = np.random.default_rng(self.seed)
        return self._rng

    @rng.setter
    def rng(self, value: np.random.Generator) -> None:
        self._rng = value

    # ------------------------------------------------------------ running
    def run(self, source: str, keep_going: bool = True) -> list[dict]:
        """Run every statement of source; stop after the first error unless keep_going."""
        results = []
        for r in self.iter_run(source):
            results.append(r)
            if not r["ok"] and not keep_going:
                break
        return results

    def iter_run(self, source: str, time_limit: float | None = None) -> Iterator[dict]:
        """Yield one result dict per statement, as each completes."""
        limit = self.limits.time_limit if time_limit is None else time_limit
        try:
            chunks = sx.split_statements(source)
            for chunk in chunks:
                yield self._run_chunk(chunk, limit)
        except BpError as e:  # pragma: no cover - splitting raises nothing today
            yield self._error_result(e, "", 1, 1)

    def _run_chunk(self, chunk: sx.Chunk, limit: float) -> dict:
        text = chunk.text.strip()
        if len(chunk.text) > self.limits.max_statement_chars:
            e = LimitError(f"statement of {len(chunk.text):,} characters is over the limit of "
                           f"{self.limits.max_statement_chars:,} "
                           "(BPSHELL_MAX_STATEMENT_CHARS raises it)", chunk.line, chunk.column)
            return self._error_result(e, text[:200], chunk.line, chunk.column)
        rng_state = None if self._rng is None else self._rng.bit_generator.state
        try:
            with deadline(limit), warnings.catch_warnings():
                # inf and nan are reported per node by diagnose; NumPy's warnings would only
                # repeat them, to stderr, out of order
                warnings.simplefilter("ignore", RuntimeWarning)
                stmt = sx.parse_statement(chunk, self.limits.max_depth)
                self.serial += 1
                result = self._execute(stmt, chunk)
        except BaseException as exc:
            # a failed statement changes nothing, not even the random stream
            if rng_state is None:
                self._rng = None
            else:
                self._rng.bit_generator.state = rng_state
            if not isinstance(exc, Exception):
                raise  # Ctrl-C and exit belong to the front end
            e = self._as_error(exc, limit)
            return self._error_result(e, text, chunk.line, chunk.column)
        base = {"line": chunk.line, "column": chunk.column, "source": text, "ok": True}
        base.update(result)
        return base

    @staticmethod
    def _as_error(exc: Exception, limit: float) -> BpError:
        """Every failure as a BpError; a bug becomes an 'internal' error, not a crash."""
        if isinstance(exc, BpError):
            if exc.kind == "timeout" and exc.message == "took too long":
                exc.message = (f"the statement took longer than {limit:g} s and was stopped "
                               "(BPSHELL_TIME_LIMIT or --time-limit changes the bound)")
            return exc
        if isinstance(exc, RecursionError):
            return LimitError("the expression is nested too deeply")
        if isinstance(exc, MemoryError):
            return LimitError("out of memory")
        e = BpError(f"internal error ({type(exc).__name__}: {exc}); the session is unchanged")
        e.kind = "internal"
        return e

    @staticmethod
    def _error_result(e: BpError, text: str, line: int, column: int) -> dict:
        e.at(line, column)
        return {"line": line, "column": column, "source": text, "ok": False,
                "kind": "error", "error": e.as_dict()}

    def _execute(self, stmt: sx.Stmt, chunk: sx.Chunk) -> dict:
        handler = getattr(self, "_do_" + stmt.kind, None)
        if handler is None:
            raise BpError(f"'{stmt.kind}' is not available here", *stmt.pos)
        return handler(stmt, chunk)

    # ------------------------------------------------------------ evaluation
    def builder(self, frozen: bool) -> Builder:
        return Builder(self.bindings, self.funcs, self.cache if frozen else None,
                       self.limits.max_nodes, self.last)

    def evaluate(self, ast, stmt: int = 0) -> tuple[Plan, object]:
        """Value of an expression from current values (cached names are not recomputed)."""
        b = self.builder(frozen=True)
        b.graph.root = b.expr(ast, {}, stmt)
        plan = Plan(b.graph, self.limits.max_elements)
        value = plan.forward()
        self._remember(plan)
        return plan, value

    def _remember(self, plan: Plan) -> None:
        for name, i in plan.graph.named.items():
            b = self.bindings.get(name)
            if isinstance(b, Formula) and name not in self.cache:
                self.cache[name] = plan.values[i]

    def value_of(self, name: str):
        b = self.bindings.get(name)
        if b is None:
            return None
        if isinstance(b, Leaf):
            return b.value
        if name not in self.cache:
            self.evaluate(sx.Name(name, (None, None)))
        return self.cache[name]

    def full_plan(self, name: str) -> Plan:
        """The whole graph behind a name, every node recomputed: for grad, check, tree."""
        if name not in self.bindings:
            raise UnknownName(self._unknown(name))
        b = self.builder(frozen=False)
        b.graph.root = b.name_node(name)
        plan = Plan(b.graph, self.limits.max_elements)
        plan.forward()
        return plan

    def _unknown(self, name: str) -> str:
        import difflib

        close = difflib.get_close_matches(name, list(self.bindings), n=1)
        return f"'{name}' is not defined" + (f"; did you mean {close[0]}?" if close else "")

    def fold(self, ast, stmt: int, params: frozenset = frozenset()):
        """Replace constructor calls and array literals by their values, computed now."""
        if isinstance(ast, sx.Call):
            if ast.func in CONSTRUCTORS and ast.func not in self.funcs:
                return self._construct(ast, stmt, params)
            return sx.Call(ast.func, [self.fold(a, stmt, params) for a in ast.args], ast.pos)
        if isinstance(ast, sx.ArrayLit):
            from bpshell.graph.build import array_literal

            value = array_literal(ast)
            self._check_elements(value.size, ast.pos)
            return sx.Const(value, ast.pos, sx.to_text(ast) if value.size <= 16 else "")
        if isinstance(ast, sx.Unary):
            return sx.Unary(ast.op, self.fold(ast.operand, stmt, params), ast.pos)
        if isinstance(ast, sx.Binary):
            if ast.op == "**":
                return sx.Binary(ast.op, self.fold(ast.left, stmt, params),
                                 self.fold(ast.right, stmt, params), ast.pos)
            base, chain = sx.spine(ast)
            acc = self.fold(base, stmt, params)
            for b in chain:
                acc = sx.Binary(b.op, acc, self.fold(b.right, stmt, params), b.pos)
            return acc
        if isinstance(ast, sx.Transpose):
            return sx.Transpose(self.fold(ast.operand, stmt, params), ast.pos)
        if isinstance(ast, sx.Name) and ast.id == "_" and "_" not in params:
            if self.last is None:
                raise UnknownName("'_' is the last value, and there is none yet", *ast.pos)
            return sx.Const(self.last, ast.pos, "_")
        return ast

    def _construct(self, ast: sx.Call, stmt: int, params: frozenset) -> sx.Const:
        c = CONSTRUCTORS[ast.func]
        lo, hi = c.arity
        if not lo <= len(ast.args) <= hi:
            raise BpError(f"{c.name} takes {lo}" + (f" to {hi}" if hi != lo else "") +
                          f" arguments: {c.example}", *ast.pos)
        args = []
        for a in ast.args:
            if refs_of(a, self.funcs) & params:
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
        self._check_elements(count, ast.pos)
        try:
            value = c.make(self.rng, *args)
        except (ValueError, TypeError, IndexError) as e:
            raise BpError(f"{c.name}: {e}", *ast.pos) from None
        return sx.Const(np.asarray(value, dtype=np.float64), ast.pos, sx.to_text(ast))

    def _check_elements(self, count: int, pos) -> None:
        if count > self.limits.max_elements:
            raise LimitError(f"{count:,} elements is over the limit of "
                             f"{self.limits.max_elements:,} (BPSHELL_MAX_ELEMENTS raises it)",
                             *pos)

    # ------------------------------------------------------------ state changes
    def _depends_on(self, refs: set[str], name: str) -> bool:
        """Whether any of refs reads name, directly or through other definitions."""
        stack, seen = list(refs), set()
        while stack:
            n = stack.pop()
            if n == name:
                return True
            if n in seen:
                continue
            seen.add(n)
            b = self.bindings.get(n)
            if isinstance(b, Formula):
                stack.extend(b.refs)
        return False

    def _invalidate(self, name: str) -> None:
        stack, seen = [name], set()
        while stack:
            n = stack.pop()
            for u in self.users.get(n, ()):
                if u not in seen:
                    seen.add(u)
                    self.cache.pop(u, None)
                    stack.append(u)

    def _bind(self, name: str, binding: Leaf | Formula, value) -> None:
        old = self.bindings.get(name)
        if isinstance(old, Formula):
            for r in old.refs:
                self.users.get(r, set()).discard(name)
        self.bindings[name] = binding
        self.cache.pop(name, None)
        if isinstance(binding, Formula):
            for r in binding.refs:
                self.users.setdefault(r, set()).add(name)
            self.cache[name] = value
        self._invalidate(name)
        self.version += 1

    def _unbind(self, name: str) -> None:
        old = self.bindings.pop(name)
        if isinstance(old, Formula):
            for r in old.refs:
                self.users.get(r, set()).discard(name)
        self.cache.pop(name, None)
        self._invalidate(name)
        self.version += 1

    # ------------------------------------------------------------ statements
    def _do_assign(self, stmt: sx.Stmt, chunk: sx.Chunk) -> dict:
        name = stmt.name
        if name in self.funcs:
            raise BpError(f"'{name}' is a function; choose another name", *stmt.pos)
        if name in OPS and name not in OPERATOR_ONLY or name in CONSTRUCTORS:
            raise BpError(f"'{name}' is a built-in function; choose another name", *stmt.pos)
        expr = self.fold(stmt.expr, self.serial)
        refs = refs_of(expr, self.funcs)
        text = stmt.text.split("=", 1)[1].strip()
        update = name in refs or (name in self.users and self._depends_on(refs, name))
        plan, value = self.evaluate(expr, self.serial)
        if update and value is None:
            raise MathError(f"'{name} = {text}' reads {name} itself, so it updates {name} "
                            "from current values, but these have no value yet", *stmt.pos)
        value = to_plain(value)
        if update or not refs:
            binding: Leaf | Formula = Leaf(value, text, self.serial, chunk.line, expr)
        else:
            binding = Formula(expr, text, frozenset(refs), self.serial, chunk.line)
        self._bind(name, binding, value)
        if value is not None:
            self.last = value
        return {"kind": "assign", "name": name, "value": value, "shape": _shape(value),
                "expr": text, "update": update,
                "symbols": sorted(self._symbols_of(plan)) if value is None else []}

    def _symbols_of(self, plan: Plan) -> set[str]:
        """Names without a value that a plan's graph depends on, also through cached names."""
        out = set()
        stack = [n.name for n in plan.graph.nodes if n.name is not None and n.kind != "op"]
        seen: set[str] = set()
        while stack:
            name = stack.pop()
            if name in seen:
                continue
            seen.add(name)
            b = self.bindings.get(name)
            if b is None:
                out.add(name)
            elif isinstance(b, Formula):
                stack.extend(b.refs)
        return out

    def _do_value(self, stmt: sx.Stmt, chunk: sx.Chunk) -> dict:
        expr = self.fold(stmt.expr, self.serial)
        plan, value = self.evaluate(expr, self.serial)
        value = to_plain(value)
        if value is not None:
            self.last = value
        return {"kind": "value", "value": value, "shape": _shape(value),
                "expr": stmt.text,
                "symbols": sorted(self._symbols_of(plan)) if value is None else []}

    def _do_def(self, stmt: sx.Stmt, chunk: sx.Chunk) -> dict:
        from bpshell.symbolic.userfuncs import make_user_function

        name = stmt.name
        if name in OPS or name in CONSTRUCTORS:
            raise BpError(f"'{name}' is a built-in function; choose another name", *stmt.pos)
        if name in self.bindings:
            raise BpError(f"'{name}' already names a value; choose another name", *stmt.pos)
        body = self.fold(stmt.expr, self.serial, frozenset(stmt.params))
        calls = calls_of(body)
        for c in calls:
            if c == name or name in self._calls_closure(c):
                raise BpError(f"{name} would call itself; functions cannot be recursive",
                              *stmt.pos)
        text = stmt.text.split("=", 1)[1].strip()
        fn = make_user_function(name, stmt.params, body, text, self.funcs, frozenset(calls))
        new_funcs = dict(self.funcs)
        new_funcs[name] = fn
        new_users = self._users_with(new_funcs)
        self.funcs = new_funcs
        self.users = new_users
        self.cache.clear()
        self.version += 1
        return {"kind": "def", "name": name, "params": list(stmt.params), "expr": text,
                "elementwise": fn.op is not None}

    def _calls_closure(self, fname: str) -> set[str]:
        out, stack = set(), [fname]
        while stack:
            f = self.funcs.get(stack.pop())
            if f is None:
                continue
            for c in f.calls:
                if c not in out:
                    out.add(c)
                    stack.append(c)
        return out

    def _users_with(self, funcs: dict) -> dict[str, set[str]]:
        """Recompute who reads whom after a function changed; refuse a cycle."""
        users: dict[str, set[str]] = {}
        for n, b in self.bindings.items():
            if isinstance(b, Formula):
                b.refs = frozenset(refs_of(b.expr, funcs))
                for r in b.refs:
                    users.setdefault(r, set()).add(n)
        return users

    def _do_del(self, stmt: sx.Stmt, chunk: sx.Chunk) -> dict:
        for n in stmt.names:
            if n not in self.bindings and n not in self.funcs:
                raise UnknownName(self._unknown(n), *stmt.pos)
        for n in stmt.names:
            if n in self.bindings:
                self._unbind(n)
            else:
                del self.funcs[n]
                self.users = self._users_with(self.funcs)
                self.cache.clear()
                self.version += 1
        return {"kind": "del", "names": list(stmt.names)}

    def _do_reset(self, stmt: sx.Stmt, chunk: sx.Chunk) -> dict:
        self.__init__(self.limits, None)
        return {"kind": "reset"}

    def _do_seed(self, stmt: sx.Stmt, chunk: sx.Chunk) -> dict:
        self.seed = stmt.options["seed"]
        self.rng = np.random.default_rng(self.seed)
        return {"kind": "seed", "seed": self.seed}

    def _do_vars(self, stmt: sx.Stmt, chunk: sx.Chunk) -> dict:
        out = []
        for n, b in self.bindings.items():
            kind = "leaf" if isinstance(b, Leaf) else "formula"
            error = None
            try:
                v = self.value_of(n) if isinstance(b, Formula) else b.value
            except BpError as e:  # a formula its inputs no longer fit: listed, not fatal
                v, kind, error = None, "error", e.message
            if v is None and kind != "error":
                kind = "symbolic"
            out.append({"name": n, "kind": kind, "expr": b.text, "value": to_plain(v),
                        "shape": _shape(v), "error": error})
        funcs = [{"name": f.name, "params": f.params, "expr": f.text,
                  "elementwise": f.op is not None} for f in self.funcs.values()]
        return {"kind": "vars", "vars": out, "functions": funcs}

    # ------------------------------------------------------------ gradients
    def _seed_for(self, plan: Plan, with_ast, stmt: sx.Stmt):
        root_value = plan.values[plan.graph.root]
        if with_ast is not None:
            _, seed = self.evaluate(self.fold(with_ast, self.serial), self.serial)
            if seed is None:
                raise BpError("the upstream gradient after 'with' needs a value", *stmt.pos)
            if np.shape(seed) != np.shape(root_value):
                raise ShapeError(f"the upstream gradient has shape {_shape_text(seed)}, but "
                                 f"{stmt.name} has shape {_shape_text(root_value)}", *stmt.pos)
            return seed
        if np.ndim(root_value) == 0:
            return 1.0
        return np.ones(np.shape(root_value))

    def gradients(self, name: str, wrt: list[str] | None = None, with_ast=None,
                  stmt: sx.Stmt | None = None) -> tuple[Plan, list, dict]:
        plan = self.full_plan(name)
        g = plan.graph
        if plan.values[g.root] is None:
            return plan, [], {}
        targets = None
        if wrt:
            for w in wrt:
                if w not in self.bindings and w not in g.named:
                    raise UnknownName(self._unknown(w), *(stmt.pos if stmt else (None, None)))
            targets = {g.named[w] for w in wrt if w in g.named}
        seed = self._seed_for(plan, with_ast, stmt or sx.Stmt("grad", (None, None), name=name))
        grads = plan.backward(seed, targets)
        self.last_grad = (name, self.version, plan, grads)
        # in the order the names were defined, then symbols in the order they were met
        names = wrt if wrt else [n for n in self.bindings if n in g.named and n != name] + [
            n for n in g.named if n not in self.bindings]
        out = {}
        for n in names:
            i = g.named.get(n)
            if i is None:
                out[n] = 0.0 if np.ndim(self.value_of(n)) == 0 else np.zeros(
                    np.shape(self.value_of(n)))
                continue
            if g.nodes[i].kind == "symbol":
                continue
            gi = grads[i]
            if gi is None:
                if not self._differentiable(plan, i):
                    continue
                gi = np.zeros(np.shape(plan.values[i]))
            out[n] = to_plain(gi)
        return plan, grads, out

    @staticmethod
    def _differentiable(plan: Plan, i: int) -> bool:
        """False for inputs only used as integer labels (of a loss), which have no gradient."""
        for node in plan.graph.nodes:
            if node.kind == "op" and i in node.args:
                k = node.args.index(i)
                if node.op.vjps is None or node.op.vjps[k] is not None:
                    if node.op.vjps is None:
                        return True
                    if node.op.name not in ("cross_entropy", "softmax_cross_entropy"):
                        return True
                    xs = [plan.values[a] for a in node.args]
                    from bpshell.ops.kernels import is_labels

                    if not is_labels(xs[0], xs[1]):
                        return True
        return False

    def _do_grad(self, stmt: sx.Stmt, chunk: sx.Chunk) -> dict:
        plan, grads, out = self.gradients(stmt.name, stmt.names or None,
                                          stmt.options.get("with"), stmt)
        value = plan.values[plan.graph.root]
        if value is None:
            from bpshell.symbolic.reverse import symbolic_gradients

            result = symbolic_gradients(plan.graph, stmt.names or None)
            return {"kind": "grad", "of": stmt.name, "value": None, "shape": [],
                    "symbolic": True, **result}
        return {"kind": "grad", "of": stmt.name, "value": to_plain(value),
                "shape": _shape(value), "symbolic": False, "grads": out,
                "nonfinite": _nonfinite(out), **self._diagnose(plan, grads)}

    def _diagnose(self, plan: Plan, grads: list) -> dict:
        """Findings for a graph; inf/nan held by a leaf is traced into its definition."""
        from bpshell.numeric.diagnose import diagnose, first_nonfinite_value

        found = diagnose(plan.graph, plan.values, grads)
        bad = found["nonfinite_value"]
        if bad is not None and bad["op"] == "leaf":
            leaf = self.bindings.get(plan.graph.nodes[bad["id"]].name)
            if isinstance(leaf, Leaf) and leaf.expr is not None:
                inner, _ = self.evaluate(leaf.expr)
                cause = first_nonfinite_value(inner.graph, inner.values)
                if cause is not None and cause["op"] != "const":
                    cause["reason"] += f" (in the value of {bad['node']} = {leaf.text})"
                    cause["id"] = None
                    found["nonfinite_value"] = cause
        return found

    def _do_check(self, stmt: sx.Stmt, chunk: sx.Chunk) -> dict:
        from bpshell.numeric.check import gradient_check

        eps = stmt.options.get("eps", CHECK_EPS)
        atol = stmt.options.get("atol", CHECK_ATOL)
        rtol = stmt.options.get("rtol", CHECK_RTOL)
        plan, grads, out = self.gradients(stmt.name, None, None, stmt)
        if plan.values[plan.graph.root] is None:
            raise BpError(f"{stmt.name} is symbolic; check needs values for "
                          f"{', '.join(sorted(self._symbols_of(plan)))}", *stmt.pos)
        results = gradient_check(plan, grads, eps, atol, rtol, CHECK_MAX_ELEMENTS,
                                 self._differentiable)
        from bpshell.numeric.diagnose import kinks

        return {"kind": "check", "of": stmt.name, "passed": all(r["passed"] for r in
                                                                 results.values()),
                "eps": eps, "atol": atol, "rtol": rtol, "results": results,
                "kinks": kinks(plan.graph, plan.values)}

    def _do_explain(self, stmt: sx.Stmt, chunk: sx.Chunk) -> dict:
        from bpshell.numeric.explain import explain

        plan, grads, _ = self.gradients(stmt.name, None, None, stmt)
        if plan.values[plan.graph.root] is None:
            raise BpError(f"{stmt.name} is symbolic; explain needs values for "
                          f"{', '.join(sorted(self._symbols_of(plan)))}", *stmt.pos)
        return {"kind": "explain", "of": stmt.name, "value": to_plain(plan.values[
            plan.graph.root]), "step": bool(stmt.options.get("step")),
            **explain(plan, grads), **self._diagnose(plan, grads)}

    # ------------------------------------------------------------ training

    def _train(self, stmt: sx.Stmt, steps: int, every: int) -> dict:
        from bpshell.numeric.train import Optimizer, leaves_for, run_steps

        plan = self.full_plan(stmt.name)
        if plan.values[plan.graph.root] is None:
            raise BpError(f"{stmt.name} is symbolic; give its inputs values first", *stmt.pos)
        names = leaves_for(plan, stmt.names or None)
        opt = Optimizer(stmt.options["lr"], stmt.options.get("momentum", 0.0),
                        bool(stmt.options.get("adam")))
        if steps < 1:
            raise BpError("steps must be at least 1", *stmt.pos)
        out = run_steps(plan, names, opt, steps, every,
                        self.progress if stmt.kind == "fit" else None)
        for n, v in out.pop("params").items():
            b = self.bindings[n]
            self._bind(n, Leaf(to_plain(v), b.text, b.stmt, b.line), None)
        return {"of": stmt.name, "lr": opt.lr, "optimizer": opt.name, "updated": names,
                **out}

    def _do_step(self, stmt: sx.Stmt, chunk: sx.Chunk) -> dict:
        out = self._train(stmt, 1, 1)
        for k in ("trace", "steps_done", "interrupted"):
            out.pop(k)
        return {"kind": "step", **out}

    def _do_fit(self, stmt: sx.Stmt, chunk: sx.Chunk) -> dict:
        steps = stmt.options.get("steps", 100)
        every = stmt.options.get("every", max(1, steps // 10))
        return {"kind": "fit", "steps": steps, "every": every,
                **self._train(stmt, steps, every)}

    def _do_plot(self, stmt: sx.Stmt, chunk: sx.Chunk) -> dict:
        wrt = stmt.name
        if wrt is None:
            raise BpError("plot needs 'wrt NAME': plot sigmoid(x) wrt x from -6 to 6",
                          *stmt.pos)
        expr = self.fold(stmt.expr, self.serial)
        data_names = stmt.options.get("data", [])
        if "from" in stmt.options:
            lo, hi = stmt.options["from"], stmt.options["to"]
            xs = np.linspace(lo, hi, 201)
        else:
            xs = self.value_of(wrt)
            if xs is None or np.ndim(xs) == 0:
                raise BpError(f"give a range ('from A to B') or make {wrt} an array",
                              *stmt.pos)
            xs = np.asarray(xs, dtype=np.float64)
        bindings = dict(self.bindings)
        bindings[wrt] = Leaf(xs, "", 0, 0)
        b = Builder(bindings, self.funcs, None, self.limits.max_nodes, self.last)
        b.graph.root = b.expr(expr, {}, self.serial)
        plan = Plan(b.graph, self.limits.max_elements)
        y = plan.forward()
        if y is None:
            raise BpError("the expression is symbolic here; give its other inputs values",
                          *stmt.pos)
        if np.size(y) != np.size(xs):
            raise ShapeError(f"plot needs one value per {wrt}: got {np.size(y)} values for "
                             f"{np.size(xs)} points", *stmt.pos)
        dy = None
        if wrt in b.graph.named:
            grads = plan.backward(np.ones(np.shape(y)), {b.graph.named[wrt]})
            g = grads[b.graph.named[wrt]]
            dy = None if g is None else np.asarray(g, dtype=np.float64).reshape(-1)
        data = {}
        for n in data_names:
            v = self.value_of(n)
            if v is None or np.size(v) != np.size(self.value_of(wrt)):
                raise ShapeError(f"data {n} needs one value per {wrt}", *stmt.pos)
            data[n] = np.asarray(v, dtype=np.float64).reshape(-1)
        result = {"kind": "plot", "expr": sx.to_text(expr), "wrt": wrt,
                  "x": xs.reshape(-1), "y": np.asarray(y, dtype=np.float64).reshape(-1),
                  "dy": dy, "data": data,
                  "data_x": np.asarray(self.value_of(wrt), dtype=np.float64).reshape(-1)
                  if data else None, "file": stmt.options.get("file")}
        if result["file"]:
            from bpshell.render.plotfile import save_plot

            save_plot(result, os.path.expanduser(result["file"]))
        return result

    def _do_diff(self, stmt: sx.Stmt, chunk: sx.Chunk) -> dict:
        from bpshell.symbolic.expr import differentiate

        expr = self.fold(stmt.expr, self.serial)
        try:
            result = differentiate(expr, stmt.name, self.bindings, self.funcs, self.limits)
        except ArithmeticError as e:  # SymPy's Float division by 0.0, an mpmath overflow
            raise MathError(f"SymPy cannot take this expression: {type(e).__name__}"
                            f"{': ' + str(e) if str(e) else ''} (a division by 0.0?)",
                            *stmt.pos) from None
        return {"kind": "diff", **result}

    def _do_tree(self, stmt: sx.Stmt, chunk: sx.Chunk) -> dict:
        from bpshell.numeric.tree import build_tree

        plan, grads = self._plan_with_grads(stmt.name)
        return {"kind": "tree", "of": stmt.name,
                "root": build_tree(plan, grads, plan.graph.named[stmt.name], TREE_MAX_NODES),
                "has_grads": grads is not None}

    def _plan_with_grads(self, name: str) -> tuple[Plan, list | None]:
        """The plan of the last grad if it covers name and nothing changed since."""
        if self.last_grad is not None:
            root, version, plan, grads = self.last_grad
            if version == self.version and name in plan.graph.named:
                return plan, grads
        if name not in self.bindings:
            raise UnknownName(self._unknown(name))
        return self.full_plan(name), None

    def _do_rules(self, stmt: sx.Stmt, chunk: sx.Chunk) -> dict:
        from bpshell.symbolic.rules import rules_table

        return {"kind": "rules", "rules": rules_table(self.funcs)}

    def _do_help(self, stmt: sx.Stmt, chunk: sx.Chunk) -> dict:
        from bpshell.commands.help import help_result

        return {"kind": "help", **help_result(stmt.options.get("topic"), self.funcs)}

    def _do_exit(self, stmt: sx.Stmt, chunk: sx.Chunk) -> dict:
        return {"kind": "exit"}

    _do_quit = _do_exit

    # ------------------------------------------------------------ files
    def script(self) -> str:
        """The session's definitions as a script that replays to the same state."""
        from bpshell.commands.save_script import session_script

        return session_script(self)

    def _do_save(self, stmt: sx.Stmt, chunk: sx.Chunk) -> dict:
        path = _path(stmt)
        text = self.script()
        directory = os.path.dirname(os.path.abspath(path))
        tmp = None
        try:
            # a temporary file, then a rename: an interrupted save leaves the old file whole
            fd, tmp = tempfile.mkstemp(prefix=".bpshell-", suffix=".tmp", dir=directory)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
            tmp = None
        except (OSError, ValueError) as e:  # ValueError: a NUL byte in the path
            raise FileError(f"cannot write {path}: {getattr(e, 'strerror', None) or e}",
                            *stmt.pos) from None
        finally:
            if tmp is not None and os.path.exists(tmp):
                os.unlink(tmp)
        statements = sum(1 for line in text.splitlines() if line and not line.startswith("#"))
        return {"kind": "save", "path": path, "statements": statements}

    def _do_run(self, stmt: sx.Stmt, chunk: sx.Chunk) -> dict:
        path = _path(stmt)
        text = read_source(path, stmt.pos)
        key = os.path.realpath(path)
        if key in self._running:
            raise FileError(f"{path} is already running: a script cannot run itself",
                            *stmt.pos)
        saved = self._snapshot()
        self._running.add(key)
        results = []
        try:
            for r in self.iter_run(text, time_limit=0):
                r["file"] = path
                results.append(r)
                if not r["ok"]:
                    err = r["error"]
                    # the whole script is one statement here: all of it, or nothing
                    self._restore(saved)
                    raise BpError(f"{path}:{err['line']}:{err['column']}: {err['message']}",
                                  *stmt.pos)
        except KeyboardInterrupt:
            self._restore(saved)
            raise
        finally:
            self._running.discard(key)
        return {"kind": "run", "path": path, "results": results}

    def _snapshot(self) -> tuple:
        """What a failed `run` must put back (values are never changed in place)."""
        return (dict(self.bindings), dict(self.funcs), dict(self.cache),
                {k: set(v) for k, v in self.users.items()}, self.rng.bit_generator.state,
                self.seed, self.last, self.version, self.last_grad)

    def _restore(self, saved: tuple) -> None:
        (self.bindings, self.funcs, self.cache, self.users, rng_state, self.seed, self.last,
         self.version, self.last_grad) = saved
        self.rng.bit_generator.state = rng_state
        self.version += 1  # plans built in between are stale

    def _do_export(self, stmt: sx.Stmt, chunk: sx.Chunk) -> dict:
        path = _path(stmt)
        if not path.endswith((".svg", ".html", ".txt")):
            raise FileError("export writes .svg, .html or .txt files", *stmt.pos)
        return {"kind": "export", "path": path}


def read_source(path: str, pos=(None, None)) -> str:
    """A script's text for `run FILE`; unreadable or non-UTF-8 files are FileErrors."""
    try:
        return read_script(path)
    except (OSError, ValueError) as e:  # ValueError: a NUL byte in the path
        reason = getattr(e, "strerror", None) or str(e)
        raise FileError(f"cannot read {path}: {reason}", *pos) from None
    except ScriptError as e:
        where = f" at line {e.line}, column {e.column}" if e.line else ""
        raise FileError(f"cannot read {path}: {e.message}{where}", *pos) from None


def _path(stmt: sx.Stmt) -> str:
    path = stmt.options.get("path", "").strip()
    if not path:
        raise FileError(f"'{stmt.kind}' needs a file name: '{stmt.kind} FILE'", *stmt.pos)
    return os.path.expanduser(path)


def _shape(v) -> list[int]:
    return [] if v is None else list(np.shape(v))


def _shape_text(v) -> str:
    s = np.shape(v)
    return "x".join(map(str, s)) if s else "scalar"


def _nonfinite(grads: dict) -> list[str]:
    """Names whose gradient holds inf or nan (math.isfinite for scalars: 20x np.isfinite)."""
    return [n for n, g in grads.items()
            if (not math.isfinite(g) if isinstance(g, float) else
                isinstance(g, np.ndarray) and not np.all(np.isfinite(g)))]


__all__ = ["Session", "Graph"]
