"""explain: the ledger's numbers against the book's figures and closed forms written here."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from bpshell.session import Session


def explain(src: str) -> dict:
    results = Session().run(src)
    assert all(r["ok"] for r in results), results
    return results[-1]


def row(result: dict, node: str) -> dict:
    """A row by its node's name or expression (an unnamed node may be called u1)."""
    return next(r for r in result["rows"] if node in (r["node"], r["expr"]))


def down(r: dict, to: str) -> list[dict]:
    return [d for d in r["downstream"] if to in (d["to"], d["expr"])]


def test_apple_ledger_matches_the_book_figure():
    # Book fig. 5-14: price = apple*n*tax; backward 1 -> 1.1 (apple*n), 200 (tax);
    # then 1.1 -> 2.2 (apple), 110 (n).
    r = explain("apple = 100; n = 2; tax = 1.1; price = apple*n*tax; explain price")
    top = row(r, "price")
    assert top["upstream"] == 1.0
    assert down(top, "apple*n")[0]["value"] == pytest.approx(1.1)
    assert down(top, "apple*n")[0]["local"] == "tax"
    # the tax edge's local derivative is apple*n, a node without a name: it is called u1
    assert down(top, "tax")[0]["local"] == "u1" == row(r, "apple*n")["node"]
    assert row(r, "apple*n")["definition"] == "apple*n"
    assert down(top, "tax")[0]["value"] == pytest.approx(200)
    inner = row(r, "apple*n")
    assert inner["upstream"] == pytest.approx(1.1)
    assert down(inner, "apple")[0]["value"] == pytest.approx(2.2)
    assert down(inner, "n")[0]["value"] == pytest.approx(110)
    # local x upstream = downstream on every edge
    for rr in r["rows"]:
        for d in rr["downstream"]:
            assert d["local_value"] * rr["upstream"] == pytest.approx(d["value"])


def test_apple_orange_ledger():
    # Book fig. 5-17: (apple*2 + orange*3) * tax = 715; d/dtax = 650, the add node passes 1.1.
    r = explain("apple = 100; an = 2; orange = 150; on = 3; tax = 1.1\n"
                "total = (apple*an + orange*on)*tax; explain total")
    top = row(r, "total")
    assert top["value"] == pytest.approx(715)
    assert down(top, "tax")[0]["value"] == pytest.approx(650)
    add = row(r, "apple*an + orange*on")
    assert add["upstream"] == pytest.approx(1.1)
    leaves = {leaf["name"]: leaf["grad"] for leaf in r["leaves"]}
    assert leaves == pytest.approx({"apple": 2.2, "an": 110, "orange": 3.3, "on": 165,
                                    "tax": 650})


def test_sigmoid_row_uses_the_output_form():
    # Book fig. 5-20: the sigmoid node's backward is dy * y*(1 - y).
    x = 0.7
    s = 1 / (1 + math.exp(-x))
    r = explain(f"x = {x}; y = sigmoid(x); explain y")
    d = down(row(r, "y"), "x")[0]
    assert d["local"] == "y*(1 - y)"
    assert d["local_value"] == pytest.approx(s * (1 - s))
    assert d["value"] == pytest.approx(s * (1 - s))


def test_fan_out_is_a_named_sum():
    # b = a*a + a: db/da = 2a + 1 = 7 at a = 3, from three contributions 3 + 3 + 1.
    r = explain("a = 3; b = a*a + a; explain b")
    leaf = next(leaf for leaf in r["leaves"] if leaf["name"] == "a")
    assert leaf["grad"] == pytest.approx(7.0)
    parts = sorted(p["value"] for p in leaf["sum_of"])
    # a*a reads a twice: one entry, d(a*a)/da = 2*a = 6, not "a" and "a" side by side
    assert parts == pytest.approx([1.0, 6.0])
    assert {p["via"] for p in leaf["sum_of"]} == {"b = a*a + a", "a*a"}
    square = row(r, "a*a")
    (entry,) = square["downstream"]
    assert entry["local"] == "2*a" and entry["local_value"] == pytest.approx(6.0)


def test_batch_affine_shapes():
    # Y = X @ W + b with X 4x2, W 2x3: dW = X.T @ dY is (4x2).T @ (4x3) -> (2x3); db sums
    # dY over the batch axis (PyTorch: bias.grad = grad_output.sum(0)).
    r = explain("seed 0; X = randn(4, 2); W = randn(2, 3); b = randn(3)\n"
                "Y = X @ W + b; L = sum(Y); explain L")
    mm = row(r, "X @ W")
    assert down(mm, "W")[0]["rule"] == "dW = X.T @ dY: (4x2).T @ (4x3) -> (2x3)"
    assert down(mm, "X")[0]["rule"] == "dX = dY @ W.T: (4x3) @ (2x3).T -> (4x2)"
    add = row(r, "Y")
    db = down(add, "b")[0]
    assert db["shape"] == [3]
    assert np.allclose(db["value"], np.full(3, 4.0))  # four rows of ones summed
    assert "summed over broadcast axes" in db["rule"]


def test_first_nonfinite_value_log_of_zero():
    r = explain("x = 2; l = log(x - x); explain l")
    bad = r["nonfinite_value"]
    assert bad["op"] == "log" and bad["node"] == "l"
    assert bad["inputs"] == [{"name": "x - x", "value": 0.0}]
    assert "log of 0" in bad["reason"]


def test_first_nonfinite_value_exp_overflow_times_zero():
    # exp(1000) overflows to inf first; inf * 0 is nan only afterwards.
    r = explain("x = 1000; y = exp(x)*0; explain y")
    bad = r["nonfinite_value"]
    assert bad["node"] == "exp(x)" and "exp overflow" in bad["reason"]
    r = Session().run("z = exp(1000)*0; grad z")[-1]
    assert "exp overflow" in r["nonfinite_value"]["reason"]


def test_stability_hint_for_log_of_softmax():
    r = explain("x = [1, 2, 3]; p = log(softmax(x)); L = sum(p); explain L")
    assert [h["pattern"] for h in r["hints"]] == ["log of softmax"]
    assert r["hints"][0]["suggest"].startswith("log_softmax")


def test_kink_is_named_with_its_convention():
    # PyTorch: relu'(0) = 0.
    r = Session().run("x = 0; r = relu(x); grad r")[-1]
    assert r["grads"]["x"] == 0.0
    assert r["kinks"][0]["convention"].startswith("relu'(0) = 0")


def test_step_mode_reveals_the_book_gradients_one_node_at_a_time():
    # Book fig. 5-14 read right to left: first 1.1 and 200, then 2.2 and 110.
    from bpshell.render.format import Style
    from bpshell.render.items.steps import frame_count, frame_items
    from bpshell.render.text import to_text

    s = Session()
    r = s.run("apple = 100; n = 2; tax = 1.1; price = apple*n*tax; explain price step")[-1]
    tree = s.run("tree price")[-1]
    frames = [to_text(frame_items(r, k, Style(), tree)) for k in range(frame_count(r))]
    first, second, third = frames
    assert "grad 200" not in first and "grad 2.2" not in first and "▶ price" in first
    assert "grad 1.1" in second and "grad 200" in second and "grad 2.2" not in second
    assert "▶ u1 = apple*n" in third and "grad 2.2" in third and "grad 110" in third


def test_a_terminal_frame_draws_the_books_picture_where_it_fits_else_the_tree():
    from bpshell.render.format import Style
    from bpshell.render.items.steps import frame_count, frame_items
    from bpshell.render.text import to_text

    s = Session()
    r = s.run("apple = 100; n = 2; tax = 1.1; price = apple*n*tax; explain price step")[-1]
    tree = s.run("tree price")[-1]
    wide = Style(whole=False, width=99)

    def frames(style, room, view="draw"):
        return [to_text(frame_items(r, k, style, tree, room, view))
                for k in range(frame_count(r))]

    assert all("(×)" in f and "▶ price" not in f for f in frames(wide, 19))
    assert "apple ──" in frames(wide, 19)[0] and "price◀" in frames(wide, 19)[0]
    # one line short of the tallest frame with its picture: no frame shows the picture,
    # the first one neither (it would fit alone), so stepping never switches the view
    assert not any("(×)" in f for f in frames(wide, 18))
    narrow = frames(Style(whole=False, width=45), 40)
    assert all("▶" in f and "(×)" not in f for f in narrow)  # too narrow: the tree
    assert all("a larger terminal shows the graph" in f for f in narrow)  # and says why
    assert all("▶" in f and "(×)" not in f for f in frames(wide, 40, "tree"))
    assert not any("a larger terminal" in f for f in frames(wide, 40, "tree"))
    piped = [to_text(frame_items(r, k, Style(), tree)) for k in range(frame_count(r))]
    assert all("▶" in f and "(×)" not in f for f in piped)  # a pipe prints trees


def test_symbolic_frames_show_the_ledger_row_and_the_picture():
    from bpshell.render.format import Style
    from bpshell.render.items.steps import frame_count, frame_items
    from bpshell.render.text import to_text

    s = Session()
    r = s.run("y = 1/(1 + exp(-x)); explain y step")[-1]
    tree = s.run("tree y")[-1]
    shown = [to_text(frame_items(r, k, Style(whole=False, width=199), tree, 60))
             for k in range(frame_count(r))]
    x_grad = re.compile(r"(?<![-\w])dout\*y\*\*2\*exp\(-x\)")  # what x gets, last
    assert not x_grad.search(shown[-2]) and x_grad.search(shown[-1])
    assert all("(exp)" in f for f in shown)
    piped = [to_text(frame_items(r, k, Style(), tree)) for k in range(frame_count(r))]
    assert "local derivative" in piped[1] and "(exp)" not in piped[1]
