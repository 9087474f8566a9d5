"""The HTML backend: the items of a result as HTML for Jupyter, read back by parsing it.

Oracles: the book's numbers (the apple example), the shape of the functions plotted
(sigmoid rises; its derivative peaks at 0 with the value 1/4), and the items' own text,
which must all reach the page, escaped, in order.
"""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET

import pytest

import bpshell
from bpshell.render.doc import ERR, NAME, Line, Table, TreeNode, line
from bpshell.render.html import items_html, picture, result_html

SVG = "{http://www.w3.org/2000/svg}"


def parsed(html: str) -> ET.Element:
    """The HTML as XML: every tag closed and every text escaped, or this fails."""
    return ET.fromstring(html)


def text_of(el: ET.Element) -> str:
    return "".join(el.itertext())


def test_lines_tables_and_trees_are_well_formed_and_escaped():
    items = [line(("<script>alert(1)</script> & ", ERR), ("x", NAME), indent=2),
             Table(["a<b", "c"], [["1 & 2", line(("<i>", NAME))]], title=line("t")),
             TreeNode([line("root")], [TreeNode([line("<leaf>")])])]
    root = parsed(items_html(items))
    assert not list(root.iter("script")) and not list(root.iter("i"))
    first = root[0]
    assert text_of(first) == "<script>alert(1)</script> & x"
    assert "padding-left:2ch" in first.get("style")
    assert [text_of(c) for c in root.iter("th")] == ["a<b", "c"]
    assert [text_of(c) for c in root.iter("td")] == ["1 & 2", "<i>"]
    assert [text_of(li[0]) for li in root.iter("li")] == ["root", "<leaf>"]


def test_a_grad_table_and_tree_show_the_books_numbers():
    s = bpshell.Session()
    *_, grad, tree = s.run("apple = 100; n = 2; tax = 1.1; price = apple*n*tax; grad price; "
                           "tree price")
    root = parsed(result_html(grad))
    cells = [text_of(td) for td in root.iter("td")]
    assert cells == ["∂price/∂apple", "2.2", "∂price/∂n", "110", "∂price/∂tax", "200"]
    for td in root.iter("td"):  # the notebook's CSS right-aligns and wraps cells
        assert "text-align:left" in td.get("style") and "white-space:pre" in td.get("style")
    nodes = {re.sub(r"\s+", " ", text_of(li[0])) for li in parsed(result_html(tree)).iter("li")}
    assert {"apple = 100 grad 2.2", "n = 2 grad 110", "tax = 1.1 grad 200"} <= nodes


def test_a_deep_tree_is_drawn_without_recursion():
    deep = TreeNode([line("n0")])
    node = deep
    for i in range(1, 5000):
        child = TreeNode([line(f"n{i}")])
        node.children.append(child)
        node = child
    html = items_html([deep])
    assert html.count("<li") == 5000 and html.count("<ul") == 5000
    # the last label sits 4999 lists deep
    depth, deepest = 0, 0
    for tag in re.findall(r"</?ul", html):
        depth += 1 if tag == "<ul" else -1
        deepest = max(deepest, depth)
    assert deepest == 5000 and depth == 0


def test_multiline_cells_keep_their_lines():
    html = items_html([Table(["v"], [[Line([("[[1., 2.],\n [3., 4.]]", "")])]])])
    (td,) = parsed(html).iter("td")
    assert text_of(td) == "[[1., 2.],\n [3., 4.]]" and "white-space:pre" in td.get("style")


def test_a_plot_shows_its_curves_as_svg(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    monkeypatch.chdir(tmp_path)
    (r,) = bpshell.Session().run("plot sigmoid(x) wrt x from -6 to 6")
    mime, svg = picture(r)
    root = ET.fromstring(svg.encode("utf-8"))

    def vertices(gid):
        group = next(g for g in root.iter(f"{SVG}g") if g.get("id") == gid)
        d = next(group.iter(f"{SVG}path")).get("d")
        nums = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", d)]
        return list(zip(nums[0::2], nums[1::2]))

    f, df = vertices("function"), vertices("derivative")
    assert mime == "image/svg+xml" and len(f) == len(df) == 201
    ys = [y for _, y in f]
    assert all(a > b for a, b in zip(ys, ys[1:]))  # sigmoid rises: SVG's y falls
    peak = min(range(201), key=lambda i: df[i][1])
    assert peak == 100  # sigmoid' is largest at x = 0, the middle point
    html = result_html(r)
    assert "<svg" in html and "⢀" not in html  # the figure in place of the text plot


def test_without_matplotlib_a_plot_is_text_and_a_fit_its_table(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    s = bpshell.Session()
    plot, = s.run("plot sigmoid(x) wrt x from -6 to 6")
    assert picture(plot) is None
    html = result_html(plot)
    assert "<svg" not in html and re.search("[\u2800-\u28ff]", html)  # braille dots
    *_, fit = s.run("w = 0; loss = (w - 3)**2; fit loss lr 0.1 steps 20 wrt w")
    assert picture(fit) is None
    cells = [text_of(td) for td in parsed(result_html(fit)).iter("td")]
    assert cells[:2] == ["0", "9"]  # (0 - 3)**2 before the first step


def test_a_drawing_is_read_back_from_the_file_draw_wrote(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = bpshell.Session()
    *_, svg_draw, dot_draw = s.run("x = 2; y = x*x; draw y; draw y to y.dot")
    mime, data = picture(svg_draw)
    assert mime == "image/svg+xml" and data == (tmp_path / "y.svg").read_text()
    grads = [t.text for t in ET.fromstring(data.encode()).iter(f"{SVG}text")
             if t.get("class") == "grad"]
    assert "Σ 4" in grads and grads.count("2") == 2  # x*x: 2 + 2 = 2x at x = 2
    assert picture(dot_draw) is None and svg_draw._repr_svg_() == data
    assert dot_draw._repr_svg_() is None
    html = result_html(svg_draw)
    assert "<?xml" not in html and html.count("<svg") == 1
