"""How explain, step, fit and plot results are shown: the ledger, the loss, the curve."""

from __future__ import annotations

from bpshell.render.doc import DERIV, DIM, GRAD, HEAD, NAME, NUM, OP, Item, Line, Table, line
from bpshell.render.format import Style, is_array, number, summary
from bpshell.render.registry import renders


def _num(v, style: Style) -> str:
    return summary(v, style)


@renders("explain")
def explain_items(r: dict, style: Style, rows_shown: int | None = None) -> list[Item]:
    """The backward pass, one row per node: local x upstream = downstream, with numbers."""
    from bpshell.render.items.findings import findings

    times = style.sym("×", "x")
    head = line("explain ", (r["of"], NAME), ("  (", DIM), (r["of"], NAME), " = ",
                (_num(r["value"], style), NUM), (")  backward, from the output down", DIM))
    table_rows: list[list] = []
    rows = r["rows"] if rows_shown is None else r["rows"][:rows_shown]
    for row in rows:
        first = True
        node = line((row["node"], NAME), (f" ({row['op']})", DIM))
        for d in row["downstream"]:
            if d["rule"] or is_array(row["upstream"]):
                local = line((d["rule"] or f"{style.d('', d['to'])}: {d['local']}", DERIV))
                product = line((_num(d["value"], style), GRAD))
            else:
                local = line((f"{style.d('', d['to'])}: {d['local']}", DERIV))
                if d["local_value"] is not None:
                    local.add(f" = {_num(d['local_value'], style)}", NUM)
                product = line((f"{_num(d['local_value'], style)} {times} "
                                f"{_num(row['upstream'], style)} = ", DIM),
                               (_num(d["value"], style), GRAD))
            table_rows.append([node if first else "",
                               _num(row["upstream"], style) if first else "",
                               local, line((f"→ {d['to']}" if style.unicode else
                                            f"-> {d['to']}", NAME)), product])
            first = False
        if first:
            table_rows.append([node, _num(row["upstream"], style), "", "", ""])
    out: list[Item] = [head]
    if table_rows:
        out.append(Table(["node", "upstream", "local derivative", "to", "downstream"],
                         table_rows, styles=[NAME, GRAD, DERIV, NAME, GRAD]))
    if rows_shown is None:
        out.extend(fan_in_items(r, style))
        out.extend(findings(r, style))
    return out


def fan_in_items(r: dict, style: Style) -> list[Item]:
    """Gradients that are sums: one named contribution per consumer."""
    out: list[Item] = []
    sums = [(row["node"], row["upstream"], row["sum_of"]) for row in r["rows"] if row["sum_of"]]
    sums += [(leaf["name"], leaf["grad"], leaf["sum_of"]) for leaf in r["leaves"]]
    for name, total, parts in sums:
        if not parts:
            continue
        terms = " + ".join(f"{_num(p['value'], style)} via {p['via']}" for p in parts)
        out.append(line((style.d("", name), NAME), " = ", (_num(total, style), GRAD),
                        (" = ", DIM), (terms, DIM), indent=2))
    if out:
        out.insert(0, line(("used more than once, so the gradient is a sum:", HEAD), indent=2))
    grads = [[leaf["name"], _num(leaf["grad"], style)] for leaf in r["leaves"]]
    if grads:
        out.append(Table(["leaf", "gradient"], grads, styles=[NAME, GRAD]))
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
    """The loss before and after, the trace (unless it was printed live), the leaves moved."""
    arrow = style.sym("→", "->")
    head = line("fit ", (r["of"], NAME), ": ", (number(r["loss_before"]), NUM),
                f" {arrow} ", (number(r["loss_after"]), NUM),
                (f" in {r['steps_done']} steps ({r['optimizer']}, lr {r['lr']:g})", DIM))
    out: list[Item] = [head]
    if not live:
        out.append(Table(["step", "loss"], [[str(s), number(v)] for s, v in r["trace"]],
                         styles=[DIM, NUM]))
    if r.get("interrupted"):
        out.append(line(("interrupted at step %d: the parameters reached are kept"
                         % r["steps_done"], HEAD), indent=2))
    out.append(line(("updated: " + ", ".join(r["updated"]), DIM), indent=2))
    return out


@renders("plot")
def plot_items(r: dict, style: Style) -> list[Item]:
    from bpshell.render.plotfile import terminal_plot

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
