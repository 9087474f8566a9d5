"""`quiz NAME`: practise the backward pass on a graph, node by node from the output down."""

from __future__ import annotations

import numpy as np

from bpshell.commands.registry import Args, command
from bpshell.errors import BpError
from bpshell.graph.build import Formula
from bpshell.language.grammar import Target
from bpshell.numeric.passes import to_plain

BUILT_IN = ("apple", "sigmoid", "affine", "random")


@command("quiz", Target(doc="a name of yours, or apple, sigmoid, affine (the book's graphs) "
                        "or random"),
         summary="practise the backward pass: each node's local derivative and gradient, "
                 "checked",
         examples=("quiz price", "quiz apple", "quiz sigmoid"), group="gradients",
         notes=("From the output down, each question asks for a local derivative or for "
                "the gradient sent down (local x upstream); an answer is any bpshell "
                "expression: 1.1, tax, y*(1 - y).",
                "A wrong answer gets a hint (the op's rule), a second one the answer; "
                "q or Ctrl-C leaves, with the score so far.",
                "On a graph with values an answer is checked with those values; on a "
                "symbolic one with SymPy, so every equivalent form is right.",
                "In a script, answers are read from stdin, one per line."),
         fields={"of": str, "source": str, "symbolic": bool, "definitions": dict,
                 "questions": list, "checker": object})
def quiz(session, args: Args, stmt) -> dict:
    name, ev, source = args.name, session.ev, "session"
    b = session.state.bindings.get(name)
    if not isinstance(b, Formula) and name in BUILT_IN:
        (name, ev), source = _built_in(session, name), name
    elif b is None:
        raise BpError(f"nothing named '{name}' to practise on; try 'quiz apple', "
                      "'quiz sigmoid', 'quiz affine' or 'quiz random'", *stmt.pos)
    elif not isinstance(b, Formula):
        raise BpError(f"'{name}' holds a value with no graph behind it; quiz a name "
                      "defined by a formula, or 'quiz apple'", *stmt.pos)
    plan, grads, _ = ev.gradients(name, None, None, stmt.pos)
    from bpshell.commands.quizzing import Quiz

    symbolic = plan.values[plan.graph.root] is None
    make = _symbolic_questions if symbolic else _numeric_questions
    questions, defs = make(plan, grads, name)
    checker = Quiz(questions, symbolic, dict(ev.state.funcs), session.limits, defs)
    definitions = {n: b.text for n, b in ev.state.bindings.items()}
    return {"kind": "quiz", "of": name, "source": source, "symbolic": symbolic,
            "definitions": definitions, "questions": [q.as_dict() for q in questions],
            "checker": checker}


def _built_in(session, which: str):
    """The book's graph (or a random one) in a scratch session, so yours is untouched."""
    from bpshell.commands.quizzing import BOOK, random_graph

    scratch = type(session)(limits=session.limits)
    if which == "random":
        seed = int(session.state.rng.integers(2**31))
        name = random_graph(np.random.default_rng(seed), scratch.state, 1)
    else:
        text, name = BOOK[which]
        for r in scratch.run(text):
            if not r["ok"]:
                raise BpError(f"the {which} graph failed: {r['error']['message']}")
    return name, scratch.ev


def _env(plan) -> dict:
    g = plan.graph
    return {n: to_plain(plan.values[i]) for n, i in g.named.items()}


def _numeric_questions(plan, grads, of: str):
    from bpshell.commands.quizzing import Question
    from bpshell.numeric.explain import explain

    env = _env(plan)
    out = []
    rows = explain(plan, grads)["rows"]
    _name_inputs(rows)
    for row in rows:
        own = dict(env, dY=row["upstream"], dout=row["upstream"])
        if "y" not in env:
            own["y"] = row["value"]
        for d in row["downstream"]:
            rule = _rule_hint(row["op"], d)
            if not d.get("rule", ""):
                out.append(Question(row["node"], row["op"], d["to"], "local",
                                    _ask_local(row, d), d["local"], rule,
                                    d["local_value"], own))
            out.append(Question(row["node"], row["op"], d["to"], "downstream",
                                _ask_down(of, row, d), _answer_text(row, d),
                                _down_hint(row, d, rule), d["value"], own))
    return out, {}


def _symbolic_questions(plan, grads, of: str):
    import sympy as sp

    from bpshell.commands.quizzing import Question
    from bpshell.symbolic.ledger import Formulas, symbolic_ledger

    graph = plan.graph
    found = symbolic_ledger(Formulas(graph, graph.root, set()), sp.Integer(1))
    expressions = [found["values"].get(i) for i in range(len(graph.nodes))]
    full = _expanded(graph, expressions)
    defs = {expressions[i]: full[i] for n, i in graph.named.items()
            if graph.nodes[i].kind == "op"}
    out, edge = [], 0
    _name_inputs(found["rows"])
    for row in found["rows"]:
        # y, when the graph has no y of its own, is this node's output
        env = {} if "y" in graph.named else {"y": full[row["id"]]}
        for d in row["downstream"]:
            _, local, down = found["edges"][edge]
            edge += 1
            rule = _rule_hint(row["op"], d)
            out.append(Question(row["node"], row["op"], d["to"], "local",
                                _ask_local(row, d), d["local"], rule, local, env))
            out.append(Question(row["node"], row["op"], d["to"], "downstream",
                                _ask_down(of, row, d), d["value"],
                                _down_hint(row, d, rule), down, env))
    return out, defs


def _name_inputs(rows: list[dict]) -> None:
    """Give each input with a short name (u1) its definition, from the row that defines it."""
    defined = {row["id"]: row["definition"] for row in rows if row.get("definition")}
    for row in rows:
        for d in row["downstream"]:
            if d["id"] in defined and d["to"] != row["node"]:
                d["defined"] = defined[d["id"]]


def _expanded(graph, expressions: list) -> list:
    """Each node's expression in the leaves and symbols alone (named nodes expanded)."""
    from bpshell.symbolic.calls import sympy_call

    full = list(expressions)
    for i, node in enumerate(graph.nodes):
        if node.kind == "op":
            full[i] = full[node.args[0]] if node.op.name == "id" else \
                sympy_call(node.op, *[full[a] for a in node.args])
    return full


def _answer_text(row: dict, d: dict) -> str:
    """What the learner could have typed: the rule's right side, or local x upstream."""
    rule = d.get("rule", "")
    if "summed over broadcast axes" in rule:
        return "dY summed over the axes broadcast: sum(dY, 0) for a bias"
    if " = " in rule:
        return rule.split(" = ", 1)[1].split(":", 1)[0]
    return f"({d['local']})*{_short(row['upstream'])}"


def _target(d: dict) -> str:
    """An input as a question names it: u1 = apple*n when it has a short name."""
    return f"{d['to']} = {d['defined']}" if d.get("defined") else d["to"]


def _ask_local(row: dict, d: dict) -> str:
    return (f"{row['node']} ({row['op']}): its local derivative with respect to "
            f"{_target(d)}?")


def _ask_down(of: str, row: dict, d: dict) -> str:
    return (f"{row['node']} ({row['op']}) receives {_short(row['upstream'])} from above: "
            f"the gradient it sends down to {_target(d)}?")


def _short(v) -> str:
    """A value as a question quotes it: a number, a small array, or its shape."""
    if isinstance(v, str):
        return v
    if np.ndim(v) == 0:
        return f"{float(v):.10g}"
    if np.size(v) <= 6:
        return np.array2string(np.asarray(v), separator=", ").replace("\n", "")
    return "an array of shape " + "x".join(map(str, np.shape(v)))


def _rule_hint(op_name: str, d: dict) -> str:
    """The rule of the op, as `rules` writes it."""
    from bpshell.ops.table import OPS
    from bpshell.symbolic.rules import rule_row

    op = OPS.get(op_name)
    if op is None:
        return f"differentiate the node's expression with respect to {d['to']}"
    row = rule_row(op)
    forms = []
    for k, (raw, form) in enumerate(zip(row["derivative"], row["output_form"])):
        name = op.inputs[k] if k < len(op.inputs) else "x"
        text = raw if " = " in raw else f"d/d{name} = {raw}"
        forms.append(text + (f" = {form}" if form else ""))
    return f"the rule for {row['call']}: " + "; ".join(forms) + \
        ("  (y is the output)" if any(row["output_form"]) else "")


def _down_hint(row: dict, d: dict, rule: str) -> str:
    if d.get("rule", ""):
        return f"{rule}; dY is what arrives from above"
    return (f"the gradient sent down is the local derivative times the upstream "
            f"gradient, {_short(row['upstream'])}")
