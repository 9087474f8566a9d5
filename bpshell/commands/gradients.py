"""The backward pass and what shows it: `grad`, `check`, `explain`, `tree`."""

from __future__ import annotations

from bpshell.commands.registry import Args, command
from bpshell.errors import BpError, CheckFailed, LimitError, UnknownName
from bpshell.evaluate import nonfinite, shape_of
from bpshell.language.grammar import Expr, Flag, Names, Number, Target
from bpshell.numeric.passes import to_plain
from bpshell.results.fields import FINDINGS, TEXT, VALUE

CHECK_EPS, CHECK_ATOL, CHECK_RTOL = 1e-6, 1e-5, 1e-3  # torch.autograd.gradcheck's defaults
CHECK_MAX_ELEMENTS = 2000  # per leaf; larger leaves are checked at evenly spread elements
TREE_MAX_NODES = 400
WALK_MAX_NODES = 60  # drawn for `explain NAME step` up to this: no terminal shows more


@command("grad", Target(doc="the output whose gradients are computed"),
         Names("wrt", "wrt", doc="only these inputs' gradients (every named input without)"),
         Expr("upstream", "with", doc="the upstream gradient, the book's dout (1, or ones "
              "for an array, without)"),
         summary="backward pass: the value and the gradient of every named input",
         examples=("grad price", "grad loss wrt W, b", "grad Y with [[1], [1]]"),
         group="gradients",
         notes=("The upstream gradient is 1 for a scalar, ones for an array, or the value "
                "after 'with' (the book's dout).",
                "With symbols unbound, the gradients are expressions, built by reverse mode "
                "over each node's local derivative.",
                "Inside an expression, grad(L, W) is the gradient as a value, shaped like W: "
                "'dW = grad(loss, W)', or the book's update 'W = W - 0.1*grad(loss, W)'."),
         fields={"of": str, "value": VALUE, "shape": list, "symbolic": bool, "grads": dict,
                 "nonfinite": list, "steps": list, "definitions": dict, **FINDINGS})
def grad(session, args: Args, stmt) -> dict:
    ev = session.ev
    plan, grads, out = ev.gradients(args.name, args.wrt or None, args.upstream, stmt.pos)
    value = plan.values[plan.graph.root]
    if value is None:
        from bpshell.symbolic.reverse import symbolic_gradients

        for w in args.wrt or ():  # the same error as for a numeric graph
            if w not in session.state.bindings and w not in plan.graph.named:
                raise UnknownName(ev.unknown(w), *stmt.pos)
        result = symbolic_gradients(plan.graph, args.wrt or None, session.limits.max_exponent)
        return {"kind": "grad", "of": args.name, "value": None, "shape": [],
                "symbolic": True, **result}
    out = {n: g + 0.0 for n, g in out.items()}  # -0 reads as a sign; it is 0
    return {"kind": "grad", "of": args.name, "value": to_plain(value),
            "shape": shape_of(value), "symbolic": False, "grads": out,
            "nonfinite": nonfinite(out), **ev.diagnose(plan, grads)}


@command("check", Target(doc="the output whose gradients are checked"),
         Names("wrt", "wrt", doc="only these leaves (without it: the parameters, or every "
               "leaf when none is marked)"),
         Number("eps", "eps", doc="the step of the central differences (f(x+eps) - "
                "f(x-eps)) / 2eps"),
         Number("atol", "atol", doc="the absolute tolerance"),
         Number("rtol", "rtol", doc="the tolerance relative to the numeric gradient"),
         summary="gradient check: central differences against backprop, leaf by leaf",
         examples=("check y", "check loss wrt w, b", "check loss eps 1e-4 atol 1e-6 rtol 1e-2"),
         group="gradients",
         notes=(f"Defaults eps {CHECK_EPS:g}, atol {CHECK_ATOL:g}, rtol {CHECK_RTOL:g}, as "
                "torch.autograd.gradcheck; a leaf passes when |backprop - numeric| <= "
                "atol + rtol*|numeric| at every element checked.",
                "It checks the leaves after 'wrt', else the parameters ('param'), else every "
                "leaf that has a gradient. Each row shows the largest difference, where it "
                "is and both values there, and the book's figure: the mean difference.",
                "A check that fails is a failed statement: a script stops with exit status "
                "1."),
         fields={"of": str, "passed": bool, "eps": float, "atol": float, "rtol": float,
                 "results": dict, "kinks": list})
def check(session, args: Args, stmt) -> dict:
    from bpshell.numeric.check import gradient_check
    from bpshell.numeric.diagnose import kinks

    eps = CHECK_EPS if args.eps is None else args.eps
    atol = CHECK_ATOL if args.atol is None else args.atol
    rtol = CHECK_RTOL if args.rtol is None else args.rtol
    if not eps > 0:
        raise BpError("eps must be above 0", *stmt.pos)
    ev = session.ev
    plan, grads, out = ev.gradients(args.name, args.wrt or None, None, stmt.pos)
    if plan.values[plan.graph.root] is None:
        raise BpError(f"{args.name} is symbolic; check needs values for "
                      f"{', '.join(sorted(ev.symbols_of(plan)))}", *stmt.pos)
    names = _checked_leaves(session, plan, args.wrt, stmt)
    results = gradient_check(plan, grads, eps, atol, rtol, CHECK_MAX_ELEMENTS, names)
    result = {"kind": "check", "of": args.name,
              "passed": all(r["passed"] for r in results.values()),
              "eps": eps, "atol": atol, "rtol": rtol, "results": results,
              "kinks": kinks(plan.graph, plan.values)}
    if not result["passed"]:
        raise CheckFailed(_failure(args.name, results), result, *stmt.pos)
    return result


def _checked_leaves(session, plan, wrt: list[str], stmt) -> list[str] | None:
    """The leaves to check, in the order they were defined: 'wrt', else the parameters,
    else None (every leaf that can have a gradient)."""
    from bpshell.numeric.check import differentiable
    from bpshell.numeric.train import check_leaves

    g = plan.graph
    if wrt:
        try:
            return check_leaves(plan, wrt)
        except BpError as e:
            raise e.at(*stmt.pos) from None
    params = [n for n in session.state.params if n in g.named
              and g.nodes[g.named[n]].kind == "leaf"]
    if params:
        return params
    return [n for n in session.state.bindings if n in g.named
            and g.nodes[g.named[n]].kind == "leaf" and differentiable(plan, g.named[n])]


def _failure(name: str, results: dict) -> str:
    bad = [(leaf, r) for leaf, r in results.items() if not r["passed"]]
    leaf, r = max(bad, key=lambda item: item[1]["max_abs_error"])
    where = f" at {r['at']}" if r["at"] else ""
    return (f"the gradient check of {name} failed for {', '.join(n for n, _ in bad)}: "
            f"{leaf}{where} has backprop {r['backprop']:.6g} and numeric "
            f"{r['numeric']:.6g}")


@command("explain", Target(doc="the output whose backward pass is written out"),
         Expr("upstream", "with", doc="the upstream gradient, as for grad (the book's dout)"),
         Flag("step", "step", doc="walk it one node at a time (Enter: next, Left: back, "
              "v: picture or tree, q: leave)"),
         summary="the backward pass as a ledger: local derivative x upstream = downstream",
         examples=("explain y", "explain Y with [[1], [1]]", "explain loss step"),
         group="gradients",
         notes=("Each row reads: local derivative x upstream gradient = downstream "
                "gradient, for each input of the node, from the output down.",
                "With symbols unbound, the upstream gradient is the symbol dout (the book's "
                "name) and every gradient is an expression; the last column gives each "
                "input's gradient in its simplest form.",
                "'step' walks the backward pass one node at a time in the shell, the graph "
                "drawn with the current node marked: as the book's picture where the "
                "terminal is large enough, else as a tree ('v' switches); in a script or a "
                "pipe it prints the steps one after another, with trees."),
         fields={"of": str, "value": VALUE, "step": bool, "rows": list, "leaves": list,
                 "symbolic": bool, "upstream_symbol": TEXT, "definitions": dict,
                 "pictures": list, **FINDINGS})
def explain(session, args: Args, stmt) -> dict:
    from bpshell.numeric.explain import explain as ledger

    ev = session.ev
    plan, grads, _ = ev.gradients(args.name, None, args.upstream, stmt.pos)
    taken = set(session.state.bindings) | set(session.state.funcs)
    if plan.values[plan.graph.root] is None:
        out = {"kind": "explain", "of": args.name, "value": None, "step": args.step,
               "symbolic": True,
               **_symbolic(session, plan, args.upstream, stmt, taken, grads=False)}
    else:
        out = {"kind": "explain", "of": args.name,
               "value": to_plain(plan.values[plan.graph.root]), "step": args.step,
               "symbolic": False, **ledger(plan, grads, taken), **ev.diagnose(plan, grads)}
    if args.step:
        pictures = _walk_pictures(plan, grads, out)
        if pictures is not None:
            out["pictures"] = pictures
    return out


def _walk_pictures(plan, grads, r: dict) -> list | None:
    """The graph after each step of the walk, for a terminal to draw as the book does:
    picture k has the first k rows of this ledger applied, the gradients this ledger
    computed (a `with` seed included). None for a graph no terminal could show."""
    from bpshell.numeric.picture import picture

    rows = r["rows"]
    ledger = None
    if r["symbolic"]:
        ledger = {"rows": rows, "upstream_symbol": rows[0]["upstream"] if rows else None}
    layers = not r["symbolic"] and any(n.kind == "op" and n.op.name == "matmul"
                                       for n in plan.graph.nodes)
    order = [row["id"] for row in rows]
    try:
        return [picture(plan, grads, plan.graph.root, layers=layers, steps=k, order=order,
                        ledger=ledger, max_nodes=WALK_MAX_NODES)
                for k in range(len(rows) + 1)]
    except LimitError:
        return None


def _symbolic(session, plan, upstream_ast, stmt, taken: set[str], grads: bool) -> dict:
    """The backward pass of a graph with unbound symbols, on expressions."""
    import sympy as sp

    from bpshell.symbolic.expr import number
    from bpshell.symbolic.ledger import Formulas, free_upstream, symbolic_ledger

    f = Formulas(plan.graph, plan.graph.root, taken)
    if upstream_ast is None:
        upstream = free_upstream(taken | set(plan.graph.named))
    else:
        _, seed = session.ev.evaluate(session.ev.fold(upstream_ast, session.state.serial))
        if seed is None or getattr(seed, "ndim", 0):
            raise BpError("a symbolic explain needs a number after 'with'", *stmt.pos)
        upstream = number(float(seed))
    try:
        result = symbolic_ledger(f, upstream)
    except BpError as e:
        raise e.at(*stmt.pos) from None
    out = {"upstream_symbol": str(upstream) if isinstance(upstream, sp.Symbol) else None,
           "definitions": {f.name(i): f.definition(i) for i in f.short}}
    if grads:
        return {**out, "grads": result["grads"]}
    return {**out, "rows": result["rows"], "leaves": result["leaves"],
            "nonfinite_value": None, "nonfinite_grad": None, "kinks": [], "hints": []}


@command("tree", Target(doc="the value whose graph is drawn"),
         summary="the graph of NAME with values, local derivatives and, after grad, gradients",
         examples=("tree price", "tree y"), group="gradients",
         notes=("A node used twice is drawn once and referred to after ('see b').",
                "With symbols unbound, each node's gradient is an expression in the "
                "upstream gradient dout.",
                f"At most {TREE_MAX_NODES} nodes are drawn."),
         fields={"of": str, "root": dict, "has_grads": bool, "upstream_symbol": TEXT})
def tree(session, args: Args, stmt) -> dict:
    from bpshell.numeric.tree import build_tree

    plan, grads = session.ev.plan_with_grads(args.name)
    taken = set(session.state.bindings) | set(session.state.funcs)
    root = plan.graph.named[args.name]
    symbolic, upstream = None, None
    if plan.values[root] is None:
        try:
            found = _symbolic(session, plan, None, stmt, taken, grads=True)
            symbolic, upstream = found["grads"], found["upstream_symbol"]
        except BpError:  # arrays in a symbolic graph: the tree still shows its formulas
            pass
    return {"kind": "tree", "of": args.name,
            "root": build_tree(plan, grads, root, TREE_MAX_NODES, taken, symbolic),
            "has_grads": grads is not None or symbolic is not None,
            "upstream_symbol": upstream}
