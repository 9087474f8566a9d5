"""Statements that bind and show values: `name = expr`, an expression alone, `def`, `del`,
`vars`, `reset`, `seed`."""

from __future__ import annotations

from bpshell.commands.registry import Args, command
from bpshell.errors import BpError, MathError, UnknownName
from bpshell.evaluate import shape_of
from bpshell.graph.build import Formula, Leaf, calls_of, refs_of
from bpshell.language.grammar import Names, Number, Signature
from bpshell.numeric.passes import to_plain
from bpshell.ops.table import CONSTRUCTORS, OPERATOR_ONLY, OPS
from bpshell.results.fields import VALUE


@command("assign", summary="bind a name; a right side that reads its own name is an update",
         examples=("x = 2", "y = sigmoid(w*x + b)"), group="values", hidden=True,
         fields={"name": str, "value": VALUE, "shape": list, "expr": str, "update": bool,
                 "symbols": list})
def assign(session, args: Args, stmt) -> dict:
    state, ev = session.state, session.ev
    name = args.name
    if name in state.funcs:
        raise BpError(f"'{name}' is a function; choose another name", *stmt.pos)
    if name in OPS and name not in OPERATOR_ONLY or name in CONSTRUCTORS:
        raise BpError(f"'{name}' is a built-in function; choose another name", *stmt.pos)
    expr = ev.fold(args.expr, state.serial)
    refs = refs_of(expr, state.funcs)
    text = stmt.text.split("=", 1)[1].strip()
    update = name in refs or (name in state.users and state.depends_on(refs, name))
    plan, value = ev.evaluate(expr, state.serial)
    if update and value is None:
        raise MathError(f"'{name} = {text}' reads {name} itself, so it updates {name} "
                        "from current values, but these have no value yet", *stmt.pos)
    value = to_plain(value)
    if update or not refs:
        binding: Leaf | Formula = Leaf(value, text, state.serial, stmt.pos[0], expr)
    else:
        binding = Formula(expr, text, frozenset(refs), state.serial, stmt.pos[0])
    state.bind(name, binding, value)
    if value is not None:
        state.last = value
    return {"kind": "assign", "name": name, "value": value, "shape": shape_of(value),
            "expr": text, "update": update,
            "symbols": sorted(ev.symbols_of(plan)) if value is None else []}


@command("value", summary="an expression alone shows its value; `_` is the last one",
         examples=("2 * 3", "sigmoid(0)"), group="values", hidden=True,
         fields={"value": VALUE, "shape": list, "expr": str, "symbols": list})
def value(session, args: Args, stmt) -> dict:
    state, ev = session.state, session.ev
    plan, v = ev.evaluate(ev.fold(args.expr, state.serial), state.serial)
    v = to_plain(v)
    if v is not None:
        state.last = v
    return {"kind": "value", "value": v, "shape": shape_of(v), "expr": stmt.text,
            "symbols": sorted(ev.symbols_of(plan)) if v is None else []}


@command("def", Signature(doc="the function's name, its parameters, and its body"),
         summary="define a function; SymPy derives its derivative",
         examples=("def swish(u) = u*sigmoid(u)", "def affine(x, w, b) = x @ w + b"),
         group="values",
         notes=("A body that is elementwise in its parameters alone becomes one op with a "
                "derived derivative; any other body is inlined where it is called.",),
         fields={"name": str, "params": list, "expr": str, "elementwise": bool})
def define(session, args: Args, stmt) -> dict:
    from bpshell.symbolic.userfuncs import make_user_function

    state = session.state
    name, params, body = args.signature
    if name in OPS or name in CONSTRUCTORS:
        raise BpError(f"'{name}' is a built-in function; choose another name", *stmt.pos)
    if name in state.bindings:
        raise BpError(f"'{name}' already names a value; choose another name", *stmt.pos)
    body = session.ev.fold(body, state.serial, frozenset(params))
    calls = calls_of(body)
    for c in calls:
        if c == name or name in _calls_closure(state.funcs, c):
            raise BpError(f"{name} would call itself; functions cannot be recursive",
                          *stmt.pos)
    text = stmt.text.split("=", 1)[1].strip()
    fn = make_user_function(name, params, body, text, state.funcs, frozenset(calls),
                            session.limits.max_depth)
    state.set_functions({**state.funcs, name: fn}, refs_of)
    loop = state.cycle()  # a formula that calls it, read by its body: refused, rolled back
    if loop:
        raise BpError(f"def {name} would make {loop[0]} read itself ({' -> '.join(loop)}, "
                      f"through {name}); a definition cannot depend on itself", *stmt.pos)
    return {"kind": "def", "name": name, "params": list(params), "expr": text,
            "elementwise": fn.op is not None}


def function_users(state, fname: str) -> list[str]:
    """The functions and formulas that call fname directly (none if it is no function)."""
    if fname not in state.funcs:
        return []
    users = [f.name for f in state.funcs.values() if fname in f.calls and f.name != fname]
    users += [n for n, b in state.bindings.items()
              if isinstance(b, Formula) and fname in calls_of(b.expr)]
    return users


def _calls_closure(funcs: dict, fname: str) -> set[str]:
    out, stack = set(), [fname]
    while stack:
        f = funcs.get(stack.pop())
        if f is None:
            continue
        for c in f.calls:
            if c not in out:
                out.add(c)
                stack.append(c)
    return out


@command("del", Names("names", required=True, doc="the names or functions to forget"),
         summary="forget names or functions (their users see them as symbols again)",
         examples=("del x", "del apple, n"), group="session",
         notes=("Formulas that read a deleted name keep their definition and become "
                "symbolic in it.",),
         fields={"names": list})
def delete(session, args: Args, stmt) -> dict:
    state = session.state
    for n in args.names:
        if n not in state.bindings and n not in state.funcs:
            raise UnknownName(session.ev.unknown(n), *stmt.pos)
    for n in args.names:
        users = [u for u in function_users(state, n) if u not in args.names]
        if users:
            raise BpError(f"{n} is used by {', '.join(users)}: a formula or function cannot "
                          "lose a function it calls (del those too, or redefine it)",
                          *stmt.pos)
    for n in args.names:
        if n in state.bindings:
            state.unbind(n)
        elif n in state.funcs:
            funcs = dict(state.funcs)
            del funcs[n]
            state.set_functions(funcs, refs_of)
        else:
            raise UnknownName(f"'{n}' is named twice", *stmt.pos)
    return {"kind": "del", "names": list(args.names)}


@command("vars", summary="every name with its definition and value, and every function",
         examples=("vars",), group="session",
         notes=("The kind of a name is param (a leaf 'fit' trains), leaf (a value), formula "
                "(live: follows its inputs) or symbolic (no value yet).",),
         fields={"vars": list, "functions": list, "mode": str})
def show_vars(session, args: Args, stmt) -> dict:
    state, ev = session.state, session.ev
    out = []
    for n, b in list(state.bindings.items()):
        kind = ("param" if n in state.params else "leaf") if isinstance(b, Leaf) \
            else "formula"
        error = None
        try:
            v = ev.value_of(n) if isinstance(b, Formula) else b.value
        except BpError as e:  # a formula its inputs no longer fit: listed, not fatal
            v, kind, error = None, "error", e.message
        if v is None and kind != "error":
            kind = "symbolic"
        out.append({"name": n, "kind": kind, "expr": b.text, "value": to_plain(v),
                    "shape": shape_of(v), "error": error})
    funcs = [{"name": f.name, "params": f.params, "expr": f.text,
              "elementwise": f.op is not None} for f in state.funcs.values()]
    return {"kind": "vars", "vars": out, "functions": funcs, "mode": state.mode}


@command("reset", summary="forget every name, function and the random seed",
         examples=("reset",), group="session",
         fields={})
def reset(session, args: Args, stmt) -> dict:
    session.replace_state()
    return {"kind": "reset"}


@command("seed", Number("seed", integer=True, minimum=0, meta="N",
                        why="'seed' needs a number: 'seed 0'", doc="a whole number"),
         summary="make random values reproducible", examples=("seed 0", "seed 42"),
         group="session",
         notes=("randn(...) after 'seed N' gives the same values in every session.",),
         fields={"seed": int})
def seed(session, args: Args, stmt) -> dict:
    session.state.reseed(args.seed)
    return {"kind": "seed", "seed": args.seed}
