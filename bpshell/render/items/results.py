"""Result dicts to items (lines, tables, trees): what each kind of result shows.

Nothing is computed here beyond formatting: every number comes from the engine's dict.
A kind this module does not know is shown as `key: value` lines, so that a newer engine
never breaks an older front end.
"""

from __future__ import annotations

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
from bpshell.render.format import (
    Style,
    is_array,
    print_limit_note,
    shape_text,
    summary,
    value_text,
)
from bpshell.render.items.arrays import brief
from bpshell.render.items.findings import findings
from bpshell.render.registry import items_for, renders

# ---------------------------------------------------------------- values


@renders("assign")
def _assign(r: dict, style: Style) -> list[Item]:
    name = r["name"]
    if r["value"] is None:
        return [_symbolic_line(r, name)]
    out = line((name, NAME), " = ", (value_text(r["value"], style, f"{name} = "), NUM))
    return [_shape_note(out, r, style)]


@renders("value")
def _value(r: dict, style: Style) -> list[Item]:
    if r["value"] is None:
        return [_symbolic_line(r, None)]
    out = line((value_text(r["value"], style), NUM))
    return [_shape_note(out, r, style)]


def _shape_note(out: Line, r: dict, style: Style) -> Line:
    """`  # 2x3` after an array; and when it was summarized, why and how to see all."""
    if is_array(r["value"]):
        note = print_limit_note(r["value"], style)
        out.add(f"  # {shape_text(r['shape'])}" + (f"; {note}" if note else ""), DIM)
    return out


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


@renders("grad")
def _grad(r: dict, style: Style) -> list[Item]:
    of = r["of"]
    if r.get("symbolic"):
        return _grad_symbolic(r, style)
    head = line("grad ", (of, NAME), ("  (", DIM), (of, NAME), " = ",
                (brief(r["value"], style), NUM), (")", DIM))
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


@renders("check")
def _check(r: dict, style: Style) -> list[Item]:
    verdict = ("passed", OK) if r["passed"] else ("FAILED", ERR)
    head = line("check ", (r["of"], NAME), ": ", verdict,
                (f"  (eps {r['eps']:g}, atol {r['atol']:g}, rtol {r['rtol']:g})", DIM))
    rows = []
    for leaf, res in r["results"].items():
        at = res.get("at")
        rows.append([leaf, f"{res['max_abs_error']:.2e}",
                     "[" + ", ".join(map(str, at)) + "]" if at else "",
                     f"{res['backprop']:.6g}" if "backprop" in res else "",
                     f"{res['numeric']:.6g}" if "numeric" in res else "",
                     f"{res['mean_abs_error']:.2e}" if "mean_abs_error" in res else "",
                     str(res["elements"]),
                     line(("pass", OK)) if res["passed"] else line(("FAIL", ERR))])
    if not rows:
        return [head, line(("no leaf to check", DIM), indent=2)]
    cols = ["leaf", "max |diff|", "at", "backprop", "numeric", "mean |diff|", "elements",
            "result"]
    return [head, Table(cols, rows, styles=[NAME, NUM, DIM, GRAD, GRAD, NUM, DIM, ""]),
            *findings(r, style)]


@renders("diff")
def _diff(r: dict, style: Style) -> list[Item]:
    if r.get("chain"):
        return _diff_chain(r, style)
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
    if r["simplified"] != r["derivative"]:  # shown only where it is simpler
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


def _diff_chain(r: dict, style: Style) -> list[Item]:
    """The chain form: d_h steps, then the derivative, in terms of the named nodes."""
    chain, of, wrt = r["chain"], r["expr"], r["wrt"]
    out: list[Item] = [line("diff ", (of, NAME), " wrt ", (wrt, NAME),
                            ("  chain form, in terms of the named nodes", DIM))]
    rows: list[list] = [[line((s["name"], NAME)), line((s["expr"], DERIV))]
                        for s in chain["steps"]]
    rows.append([line((style.d(of, wrt), NAME)), line((r["derivative"], DERIV))])
    out.append(Table([], rows, styles=[NAME, DERIV]))
    if chain["steps"]:
        out.append(line((f"d_h is {style.d(of, 'h')}: the gradient flowing into the "
                         f"named node h", DIM), indent=2))
    for name, expr in chain["definitions"].items():
        out.append(line(("where ", DIM), (name, NAME), " = ", (expr, SYM), indent=2))
    out.append(line((f"'diff {of} wrt {wrt} expanded' writes it out in the inputs alone",
                     DIM), indent=2))
    return out


# ---------------------------------------------------------------- tables


@renders("rules")
def _rules(r: dict, style: Style) -> list[Item]:
    from bpshell.render.items.train import fit, too_wide

    rows = []
    for rule in r["rules"]:
        inputs = rule.get("inputs") or []
        rows.append([line((rule["call"], OP)), rule.get("definition") or "",
                     _per_input(rule.get("derivative") or [], inputs, style, rule),
                     _per_input(rule.get("output_form") or [], inputs, style, rule),
                     rule.get("kink") or ""])
    cols = ["op", "definition", "derivative", "in terms of y", "note"]
    title = line(("rules", HEAD), ("  (y is the op's output)", DIM))
    table = Table(cols, rows, styles=[OP, "", DERIV, DERIV, DIM], title=title)
    if not too_wide(table, style):
        return [table]
    # narrower than the table: one block per op, each line wrapped only at spaces
    out: list[Item] = [title]
    for row in rows:
        out.append(Line(list(row[0].segs), indent=2))
        for label, cell, kind in zip(cols[1:], row[1:], (SYM, DERIV, DERIV, DIM)):
            for k, text in enumerate(t for t in str(cell).split("\n") if t):
                out.append(line((label if k == 0 else "", DIM), " " * (
                    15 - (len(label) if k == 0 else 0)), (text, kind), indent=4))
    return fit(out, style)


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


@renders("vars")
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
    if r.get("mode", "train") != "train":  # dropout and batchnorm run as in evaluation
        out.append(line(("mode ", DIM), (r["mode"], NAME), (" (dropout and batchnorm as in "
                                                            "evaluation; 'mode train' "
                                                            "switches back)", DIM)))
    return out


# ---------------------------------------------------------------- state changes


@renders("def")
def _def(r: dict, style: Style) -> list[Item]:
    note = ("elementwise: its derivative is derived by SymPy" if r.get("elementwise")
            else "inlined where it is used")
    return [line("def ", (f"{r['name']}({', '.join(r['params'])})", OP), " = ",
                 (r["expr"], SYM), (f"  # {note}", DIM))]


def _note(text: str) -> list[Item]:
    return [line((text, DIM))]


@renders("del")
def _del(r: dict, style: Style) -> list[Item]:
    return _note("deleted " + ", ".join(r["names"]))


@renders("reset")
def _reset(r: dict, style: Style) -> list[Item]:
    return _note("session reset: every name and function forgotten")


@renders("seed")
def _seed(r: dict, style: Style) -> list[Item]:
    return _note(f"random seed {r['seed']}")


@renders("save")
def _save(r: dict, style: Style) -> list[Item]:
    return _note(f"saved the session to {r['path']} ({r['statements']} lines)")


@renders("export")
def _export(r: dict, style: Style) -> list[Item]:
    return _note(f"exported the output so far to {r['path']}")


@renders("exit")
def _exit(r: dict, style: Style) -> list[Item]:
    return []


@renders("run")
def _run(r: dict, style: Style) -> list[Item]:
    out: list[Item] = []
    kept = r.get("results") or []
    for sub in kept:  # none when the front end showed each as it came
        out.extend(items_for(sub, style))
    n = r.get("statements", len(kept))
    out.append(line((f"ran {r['path']} ({n:,} statement{'s' if n != 1 else ''})", DIM)))
    return out


@renders("draw")
def _draw(r: dict, style: Style) -> list[Item]:
    where = r["path"] if len(r["paths"]) == 1 else f"{r['paths'][0]} ... {r['path']}"
    out = _note(f"drew {r['of']} to {where} ({r['nodes']} nodes, {r['edges']} arrows)")
    if r.get("note"):
        out.append(line((r["note"], DIM), indent=2))
    return out


@renders("codegen")
def _codegen(r: dict, style: Style) -> list[Item]:
    if r["path"]:
        return _note(f"wrote the {r['target']} code of {r['of']} to {r['path']}")
    return [line(text) for text in r["code"].rstrip("\n").split("\n")]
