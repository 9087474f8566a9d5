"""`help` and `help TOPIC`, generated from the command table and the op table.

`help` alone is one screen: the commands by group, then the names of the functions and
operators. `help NAME` teaches one thing: a command's syntax with every option, examples
that run and notes; an option word with the commands that take it; an op with its
definition and derivative. A name bpshell does not know gets a "did you mean".
"""

from __future__ import annotations

import difflib
import re

from bpshell.commands.registry import GROUPS, Command, in_groups
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
KINDS = {"commands": "command", "functions": "function", "operators": "operator",
         "constructors": "constructor", "options": "option"}


def command_entry(c: Command) -> dict:
    """Everything help says about one command, read from its declaration."""
    parts = [{"usage": p.usage or p.key.upper(), "doc": p.doc, "keyword": bool(p.word)}
             for p in c.grammar]
    return {"name": c.name, "kind": "command", "summary": c.summary, "example": c.examples[0],
            "usage": usage(c.name, c.grammar), "examples": list(c.examples),
            "notes": list(c.notes), "aliases": list(c.aliases), "group": c.group,
            "parts": parts}


def option_entries() -> list[dict]:
    """One entry per option word, with each command that takes it and examples using it."""
    uses: dict[str, list[tuple[Command, object]]] = {}
    for c in in_groups():
        if not c.hidden:
            for part in c.grammar:
                for word in part.words:  # a choice of words (the optimizers) gives each
                    uses.setdefault(word, []).append((c, part))
    out = []
    for word, found in uses.items():
        pattern = re.compile(rf"(?<![\w.]){re.escape(word)}(?![\w(])")
        examples = [ex for c, _ in found for ex in c.examples
                    if pattern.search(ex.split(" ", 1)[1] if " " in ex else "")]
        out.append({"name": word, "kind": "option", "summary": found[0][1].doc,
                    "example": examples[0] if examples else "",
                    "examples": examples[:3],
                    "uses": [{"command": c.name, "usage": usage(c.name, c.grammar),
                              "option": part.usage, "doc": part.doc} for c, part in found]})
    return out


def op_entry(op, kind: str) -> dict:
    from bpshell.symbolic.rules import rule_row

    row = rule_row(op)
    tries = [f"rules {op.name}"]
    if op.elementwise and op.arity == 1 and not op.user:
        tries.insert(0, f"diff {op.example} wrt x")
    return {"name": op.name, "kind": kind, "summary": op.doc, "example": op.example,
            "examples": tries, "rule": {k: row.get(k) for k in
                                        ("call", "definition", "derivative", "output_form",
                                         "inputs", "kink", "kind")}}


def entries(funcs: dict) -> list[dict]:
    """Every help entry: commands, options, operators, ops, constructors, functions."""
    out = [command_entry(c) for c in in_groups() if not c.hidden]
    out += option_entries()
    for name, (summary, example) in OPERATORS.items():
        out.append({"name": name, "kind": "operator", "summary": summary, "example": example})
    for op in OPS.values():
        if op.name != "id":
            out.append(op_entry(op, "operator" if op.name in OPERATOR_ONLY else "function"))
    for name, (summary, example) in FOLDED.items():  # the command of the same name is first
        out.append({"name": f"{name}(...)", "kind": "function", "summary": summary,
                    "example": example, "examples": [example]})
    for c in CONSTRUCTORS.values():
        out.append({"name": c.name, "kind": "constructor", "summary": c.doc,
                    "example": c.example, "examples": [c.example]})
    for f in funcs.values():
        entry = {"name": f.name, "kind": "user function",
                 "summary": f"{f.name}({', '.join(f.params)}) = {f.text}",
                 "example": f"{f.name}(" + ", ".join(f.params) + ")"}
        if f.op is not None:
            entry.update({k: v for k, v in op_entry(f.op, "user function").items()
                          if k in ("rule", "examples")})
        out.append(entry)
    return out


def overview(funcs: dict) -> dict:
    """`help` alone: the commands by group, and the other names in one line each."""
    names = {
        "functions": [op.name for op in OPS.values() if op.name not in OPERATOR_ONLY],
        "operators": list(OPERATORS),
        "constructors": list(CONSTRUCTORS),
    }
    if funcs:
        names["your functions"] = list(funcs)
    return {"topic": None, "entries": [command_entry(c) for c in in_groups() if not c.hidden],
            "names": names}


def help_result(topic: str | None, funcs: dict) -> dict:
    if not topic:
        return overview(funcs)
    found = entries(funcs)
    if topic in KINDS:
        return {"topic": topic, "entries": [e for e in found if e["kind"] == KINDS[topic]],
                "names": {}}
    if topic in GROUPS:
        return {"topic": topic, "entries": [e for e in found if e.get("group") == topic],
                "names": {}}
    hit = [e for e in found if e["name"] == topic or topic in e["name"].split()
           or topic in e.get("aliases", ())]
    if not hit:
        raise BpError(unknown_topic(topic, found))
    return {"topic": topic, "entries": hit, "names": {}}


def unknown_topic(topic: str, found: list[dict]) -> str:
    """No help on a word: name the bpshell spelling of a Python habit, or a close word."""
    from bpshell.language.habits import function_hint

    habit = function_hint(topic)
    if habit is not None:
        return f"no help on '{topic}'; bpshell has no {topic}(): did you mean {habit}?"
    words = [w for e in found for w in (e["name"], *e.get("aliases", ()))]
    words += [*KINDS, *GROUPS]
    close = difflib.get_close_matches(topic, words, n=1)
    if close:
        return f"no help on '{topic}'; did you mean 'help {close[0]}'?"
    return f"no help on '{topic}'; 'help' lists everything"


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
