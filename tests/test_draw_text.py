"""The book's figures drawn as text for a terminal (render/draw/text.py), read back.

The drawing is parsed from its characters alone: node labels are found by their text,
edges are traced along the box-drawing lines (only ever rightward, up or down) from a
node to the arrowhead `→` of another, and an edge's forward value and gradient are read
from the rows just over and under the first stretch of it that carries text. Oracles: the
book's worked numbers (Figures 5-16 and 5-17), the closed form sigmoid' = s*(1 - s) by
SymPy, and NumPy's softmax cross-entropy for the two-layer net.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import sympy as sp

from bpshell.numeric.picture import picture
from bpshell.render.draw.text import text_picture
from bpshell.render.jsonl import dumps
from bpshell.results.picture import PENDING
from bpshell.session import Session

APPLE = "apple = 100; n = 2; tax = 1.1; price = apple*n*tax"
APPLE_ORANGE = ("apple = 100; apple_num = 2; orange = 150; orange_num = 3; tax = 1.1; "
                "price = (apple*apple_num + orange*orange_num)*tax")
NET = ("X = [[1.0, 2.0], [3.0, -1.0]]; W1 = [[0.1, 0.2, -0.3], [0.4, -0.5, 0.6]]; "
       "b1 = [0.1, -0.2, 0.1]; W2 = [[0.3, -0.2], [0.1, 0.4], [-0.5, 0.2]]; "
       "b2 = [0.0, 0.1]; t = [[1, 0], [0, 1]]; h = relu(X @ W1 + b1); "
       "L = softmax_cross_entropy(h @ W2 + b2, t)")
CONNECT = {"─": "LR", "│": "UD", "┐": "LD", "┘": "LU", "└": "UR", "┌": "DR", "┬": "LRD",
           "┴": "LRU", "├": "UDR", "┤": "UDL", "┼": "LRUD"}
STEP = {"R": (0, 1), "U": (-1, 0), "D": (1, 0)}
BACK = {"R": "L", "U": "D", "D": "U"}
LINE_CHARS = set(CONNECT) | {"→", "◀"}


def drawn(source: str, name: str, width: int = 200, height: int = 80, unicode: bool = True,
          **options) -> list[str]:
    pic = make(source, name, **options)
    grid = text_picture(pic, width, height, unicode)
    assert grid is not None
    return grid.lines


def make(source: str, name: str, **options):
    s = Session()
    assert all(r["ok"] for r in s.run(source))
    plan, grads, _ = s.gradients(name)
    return picture(plan, grads, plan.graph.named[name], **options)


# ---------------------------------------------------------------- reading the text


def at(lines: list[str], r: int, c: int) -> str:
    return lines[r][c] if 0 <= r < len(lines) and 0 <= c < len(lines[r]) else " "


def find(lines: list[str], label: str) -> list[tuple[int, int]]:
    """Where label stands alone: not part of a longer word (apple in apple_num)."""
    out = []
    for r, text in enumerate(lines):
        for m in re.finditer(re.escape(label), text):
            before, after = at(lines, r, m.start() - 1), at(lines, r, m.end())
            if not re.match(r"[\w(\[]", before) and not re.match(r"[\w)\]]", after):
                out.append((r, m.start()))
    return out


def nodes(lines: list[str], label: str) -> list[tuple[int, int]]:
    """Where label is a node's: a line leaves it, or an arrow comes into it."""
    out = []
    for r, c in find(lines, label):
        after = c + len(label) + (at(lines, r, c + len(label)) in " ◀")
        if at(lines, r, after) in CONNECT or at(lines, r, c - 2) == "→":
            out.append((r, c))
    return out


def one(lines: list[str], label: str) -> tuple[int, int]:
    spots = nodes(lines, label)
    assert len(spots) == 1, (label, spots, "\n".join(lines))
    return spots[0]


def edges_from(lines: list[str], label: str, spot: tuple[int, int] | None = None) -> list[dict]:
    """Every edge leaving the node at spot: where it arrives, and the labels of its first
    stretch that has text over or under it."""
    r, c = spot or one(lines, label)
    start = c + len(label)
    while at(lines, r, start) in (" ", "◀"):
        start += 1
    assert at(lines, r, start) in CONNECT, (label, lines[r])
    found = []
    stack = [(r, start, "R", [(r, start)])]
    steps = 0
    while stack:
        steps += 1
        assert steps < 100_000, "the lines branch without end"
        r, c, moving, run = stack.pop()
        ch = at(lines, r, c)
        if ch == "→":
            found.append({"to": (r, c + 2), **_labels(lines, run + [(r, c)])})
            continue
        assert ch in CONNECT, (r, c, ch)
        ways = [moving] if ch == "┼" else [d for d in CONNECT[ch]
                                            if d != "L" and d != BACK[moving]]
        for d in ways:
            dr, dc = STEP[d]
            stack.append((r + dr, c + dc, d, run + [(r + dr, c + dc)]))
    return found


def _labels(lines: list[str], path: list[tuple[int, int]]) -> dict:
    """The texts over and under the first stretch of the path that has any: a stretch is
    straight and ends where another line joins or crosses (┬ ┴ ┼ ├ ┤) or it turns."""
    stretches: list[list[tuple[int, int]]] = [[]]
    for r, c in path:
        ch = at(lines, r, c)
        if ch not in "─→" or (stretches[-1] and stretches[-1][-1][0] != r):
            stretches.append([])
        if ch in "─→":
            stretches[-1].append((r, c))
    for cells in stretches:
        if not cells:
            continue
        row, cols = cells[0][0], [c for _, c in cells]
        # another edge may run on the next row, past this one's labels: only text counts
        over = texts(lines[row - 1][min(cols):max(cols) + 1] if row > 0 else "")
        under = texts(lines[row + 1][min(cols):max(cols) + 1] if row + 1 < len(lines) else "")
        if over or under:
            assert len(over) <= 1 and len(under) <= 1, (over, under)
            return {"value": "".join(over), "grad": "".join(under), "row": row}
    return {"value": "", "grad": "", "row": None}


def texts(cells: str) -> list[str]:
    """The texts among the cells: what is left between lines, split where 2 spaces are."""
    plain = "".join(" " if ch in LINE_CHARS else ch for ch in cells)
    return [t for t in re.split(r"\s{2,}", plain.strip()) if t]


def edge(lines: list[str], source: str, target: str, spot=None, target_spot=None) -> dict:
    """The one edge from source to target (target found where its label starts)."""
    goal = target_spot or one(lines, target)
    hits = [e for e in edges_from(lines, source, spot) if e["to"] == goal]
    assert len(hits) == 1, (source, target, "\n".join(lines))
    return hits[0]


def check_frame(lines: list[str], width: int) -> None:
    assert all(len(s) <= width for s in lines)
    assert all(s == s.rstrip() or not s.strip() for s in lines)


# ---------------------------------------------------------------- the book's figures


def test_apple_figure_5_16_read_back_from_the_text():
    lines = drawn(APPLE, "price")
    check_frame(lines, 200)
    first, second = sorted(nodes(lines, "(×)"), key=lambda p: p[1])
    apple, n, tax, price = (one(lines, w) for w in ("apple", "n", "tax", "price"))
    # left to right: the inputs, the first ×, the second, the output
    assert apple[1] < first[1] and n[1] < first[1] and tax[1] < second[1]
    assert first[1] < second[1] < price[1]
    into_first = edge(lines, "apple", "(×)", target_spot=first)
    assert (into_first["value"], into_first["grad"]) == ("100", "2.2")
    assert into_first["row"] == apple[0]  # apple's line runs level into the ×
    e = edge(lines, "n", "(×)", target_spot=first)
    assert (e["value"], e["grad"]) == ("2", "110")
    e = edge(lines, "tax", "(×)", target_spot=second)
    assert (e["value"], e["grad"]) == ("1.1", "200")
    e = edge(lines, "(×)", "(×)", spot=first, target_spot=second)
    assert (e["value"], e["grad"]) == ("200", "1.1")
    e = edge(lines, "(×)", "price", spot=second)
    assert (e["value"], e["grad"]) == ("220", "1")


def test_apple_and_orange_figure_5_17():
    lines = drawn(APPLE_ORANGE, "price")
    book = {"apple": ("100", "2.2"), "apple_num": ("2", "110"), "orange": ("150", "3.3"),
            "orange_num": ("3", "165"), "tax": ("1.1", "650")}
    for leaf, (value, grad) in book.items():
        (e,) = edges_from(lines, leaf)
        assert (e["value"], e["grad"]) == (value, grad), leaf
        assert one(lines, leaf)[1] < e["to"][1]
    (plus,) = nodes(lines, "(+)")
    products = [edge(lines, "(×)", "(+)", spot=p, target_spot=plus)
                for p in nodes(lines, "(×)") if p[1] < plus[1]]
    assert sorted((e["value"], e["grad"]) for e in products) == [("200", "1.1"),
                                                                  ("450", "1.1")]
    last = max(nodes(lines, "(×)"), key=lambda p: p[1])
    assert plus[1] < last[1]
    assert edge(lines, "(+)", "(×)", target_spot=last)["value"] == "650"
    assert edge(lines, "(×)", "price", spot=last)["value"] == "715"


@pytest.mark.parametrize("x", [0.5, -1.0])
def test_sigmoid_from_nodes_figure_5_19(x: float):
    lines = drawn(f"x = {x}; y = 1/(1 + exp(-x))", "y")
    s = 1 / (1 + math.exp(-x))
    (e,) = edges_from(lines, "x")
    assert float(e["value"]) == x
    assert math.isclose(float(e["grad"]), s * (1 - s), rel_tol=1e-3)  # 4 digits shown
    assert math.isclose(float(edge(lines, "(/)", "y")["value"]), s, rel_tol=1e-3)
    ops = [one(lines, op)[1] for op in ("(-)", "(exp)", "(+)", "(/)")]
    assert ops == sorted(ops)  # the chain left to right, as the book draws it
    consts = nodes(lines, "1")
    assert len(consts) == 2
    for const in consts:  # the constants carry no gradient
        (c,) = edges_from(lines, "1", const)
        assert c["value"] == "1" and c["grad"] == ""


@pytest.mark.parametrize("source", ["y = 1/(1 + exp(-x))", "y = sigmoid(x)"])
def test_a_symbolic_graph_shows_expressions_in_dout(source: str):
    lines = drawn(source, "y")
    (e,) = edges_from(lines, "x")
    x, y, dout = sp.symbols("x y dout")
    got = sp.sympify(e["grad"], locals={"x": x, "y": y, "dout": dout})
    s = 1 / (1 + sp.exp(-x))
    assert sp.simplify(got.subs(y, s) - dout * sp.diff(s, x)) == 0
    assert e["value"] == "x"
    assert edge(lines, one_op(lines), "y")["grad"] == "dout"


def one_op(lines: list[str]) -> str:
    """The label of the node whose arrow reaches y."""
    y = one(lines, "y")
    for text in ("(/)", "(sigmoid)"):
        if nodes(lines, text) and any(e["to"] == y for e in edges_from(lines, text)):
            return text
    raise AssertionError("no op feeds y")


def test_the_two_layer_net_as_layers():
    lines = drawn(NET, "L", layers=True)
    first, second = sorted(nodes(lines, "[Affine]"), key=lambda p: p[1])
    relu, loss = one(lines, "[ReLU]"), one(lines, "[Softmax-with-Loss]")
    assert first[1] < relu[1] < second[1] < loss[1] < one(lines, "L")[1]
    e = edge(lines, "X", "[Affine]", target_spot=first)
    assert (e["value"], e["grad"]) == ("(2x2)", "(2x2)")  # arrays by their shape
    assert (edge(lines, "W1", "[Affine]", target_spot=first)["grad"],
            edge(lines, "b1", "[Affine]", target_spot=first)["grad"]) == ("(2x3)", "(3)")
    assert edge(lines, "t", "[Softmax-with-Loss]")["value"] == "(2x2)"
    X = np.array([[1.0, 2.0], [3.0, -1.0]])
    W1 = np.array([[0.1, 0.2, -0.3], [0.4, -0.5, 0.6]])
    W2 = np.array([[0.3, -0.2], [0.1, 0.4], [-0.5, 0.2]])
    a = np.maximum(X @ W1 + [0.1, -0.2, 0.1], 0) @ W2 + [0.0, 0.1]
    p = np.exp(a - a.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    want = -np.mean(np.log(p[[0, 1], [0, 1]]))
    got = edge(lines, "[Softmax-with-Loss]", "L")
    assert math.isclose(float(got["value"]), want, rel_tol=1e-3) and got["grad"] == "1"


def test_a_node_used_twice_shows_both_gradients_and_their_sum():
    lines = drawn("x = 2; y = x*x + x", "y")
    grads = sorted(e["grad"] for e in edges_from(lines, "x"))
    assert grads == ["1", "2", "2"]  # x*x sends 2 along each of its edges, + sends 1
    assert "Σ 5" in "\n".join(lines)


# ---------------------------------------------------------------- the rules of the grid


@pytest.mark.parametrize("source, name, options", [
    (APPLE, "price", {}), (APPLE_ORANGE, "price", {}), ("x = 0.5; y = 1/(1 + exp(-x))", "y", {}),
    (NET, "L", {"layers": True}), ("y = x*x + sin(x)*z", "y", {}),
    ("a = 1; b = 2; c = 3; d = 4; y = (a + b)*(c + d)*(a + c)*(b + d)", "y", {})])
def test_labels_are_whole_apart_and_every_edge_runs_right(source, name, options):
    pic = make(source, name, **options)
    grid = text_picture(pic, 300, 100)
    spans = grid.spans
    for i, (r, a, b, _) in enumerate(spans):  # no two texts share a cell
        for r2, a2, b2, _ in spans[i + 1:]:
            assert r != r2 or b <= a2 or b2 <= a
    lines = grid.lines
    labels = {n.id: (f"({n.symbol})" if n.kind == "op" else f"[{n.symbol}]"
                     if n.kind == "layer" else n.label) for n in pic.nodes}
    for e in pic.edges:  # each edge's two labels, whole, on the rows around its line
        wanted = [text for text in (_short(e.value), _short(e.grad)) if text]
        for text in wanted:
            assert any(text in s for s in lines), text
    for ident, label in labels.items():
        for spot in nodes(lines, label):
            for e in edges_from(lines, label, spot) if ident != pic.root else []:
                assert e["to"][1] > spot[1]  # inputs left of the nodes that read them


def _short(v) -> str:
    from bpshell.render.draw.text import short

    return short(v)


def test_ascii_mode_is_the_same_drawing_in_ascii():
    uni = drawn(APPLE_ORANGE, "price")
    plain = drawn(APPLE_ORANGE, "price", unicode=False)
    assert all(ch.isascii() for s in plain for ch in s)
    table = str.maketrans({**dict.fromkeys("─", "-"), "│": "|", "→": ">", "×": "x",
                           **dict.fromkeys("┐┘└┌┬┴├┤┼", "+")})
    assert [s.translate(table) for s in uni] == plain


def test_a_picture_that_does_not_fit_is_refused():
    pic = make(APPLE, "price")
    grid = text_picture(pic, 200, 80)
    width, height = grid.width, len(grid.lines)
    assert text_picture(pic, width, height) is not None
    assert text_picture(pic, width - 1, height) is None
    assert text_picture(pic, width, height - 1) is None


def test_steps_show_question_marks_then_the_book_gradients():
    s = Session()
    r = s.run(APPLE + "; explain price step")[-1]
    pictures = r["pictures"]
    assert len(pictures) == len(r["rows"]) + 1 == 3
    before = text_picture(pictures[0], 200, 80, current=pictures[0].root,
                          measure=pictures[-1]).lines
    after = text_picture(pictures[-1], 200, 80).lines
    for label in ("apple", "n", "tax", "(×)", "price"):  # every step on one grid
        assert nodes(before, label) == nodes(after, label)
    for leaf, grad in (("apple", "2.2"), ("n", "110"), ("tax", "200")):
        (e0,) = edges_from(before, leaf)
        (e1,) = edges_from(after, leaf)
        assert e0["grad"] == "?" and e1["grad"] == grad
    assert edge(before, "(×)", "price", spot=max(find(before, "(×)"),
                                                 key=lambda p: p[1]))["grad"] == "1"
    r0, c0 = one(before, "price")
    assert before[r0][c0 + len("price")] == "◀"  # the walk starts at the output


# ---------------------------------------------------------------- steps as the ledger's


@pytest.mark.parametrize("source, name", [
    (APPLE, "price"), (APPLE_ORANGE, "price"), ("x = 0.5; y = 1/(1 + exp(-x))", "y"),
    ("a = 3; y = a*(1 + 2) + exp(a)", "y"), ("x = 2; y = x*x + x", "y"), (NET, "L"),
    ("y = 1/(1 + exp(-x))", "y")])
def test_picture_k_has_exactly_the_first_k_ledger_rows_applied(source: str, name: str):
    s = Session()
    r = s.run(f"{source}; explain {name} step")[-1]
    rows, pictures = r["rows"], r["pictures"]
    assert len(pictures) == len(rows) + 1
    for k, pic in enumerate(pictures):
        done = {row["id"] for row in rows[:k]}
        for e in pic.edges:
            if e.target == pic.root or e.grad is None:
                continue
            target = pic.node(e.target)
            ids = set(target.members) or {e.target}
            # an edge into a layer is known once the op inside it that reads it has run
            if ids & done == ids or not ids & done:
                assert (e.grad is not PENDING) == bool(ids & done), (k, e)
    if not r["symbolic"]:  # `draw NAME step K` numbers its steps the same way
        plan, grads, _ = s.gradients(name)
        for k in range(len(rows) + 1):
            drawn_k = picture(plan, grads, plan.graph.root, steps=k)
            asked = picture(plan, grads, plan.graph.root, steps=k,
                            order=[row["id"] for row in rows])
            assert [e.grad is PENDING for e in drawn_k.edges] == \
                [e.grad is PENDING for e in asked.edges]


def test_the_last_picture_carries_the_ledger_gradients():
    r = Session().run(APPLE_ORANGE + "; explain price step")[-1]
    sent = {(row["id"], d["id"]): d["value"] for row in r["rows"] for d in row["downstream"]}
    last = r["pictures"][-1]
    for e in last.edges:
        if (e.target, e.source) in sent:
            assert math.isclose(e.grad, sent[(e.target, e.source)])


def test_the_pictures_stay_out_of_json():
    r = Session().run(APPLE + "; explain price step")[-1]
    assert r["pictures"] and '"pictures"' not in dumps(r)
    assert '"rows"' in dumps(r)
    big = Session().run("x = 1; y = x" + " + x" * 80 + "; explain y step")[-1]
    assert "pictures" not in big  # too large for any terminal: not made at all
