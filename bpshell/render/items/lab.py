"""How the chapter 6 lab's results are shown: the mode, compared optimizers, histograms."""

from __future__ import annotations

from bpshell.render.doc import DIM, HEAD, NAME, NUM, Item, Line, Table, line
from bpshell.render.format import Style, number
from bpshell.render.labplots import (
    NAMES,
    ascii_only,
    contour_panel,
    hist_panel,
    loss_curves,
    side_by_side,
)
from bpshell.render.registry import renders


@renders("mode")
def mode_items(r: dict, style: Style) -> list[Item]:
    what = ("dropout drops by its mask, batchnorm uses the batch" if r["mode"] == "train"
            else "dropout scales by 1 - ratio, batchnorm uses its running averages")
    # (the same words as the command's; render/ reads no engine module)
    return [line(("mode ", DIM), (r["mode"], NAME), (f": {what}", DIM))]


def _text(lines: list[str]) -> Item:
    return Line([("\n".join(lines), "")])


@renders("compare")
def compare_items(r: dict, style: Style) -> list[Item]:
    """A table of where each optimizer ended, its path over the contour lines (two inputs),
    and every loss curve."""
    arrow = style.sym("→", "->")
    start = ", ".join(f"{n} = {v:g}" for n, v in zip(r["names"], r["start"]))
    out: list[Item] = [line("compare ", (r["of"], NAME), (f"  from {start}, {r['steps']} steps",
                                                           DIM))]
    rows = []
    for run in r["runs"]:
        end = ", ".join(number(v) for v in run["path"][-1])
        rows.append([NAMES.get(run["optimizer"], run["optimizer"]), f"{run['lr']:g}",
                     f"{number(run['loss'][0])} {arrow} {number(run['loss'][-1])}", end])
    out.append(Table(["optimizer", "lr", "loss", "reached " + ", ".join(r["names"])], rows,
                     styles=[NAME, NUM, NUM, NUM]))
    width = max(min(style.width, 120), 60)
    if r.get("grid") is not None:
        panel_w = max(24, min(48, (width - 3) // 2 - 8))
        panels = [contour_panel(run, r["grid"], panel_w, max(9, panel_w * 2 // 5))
                  for run in r["runs"]]
        out.append(line((f"paths over the contour lines of {r['of']}: S start, o each step, "
                         f"{'·' if style.unicode else '.'} contour lines, + the lowest point "
                         "seen", HEAD)))
        out.append(_text(ascii_only(side_by_side(panels, width), style.unicode)))
    out.append(line((f"{r['of']} at each step", HEAD)))
    out.append(_text([loss_curves(r, min(width, 100))]))
    if r.get("file"):
        out.append(line((f"saved to {r['file']}", DIM)))
    return out


@renders("hist")
def hist_items(r: dict, style: Style) -> list[Item]:
    edges = r["edges"]
    panels = [hist_panel(n, c, edges, outside=o)
              for n, c, o in zip(r["names"], r["counts"], r["outside"])]
    width = max(min(style.width, 120), 40)
    head = line("hist ", (", ".join(r["names"]), NAME),
                (f"  {len(edges) - 1} bins from {edges[0]:.4g} to {edges[-1]:.4g}", DIM))
    out: list[Item] = [head, _text(ascii_only(side_by_side(panels, width), style.unicode))]
    if r.get("file"):
        out.append(line((f"saved to {r['file']}", DIM)))
    return out
