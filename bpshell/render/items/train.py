"""How explain, step, fit and plot results are shown: the ledger, the loss, the curve."""

from __future__ import annotations

from bpshell.render.doc import DERIV, DIM, GRAD, HEAD, NAME, NUM, OP, SYM, Item, Line, Table, line
from bpshell.render.format import Style, is_array, number
from bpshell.render.items.arrays import brief, cell
from bpshell.render.registry import renders


def _num(v, style: Style) -> str:
    return cell(v, style)


def _node_cell(row: dict) -> Line:
    """The node: its name, or u1 = its expression, and its op."""
    out = line((row["node"], NAME))
    if row.get("definition"):
        out.add(" = ").add(row["definition"], SYM)
    return out.add(f" ({row['op']})", DIM)


def _mask_text(mask: dict) -> str:
    """The book's ReLU mask: where x <= 0, dout is set to 0."""
    import numpy as np

    shown = np.array2string(np.array(mask["value"]), separator=", ")
    return (f"mask = ({mask['text']}), dout[mask] = 0\n{shown}\n"
            f"zeroes {mask['zeroed']} of {mask['of']}")


@renders("explain")
def explain_items(r: dict, style: Style, rows_shown: int | None = None) -> list[Item]:
    """The backward pass, one row per node: local x upstream = downstream, with numbers.

    A ledger wider than the terminal is written one block per node instead, so that no
    rule or expression is broken mid-token; a pipe always gets the whole-line table.
    """
    from bpshell.render.items.findings import findings

    if r.get("symbolic"):
        return _symbolic_items(r, style, rows_shown)
    head = line("explain ", (r["of"], NAME), ("  (", DIM), (r["of"], NAME), " = ",
                (brief(r["value"], style), NUM), (")  backward, from the output down", DIM))
    rows = r["rows"] if rows_shown is None else r["rows"][:rows_shown]
    out: list[Item] = [head]
    if rows:
        table = ledger_table(rows, style)
        if too_wide(table, style):
            out.extend(ln for row in rows for ln in ledger_block(row, style))
        else:
            out.append(table)
    if rows_shown is None:
        out.extend(fan_in_items(r, style))
        for row in rows:
            out.extend(composed_items(row, style))
        out.extend(findings(r, style))
    return fit(out, style)


def too_wide(item: Item, style: Style) -> bool:
    """Whether item, drawn whole, is wider than the terminal (a pipe has no width)."""
    from bpshell.render.text import natural_width

    return not style.whole and natural_width(item, style.unicode) > style.width


def fit(items: list[Item], style: Style) -> list[Item]:
    """In a terminal, lines wider than it are wrapped at spaces, never inside a token."""
    if style.whole:
        return items
    from bpshell.render.text import wrap_line

    out: list[Item] = []
    for item in items:
        out.extend(wrap_line(item, style.width) if isinstance(item, Line) else [item])
    return out


def _edge(row: dict, d: dict, style: Style) -> tuple[Line, Line]:
    """One input of a node: its local derivative (or rule, or mask) and what it sends down."""
    if d.get("mask"):  # the derivative, then the book's mask it amounts to
        local = line((f"{style.d('', d['to'])}: {d['local']}", DERIV),
                     ("\n" + _mask_text(d["mask"]), DERIV))
        return local, line((_num(d["value"], style), GRAD))
    if d["rule"] or is_array(row["upstream"]):
        local = line((d["rule"] or f"{style.d('', d['to'])}: {d['local']}", DERIV))
        return local, line((_num(d["value"], style), GRAD))
    local = line((f"{style.d('', d['to'])}: {d['local']}", DERIV))
    if d["local_value"] is not None and d["local_value"] != d["local"]:
        local.add(f" = {_num(d['local_value'], style)}", NUM)
    times = style.sym("×", "x")
    product = line((f"{_num(d['local_value'], style)} {times} "
                    f"{_num(row['upstream'], style)} = ", DIM),
                   (_num(d["value"], style), GRAD))
    return local, product


def _arrow(to: str, style: Style) -> str:
    return f"{style.sym('→', '->')} {to}"


def ledger_table(rows: list[dict], style: Style) -> Table:
    table_rows: list[list] = []
    for row in rows:
        node = _node_cell(row)
        upstream = _num(row["upstream"], style)
        for k, d in enumerate(row["downstream"]):
            local, product = _edge(row, d, style)
            table_rows.append([node if k == 0 else "", upstream if k == 0 else "", local,
                               line((_arrow(d["to"], style), NAME)), product])
        if not row["downstream"]:
            table_rows.append([node, upstream, "", "", ""])
    return Table(["node", "upstream", "local derivative", "to", "downstream"],
                 table_rows, styles=[NAME, GRAD, DERIV, NAME, GRAD])


def ledger_block(row: dict, style: Style) -> list[Line]:
    """One node of the ledger as lines: the node and its upstream gradient, then for each
    input its local derivative and what flows to it."""
    out = [Line([*_node_cell(row).segs, ("  upstream ", DIM),
                 (_num(row["upstream"], style), GRAD)], indent=2)]
    for d in row["downstream"]:
        local, product = _edge(row, d, style)
        out.append(Line(list(local.segs), indent=4))
        out.append(Line([(_arrow(d["to"], style) + ": ", NAME), *product.segs], indent=6))
    return out


def _symbolic_items(r: dict, style: Style, rows_shown: int | None) -> list[Item]:
    """The backward pass on expressions: the upstream gradient is a symbol, dout."""
    dout = r.get("upstream_symbol")
    note = f"upstream gradient {dout}" if dout else "symbolic"
    head = line("explain ", (r["of"], NAME), (f"  ({note})  backward, from the output down",
                                              DIM))
    rows = r["rows"] if rows_shown is None else r["rows"][:rows_shown]
    table = symbolic_table(rows, style)
    out: list[Item] = [head] if table is None else [head, table]
    if rows_shown is not None:
        return out
    for leaf in r["leaves"]:
        if leaf["sum_of"]:
            terms = " + ".join(f"({p['value']}) via {p['from']}" for p in leaf["sum_of"])
            out.append(line((style.d("", leaf["name"]), NAME), " = ", (terms, DIM), indent=2))
    grads = [[leaf["name"], leaf["grad"], leaf["result"]] for leaf in r["leaves"]]
    if grads:
        out.append(Table(["leaf", "gradient", "simplest form"], grads,
                         styles=[NAME, GRAD, GRAD]))
    return out


def symbolic_table(rows: list[dict], style: Style) -> Table | None:
    """Rows of a symbolic ledger: expressions, which have no numbers to multiply out."""
    arrow = style.sym("→", "->")
    table_rows: list[list] = []
    for row in rows:
        first = True
        for d in row["downstream"]:
            local = d["local"] if " = " in d["local"] else \
                f"{style.d('', d['to'])}: {d['local']}"
            table_rows.append([_node_cell(row) if first else "",
                               line((row["upstream"], GRAD)) if first else "",
                               line((local, DERIV)), line((f"{arrow} {d['to']}", NAME)),
                               line((d["value"], GRAD))])
            first = False
    if not table_rows:
        return None
    return Table(["node", "upstream", "local derivative", "to", "downstream"],
                 table_rows, styles=[NAME, GRAD, DERIV, NAME, GRAD])


def composed_items(row: dict, style: Style) -> list[Item]:
    """A batchnorm row's Figure 6-17: the same backward through its elementary ops."""
    c = row.get("composed")
    if not c:
        return []
    out: list[Item] = [line((f"{row['node']} ({row['op']}) as the book's Figure 6-17: mean, "
                             "subtract, square, mean, + eps, sqrt, divide, scale, shift; "
                             "backward through them:", HEAD))]
    sub = explain_items({"of": row["node"], "value": row["value"], "rows": c["rows"],
                         "leaves": [], "nonfinite_value": None, "nonfinite_grad": None,
                         "kinks": [], "hints": []}, style, len(c["rows"]))
    out.extend(sub[1:])
    out.append(line((f"the gradients these give {', '.join(x['name'] for x in c['leaves'])} "
                     f"agree with the fused rule's to {c['gap']:.2g}", DIM), indent=2))
    return out


def fan_in_items(r: dict, style: Style) -> list[Item]:
    """Gradients that are sums: one named contribution per consumer."""
    out: list[Item] = []
    sums = [(row["node"], row["upstream"], row["sum_of"]) for row in r["rows"] if row["sum_of"]]
    sums += [(leaf["name"], leaf["grad"], leaf["sum_of"]) for leaf in r["leaves"]]
    for name, total, parts in sums:
        if not parts:
            continue
        terms = " + ".join(f"{brief(p['value'], style)} via {p['via']}" for p in parts)
        out.append(line((style.d("", name), NAME), " = ", (brief(total, style), GRAD),
                        (" = ", DIM), (terms, DIM), indent=2))
    if out:
        out.insert(0, line(("used more than once, so the gradient is a sum:", HEAD), indent=2))
    grads = [[leaf["name"], _num(leaf["grad"], style)] for leaf in r["leaves"]]
    if grads:
        table = Table(["leaf", "gradient"], grads, styles=[NAME, GRAD])
        if too_wide(table, style):  # one line each, wrapped at spaces by fit()
            out.append(line(("leaf gradients", HEAD), indent=2))
            out += [line((style.d("", n), NAME), " = ", (g, GRAD), indent=4) for n, g in grads]
        else:
            out.append(table)
    return out


@renders("step")
def step_items(r: dict, style: Style) -> list[Item]:
    arrow = style.sym("→", "->")
    return [line("step ", (r["of"], NAME), ": ", (number(r["loss_before"]), NUM),
                 f" {arrow} ", (number(r["loss_after"]), NUM),
                 (f"  ({r['optimizer']}, lr {r['lr']:g}; updated "
                  f"{', '.join(r['updated'])})", DIM))]


@renders("fit")
def fit_result_items(r: dict, style: Style) -> list[Item]:
    return fit_items(r, style, live=style.whole)


def fit_items(r: dict, style: Style, live: bool = False) -> list[Item]:
    """The loss before and after, the trace (unless it was printed live), the leaves moved,
    and the curves when asked for."""
    arrow = style.sym("→", "->")
    batched = r.get("batch") is not None
    if batched:
        done = (f" in {r['epochs']} epoch{'s' if r['epochs'] != 1 else ''} of batches of "
                f"{r['batch']} over {', '.join(r['over'])}, {r['steps_done']} steps")
    else:
        done = f" in {r['steps_done']} steps"
    head = line("fit ", (r["of"], NAME), ": ", (number(r["loss_before"]), NUM),
                f" {arrow} ", (number(r["loss_after"]), NUM),
                (f"{done} ({r['optimizer']}, lr {r['lr']:g})", DIM))
    out: list[Item] = [head]
    reports = r.get("reports") or []
    if not live or batched or reports:
        cols = ["epoch" if batched else "step", "loss", *reports]
        rows = [[str(row[0]), *(number(v) for v in row[1:])] for row in r["trace"]]
        out.append(Table(cols, rows, styles=[DIM, NUM] + [NUM] * len(reports)))
    if r.get("interrupted"):
        out.append(line(("interrupted at step %d: the parameters reached are kept"
                         % r["steps_done"], HEAD), indent=2))
    out.append(line(("updated: " + ", ".join(r["updated"]), DIM), indent=2))
    if r.get("plot"):
        from bpshell.render.plotfile import terminal_curves

        text = terminal_curves(r, width=min(max(style.width - 2, 40), 100), height=16)
        out.append(Line([(text, "")]))
    if r.get("file"):
        out.append(line((f"saved the curves to {r['file']}", DIM), indent=2))
    return out


@renders("load")
def load_items(r: dict, style: Style) -> list[Item]:
    times = style.sym("×", "x")
    shapes = ", ".join(f"{a['name']} " + (times.join(map(str, a["shape"])) or "scalar")
                       for a in r["arrays"])
    return [line(("loaded ", DIM), (r["source"], NAME), ": ", (shapes, NUM)),
            line((r["note"], DIM), indent=2)]


@renders("param")
def param_items(r: dict, style: Style) -> list[Item]:
    return [line(("parameters: ", DIM), (", ".join(r["params"]), NAME),
                 ("  (fit and step train these when no 'wrt' is given)", DIM))]


@renders("plot")
def plot_items(r: dict, style: Style) -> list[Item]:
    from bpshell.render.plotfile import REGION_MARKS, region_map, terminal_plot

    if r.get("regions") is not None:
        marks = ", ".join(f"'{REGION_MARKS[k]}' class {k}" for k in
                          range(min(int(max(r["regions"].max(), 1)) + 1, len(REGION_MARKS))))
        out: list[Item] = [line("plot ", (r["expr"], OP), " wrt ", (r["wrt"], NAME),
                                (f"  decision regions: {marks}; points by their label",
                                 DIM))]
        out.extend(line(text, indent=2) for text in region_map(r, width=min(
            max(style.width - 4, 30), 72), height=24))
        if r.get("file"):
            out.append(line((f"saved to {r['file']}", DIM)))
        return out
    text = terminal_plot(r, width=min(max(style.width - 2, 40), 100), height=20)
    out: list[Item] = [line("plot ", (r["expr"], OP), " wrt ", (r["wrt"], NAME),
                            ("  (with its derivative)" if r.get("dy") is not None else "",
                             DIM))]
    out.append(Line([(text, "")]))
    for note in r.get("left_out") or []:
        out.append(line((f"left out of the plot: {note}", DIM)))
    if r.get("file"):
        out.append(line((f"saved to {r['file']}", DIM)))
    return out


def fit_progress_line(step: int, loss: float) -> Item:
    """A loss line written while a fit runs in a pipe."""
    return line((f"  step {step}: loss ", DIM), (number(loss), NUM))
