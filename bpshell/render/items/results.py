"""Result dicts to items (lines, tables, trees): what each kind of result shows.

Nothing is computed here beyond formatting: every number comes from the engine's dict.
A kind this module does not know is shown as `key: value` lines, so that a newer engine
never breaks an older front end.
"""

from __future__ import annotations

from collections.abc import Callable

from bpshell.render.doc import (
    DERIV,
    DIM,
    ERR,
    GRAD,
    HEAD,
    NAME,
    NUM,
    OK,
    OP,
    SYM,
    WARN,
    Item,
    Line,
    Table,
    line,
)
from bpshell.render.format import Style, is_array, number, shape_text, summary, value_text
from bpshell.render.train import explain_items, fit_items, plot_items, step_items
from bpshell.render.tree import tree_items

Renderer = Callable[[dict, Style], list[Item]]


def items_for(result: dict, style: Style) -> list[Item]:
    """The items that show one result."""
    if not result.get("ok", True):
        return error_items(result, style)
    fn = _RENDERERS.get(result.get("kind", ""), _generic)
    return fn(result, style)


# ---------------------------------------------------------------- values


def _assign(r: dict, style: Style) -> list[Item]:
    name = r["name"]
    if r["value"] is None:
        return [_symbolic_line(r, name)]
    out = line((name, NAME), " = ", (value_text(r["value"], style, f"{name} = "), NUM))
    if is_array(r["value"]):
        out.add(f"  # {shape_text(r['shape'])}", DIM)
    return [out]


def _value(r: dict, style: Style) -> list[Item]:
    if r["value"] is None:
        return [_symbolic_line(r, None)]
    out = line((value_text(r["value"], style), NUM))
    if is_array(r["value"]):
        out.add(f"  # {shape_text(r['shape'])}", DIM)
    return [out]


def _symbolic_line(r: dict, name: str | None) -> Line:
    """A value with no number yet: its expression, and the symbols it waits for."""
    out = Line()
    if name:
        out.add(name, NAME).add(" = ")
    out.add(r["expr"], SYM)
    symbols = r.get("symbols") or []
    note = "symbolic in " + ", ".join(symbols) if symbols else "symbolic"
    return out.add(f"  # {note}", DIM)


# ---------------------------------------------------------------- gradients


def _grad(r: dict, style: Style) -> list[Item]:
    of = r["of"]
    if r.get("symbolic"):
        return _grad_symbolic(r, style)
    head = line("grad ", (of, NAME), ("  (", DIM), (of, NAME), " = ",
                (summary(r["value"], style), NUM), (")", DIM))
    grads = r.get("grads") or {}
    if not grads:
        return [head, line((f"{of} depends on no named input", DIM), indent=2)]
    arrays = any(is_array(g) for g in grads.values())
    cols = ["gradient", "shape", "value"] if arrays else ["gradient", "value"]
    rows = []
    for name, g in grads.items():
        cells = [style.d(of, name)]
        if arrays:
            cells.append(shape_text(getattr(g, "shape", ())))
        cells.append(value_text(g, style))
        rows.append(cells)
    styles = [NAME, DIM, GRAD] if arrays else [NAME, GRAD]
    out: list[Item] = [head, Table(cols, rows, styles=styles)]
    found = findings(r, style)
    bad = r.get("nonfinite") or []
    if bad and not r.get("nonfinite_grad"):
        found.insert(0, line(("warning: ", WARN), "not finite (inf or nan): " + ", ".join(bad),
                             indent=2))
    return out + found


def _grad_symbolic(r: dict, style: Style) -> list[Item]:
    of = r["of"]
    out: list[Item] = [line("grad ", (of, NAME), ("  # symbolic", DIM))]
    for name, expr in (r.get("definitions") or {}).items():
        out.append(line(("where ", DIM), (name, NAME), " = ", (expr, SYM), indent=2))
    for step in r.get("steps") or []:
        out.append(line(("step  ", DIM), (step["name"], NAME), " = ", (step["expr"], DERIV),
                        indent=2))
    rows = [[style.d(of, name), expr] for name, expr in (r.get("grads") or {}).items()]
    if rows:
        out.append(Table(["gradient", "expression"], rows, styles=[NAME, DERIV]))
    return out


def _check(r: dict, style: Style) -> list[Item]:
    verdict = ("passed", OK) if r["passed"] else ("FAILED", ERR)
    head = line("check ", (r["of"], NAME), ": ", verdict,
                (f"  (eps {r['eps']:g}, atol {r['atol']:g}, rtol {r['rtol']:g})", DIM))
    rows = []
    for leaf, res in r["results"].items():
        rows.append([leaf, f"{res['max_abs_error']:.2e}", f"{res['max_rel_error']:.2e}",
                     str(res["elements"]),
                     line(("pass", OK)) if res["passed"] else line(("FAIL", ERR))])
    if not rows:
        return [head, line(("no leaf to check", DIM), indent=2)]
    cols = ["leaf", "max abs error", "max rel error", "elements", "result"]
    return [head, Table(cols, rows, styles=[NAME, NUM, NUM, DIM, ""]), *findings(r, style)]


def _diff(r: dict, style: Style) -> list[Item]:
    pretty = r["pretty"] if style.unicode else r["ascii"]
    y = r["output_name"]
    head = line("diff ", (r["expr"], SYM), " wrt ", (r["wrt"], NAME))
    rows: list[list] = []

    def add(label: str, key: str) -> None:
        shown = pretty.get(key)
        rows.append([label, line((shown, DERIV))])
        if shown and "\n" in shown:
            rows.append(["", line(("as text: ", DIM), (r[key], DERIV))])

    add(style.d("", r["wrt"]), "derivative")
    add("simplified", "simplified")
    if r.get("in_terms_of_output") is not None:
        add(f"in terms of {y}", "in_terms_of_output")
        if y != r["expr"]:
            rows.append(["", line((f"where {y} = {r['expr']}", DIM))])
    else:
        rows.append([f"in terms of {y}", line(("no such form found", DIM))])
    out: list[Item] = [head, Table([], rows, styles=[HEAD, ""])]
    if r.get("simplify_note"):
        out.append(line((r["simplify_note"], DIM), indent=2))
    return out


# ---------------------------------------------------------------- tables


def _rules(r: dict, style: Style) -> list[Item]:
    rows = []
    for rule in r["rules"]:
        inputs = rule.get("inputs") or []
        rows.append([line((rule["call"], OP)), rule.get("definition") or "",
                     _per_input(rule.get("derivative") or [], inputs, style, rule),
                     _per_input(rule.get("output_form") or [], inputs, style, rule),
                     rule.get("kink") or ""])
    cols = ["op", "definition", "derivative", "in terms of y", "note"]
    return [Table(cols, rows, styles=[OP, "", DERIV, DERIV, DIM],
                  title=line(("rules", HEAD), ("  (y is the op's output)", DIM)))]


def _per_input(forms: list, inputs: list, style: Style, rule: dict) -> str:
    """One derivative per input, labelled when there are several."""
    if rule.get("kind") == "structural":
        return "\n".join(f for f in forms if f)
    if len(forms) == 1:
        return forms[0] or ""
    if not any(forms):
        return ""
    # one line per input, blank where there is no form, so the lines of columns align
    return "\n".join(f"{style.d('', name)}: {form}" if form else ""
                     for name, form in zip(inputs, forms))


def _vars(r: dict, style: Style) -> list[Item]:
    out: list[Item] = []
    if r["vars"]:
        rows = []
        for v in r["vars"]:
            shown = "symbolic" if v["value"] is None else summary(v["value"], style)
            rows.append([v["name"], v["kind"], v["expr"], shown])
        out.append(Table(["name", "kind", "definition", "value"], rows,
                         styles=[NAME, DIM, SYM, NUM]))
    for f in r.get("functions") or []:
        out.append(line("def ", (f"{f['name']}({', '.join(f['params'])})", OP), " = ",
                        (f["expr"], SYM)))
    if not out:
        out.append(line(("no names defined yet", DIM)))
    return out


def _help(r: dict, style: Style) -> list[Item]:
    rows = [[e["name"], e["kind"], e["summary"], e["example"]] for e in r["entries"]]
    title = None
    if not r.get("topic"):
        title = line(("help", HEAD), ("  ('help NAME' for one entry, 'help commands', "
                                      "'help functions', 'help operators')", DIM))
    return [Table(["name", "kind", "summary", "example"], rows, title=title,
                  styles=[NAME, DIM, "", SYM])]


# ---------------------------------------------------------------- state changes


def _def(r: dict, style: Style) -> list[Item]:
    note = ("elementwise: its derivative is derived by SymPy" if r.get("elementwise")
            else "inlined where it is used")
    return [line("def ", (f"{r['name']}({', '.join(r['params'])})", OP), " = ",
                 (r["expr"], SYM), (f"  # {note}", DIM))]


def _simple(text: Callable[[dict], str]) -> Renderer:
    return lambda r, style: [line((text(r), DIM))]


def _run(r: dict, style: Style) -> list[Item]:
    out: list[Item] = []
    for sub in r.get("results") or []:
        out.extend(items_for(sub, style))
    n = len(r.get("results") or [])
    out.append(line((f"ran {r['path']} ({n} statement{'s' if n != 1 else ''})", DIM)))
    return out


def _generic(r: dict, style: Style) -> list[Item]:
    """Any kind this front end does not know yet: its fields as `key: value` lines."""
    skip = {"line", "column", "source", "ok", "kind"}
    out: list[Item] = [line((r.get("kind", "result"), HEAD))]
    for key, value in r.items():
        if key not in skip:
            out.extend(_field(key, value, style, 2))
    return out


def _field(key: str, value, style: Style, indent: int) -> list[Item]:
    """`key: value`, with dicts and lists of dicts opened up one level deeper."""
    label = f"{key}: "
    if isinstance(value, dict) and value:
        out: list[Item] = [line((label, DIM), indent=indent)]
        for k, v in value.items():
            out.extend(_field(str(k), v, style, indent + 2))
        return out
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        out = [line((label, DIM), indent=indent)]
        for i, v in enumerate(value):
            out.extend(_field(f"[{i}]", v, style, indent + 2))
        return out
    return [line((label, DIM), _plain(value, style, " " * (indent + len(label))),
                 indent=indent)]


def _plain(value, style: Style, prefix: str) -> str:
    if isinstance(value, float) or is_array(value):
        return value_text(value, style, prefix)
    if isinstance(value, list):
        return "[" + ", ".join(_plain(v, style, "") for v in value) + "]"
    if value is None:
        return "none"
    return str(value)


def findings(r: dict, style: Style) -> list[Item]:
    """What the engine noticed about a graph: where inf/nan began, kinks, unstable patterns."""
    out: list[Item] = []
    bad = r.get("nonfinite_value")
    if bad:
        out.append(line(("warning: ", WARN), f"{bad['node']} is not finite: {bad['reason']}",
                        indent=2))
    bad = r.get("nonfinite_grad")
    if bad:
        out.append(line(("warning: ", WARN), f"the gradient of {bad['node']} is not finite: "
                        f"{bad['reason']}", indent=2))
    for k in r.get("kinks") or []:
        n = k.get("count", 1)
        where = "at 0" if n == 1 else f"at 0 in {n} elements"
        out.append(line(("note: ", DIM), f"{k['node']} ({k['op']}) is evaluated {where}, "
                        f"where it has a kink: {k['convention']}", indent=2))
    for h in r.get("hints") or []:
        out.append(line(("hint: ", WARN), f"{h['pattern']} at {h['node']}; instead: "
                        f"{h['suggest']}", indent=2))
    return out


def error_items(r: dict, style: Style, source: str | None = None,
                filename: str | None = None) -> list[Item]:
    """`FILE:LINE:COL: error: message` (or `error: message`), the line and a caret.

    source is the whole text the statement came from (a file, a -c argument, one entry
    typed at the prompt), so the line shown is the line the error's position is in.
    """
    err = r["error"]
    ln, col = err.get("line") or r.get("line"), err.get("column") or r.get("column")
    head = Line()
    if filename is not None:
        head.add(f"{filename}:{ln}:{col}: ", HEAD)
    head.add("error: ", ERR).add(err["message"])
    out: list[Item] = [head]
    text = _source_line(source, ln) if source is not None else None
    if text is not None and col and 1 <= col <= len(text) + 1:
        out.append(line(text, indent=2))
        out.append(line((caret_prefix(text, col - 1) + "^", ERR), indent=2))
    return out


def _source_line(source: str | None, ln: int | None) -> str | None:
    if source is None or not ln:
        return None
    lines = source.split("\n")
    if 1 <= ln <= len(lines):
        return lines[ln - 1].rstrip("\r")
    return None


def caret_prefix(text: str, offset: int) -> str:
    """Spaces (and the source's own tabs) up to offset, so the caret lines up."""
    return "".join("\t" if ch == "\t" else " " for ch in text[:offset])


_RENDERERS: dict[str, Renderer] = {
    "assign": _assign,
    "value": _value,
    "grad": _grad,
    "check": _check,
    "diff": _diff,
    "tree": tree_items,
    "rules": _rules,
    "vars": _vars,
    "help": _help,
    "def": _def,
    "del": _simple(lambda r: "deleted " + ", ".join(r["names"])),
    "reset": _simple(lambda r: "session reset: every name and function forgotten"),
    "seed": _simple(lambda r: f"random seed {r['seed']}"),
    "save": _simple(lambda r: f"saved the session to {r['path']} "
                    f"({r['statements']} lines)"),
    "run": _run,
    "export": _simple(lambda r: f"exported the output so far to {r['path']}"),
    "exit": lambda r, style: [],
    "explain": explain_items,
    "step": step_items,
    "fit": lambda r, style: fit_items(r, style, live=style.whole),
    "plot": plot_items,
}

__all__ = ["items_for", "error_items", "caret_prefix", "Style", "number", "GRAD", "NUM"]
