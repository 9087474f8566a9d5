"""`help` and `help TOPIC`, generated from the op table and the command list."""

from __future__ import annotations

from bpshell.ops.table import CONSTRUCTORS, OPERATOR_ONLY, OPS

COMMANDS: dict[str, tuple[str, str]] = {
    "grad": ("backward pass: gradients of NAME for every named node it depends on "
             "(upstream 1, or ones for an array, or 'with EXPR')", "grad loss wrt W, b"),
    "diff": ("symbolic derivative: raw, simplified, and in terms of the output",
             "diff sigmoid(x) wrt x"),
    "check": ("gradient check: central differences against backprop for every leaf "
              "(eps 1e-6, atol 1e-5, rtol 1e-3 as torch.autograd.gradcheck)",
              "check loss atol 1e-6"),
    "tree": ("the graph of NAME with local derivatives, values and gradients", "tree y"),
    "explain": ("the backward pass of NAME as a ledger, one row per node", "explain y"),
    "rules": ("every op with its definition, derivative and derivative in terms of y",
              "rules"),
    "vars": ("every name with its definition and value", "vars"),
    "del": ("forget names (their users see them as symbols again)", "del x"),
    "reset": ("forget everything", "reset"),
    "seed": ("make random values reproducible", "seed 0"),
    "def": ("define a function; its derivative is derived by SymPy",
            "def swish(u) = u*sigmoid(u)"),
    "step": ("one gradient-descent step on the leaves after 'wrt' (without 'wrt': every "
             "leaf LOSS depends on, data included)", "step loss lr 0.1 wrt w, b"),
    "fit": ("repeat 'step': steps N, a loss line every K steps",
            "fit loss lr 0.1 steps 2000 wrt w, b every 500"),
    "plot": ("plot an expression and its derivative in the terminal (to FILE.png saves it)",
             "plot sigmoid(x) wrt x from -6 to 6"),
    "save": ("write the session's definitions as a script that replays to the same state",
             "save session.bp"),
    "run": ("run a script inside this session", "run examples/apple.bp"),
    "export": ("write the session's output as shown (.svg, .html or .txt)",
               "export tree.svg"),
    "help": ("this help; 'help TOPIC' for one command, function or operator", "help grad"),
    "exit": ("leave the shell (also quit, or Ctrl-D)", "exit"),
}

OPERATORS: dict[str, tuple[str, str]] = {
    "=": ("bind a name; definitions are live (they follow their inputs); a right side "
          "that reads its own name is an update", "y = sigmoid(w*x + b)"),
    "+ - * /": ("elementwise arithmetic with NumPy broadcasting", "a*b + c/d"),
    "** ^": ("power (^ is the same as **)", "x**2"),
    "@": ("matrix product", "X @ W + b"),
    ".T": ("transpose", "X.T @ dY"),
    "[ ]": ("array literal", "[[1, 2], [3, 4]]"),
    "#": ("comment to the end of the line", "x = 2  # input"),
    ";": ("several statements on one line", "x = 2; y = x**2"),
    "_": ("the last value", "_ * 2"),
}


def help_result(topic: str | None, funcs: dict) -> dict:
    entries = []
    for name, (summary, example) in COMMANDS.items():
        entries.append({"name": name, "kind": "command", "summary": summary,
                        "example": example})
    for name, (summary, example) in OPERATORS.items():
        entries.append({"name": name, "kind": "operator", "summary": summary,
                        "example": example})
    for op in OPS.values():
        if op.name not in OPERATOR_ONLY:
            entries.append({"name": op.name, "kind": "function", "summary": op.doc,
                            "example": op.example})
    for c in CONSTRUCTORS.values():
        entries.append({"name": c.name, "kind": "constructor", "summary": c.doc,
                        "example": c.example})
    for f in funcs.values():
        entries.append({"name": f.name, "kind": "user function",
                        "summary": f"{f.name}({', '.join(f.params)}) = {f.text}",
                        "example": f"{f.name}(" + ", ".join(f.params) + ")"})
    if topic:
        groups = {"commands": "command", "functions": "function", "operators": "operator",
                  "constructors": "constructor"}
        if topic in groups:
            entries = [e for e in entries if e["kind"] == groups[topic]]
        else:
            hit = [e for e in entries if e["name"] == topic or topic in e["name"].split()]
            if not hit:
                from bpshell.errors import BpError

                raise BpError(f"no help on '{topic}'; try 'help' for the list")
            entries = hit
    return {"topic": topic, "entries": entries}
