"""The frames of `explain NAME step`: the backward pass one node at a time.

Frame 0 is the output, whose gradient is 1; frame k has applied the k-th row of the
ledger: the graph with that node marked and the gradients known so far, the node's row
(local derivative x upstream = downstream), and a list of what is known. The shell shows
one frame at a time and redraws in place, the graph drawn as the book's figure where the
terminal is large enough (else as a tree); a pipe prints the frames one after another,
with trees.
"""

from __future__ import annotations

from bpshell.render.doc import DIM, GRAD, HEAD, NAME, Item, Line, Table, line
from bpshell.render.format import Style, summary
from bpshell.render.items.train import (
    fit,
    ledger_block,
    ledger_table,
    symbolic_table,
    too_wide,
)
from bpshell.render.items.tree import tree_items
from bpshell.render.registry import renders
from bpshell.render.text import item_lines


def frame_count(r: dict) -> int:
    return len(r["rows"]) + 1


def known_after(r: dict, k: int) -> dict[int, tuple[str, object, bool]]:
    """Node id -> (label, gradient so far, complete) after the first k rows of the ledger.

    A node used by several others gets one contribution from each; its gradient is
    complete once all of them have arrived (the sum the ledger's last lines show).
    """
    rows = r["rows"]
    expected: dict[int, int] = {}
    for row in rows:
        for d in row["downstream"]:
            expected[d["id"]] = expected.get(d["id"], 0) + 1
    known: dict[int, tuple[str, object, bool]] = {}
    if rows:
        known[rows[0]["id"]] = (rows[0]["node"], 1.0, True)
    got: dict[int, list] = {}
    for row in rows[:k]:
        for d in row["downstream"]:
            got.setdefault(d["id"], []).append(d["value"])
            known[d["id"]] = (d["to"], _total(got[d["id"]]),
                              len(got[d["id"]]) == expected[d["id"]])
    return known


def _total(parts: list):
    if any(isinstance(p, str) for p in parts):
        return " + ".join(f"({p})" if " " in str(p) else str(p) for p in parts) \
            if len(parts) > 1 else parts[0]
    import numpy as np

    total = parts[0]
    for p in parts[1:]:
        total = np.add(total, p)
    return total


def marked_tree(tree: dict, known: dict, current: int | None) -> dict:
    """A copy of a tree result: gradients not reached yet hidden, the current node marked."""
    top = dict(tree["root"])
    stack = [top]
    while stack:
        n = stack.pop()
        if "id" in n:
            grad = known.get(n["id"])
            n["grad"], n["pending"] = (grad[1], False) if grad else (None, True)
            n["current"] = n["id"] == current
        kids = [dict(c) for c in n.get("children", [])]
        n["children"] = kids
        stack.extend(kids)
    return {**tree, "root": top, "has_grads": True}


def frame_items(r: dict, k: int, style: Style, tree: dict | None = None,
                room: int | None = None, view: str = "draw") -> list[Item]:
    """Frame k of the walk. In a terminal (room: its lines) the graph is drawn as the book
    draws it when view is "draw" and the picture fits, else as a tree; a pipe gets the
    tree. A graph that fits in neither way is left out, with a line saying so."""
    head, body = frame_parts(r, k, style)
    why: list[Item] = []  # why the tree is shown where the picture was asked for
    if room is not None and view == "draw" and r.get("pictures"):
        drawn = picture_items(r, k, style, room - tallest(r, style))
        if drawn is not None:
            return fit([head, *drawn, *body], style)
        why = [line(("(a larger terminal shows the graph as the book draws it)", DIM),
                    indent=2)]
    if tree is not None and tree.get("ok", True) and "root" in tree:
        rows = r["rows"]
        current = rows[k - 1]["id"] if k else (rows[0]["id"] if rows else None)
        drawn = tree_items(marked_tree(tree, known_after(r, k), current), style)[:1]
        used = sum(len(item_lines(i, style.unicode)) for i in [head, *body, *why])
        tall = sum(len(item_lines(i, style.unicode)) for i in drawn)
        if room is None or used + tall <= room:
            return fit([head, *drawn, *body, *why], style)
        body.append(line(("(the graph is too tall for this terminal to draw here; "
                          "'tree NAME' draws it)", DIM), indent=2))
    return fit([head, *body], style)


def frame_parts(r: dict, k: int, style: Style) -> tuple[Line, list[Item]]:
    """Frame k's heading, and under the graph: the node's ledger row and what is known."""
    rows, n = r["rows"], frame_count(r)
    current = rows[k - 1] if k else None
    of = r["of"]
    head = line(("explain ", DIM), (of, NAME), (f"  step {k + 1} of {n}", HEAD))
    if current is None:
        what = line(("the output: ", DIM), (style.d(of, of), NAME), " = ", ("1", GRAD),
                    ("  (the backward pass starts with 1)", DIM), indent=2)
    else:
        what = line(("at ", DIM), (current["node"], NAME), (f" ({current['op']})", DIM),
                    (": local derivative x upstream = downstream", DIM), indent=2)
    body: list[Item] = [what]
    if current is not None and r.get("symbolic"):
        body += [t for t in [symbolic_table([current], style)] if t is not None]
    elif current is not None:
        table = ledger_table([current], style)
        body += ledger_block(current, style) if too_wide(table, style) else [table]
    return head, body + known_items(r, known_after(r, k), style)


_TALLEST: dict[tuple, tuple[dict, int]] = {}  # (id of r, style) -> (r, lines)


def tallest(r: dict, style: Style) -> int:
    """Lines of the tallest frame without its graph: a picture is drawn only if it fits
    beside every frame, so stepping never switches the view under the learner's eyes.

    The same for every frame of a walk, so it is measured once per walk and style, not
    on every redraw (each measure lays out every frame). The walk is kept with its
    figure, so its id cannot be reused while the entry stands.
    """
    key = (id(r), style.unicode, style.whole, style.width, style.print_limit)
    kept = _TALLEST.get(key)
    if kept is not None and kept[0] is r:
        return kept[1]
    most = 0
    for k in range(frame_count(r)):
        head, body = frame_parts(r, k, style)
        most = max(most, sum(len(item_lines(i, style.unicode)) for i in [head, *fit(body, style)]))
    if len(_TALLEST) >= 8:  # a few walks and terminal sizes at most
        _TALLEST.clear()
    _TALLEST[key] = (r, most)
    return most


def picture_items(r: dict, k: int, style: Style, room: int) -> list[Item] | None:
    """Frame k's picture, the node it is at highlighted (the output at the start) and the
    ledger's short names (u1) over the ops it gives them to; every frame on the grid of
    the last, so the drawing stays put while the labels fill in."""
    from bpshell.render.items.drawing import drawing_items  # a terminal's only: not at startup

    pictures = r["pictures"]
    pic = pictures[min(k, len(pictures) - 1)]
    current = r["rows"][k - 1]["id"] if k else pic.root
    names = {row["id"]: row["node"] for row in r["rows"] if row.get("definition")}
    return drawing_items(pic, style, room, current, pictures[-1], names)


def known_items(r: dict, known: dict, style: Style) -> list[Item]:
    """What is known so far: each gradient reached, marked while it is still a partial sum."""
    of = r["of"]
    rows = []
    for label, value, complete in known.values():
        rows.append([style.d(of, label), summary(value, style),
                     "" if complete else "partial: more to come"])
    if not rows:
        return []
    return [line(("known so far", HEAD), indent=2),
            Table([], rows, styles=[NAME, GRAD, DIM], indent=4)]


@renders("quiz")
def quiz_items(r: dict, style: Style) -> list[Item]:
    """A quiz shown rather than asked (inside `run FILE`): the questions, as an exercise."""
    out: list[Item] = [line(("quiz ", HEAD), (r["of"], NAME),
                            (f"  {len(r['questions'])} questions, from the output down", DIM))]
    for k, q in enumerate(r["questions"]):
        out.append(line((f"{k + 1}. ", DIM), q["prompt"], indent=2))
    return fit(out, style)
