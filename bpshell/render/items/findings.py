"""What the engine noticed about a graph, shown under grad, check and explain."""

from __future__ import annotations

from bpshell.render.doc import DIM, WARN, Item, line
from bpshell.render.format import Style


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
