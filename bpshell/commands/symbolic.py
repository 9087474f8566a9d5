"""Symbolic work: `diff` (a derivative, simplified and in terms of the output) and `rules`."""

from __future__ import annotations

from bpshell.commands.registry import Args, command
from bpshell.errors import BpError, MathError, UnknownName
from bpshell.language.grammar import Expr, Flag, Names, OneName
from bpshell.results.fields import TEXT


@command("diff", Expr("expr", doc="the expression to differentiate; unbound names are "
                      "symbols"),
         OneName("wrt", "wrt", required=True, why="expected 'wrt NAME': 'diff EXPR wrt NAME'",
                 doc="the variable to differentiate with respect to"),
         Flag("simplify", "simplify", doc="also run SymPy's simplify (may take seconds)"),
         Flag("expanded", "expanded", doc="of a named chain, the derivative written out in "
              "the inputs alone"),
         summary="symbolic derivative: raw, simplified, and in terms of the output",
         examples=("diff sigmoid(x) wrt x", "diff y wrt w expanded",
                   "diff tanh(x)**2 wrt x simplify"), group="symbolic",
         notes=("'in terms of y' is the form the backward pass uses: sigmoid' = y*(1 - y), "
                "tanh' = 1 - y**2, exp' = y.",
                "'simplify' also runs SymPy's simplify, which may take seconds "
                "(BPSHELL_SIMPLIFY_SECONDS bounds it).",
                "Of a name defined through other named nodes (h2 = sigmoid(w2*h1 + b2)), "
                "diff answers in chain form, in terms of those nodes; 'expanded' writes it "
                "out in the inputs alone."),
         fields={"wrt": str, "expr": str, "derivative": str, "simplified": str,
                 "simplify_note": TEXT, "output_name": str, "in_terms_of_output": TEXT,
                 "pretty": dict, "ascii": dict, "chain": (dict, type(None))})
def diff(session, args: Args, stmt) -> dict:
    from bpshell.language import ast as A
    from bpshell.symbolic.expr import differentiate

    state = session.state
    expr = session.ev.fold(args.expr, state.serial)
    if isinstance(expr, A.Name) and not args.expanded and expr.id in state.bindings:
        chain = _chain(session, expr.id, args.wrt, stmt)
        if chain is not None:
            return chain
    try:
        result = differentiate(expr, args.wrt, state.bindings, state.funcs, session.limits,
                               simplify=args.simplify)
    except ArithmeticError as e:  # SymPy's Float division by 0.0, an mpmath overflow
        raise MathError(f"SymPy cannot take this expression: {type(e).__name__}"
                        f"{': ' + str(e) if str(e) else ''} (a division by 0.0?)",
                        *stmt.pos) from None
    except BpError as e:
        raise e.at(*stmt.pos) from None
    return {"kind": "diff", **result}


def _chain(session, name: str, wrt: str, stmt) -> dict | None:
    """The chain form of diff NAME wrt x, when NAME is built from other named nodes."""
    from bpshell.symbolic.reverse import chain_derivative, has_named_steps

    builder = session.ev.builder(frozen=False)
    graph = builder.graph
    graph.root = builder.name_node(name)
    if not has_named_steps(graph):
        return None
    try:
        chain = chain_derivative(graph, name, wrt)
    except BpError as e:
        raise e.at(*stmt.pos) from None
    text = chain["result"]
    return {"kind": "diff", "wrt": wrt, "expr": name, "derivative": text,
            "simplified": text, "simplify_note": None, "output_name": name,
            "in_terms_of_output": None, "pretty": {}, "ascii": {}, "chain": chain}


@command("rules", Names("ops", optional=True, meta="OP, ...",
                         doc="only these ops (by name: sigmoid, mul, matmul)"),
         summary="every op with its definition, derivative and form in terms of y",
         examples=("rules", "rules sigmoid", "rules mul, matmul"), group="symbolic",
         notes=("'y' is the op's output: sigmoid's derivative in terms of y is y*(1 - y), "
                "the form the backward pass uses.",
                "A structural op (matmul, sum, softmax) shows its vector-Jacobian rule as "
                "the book writes it: dX = dY @ W.T."),
         fields={"rules": list})
def rules(session, args: Args, stmt) -> dict:
    from bpshell.symbolic.rules import rules_table

    found = rules_table(session.state.funcs)
    if args.ops:
        by_name = {r["op"]: r for r in found}
        for name in args.ops:
            if name not in by_name:
                raise UnknownName(_unknown_op(name, by_name), *stmt.pos)
        found = [by_name[name] for name in args.ops]
    return {"kind": "rules", "rules": found}


def _unknown_op(name: str, known: dict) -> str:
    import difflib

    from bpshell.language.habits import function_hint

    hint = function_hint(name) or next(iter(difflib.get_close_matches(name, known, n=1)), None)
    return f"no op named '{name}'" + (f"; did you mean {hint}?" if hint else
                                      "; 'rules' lists them all")
