"""The backward pass and what shows it: `grad`, `check`, `explain`, `tree`."""

from __future__ import annotations

from bpshell.commands.registry import Args, command
from bpshell.errors import BpError
from bpshell.evaluate import nonfinite, shape_of
from bpshell.language.grammar import Expr, Flag, Names, Number, Target
from bpshell.numeric.passes import to_plain
from bpshell.results.fields import FINDINGS, VALUE

CHECK_EPS, CHECK_ATOL, CHECK_RTOL = 1e-6, 1e-5, 1e-3  # torch.autograd.gradcheck's defaults
CHECK_MAX_ELEMENTS = 2000  # per leaf; larger leaves are checked at evenly spread elements
TREE_MAX_NODES = 400


@command("grad", Target(), Names("wrt", "wrt"), Expr("upstream", "with"),
         summary="backward pass: the value and the gradient of every named input",
         examples=("grad price", "grad loss wrt W, b", "grad Y with [[1], [1]]"),
         group="gradients",
         notes=("The upstream gradient is 1 for a scalar, ones for an array, or the value "
                "after 'with' (the book's dout).",
                "With symbols unbound, the gradients are expressions, built by reverse mode "
                "over each node's local derivative."),
         fields={"of": str, "value": VALUE, "shape": list, "symbolic": bool, "grads": dict,
                 "nonfinite": list, "steps": list, "definitions": dict, **FINDINGS})
def grad(session, args: Args, stmt) -> dict:
    ev = session.ev
    plan, grads, out = ev.gradients(args.name, args.wrt or None, args.upstream, stmt.pos)
    value = plan.values[plan.graph.root]
    if value is None:
        from bpshell.symbolic.reverse import symbolic_gradients

        result = symbolic_gradients(plan.graph, args.wrt or None, session.limits.max_exponent)
        return {"kind": "grad", "of": args.name, "value": None, "shape": [],
                "symbolic": True, **result}
    return {"kind": "grad", "of": args.name, "value": to_plain(value),
            "shape": shape_of(value), "symbolic": False, "grads": out,
            "nonfinite": nonfinite(out), **ev.diagnose(plan, grads)}


@command("check", Target(), Number("eps", "eps"), Number("atol", "atol"),
         Number("rtol", "rtol"),
         summary="gradient check: central differences against backprop, leaf by leaf",
         examples=("check y", "check loss atol 1e-6"), group="gradients",
         notes=(f"Defaults eps {CHECK_EPS:g}, atol {CHECK_ATOL:g}, rtol {CHECK_RTOL:g}, as "
                "torch.autograd.gradcheck; a leaf passes when |backprop - numeric| <= "
                "atol + rtol*|numeric| at every element checked.",),
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
    plan, grads, out = ev.gradients(args.name, None, None, stmt.pos)
    if plan.values[plan.graph.root] is None:
        raise BpError(f"{args.name} is symbolic; check needs values for "
                      f"{', '.join(sorted(ev.symbols_of(plan)))}", *stmt.pos)
    results = gradient_check(plan, grads, eps, atol, rtol, CHECK_MAX_ELEMENTS)
    return {"kind": "check", "of": args.name,
            "passed": all(r["passed"] for r in results.values()),
            "eps": eps, "atol": atol, "rtol": rtol, "results": results,
            "kinks": kinks(plan.graph, plan.values)}


@command("explain", Target(), Flag("step", "step"),
         summary="the backward pass as a ledger: local derivative x upstream = downstream",
         examples=("explain y", "explain loss step"), group="gradients",
         notes=("'step' walks the backward pass one node at a time in the shell; in a "
                "script it prints the steps one after another.",),
         fields={"of": str, "value": VALUE, "step": bool, "rows": list, "leaves": list, **FINDINGS})
def explain(session, args: Args, stmt) -> dict:
    from bpshell.numeric.explain import explain as ledger

    ev = session.ev
    plan, grads, _ = ev.gradients(args.name, None, None, stmt.pos)
    if plan.values[plan.graph.root] is None:
        raise BpError(f"{args.name} is symbolic; explain needs values for "
                      f"{', '.join(sorted(ev.symbols_of(plan)))}", *stmt.pos)
    return {"kind": "explain", "of": args.name,
            "value": to_plain(plan.values[plan.graph.root]), "step": args.step,
            **ledger(plan, grads), **ev.diagnose(plan, grads)}


@command("tree", Target(),
         summary="the graph of NAME with values, local derivatives and, after grad, gradients",
         examples=("tree price",), group="gradients",
         fields={"of": str, "root": dict, "has_grads": bool})
def tree(session, args: Args, stmt) -> dict:
    from bpshell.numeric.tree import build_tree

    plan, grads = session.ev.plan_with_grads(args.name)
    return {"kind": "tree", "of": args.name,
            "root": build_tree(plan, grads, plan.graph.named[args.name], TREE_MAX_NODES),
            "has_grads": grads is not None}
