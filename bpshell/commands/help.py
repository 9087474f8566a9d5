"""`help` and `help TOPIC`, generated from the command table and the op table."""

from __future__ import annotations

from bpshell.commands.registry import in_groups
from bpshell.errors import BpError
from bpshell.language.grammar import usage
from bpshell.ops.table import CONSTRUCTORS, FOLDED, OPERATOR_ONLY, OPS

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
GROUPS = {"commands": "command", "functions": "function", "operators": "operator",
          "constructors": "constructor"}


def entries(funcs: dict) -> list[dict]:
    """Every help entry: commands (from their declarations), operators, ops, functions."""
    out = []
    for c in in_groups():
        if c.hidden:
            continue
        out.append({"name": c.name, "kind": "command", "summary": c.summary,
                    "example": c.examples[0], "usage": usage(c.name, c.grammar),
                    "examples": list(c.examples), "notes": list(c.notes),
                    "aliases": list(c.aliases), "group": c.group})
    for name, (summary, example) in OPERATORS.items():
        out.append({"name": name, "kind": "operator", "summary": summary, "example": example})
    for op in OPS.values():
        if op.name not in OPERATOR_ONLY:
            out.append({"name": op.name, "kind": "function", "summary": op.doc,
                        "example": op.example})
    for name, (summary, example) in FOLDED.items():  # the command of the same name is first
        out.append({"name": f"{name}(...)", "kind": "function", "summary": summary,
                    "example": example})
    for c in CONSTRUCTORS.values():
        out.append({"name": c.name, "kind": "constructor", "summary": c.doc,
                    "example": c.example})
    for f in funcs.values():
        out.append({"name": f.name, "kind": "user function",
                    "summary": f"{f.name}({', '.join(f.params)}) = {f.text}",
                    "example": f"{f.name}(" + ", ".join(f.params) + ")"})
    return out


def help_result(topic: str | None, funcs: dict) -> dict:
    found = entries(funcs)
    if topic:
        if topic in GROUPS:
            found = [e for e in found if e["kind"] == GROUPS[topic]]
        else:
            hit = [e for e in found if e["name"] == topic or topic in e["name"].split()
                   or topic in e.get("aliases", ())]
            if not hit:
                raise BpError(f"no help on '{topic}'; try 'help' for the list")
            found = hit
    return {"topic": topic, "entries": found}


def readme_table() -> str:
    """The README's table of commands, one row per command, from the same declarations."""
    rows = ["| command | what it does | example |", "|---|---|---|"]
    for c in in_groups():
        if c.hidden:
            continue
        also = f" (also `{'`, `'.join(c.aliases)}`)" if c.aliases else ""
        summary = c.summary.replace("|", "\\|")
        rows.append(f"| `{usage(c.name, c.grammar)}` | {summary}{also} | `{c.examples[0]}` |")
    return "\n".join(rows) + "\n"
