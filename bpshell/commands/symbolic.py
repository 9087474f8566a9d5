"""Symbolic work: `diff` (a derivative, simplified and in terms of the output) and `rules`."""

from __future__ import annotations

from bpshell.commands.registry import Args, command
from bpshell.errors import MathError
from bpshell.language.grammar import Expr, OneName
from bpshell.results.fields import TEXT


@command("diff", Expr("expr"), OneName("wrt", "wrt", required=True,
                                       why="expected 'wrt NAME': 'diff EXPR wrt NAME'"),
         summary="symbolic derivative: raw, simplified, and in terms of the output",
         examples=("diff sigmoid(x) wrt x", "diff x**3 + 2*x wrt x"), group="symbolic",
         notes=("'in terms of y' is the form the backward pass uses: sigmoid' = y*(1 - y), "
                "tanh' = 1 - y**2, exp' = y.",),
         fields={"wrt": str, "expr": str, "derivative": str, "simplified": str,
                 "simplify_note": TEXT, "output_name": str, "in_terms_of_output": TEXT,
                 "pretty": dict, "ascii": dict})
def diff(session, args: Args, stmt) -> dict:
    from bpshell.symbolic.expr import differentiate

    state = session.state
    expr = session.ev.fold(args.expr, state.serial)
    try:
        result = differentiate(expr, args.wrt, state.bindings, state.funcs, session.limits)
    except ArithmeticError as e:  # SymPy's Float division by 0.0, an mpmath overflow
        raise MathError(f"SymPy cannot take this expression: {type(e).__name__}"
                        f"{': ' + str(e) if str(e) else ''} (a division by 0.0?)",
                        *stmt.pos) from None
    return {"kind": "diff", **result}


@command("rules", summary="every op with its definition, derivative and form in terms of y",
         examples=("rules",), group="symbolic",
         fields={"rules": list})
def rules(session, args: Args, stmt) -> dict:
    from bpshell.symbolic.rules import rules_table

    return {"kind": "rules", "rules": rules_table(session.state.funcs)}
